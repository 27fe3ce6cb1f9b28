package tensor

import "unsafe"

// The pure-Go micro-kernels. kernelGeneric is the portable 6×16 kernel of
// the "generic" path and the twin of sgemmKernel6x16AVX2; kernel6x64Go and
// kernel6x64DirectGo are the twins of the two AVX-512 kernels and stand in
// for them where the assembly is not built (the noasm tag, other
// architectures), so that every packing and direct-A path of the
// macro-kernel runs, and is tested, without assembly.
// A twin computes the same sums in the same order as its assembly kernel,
// but rounds each multiply-add twice where the assembly fuses it, so the
// two agree to rounding, not bitwise.

// kernelGeneric is the portable micro-kernel (MR×NR = 6×16); see microKernel.
func kernelGeneric(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	as := unsafe.Slice(a, k*gemmMR)
	bs := unsafe.Slice(b, k*gemmNR)
	var acc [gemmMR][gemmNR]float32
	for p := 0; p < k; p++ {
		bv := (*[gemmNR]float32)(bs[p*gemmNR : p*gemmNR+gemmNR])
		av := (*[gemmMR]float32)(as[p*gemmMR : p*gemmMR+gemmMR])
		for r := 0; r < gemmMR; r++ {
			x := av[r]
			row := &acc[r]
			for j := 0; j < gemmNR; j += 4 {
				row[j] += x * bv[j]
				row[j+1] += x * bv[j+1]
				row[j+2] += x * bv[j+2]
				row[j+3] += x * bv[j+3]
			}
		}
	}
	cs := unsafe.Slice(c, (gemmMR-1)*ldc+gemmNR)
	for r := range gemmMR {
		storeRow(cs[r*ldc:r*ldc+gemmNR], acc[r][:], alpha, beta)
	}
}

// storeRow sets c = alpha*acc + beta*c, the epilogue every micro-kernel
// shares; c is not read when beta is 0 (so NaN in C does not leak).
func storeRow(c, acc []float32, alpha, beta float32) {
	acc = acc[:len(c)]
	if beta == 0 {
		for j := range c {
			c[j] = alpha * acc[j]
		}
		return
	}
	for j := range c {
		c[j] = alpha*acc[j] + beta*c[j]
	}
}

// kernel6x64 is the 6×64 tile in Go: the A value of row r at step p is
// a[r*rs+p*ps], B holds 64 values per step. rs, ps = 1, MR is a packed
// sliver; lda, 1 rows of A read in place.
func kernel6x64(k int, a *float32, rs, ps int, b, c *float32, ldc int, alpha, beta float32) {
	const nr = 64
	var acc [gemmMR][nr]float32
	if k > 0 {
		as := unsafe.Slice(a, (gemmMR-1)*rs+(k-1)*ps+1)
		bs := unsafe.Slice(b, k*nr)
		for p := 0; p < k; p++ {
			bv := (*[nr]float32)(bs[p*nr : p*nr+nr])
			for r := range gemmMR {
				x := as[r*rs+p*ps]
				row := &acc[r]
				for j := 0; j < nr; j += 4 {
					row[j] += x * bv[j]
					row[j+1] += x * bv[j+1]
					row[j+2] += x * bv[j+2]
					row[j+3] += x * bv[j+3]
				}
			}
		}
	}
	cs := unsafe.Slice(c, (gemmMR-1)*ldc+nr)
	for r := range gemmMR {
		storeRow(cs[r*ldc:r*ldc+nr], acc[r][:], alpha, beta)
	}
}

// kernel6x64Go is the Go twin of sgemmKernel6x64AVX512 (packed A).
func kernel6x64Go(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	kernel6x64(k, a, 1, gemmMR, b, c, ldc, alpha, beta)
}

// kernel6x64DirectGo is the Go twin of sgemmKernel6x64AVX512Direct: six
// rows of A, lda elements apart, read in place.
func kernel6x64DirectGo(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32) {
	kernel6x64(k, a, lda, 1, b, c, ldc, alpha, beta)
}

// goKernel64 is the AVX-512 kernel set's Go twin: the "fast" path where no
// assembly is built.
var goKernel64 = gemmKernel{kernel6x64Go, 64, kernel6x64DirectGo}
