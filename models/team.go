package models

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/mechinterp/mechinterp/internal/parallel"
)

// A team is GOMAXPROCS−1 worker goroutines kept running between the
// parallel sections of a decoding step, so that handing one a share of a
// section costs an atomic store instead of a goroutine's start and its
// wake-up. A decoding step of shape B (8 sequences, d_model 256) is some 20
// sections of 20-100 µs; waking an idle core for each cost more than it
// saved on this virtual machine, and two threads generated more slowly
// than one. Generate starts one for its run (startTeam); while it is
// active, parallelFor hands its chunks to it when no other section holds
// it, and starts goroutines otherwise (a section inside a section, or
// another pass running at the same time).
//
// A worker with nothing to do spins for at most teamSpin and then sleeps
// until the next section: the spin covers the serial gaps of a step (a
// LayerNorm, hooks, sampling) without keeping a core busy once generation
// pauses, for a hook that works for long, say.
type team struct {
	busy    atomic.Bool
	job     atomic.Pointer[teamJob]
	stopped atomic.Bool
	workers []*teamWorker
}

type teamWorker struct {
	asleep atomic.Bool
	wake   chan struct{}
}

// teamJob is one parallelFor section: parts chunks of [0,n), claimed in
// order by whoever comes first, the caller included.
type teamJob struct {
	f          func(lo, hi int)
	n, chunk   int32
	parts      int32
	next, done atomic.Int32
	firstPanic atomic.Pointer[parallel.Panic]
}

// teamSpin is how long an idle worker polls for the next section before it
// sleeps: longer than the serial gaps inside a decoding step (the longest,
// sampling 8 rows, takes tens of µs), short enough that a paused caller
// costs a core little.
const teamSpin = 200 * time.Microsecond

// activeTeam is the team of the Generate running now, if any.
var activeTeam atomic.Pointer[team]

// startTeam starts a team of GOMAXPROCS−1 workers and makes it the active
// one, unless there is a single core or another team is active (a second
// Generate at the same time then runs on goroutines). stop ends it.
func startTeam() (stop func()) {
	n := runtime.GOMAXPROCS(0) - 1
	if n < 1 {
		return func() {}
	}
	t := &team{workers: make([]*teamWorker, n)}
	if !activeTeam.CompareAndSwap(nil, t) {
		return func() {}
	}
	for i := range t.workers {
		w := &teamWorker{wake: make(chan struct{}, 1)}
		t.workers[i] = w
		go t.work(w)
	}
	return func() {
		activeTeam.CompareAndSwap(t, nil)
		t.stopped.Store(true)
		for _, w := range t.workers {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// work is a worker's loop: run each new section's unclaimed chunks, poll
// for the next one, sleep after teamSpin without one.
func (t *team) work(w *teamWorker) {
	var last *teamJob
	idleSince := time.Now()
	for spins := 0; ; spins++ {
		if j := t.job.Load(); j != nil && j != last {
			last = j
			j.claim()
			idleSince, spins = time.Now(), 0
			continue
		}
		if t.stopped.Load() {
			return
		}
		if spins%64 != 63 || time.Since(idleSince) < teamSpin {
			continue
		}
		// Sleep. The check after announcing it pairs with run's check of
		// asleep after publishing: one of the two sees the other.
		w.asleep.Store(true)
		if j := t.job.Load(); (j != nil && j != last) || t.stopped.Load() {
			w.asleep.Store(false)
			continue
		}
		<-w.wake
		w.asleep.Store(false)
		idleSince = time.Now()
	}
}

// claim runs chunks of j until none is left unclaimed. A panic in one is
// kept for the caller, which re-raises it.
func (j *teamJob) claim() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.parts {
			return
		}
		j.runPart(i)
		j.done.Add(1)
	}
}

func (j *teamJob) runPart(i int32) {
	defer func() {
		if v := recover(); v != nil {
			p, ok := v.(*parallel.Panic)
			if !ok {
				p = &parallel.Panic{Value: v, Stack: debug.Stack()}
			}
			j.firstPanic.CompareAndSwap(nil, p)
		}
	}()
	lo := i * j.chunk
	j.f(int(lo), int(min(lo+j.chunk, j.n)))
}

// run splits [0,n) into parts chunks of chunk and runs them on the team
// and the caller; it returns false, having run nothing, when the team is
// taken.
func (t *team) run(n, parts, chunk int, f func(lo, hi int)) bool {
	if !t.busy.CompareAndSwap(false, true) {
		return false
	}
	defer t.busy.Store(false)
	j := &teamJob{f: f, n: int32(n), chunk: int32(chunk), parts: int32(parts)}
	t.job.Store(j)
	for _, w := range t.workers {
		if w.asleep.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	j.claim()
	for spins := 0; j.done.Load() < j.parts; spins++ {
		if spins%64 == 63 {
			runtime.Gosched() // a worker the OS descheduled holds a chunk
		}
	}
	if p := j.firstPanic.Load(); p != nil {
		panic(p)
	}
	return true
}
