//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

var hasExpAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expShiftedAVX2 sets dst[i] = e^(src[i]-shift) for i < n, n a multiple of 8.
//
//go:noescape
func expShiftedAVX2(dst, src *float32, n int, shift float32)

// geluTanhAVX2 is GeluTanh on n values, n a multiple of 8.
//
//go:noescape
func geluTanhAVX2(dst, x *float32, n int)

// geluTanhBackwardAVX2 is GeluTanhBackward on n values, n a multiple of 8.
//
//go:noescape
func geluTanhBackwardAVX2(dx, dout, x *float32, n int)
