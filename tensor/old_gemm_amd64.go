//go:build !noasm

package tensor

// oldKernel6x16AVX2 is the AVX2+FMA micro-kernel; see microKernel.
//
//go:noescape
func oldKernel6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// oldKernel6x32AVX512 is the AVX-512 micro-kernel (NR = 32).
//
//go:noescape
func oldKernel6x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

// oldKernel6x32AVX512Direct is oldKernel6x32AVX512 reading A unpacked.
//
//go:noescape
func oldKernel6x32AVX512Direct(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

// oldKernel6x32AVX512Strided is oldKernel6x32AVX512 with the A values
// of successive steps lda elements apart (a transposed A read in place).
//
//go:noescape
func oldKernel6x32AVX512Strided(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)
