package parallel

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// Panic is a worker's panic handed back to the goroutine that waited for
// it. It is an error, so a caller that recovers it can return it.
type Panic struct {
	Value any    // what the worker panicked with
	Stack []byte // the worker's stack when it panicked
}

func (p *Panic) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Unwrap returns the panic value when it is an error (a runtime error, say).
func (p *Panic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Group runs functions on their own goroutines and waits for them, as a
// sync.WaitGroup does, except that a panic in one of them is re-raised by
// Wait on the caller's goroutine. The zero value is ready to use; a Group
// must not be copied after first use.
type Group struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	panic *Panic // the first worker panic
}

// Go runs f on a new goroutine.
func (g *Group) Go(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			if v := recover(); v != nil {
				p, ok := v.(*Panic) // a nested group's panic keeps its stack
				if !ok {
					p = &Panic{Value: v, Stack: debug.Stack()}
				}
				g.mu.Lock()
				if g.panic == nil {
					g.panic = p
				}
				g.mu.Unlock()
			}
		}()
		if faultFile != "" {
			injectFault()
		}
		f()
	}()
}

// faultFile is empty in every real build. A test of the built binary sets it
// at link time (go build -ldflags "-X .../internal/parallel.faultFile=PATH"):
// while PATH exists, every worker a Group starts panics before its work, as
// a model's worker would on a bad shape, so the test sees what the binary
// does with a worker's panic (cmd/mechinterp's TestServeWorkerPanic).
var faultFile string

func injectFault() {
	if _, err := os.Stat(faultFile); err == nil {
		panic("fault injected: " + faultFile + " exists")
	}
}

// Wait waits for every function started by Go, then, if any of them
// panicked, panics with the first one's *Panic.
func (g *Group) Wait() {
	g.wg.Wait()
	g.mu.Lock()
	p := g.panic
	g.panic = nil
	g.mu.Unlock()
	if p != nil {
		panic(p)
	}
}

// Recover turns a panic into an error for a function that returns one:
// deferred as `defer parallel.Recover(&err, "forward pass")`, it sets err to
// the panic (wrapped, with what) and stops the panic. A *Panic from a
// worker is returned as is, so errors.As finds it.
func Recover(err *error, what string) {
	v := recover()
	if v == nil {
		return
	}
	if p, ok := v.(*Panic); ok {
		*err = fmt.Errorf("%s: %w", what, p)
		return
	}
	*err = fmt.Errorf("%s: %w", what, &Panic{Value: v, Stack: debug.Stack()})
}

// Each calls fn(i) for i = 0, 1, ..., n-1 on up to workers goroutines
// (GOMAXPROCS when workers <= 0), handing the indices out in increasing
// order, and returns once every call it handed out has returned. Before
// each index it asks stop (when not nil; never two calls at once) and hands
// out no more once stop says so. A panic in fn stops the handing out too,
// and Each returns it as a *Panic with the worker's stack: a pool of
// workers over a job list must not end the process, nor hang on jobs no
// worker is left to take.
func Each(n, workers int, stop func() bool, fn func(i int)) (err error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu     sync.Mutex
		next   int
		failed bool
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if failed || next >= n || (stop != nil && stop()) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	defer Recover(&err, "worker")
	var g Group
	for range min(workers, n) {
		g.Go(func() {
			finished := false
			defer func() {
				if !finished { // panicking: Group records it; hand out no more
					mu.Lock()
					failed = true
					mu.Unlock()
				}
			}()
			for i, ok := take(); ok; i, ok = take() {
				fn(i)
			}
			finished = true
		})
	}
	g.Wait()
	return nil
}
