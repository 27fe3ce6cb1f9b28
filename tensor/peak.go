package tensor

import (
	"runtime"
	"sync"
	"time"
)

// Peak is the arithmetic limit of this machine as a register-only loop of
// independent fused multiply-adds measures it: the roof a matrix multiply
// is judged against (a tuned SGEMM reaches 80-90% of it on large products).
type Peak struct {
	// ISA names the unit timed: "avx512" (16 float32 lanes), "avx2" (8),
	// or "go" (the scalar pure-Go loop, where no assembly runs).
	ISA string
	// Threads is the number of goroutines that ran the loop at once, each
	// locked to its own OS thread.
	Threads int
	// GFLOPS is the float32 rate summed over them, counting a multiply-add
	// as two operations.
	GFLOPS float64
}

// peakUnroll is the number of independent accumulators in each loop: at
// least latency × FMA pipes (4 × 2 on current x86 cores) so that no
// multiply-add waits on another.
const peakUnroll = 12

// MeasurePeak times the loop on threads goroutines at once, in rounds of
// about a millisecond for about d in all, and reports the fastest round:
// another process taking a core for a while slows some rounds but not the
// best, so the peak reads the same on a busy machine. In each round every
// goroutine runs the same number of iterations, so the round's wall time
// is that of the slowest, as in a parallel matrix multiply.
//
// threads is clamped to [1, runtime.NumCPU()]: more goroutines than cores
// cannot raise the peak, and a huge count must not start that many.
func MeasurePeak(threads int, d time.Duration) Peak {
	threads = min(max(threads, 1), runtime.NumCPU())
	fn, isa, lanes := peakLoop()
	flopsPer := float64(2 * lanes * peakUnroll)
	// Calibrate: double the count until one run takes a round's time.
	n := 1 << 8
	for {
		start := time.Now()
		fn(n)
		if time.Since(start) >= peakRound || n >= 1<<40 {
			break
		}
		n *= 2
	}
	best := 0.0
	var wg sync.WaitGroup
	for end := time.Now().Add(d); ; {
		start := time.Now()
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				fn(n)
			}()
		}
		wg.Wait()
		now := time.Now()
		best = max(best, flopsPer*float64(n)*float64(threads)/now.Sub(start).Seconds()/1e9)
		if now.After(end) {
			break
		}
	}
	return Peak{ISA: isa, Threads: threads, GFLOPS: best}
}

// peakRound is the length of one timed round of MeasurePeak.
const peakRound = time.Millisecond

// peakGo is the pure-Go loop: peakUnroll independent scalar multiply-adds
// per iteration, n iterations. The compiler neither fuses nor vectorises
// them, so it measures the scalar limit of Go code.
func peakGo(n int) {
	var s [peakUnroll]float32
	x, y := float32(0.999), float32(1e-7)
	for range n {
		s[0] = s[0]*x + y
		s[1] = s[1]*x + y
		s[2] = s[2]*x + y
		s[3] = s[3]*x + y
		s[4] = s[4]*x + y
		s[5] = s[5]*x + y
		s[6] = s[6]*x + y
		s[7] = s[7]*x + y
		s[8] = s[8]*x + y
		s[9] = s[9]*x + y
		s[10] = s[10]*x + y
		s[11] = s[11]*x + y
	}
	peakSink = s
}

// peakSink keeps peakGo's sums alive.
var peakSink [peakUnroll]float32
