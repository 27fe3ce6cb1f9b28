package parallel

import (
	"errors"
	"strings"
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
