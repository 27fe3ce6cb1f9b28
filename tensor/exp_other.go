//go:build !amd64 || noasm

package tensor

var hasExpAsm = false

func expShiftedAVX2(dst, src *float32, n int, shift float32) { panic("unreachable") }

func geluTanhAVX2(dst, x *float32, n int) { panic("unreachable") }

func geluTanhBackwardAVX2(dx, dout, x *float32, n int) { panic("unreachable") }
