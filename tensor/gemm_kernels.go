package tensor

import "unsafe"

// The pure-Go micro-kernels. kernelGeneric is the portable 6×16 kernel of
// the "generic" path and the twin of sgemmKernel6x16AVX2; goKernels
// (kernelTile at NR = 64, 32 and 16) are the twins of the AVX-512 kernels
// and stand in for them where the assembly is not built (the noasm tag, other
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

// kernelTile is the 6×nr tile in Go (nr ≤ gemmNRMax): the A value of row
// r at step p is a[r*rs+p*ps], B's nr values of step p start at b[p*ldb].
// rs, ps = 1, MR is a packed sliver; lda, 1 rows of A read in place; 1, lda
// a transposed A in place. ldb = nr is a packed B sliver.
func kernelTile(nr, k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	var acc [gemmMR][gemmNRMax]float32
	if k > 0 {
		as := unsafe.Slice(a, (gemmMR-1)*rs+(k-1)*ps+1)
		bs := unsafe.Slice(b, (k-1)*ldb+nr)
		for p := 0; p < k; p++ {
			bv := bs[p*ldb : p*ldb+nr]
			for r := range gemmMR {
				x := as[r*rs+p*ps]
				row := acc[r][:nr]
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
		storeRow(cs[r*ldc:r*ldc+nr], acc[r][:nr], alpha, beta)
	}
}

// goTile is the Go twin of the AVX-512 6×nr kernels (packed, direct,
// strided and direct with B in place), with that kernel's speed so that it is picked where the
// assembly would be.
func goTile(nr int, speed float64) gemmKernel {
	return gemmKernel{
		fn: func(k int, a, b, c *float32, ldc int, alpha, beta float32) {
			kernelTile(nr, k, a, 1, gemmMR, b, nr, c, ldc, alpha, beta)
		},
		nr: nr,
		direct: func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32) {
			kernelTile(nr, k, a, lda, 1, b, nr, c, ldc, alpha, beta)
		},
		directT: func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32) {
			kernelTile(nr, k, a, 1, lda, b, nr, c, ldc, alpha, beta)
		},
		directB: func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
			kernelTile(nr, k, a, lda, 1, b, ldb, c, ldc, alpha, beta)
		},
		speed: speed,
	}
}

// goKernels is the AVX-512 kernel set's Go twin: the "fast" path where no
// assembly is built.
var goKernels = kernelSet{goTile(64, speed6x64), goTile(32, speed6x32), goTile(16, speed6x16)}

// packAT6Go is the Go twin of packAT6: for each of slivers slivers, steps
// steps of six floats lda elements apart in src to consecutive sixes in
// dst; sliver i starts at src+6i and dst+i*dstStride.
func packAT6Go(slivers, steps int, src *float32, lda int, dst *float32, dstStride int) {
	if slivers <= 0 || steps <= 0 {
		return
	}
	s := unsafe.Slice(src, (steps-1)*lda+slivers*gemmMR)
	d := unsafe.Slice(dst, (slivers-1)*dstStride+steps*gemmMR)
	for i := range slivers {
		for p := range steps {
			*(*[gemmMR]float32)(d[i*dstStride+p*gemmMR:]) = *(*[gemmMR]float32)(s[p*lda+i*gemmMR:])
		}
	}
}

// copyRows64Go is the Go twin of copyRows64AVX512: n rows of 64 floats, ld
// elements apart in src, to consecutive rows of dst.
func copyRows64Go(n int, src *float32, ld int, dst *float32) {
	if n <= 0 {
		return
	}
	s := unsafe.Slice(src, (n-1)*ld+64)
	d := unsafe.Slice(dst, n*64)
	for p := range n {
		*(*[64]float32)(d[p*64:]) = *(*[64]float32)(s[p*ld:])
	}
}

// packBT16Go is the Go twin of packBT16AVX512: blocks blocks of 16×16
// floats, block i rows 0-15 of src (ldb apart), floats 16i to 16i+15 of
// each, written transposed as rows 16i to 16i+15 of dst (ldd apart).
func packBT16Go(blocks int, src *float32, ldb int, dst *float32, ldd int) {
	if blocks <= 0 {
		return
	}
	s := unsafe.Slice(src, 15*ldb+16*blocks)
	d := unsafe.Slice(dst, (16*blocks-1)*ldd+16)
	for i := range 16 * blocks {
		for j := range 16 {
			d[i*ldd+j] = s[j*ldb+i]
		}
	}
}
