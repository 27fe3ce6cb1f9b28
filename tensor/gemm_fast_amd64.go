//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasGemmAsm reports whether the assembly micro-kernel can run here.
var hasGemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasAVX512 reports whether the AVX-512 micro-kernels can run here.
var hasAVX512 = hasGemmAsm && cpu.X86.HasAVX512F

// The assembly micro-kernels; see speed6x64.
var (
	asm6x64AVX512 = gemmKernel{sgemmKernel6x64AVX512, 64, sgemmKernel6x64AVX512Direct, sgemmKernel6x64AVX512Strided, sgemmKernel6x64AVX512DirectB, speed6x64}
	asm6x32AVX512 = gemmKernel{sgemmKernel6x32AVX512, 32, sgemmKernel6x32AVX512Direct, sgemmKernel6x32AVX512Strided, sgemmKernel6x32AVX512DirectB, speed6x32}
	asm6x16AVX512 = gemmKernel{sgemmKernel6x16AVX512, 16, sgemmKernel6x16AVX512Direct, sgemmKernel6x16AVX512Strided, sgemmKernel6x16AVX512DirectB, speed6x16}
	asm6x16AVX2   = gemmKernel{sgemmKernel6x16AVX2, gemmNR, nil, nil, nil, 1}
)

// asmKernels are the assembly micro-kernels this CPU runs, widest first.
var asmKernels = func() []gemmKernel {
	var ks []gemmKernel
	if hasAVX512 {
		ks = append(ks, asm6x64AVX512, asm6x32AVX512, asm6x16AVX512)
	}
	if hasGemmAsm {
		ks = append(ks, asm6x16AVX2)
	}
	return ks
}()

// asmSet is the kernel set fastGemm picks from: the AVX-512 tiles, else
// the AVX2 one; empty where no assembly runs.
var asmSet = func() kernelSet {
	switch {
	case hasAVX512:
		return kernelSet{asm6x64AVX512, asm6x32AVX512, asm6x16AVX512}
	case hasGemmAsm:
		return kernelSet{asm6x16AVX2}
	}
	return nil
}()

// The packing loops: packAT6 moves with SSE, which every amd64 CPU has;
// copyRows64AVX512 needs AVX-512 (the 6x64 kernels' own requirement, but the
// Go twins pack 64-wide slivers on any CPU).
var (
	packAT6Fn    = packAT6
	copyRows64Fn = func() func(n int, src *float32, ld int, dst *float32) {
		if hasAVX512 {
			return copyRows64AVX512
		}
		return copyRows64Go
	}()
	// packBT16Fn transposes B's 16×16 blocks in zmm registers; nil without
	// AVX-512 (packB then moves one value at a time).
	packBT16Fn = func() func(blocks int, src *float32, ldb int, dst *float32, ldd int) {
		if hasAVX512 {
			return packBT16AVX512
		}
		return nil
	}()
)
