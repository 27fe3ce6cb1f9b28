//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// peakLoop returns the widest FMA loop this CPU runs, its name and lanes.
func peakLoop() (func(int), string, int) {
	switch {
	case cpu.X86.HasAVX512F:
		return peakFMA512, "avx512", 16
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return peakFMA256, "avx2", 8
	}
	return peakGo, "go", 1
}
