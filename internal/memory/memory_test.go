package memory

import (
	"math"
	"strings"
	"testing"
)

func TestBytes(t *testing.T) {
	for b, want := range map[float64]string{0: "0 B", 512: "512 B", 1536: "1.5 KiB", 23 << 30: "23 GiB", 1.3 * (1 << 40): "1.3 TiB"} {
		if got := Bytes(b); got != want {
			t.Errorf("Bytes(%g) = %q, want %q", b, got, want)
		}
	}
}

// TestCheck: what fits passes; more than the machine, +Inf or NaN is one line naming
// the estimate and the machine's memory.
func TestCheck(t *testing.T) {
	if Total() == 0 {
		t.Skip("the machine's memory is unknown here")
	}
	if err := Check(1 << 20); err != nil {
		t.Errorf("1 MiB: %v", err)
	}
	err := Check(1e18)
	if err == nil || !strings.Contains(err.Error(), "needs an estimated 888 PiB, more than this machine's") {
		t.Errorf("1e18 bytes: %v", err)
	}
	for _, x := range []float64{math.Inf(1), math.NaN()} {
		if err := Check(x); err == nil {
			t.Errorf("%g bytes passed", x)
		}
	}
}
