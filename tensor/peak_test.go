package tensor

import (
	"runtime"
	"testing"
	"time"
)

// TestMeasurePeak checks the report's form, not a speed: a loaded machine
// can give any positive rate.
func TestMeasurePeak(t *testing.T) {
	for _, threads := range []int{1, 2} {
		p := MeasurePeak(threads, 20*time.Millisecond)
		if !(p.GFLOPS > 0) || p.Threads != min(threads, runtime.NumCPU()) || p.ISA == "" {
			t.Errorf("MeasurePeak(%d) = %+v", threads, p)
		}
		t.Logf("%+v", p)
	}
	if p := MeasurePeak(0, time.Millisecond); p.Threads != 1 {
		t.Errorf("MeasurePeak(0) ran %d threads, want 1", p.Threads)
	}
	if p := MeasurePeak(1<<62, time.Millisecond); p.Threads != runtime.NumCPU() {
		t.Errorf("MeasurePeak(1<<62) ran %d threads, want NumCPU = %d", p.Threads, runtime.NumCPU())
	}
}
