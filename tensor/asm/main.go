package main

import (
	"flag"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// mr is the tile's rows. Six rows of nv vectors is the widest tile whose
// accumulators, B's nv vectors and two broadcast registers fit the register
// file (AVX-512: 6*4+4+2 = 30 of 32; AVX2: 6*2+2+2 = 16 of 16).
const mr = 6

// aMode is how a kernel reads A.
type aMode int

const (
	// packed: a sliver of MR values per step, steps contiguous.
	packed aMode = iota
	// direct: MR rows of A in place, lda elements apart.
	direct
	// strided: A transposed in place, a step's MR values contiguous and
	// the steps lda elements apart. For lda a power of two a deep sliver's
	// kc lines share few L1 sets (packing measured 1.4x faster at kc = 256),
	// so the macro-kernel takes it for shallow slivers only, where packing
	// A cost as much as the product (a head's 32-step weight gradients).
	strided
)

// kernel is one micro-kernel: C[0:6,0:NR] = alpha*sum_p A[:,p] (x) B[p,:] +
// beta*C, with NR = nv vectors; C is not read when beta == 0.
//
// Each step loads B's nv vectors and broadcasts A's six values, one load
// per row into a register that serves the row's nv multiply-adds: nv+6
// loads per 6*nv FMAs. Loads are what keeps a kernel below the FMA units'
// rate on these cores (a broadcast folded into every FMA, 6*nv+nv loads,
// measured 0.76 of the peak at 6x32; explicit broadcasts 0.84 at 6x32 and
// 0.89 at 6x64), so the AVX-512 tile is the one that needs fewest loads per
// FMA: 6 rows of 4 vectors (10 loads per 24 FMAs).
type kernel struct {
	name string
	// vec is the vector width in bytes: 32 (AVX2+FMA) or 64 (AVX-512).
	vec int
	// nv is the vectors of C per row.
	nv  int
	a   aMode
	doc []string
	// bDirect reads B in place, each step's NR values a row of B, ldb
	// elements after the last (else B is packed, NR values per step).
	bDirect bool
}

func (k kernel) nr() int { return k.nv * k.vec / 4 }

var which = flag.String("kernels", "gemm", "the kernels to write: gemm, peak, f32 or f64")

func main() {
	flag.Parse()
	ConstraintExpr("!noasm")
	switch *which {
	case "gemm":
		gemmKernels()
	case "peak":
		peakLoops()
	case "f32":
		vecKernels(32)
	case "f64":
		vecKernels(64)
	default:
		log.Fatalf("-kernels %q: want gemm, peak, f32 or f64", *which)
	}
	Generate()
}

func gemmKernels() {
	for _, k := range []kernel{
		{"sgemmKernel6x16AVX2", 32, 2, packed, []string{
			"sgemmKernel6x16AVX2 is the AVX2+FMA micro-kernel; see microKernel.",
			"A is packed 6 floats per step, B 16 floats per step; ldc is in elements.",
		}, false},
		{"sgemmKernel6x64AVX512", 64, 4, packed, []string{
			"sgemmKernel6x64AVX512 is the AVX-512 micro-kernel (NR = 64).",
		}, false},
		{"sgemmKernel6x64AVX512Direct", 64, 4, direct, []string{
			"sgemmKernel6x64AVX512Direct is sgemmKernel6x64AVX512 reading A unpacked:",
			"six rows of k floats, lda elements apart.",
		}, false},
		// The narrower AVX-512 tiles serve products whose n is not a
		// multiple of 64 (an attention head's 32 columns, 96): a 6x64 tile
		// there computes up to twice the columns it stores, through the
		// scratch tile.
		{"sgemmKernel6x32AVX512", 64, 2, packed, []string{
			"sgemmKernel6x32AVX512 is the AVX-512 micro-kernel with NR = 32.",
		}, false},
		{"sgemmKernel6x32AVX512Direct", 64, 2, direct, []string{
			"sgemmKernel6x32AVX512Direct is sgemmKernel6x32AVX512 reading A unpacked:",
			"six rows of k floats, lda elements apart.",
		}, false},
		{"sgemmKernel6x64AVX512Strided", 64, 4, strided, []string{
			"sgemmKernel6x64AVX512Strided is sgemmKernel6x64AVX512 reading A transposed in",
			"place: k steps of six floats, lda elements apart.",
		}, false},
		{"sgemmKernel6x32AVX512Strided", 64, 2, strided, []string{
			"sgemmKernel6x32AVX512Strided is sgemmKernel6x32AVX512 reading A transposed in",
			"place: k steps of six floats, lda elements apart.",
		}, false},
		{"sgemmKernel6x16AVX512Strided", 64, 1, strided, []string{
			"sgemmKernel6x16AVX512Strided is sgemmKernel6x16AVX512 reading A transposed in",
			"place: k steps of six floats, lda elements apart.",
		}, false},
		// Rows of A and rows of B both in place: products with few rows
		// of A, where each packed B value would serve only those rows.
		{"sgemmKernel6x64AVX512DirectB", 64, 4, direct, []string{
			"sgemmKernel6x64AVX512DirectB is sgemmKernel6x64AVX512Direct reading B in place:",
			"k rows of 64 floats, ldb elements apart.",
		}, true},
		{"sgemmKernel6x32AVX512DirectB", 64, 2, direct, []string{
			"sgemmKernel6x32AVX512DirectB is sgemmKernel6x32AVX512Direct reading B in place:",
			"k rows of 32 floats, ldb elements apart.",
		}, true},
		{"sgemmKernel6x16AVX512DirectB", 64, 1, direct, []string{
			"sgemmKernel6x16AVX512DirectB is sgemmKernel6x16AVX512Direct reading B in place:",
			"k rows of 16 floats, ldb elements apart.",
		}, true},
		{"sgemmKernel6x16AVX512", 64, 1, packed, []string{
			"sgemmKernel6x16AVX512 is the AVX-512 micro-kernel with NR = 16.",
		}, false},
		{"sgemmKernel6x16AVX512Direct", 64, 1, direct, []string{
			"sgemmKernel6x16AVX512Direct is sgemmKernel6x16AVX512 reading A unpacked:",
			"six rows of k floats, lda elements apart.",
		}, false},
	} {
		k.generate()
	}
	packRoutines()
}

// packRoutines writes the packing loops the macro-kernel calls in place of
// Go copies that compiled to a runtime.memmove call per few dozen bytes.
func packRoutines() {
	// A transposed A's six values per step, each step lda floats on in A
	// and six on in the sliver, for slivers side by side in A (six floats
	// apart) and dstStride floats apart in the packed panel. SSE moves
	// only (16 + 8 bytes), which every amd64 CPU has.
	TEXT("packAT6", NOSPLIT, "func(slivers, steps int, src *float32, lda int, dst *float32, dstStride int)")
	Pragma("noescape")
	Doc("packAT6 copies, for each of slivers slivers, steps steps of six floats",
		"lda elements apart in src to consecutive sixes in dst (packATPanel).",
		"Sliver i starts at src+6i and dst+i*dstStride.")
	ns := Load(Param("slivers"), GP64())
	steps := Load(Param("steps"), GP64())
	src := Load(Param("src"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	SHLQ(U8(2), ds)
	TESTQ(steps, steps)
	JLE(LabelRef("atdone"))
	TESTQ(ns, ns)
	JLE(LabelRef("atdone"))
	sp, dp, n, lo := GP64(), GP64(), GP64(), GP64()
	x := XMM()
	Label("atsliver")
	MOVQ(src, sp)
	MOVQ(dst, dp)
	MOVQ(steps, n)
	Label("atstep")
	MOVUPS(Mem{Base: sp}, x)
	MOVQ(Mem{Base: sp, Disp: 16}, lo)
	MOVUPS(x, Mem{Base: dp})
	MOVQ(lo, Mem{Base: dp, Disp: 16})
	ADDQ(lda, sp)
	ADDQ(U8(24), dp)
	DECQ(n)
	JNZ(LabelRef("atstep"))
	ADDQ(U8(24), src)
	ADDQ(ds, dst)
	DECQ(ns)
	JNZ(LabelRef("atsliver"))
	Label("atdone")
	RET()

	// B's rows of 64 floats, ld floats apart, into consecutive rows of a
	// packed 6x64 sliver: four zmm moves per row.
	TEXT("copyRows64AVX512", NOSPLIT, "func(n int, src *float32, ld int, dst *float32)")
	Pragma("noescape")
	Doc("copyRows64AVX512 copies n rows of 64 floats, ld elements apart in src,",
		"to consecutive rows of dst (packB's 6x64 slivers).")
	rows := Load(Param("n"), GP64())
	from := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	to := Load(Param("dst"), GP64())
	TESTQ(rows, rows)
	JLE(LabelRef("cpdone"))
	var z [4]reg.VecVirtual
	for i := range z {
		z[i] = ZMM()
	}
	Label("cprow")
	for i := range z {
		VMOVUPS(Mem{Base: from, Disp: 64 * i}, z[i])
	}
	for i := range z {
		VMOVUPS(z[i], Mem{Base: to, Disp: 64 * i})
	}
	ADDQ(ld, from)
	ADDQ(U32(256), to)
	DECQ(rows)
	JNZ(LabelRef("cprow"))
	VZEROUPPER()
	Label("cpdone")
	RET()

	packBT16()
}

// packBT16 writes the transposing copy of a transposed B into packed
// slivers: 16 of B's rows (16 columns of op(B)) times 16 steps at a time,
// transposed in registers (unpack, shuffle, then two lane shuffles: 64
// shuffles per 256 floats, where the Go loop moved one float per load and
// store).
func packBT16() {
	TEXT("packBT16AVX512", NOSPLIT, "func(blocks int, src *float32, ldb int, dst *float32, ldd int)")
	Pragma("noescape")
	Doc("packBT16AVX512 transposes blocks blocks of 16x16 floats: block i is rows",
		"0-15 of src (ldb elements apart), floats 16i to 16i+15 of each, written as",
		"rows 16i to 16i+15 of dst (ldd elements apart), 16 floats each.")
	n := Load(Param("blocks"), GP64())
	src := Load(Param("src"), GP64()).(reg.GPVirtual)
	ldb := Load(Param("ldb"), GP64()).(reg.GPVirtual)
	SHLQ(U8(2), ldb)
	dst := Load(Param("dst"), GP64()).(reg.GPVirtual)
	ldd := Load(Param("ldd"), GP64()).(reg.GPVirtual)
	SHLQ(U8(2), ldd)
	TESTQ(n, n)
	JLE(LabelRef("btdone"))
	// Rows 3q to 3q+2 are addressed from base q (an x86 address scales its
	// index by 1, 2 or 4 only); the bases serve src's rows, then dst's.
	var base [6]reg.GPVirtual
	for q := 1; q < len(base); q++ {
		base[q] = GP64()
	}
	setBases := func(p, stride reg.GPVirtual) {
		base[0] = p
		for q := 1; q < len(base); q++ {
			LEAQ(Mem{Base: base[q-1], Index: stride, Scale: 2}, base[q])
			ADDQ(stride, base[q])
		}
	}
	row := func(stride reg.GPVirtual, i int) Mem {
		b, o := base[i/3], i%3
		if o == 0 {
			return Mem{Base: b}
		}
		return Mem{Base: b, Index: stride, Scale: uint8(o)}
	}
	Label("btblock")
	setBases(src, ldb)
	var r [16]reg.VecVirtual
	for i := range r {
		r[i] = ZMM()
		VMOVUPS(row(ldb, i), r[i])
	}
	// Stage 1: pairs of rows interleaved.
	var t [16]reg.VecVirtual
	for i := 0; i < 16; i += 2 {
		t[i], t[i+1] = ZMM(), ZMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	// Stage 2: u[4q+c] holds, in each 128-bit lane l, column 4l+c of rows
	// 4q to 4q+3.
	var u [16]reg.VecVirtual
	for q := range 4 {
		a, b := t[4*q], t[4*q+2]
		c, d := t[4*q+1], t[4*q+3]
		for i := range 4 {
			u[4*q+i] = ZMM()
		}
		VSHUFPS(U8(0x44), b, a, u[4*q])
		VSHUFPS(U8(0xEE), b, a, u[4*q+1])
		VSHUFPS(U8(0x44), d, c, u[4*q+2])
		VSHUFPS(U8(0xEE), d, c, u[4*q+3])
	}
	// Stages 3 and 4: the lanes gathered into columns c, 4+c, 8+c, 12+c.
	setBases(dst, ldd)
	for c := range 4 {
		v0, v4, v8, v12 := ZMM(), ZMM(), ZMM(), ZMM()
		VSHUFF32X4(U8(0x88), u[4+c], u[c], v0)     // columns c, 8+c of rows 0-7
		VSHUFF32X4(U8(0xDD), u[4+c], u[c], v4)     // columns 4+c, 12+c of rows 0-7
		VSHUFF32X4(U8(0x88), u[12+c], u[8+c], v8)  // columns c, 8+c of rows 8-15
		VSHUFF32X4(U8(0xDD), u[12+c], u[8+c], v12) // columns 4+c, 12+c of rows 8-15
		var o [4]reg.VecVirtual
		for h := range o {
			o[h] = ZMM()
		}
		VSHUFF32X4(U8(0x88), v8, v0, o[0])  // column c
		VSHUFF32X4(U8(0x88), v12, v4, o[1]) // column 4+c
		VSHUFF32X4(U8(0xDD), v8, v0, o[2])  // column 8+c
		VSHUFF32X4(U8(0xDD), v12, v4, o[3]) // column 12+c
		for h := range o {
			VMOVUPS(o[h], row(ldd, 4*h+c))
		}
	}
	ADDQ(U8(64), src)
	// dst moves on 16 rows: base 5 is row 15.
	LEAQ(Mem{Base: base[5], Index: ldd, Scale: 1}, dst)
	DECQ(n)
	JNZ(LabelRef("btblock"))
	VZEROUPPER()
	Label("btdone")
	RET()
}

// aRegs are the general registers that address A: base, base + 3 rows (an
// x86 address scales an index by 1, 2 or 4 only, so rows 3-5 need a second
// base) and the row stride in bytes.
type aRegs struct {
	base, base3, stride reg.GPVirtual
}

// aAddr is the address of A's value for row r at unrolled step u.
func (k kernel) aAddr(ar aRegs, r, u int) Mem {
	switch k.a {
	case direct:
		// Row r lies r strides from base; the step is the displacement.
		return scaled(ar.base, ar.base3, ar.stride, r, 4*u)
	case strided:
		// Step u lies u strides from base; the row is the displacement.
		return scaled(ar.base, ar.base3, ar.stride, u, 4*r)
	}
	return Mem{Base: ar.base, Disp: 4 * (u*mr + r)}
}

// scaled is base + i*stride + disp for i < 6, through base3 for i >= 3.
func scaled(base, base3, stride reg.GPVirtual, i, disp int) Mem {
	b := base
	if i >= 3 {
		b, i = base3, i-3
	}
	if i == 0 {
		return Mem{Base: b, Disp: disp}
	}
	return Mem{Base: b, Index: stride, Scale: uint8(i), Disp: disp}
}

func (k kernel) vreg() reg.VecVirtual {
	if k.vec == 64 {
		return ZMM()
	}
	return YMM()
}

func (k kernel) generate() {
	sig := "func(k int, a, b, c *float32, ldc int, alpha, beta float32)"
	switch {
	case k.bDirect:
		sig = "func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)"
	case k.a != packed:
		sig = "func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)"
	}
	TEXT(k.name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(k.doc...)
	n := Load(Param("k"), GP64())
	var ar aRegs
	ar.base = Load(Param("a"), GP64()).(reg.GPVirtual)
	if k.a != packed {
		ar.stride = Load(Param("lda"), GP64()).(reg.GPVirtual)
		SHLQ(U8(2), ar.stride)
		ar.base3 = GP64()
		LEAQ(Mem{Base: ar.base, Index: ar.stride, Scale: 2}, ar.base3)
		ADDQ(ar.stride, ar.base3)
	}
	var br aRegs
	br.base = Load(Param("b"), GP64()).(reg.GPVirtual)
	if k.bDirect {
		br.stride = Load(Param("ldb"), GP64()).(reg.GPVirtual)
		SHLQ(U8(2), br.stride)
		br.base3 = GP64()
		LEAQ(Mem{Base: br.base, Index: br.stride, Scale: 2}, br.base3)
		ADDQ(br.stride, br.base3)
	}
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	k.prefetchC(c, ldc)

	Comment("The tile's accumulators, nv vectors per row.")
	var acc [mr][]reg.VecVirtual
	for r := range acc {
		acc[r] = make([]reg.VecVirtual, k.nv)
		for h := range acc[r] {
			acc[r][h] = k.vreg()
			if k.vec == 64 {
				VPXORD(acc[r][h], acc[r][h], acc[r][h])
			} else {
				VXORPS(acc[r][h], acc[r][h], acc[r][h])
			}
		}
	}
	// B's nv vectors and two registers for A's broadcasts (the core
	// renames them, so reusing them across steps costs no waiting).
	bv := make([]reg.VecVirtual, k.nv)
	for h := range bv {
		bv[h] = k.vreg()
	}
	x := [2]reg.VecVirtual{k.vreg(), k.vreg()}

	Comment("Four steps at a time.")
	n4 := GP64()
	MOVQ(n, n4)
	SHRQ(U8(2), n4)
	JZ(LabelRef("tail"))
	Label("loop4")
	for u := range 4 {
		k.step(ar, br, bv, x, acc, u)
	}
	k.advance(ar, br, 4)
	DECQ(n4)
	JNZ(LabelRef("loop4"))

	Label("tail")
	Comment("The last k mod 4 steps.")
	ANDQ(U8(3), n)
	JZ(LabelRef("store"))
	Label("loop1")
	k.step(ar, br, bv, x, acc, 0)
	k.advance(ar, br, 1)
	DECQ(n)
	JNZ(LabelRef("loop1"))

	Label("store")
	k.epilogue(acc, c, ldc)
}

// advance moves A's and B's pointers on by steps steps.
func (k kernel) advance(ar, br aRegs, steps int) {
	switch k.a {
	case direct:
		ADDQ(U32(4*steps), ar.base)
		ADDQ(U32(4*steps), ar.base3)
	case strided:
		// steps strides on: 4 (the unrolled loop) or 1 (the tail, which
		// reads through base only).
		if steps == 4 {
			LEAQ(Mem{Base: ar.base, Index: ar.stride, Scale: 4}, ar.base)
			LEAQ(Mem{Base: ar.base3, Index: ar.stride, Scale: 4}, ar.base3)
		} else {
			ADDQ(ar.stride, ar.base)
		}
	default:
		ADDQ(U32(4*steps*mr), ar.base)
	}
	switch {
	case k.bDirect && steps == 4:
		LEAQ(Mem{Base: br.base, Index: br.stride, Scale: 4}, br.base)
		LEAQ(Mem{Base: br.base3, Index: br.stride, Scale: 4}, br.base3)
	case k.bDirect:
		ADDQ(br.stride, br.base)
	default:
		ADDQ(U32(4*steps*k.nr()), br.base)
	}
}

// step multiplies A's six values of unrolled step u into B's row u: B's nv
// vectors, then per row one broadcast of A and nv multiply-adds. The AVX2
// kernel broadcasts two rows ahead, in the order the hand-written kernel
// had (TestKernelBitsUnchanged pins its bits).
func (k kernel) step(ar, br aRegs, bv []reg.VecVirtual, x [2]reg.VecVirtual, acc [mr][]reg.VecVirtual, u int) {
	row := k.nv * k.vec // bytes of B per step
	for h := range bv {
		m := Mem{Base: br.base, Disp: u*row + h*k.vec}
		if k.bDirect {
			// Step u's row lies u strides from base.
			m = scaled(br.base, br.base3, br.stride, u, h*k.vec)
		}
		VMOVUPS(m, bv[h])
	}
	for r := 0; r < mr; r += 2 {
		VBROADCASTSS(k.aAddr(ar, r, u), x[0])
		VBROADCASTSS(k.aAddr(ar, r+1, u), x[1])
		for i := range 2 {
			for h := range bv {
				VFMADD231PS(bv[h], x[i], acc[r+i][h])
			}
		}
	}
}

// prefetchC asks for the tile of C in L1 before the k steps, so that the
// epilogue's loads and stores (to a C that is usually in L3 or memory) do
// not wait for it: the steps take far longer than the fetch.
func (k kernel) prefetchC(c, ldc reg.Register) {
	Comment("Fetch C's tile while the steps run.")
	p := GP64()
	MOVQ(c, p)
	for r := range mr {
		for off := 0; off < k.nv*k.vec; off += 64 {
			PREFETCHT0(Mem{Base: p, Disp: off})
		}
		if r < mr-1 {
			ADDQ(ldc, p)
		}
	}
}

// epilogue is the one store every kernel shares: acc *= alpha, then C =
// acc + beta*C fused, or C = acc without reading C when beta is ±0.
func (k kernel) epilogue(acc [mr][]reg.VecVirtual, c, ldc reg.Register) {
	Comment("C = alpha*acc + beta*C; C is not read when beta is ±0.")
	alpha := k.vreg()
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for r := range acc {
		for h := range acc[r] {
			VMULPS(alpha, acc[r][h], acc[r][h])
		}
	}
	bits := GP32()
	MOVL(paramAddr("beta"), bits)
	ANDL(U32(0x7fffffff), bits)
	JZ(LabelRef("nobeta"))
	beta := k.vreg()
	VBROADCASTSS(paramAddr("beta"), beta)
	k.storeRows(acc, c, ldc, func(m Mem, v reg.VecVirtual) { VFMADD231PS(m, beta, v) })
	Label("nobeta")
	k.storeRows(acc, c, ldc, nil)
}

// storeRows writes the six rows of C, ldc bytes apart, each first merged
// with C by merge when it is not nil; it returns from the kernel.
func (k kernel) storeRows(acc [mr][]reg.VecVirtual, c, ldc reg.Register, merge func(Mem, reg.VecVirtual)) {
	p := GP64()
	MOVQ(c, p)
	for r := range acc {
		for h := range acc[r] {
			m := Mem{Base: p, Disp: h * k.vec}
			if merge != nil {
				merge(m, acc[r][h])
			}
			VMOVUPS(acc[r][h], m)
		}
		if r < mr-1 {
			ADDQ(ldc, p)
		}
	}
	VZEROUPPER()
	RET()
}

// paramAddr is the frame address of the named argument, as avo lays it out
// from the signature.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// peakUnroll is tensor's peakUnroll: independent accumulators per
// iteration, at least the FMA latency times its pipes (4 × 2).
const peakUnroll = 12

// peakLoops writes tensor.MeasurePeak's loops: n iterations of peakUnroll
// independent acc += x*y on registers only, so that they run at the FMA
// units' rate. The accumulators start at 0 and stay 0 (0*0 adds nothing):
// no denormals, no overflow.
func peakLoops() {
	for _, p := range []struct {
		name string
		vec  func() reg.VecVirtual
		zero func(reg.VecVirtual)
		doc  string
	}{
		{"peakFMA512", ZMM, func(v reg.VecVirtual) { VPXORD(v, v, v) }, "512-bit (AVX-512)"},
		{"peakFMA256", YMM, func(v reg.VecVirtual) { VXORPS(v, v, v) }, "256-bit (AVX2 and FMA)"},
	} {
		TEXT(p.name, NOSPLIT, "func(n int)")
		Pragma("noescape")
		Doc(p.name+" runs n iterations of independent fused multiply-adds on",
			p.doc+" registers; see MeasurePeak.")
		n := Load(Param("n"), GP64())
		x, y := p.vec(), p.vec()
		p.zero(x)
		p.zero(y)
		var acc [peakUnroll]reg.VecVirtual
		for i := range acc {
			acc[i] = p.vec()
			p.zero(acc[i])
		}
		TESTQ(n, n)
		JLE(LabelRef("done"))
		Label("loop")
		for i := range acc {
			VFMADD231PS(x, y, acc[i])
		}
		DECQ(n)
		JNZ(LabelRef("loop"))
		Label("done")
		// Keep the sums live to the end, so that no accumulator's
		// register is given to another.
		for i := 1; i < peakUnroll; i++ {
			VADDPS(acc[i], acc[0], acc[0])
		}
		VZEROUPPER()
		RET()
	}
}
