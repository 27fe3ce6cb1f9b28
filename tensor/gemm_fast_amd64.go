//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// sgemmKernel6x16AVX2 is the AVX2+FMA micro-kernel; see microKernel.
//
//go:noescape
func sgemmKernel6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernel6x32AVX512 is the AVX-512 micro-kernel (NR = 32).
//
//go:noescape
func sgemmKernel6x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernel6x32AVX512Direct is sgemmKernel6x32AVX512 reading A unpacked.
//
//go:noescape
func sgemmKernel6x32AVX512Direct(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernel6x32AVX512Strided is sgemmKernel6x32AVX512 with the A values
// of successive steps lda elements apart (a transposed A read in place).
//
//go:noescape
func sgemmKernel6x32AVX512Strided(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

// hasGemmAsm reports whether the assembly micro-kernel can run here.
var hasGemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// asmKernels are the assembly micro-kernels this CPU runs, best first.
var asmKernels = func() []gemmKernel {
	var ks []gemmKernel
	if hasGemmAsm && cpu.X86.HasAVX512F {
		ks = append(ks, gemmKernel{sgemmKernel6x32AVX512, 32, sgemmKernel6x32AVX512Direct, sgemmKernel6x32AVX512Strided})
	}
	if hasGemmAsm {
		ks = append(ks, gemmKernel{sgemmKernel6x16AVX2, gemmNR, nil, nil})
	}
	return ks
}()
