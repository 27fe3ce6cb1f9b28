package memory

import (
	"fmt"
	"math"
	"sync"

	"golang.org/x/sys/unix"
)

// Total is the machine's physical memory in bytes, or 0 when it cannot be
// read (then Check passes everything).
var Total = sync.OnceValue(func() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
})

// Check returns an error when need, an estimate in bytes, is more than the
// machine's physical memory (or is not a finite number): "needs an
// estimated 1.2 TiB, more than this machine's 23 GiB of memory". Callers
// prefix what needs it ("--batch 100000000: ").
func Check(need float64) error {
	total := Total()
	if !(need >= 0) || math.IsInf(need, 1) {
		return fmt.Errorf("needs more memory than can be counted")
	}
	if total == 0 || need <= float64(total) {
		return nil
	}
	return fmt.Errorf("needs an estimated %s, more than this machine's %s of memory", Bytes(need), Bytes(float64(total)))
}

// Bytes formats a byte count with a binary unit: 512 B, 1.5 KiB, 23 GiB.
func Bytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.3g %s", b, units[i])
}
