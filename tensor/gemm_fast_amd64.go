//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasGemmAsm reports whether the assembly micro-kernel can run here.
var hasGemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// asmKernels are the assembly micro-kernels this CPU runs, best first.
var asmKernels = func() []gemmKernel {
	var ks []gemmKernel
	if hasGemmAsm && cpu.X86.HasAVX512F {
		ks = append(ks, gemmKernel{sgemmKernel6x64AVX512, 64, sgemmKernel6x64AVX512Direct})
	}
	if hasGemmAsm {
		ks = append(ks, gemmKernel{sgemmKernel6x16AVX2, gemmNR, nil})
	}
	return ks
}()
