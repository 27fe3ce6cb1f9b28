package models

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mechinterp/mechinterp/internal/parallel"
)

// withTeam runs f at GOMAXPROCS procs with a team started, as Generate
// runs its decoding steps.
func withTeam(t *testing.T, procs int, f func()) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	stop := startTeam()
	defer stop()
	if procs > 1 && activeTeam.Load() == nil {
		t.Fatal("no team started")
	}
	f()
}

// TestTeamCoversEveryIndex checks that parallelFor with a team visits each
// index once, for sizes around the chunking, including from goroutines
// racing for the team (all but one fall back to their own goroutines).
func TestTeamCoversEveryIndex(t *testing.T) {
	for _, procs := range []int{1, 2, 3} {
		withTeam(t, procs, func() {
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, n := range []int{1, 2, 3, 7, 64, 1000} {
						for round := 0; round < 50; round++ {
							seen := make([]atomic.Int32, n)
							parallelFor(n, 1, func(lo, hi int) {
								for i := lo; i < hi; i++ {
									seen[i].Add(1)
								}
							})
							for i := range seen {
								if c := seen[i].Load(); c != 1 {
									t.Errorf("procs %d n %d: index %d visited %d times", procs, n, i, c)
									return
								}
							}
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestTeamPanic checks that a panic in a chunk, on the team's worker or on
// the caller, comes back to the caller as a *parallel.Panic, and that the
// team still works afterwards.
func TestTeamPanic(t *testing.T) {
	withTeam(t, 2, func() {
		for _, bad := range []int{0, 1} {
			func() {
				defer func() {
					v := recover()
					var p *parallel.Panic
					if err, ok := v.(error); !ok || !errors.As(err, &p) || p.Value != "chunk" {
						t.Errorf("bad chunk %d: recovered %v, want a *parallel.Panic of \"chunk\"", bad, v)
					}
				}()
				parallelFor(2, 1, func(lo, hi int) {
					if lo == bad {
						panic("chunk")
					}
				})
			}()
		}
		var sum atomic.Int64
		parallelFor(100, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sum.Add(int64(i))
			}
		})
		if sum.Load() != 4950 {
			t.Errorf("after a panic the team summed %d, want 4950", sum.Load())
		}
	})
}

// TestGenerateThreadsAgree checks that generation draws the same tokens on
// one core and on two (with the team), so a seed fixes a sample whatever
// the machine.
func TestGenerateThreadsAgree(t *testing.T) {
	m := randomModel(t, Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 40, DVocab: 50, Seed: 7})
	prompts := [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}, {1, 1, 1}}
	var runs [][][]int
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		out, err := Generate(m, prompts, 30, SampleOptions{Seed: 3})
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, out)
	}
	for b := range prompts {
		if !equalInts(runs[0][b], runs[1][b]) {
			t.Errorf("row %d: one core %v, two %v", b, runs[0][b], runs[1][b])
		}
	}
}
