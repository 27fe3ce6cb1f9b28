package tensor

import "golang.org/x/sys/cpu"

// sgemmKernel6x16AVX2 is the AVX2+FMA micro-kernel; see microKernel.
//
//go:noescape
func sgemmKernel6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// hasGemmAsm reports whether the assembly micro-kernel can run here.
var hasGemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// asmKernel is the assembly micro-kernel, nil when the CPU lacks it.
var asmKernel microKernel = func() microKernel {
	if hasGemmAsm {
		return sgemmKernel6x16AVX2
	}
	return nil
}()

var bestKernel microKernel = func() microKernel {
	if asmKernel != nil {
		return asmKernel
	}
	return kernelGeneric
}()
