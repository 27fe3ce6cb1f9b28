package parallel

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestGroupPanicReachesCaller: a worker's panic is re-raised by Wait on the caller's
// goroutine, where a recover catches it (without Group the process would end), after
// every other worker finished.
func TestGroupPanicReachesCaller(t *testing.T) {
	var done atomic.Int32
	got := func() (v any) {
		defer func() { v = recover() }()
		var g Group
		for i := range 8 {
			g.Go(func() {
				if i == 3 {
					var s []int
					_ = s[i] // a runtime error, as a bad shape gives
				}
				done.Add(1)
			})
		}
		g.Wait()
		return nil
	}()
	p, ok := got.(*Panic)
	if !ok {
		t.Fatalf("recovered %v (%T), want a *Panic", got, got)
	}
	if done.Load() != 7 {
		t.Errorf("%d workers finished before Wait returned, want 7", done.Load())
	}
	if !strings.Contains(p.Error(), "index out of range") || !strings.Contains(string(p.Stack), "parallel_test.go") {
		t.Errorf("panic %q with stack\n%s", p.Error(), p.Stack)
	}
	var re interface{ RuntimeError() }
	if !errors.As(p, &re) {
		t.Errorf("the runtime error is not unwrapped from %v", p)
	}
}

// TestRecover: a worker's panic, or the caller's own, becomes a returned error.
func TestRecover(t *testing.T) {
	f := func(inWorker bool) (err error) {
		defer Recover(&err, "computing")
		if !inWorker {
			panic("caller")
		}
		var g Group
		g.Go(func() { panic("worker") })
		g.Wait()
		return nil
	}
	for _, inWorker := range []bool{true, false} {
		err := f(inWorker)
		var p *Panic
		if err == nil || !errors.As(err, &p) || !strings.HasPrefix(err.Error(), "computing: panic: ") {
			t.Errorf("inWorker=%v: err = %v", inWorker, err)
		}
	}
}

// TestGroupNoPanic: Wait returns normally and the Group is reusable.
func TestGroupNoPanic(t *testing.T) {
	var g Group
	var n atomic.Int32
	for range 2 {
		for range 4 {
			g.Go(func() { n.Add(1) })
		}
		g.Wait()
	}
	if n.Load() != 8 {
		t.Errorf("n = %d, want 8", n.Load())
	}
}

// TestEach: every index is handed out once, in order, on at most workers goroutines;
// stop ends the handing out; a panic in any worker (or in all of them) comes back as a
// *Panic error instead of ending the process or leaving jobs no worker takes.
func TestEach(t *testing.T) {
	var mu sync.Mutex
	var got []int
	if err := Each(100, 3, nil, func(i int) { mu.Lock(); got = append(got, i); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	sort.Ints(got)
	for i, v := range got {
		if v != i || len(got) != 100 {
			t.Fatalf("indices %v, want 0..99 once each", got)
		}
	}
	var calls atomic.Int32
	if err := Each(100, 2, func() bool { return calls.Load() >= 10 }, func(int) { calls.Add(1) }); err != nil || calls.Load() > 12 {
		t.Errorf("with stop after 10: %d calls, err %v", calls.Load(), err)
	}
	for _, all := range []bool{false, true} {
		calls.Store(0)
		err := Each(1000, 4, nil, func(i int) {
			calls.Add(1)
			if all || i == 5 {
				var s []int
				_ = s[i] // a runtime error, as a bad shape gives
			}
		})
		var p *Panic
		if !errors.As(err, &p) || !strings.HasPrefix(err.Error(), "worker: panic: runtime error: index out of range") {
			t.Errorf("all=%v: err = %v, want the worker's panic", all, err)
		}
		if n := calls.Load(); n >= 1000 {
			t.Errorf("all=%v: %d calls: the panic did not stop the handing out", all, n)
		}
	}
}
