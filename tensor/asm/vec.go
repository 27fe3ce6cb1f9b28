package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// elem is the element type of a vector kernel: one description writes the
// float32 kernels (../f32_amd64.s) and the float64 ones (../f64_amd64.s),
// which differ only in the element size and in the instructions' PS/PD
// (SS/SD) suffix. All run on AVX2 and FMA: 32-byte vectors of 8 or 4 lanes.
type elem struct {
	bits  int    // 32 or 64
	size  int    // bytes per element
	gotyp string // the Go type
	// Packed and scalar forms of the instructions the kernels use.
	movu, movs, bcast, xor, add, hadd, fma213, fma213s, fma231, fma231s func(...Op)
}

// variadic adapts a three-operand instruction to the elem fields' type.
func variadic(f func(a, b, c Op)) func(...Op) {
	return func(ops ...Op) { f(ops[0], ops[1], ops[2]) }
}

var (
	f32 = elem{32, 4, "float32", VMOVUPS, VMOVSS, VBROADCASTSS, VXORPS, VADDPS, variadic(VHADDPS),
		VFMADD213PS, VFMADD213SS, VFMADD231PS, VFMADD231SS}
	f64 = elem{64, 8, "float64", VMOVUPD, VMOVSD, VBROADCASTSD, VXORPD, VADDPD, variadic(VHADDPD),
		VFMADD213PD, VFMADD213SD, VFMADD231PD, VFMADD231SD}
)

// lanes is the elements in one 32-byte vector.
func (e elem) lanes() int { return 32 / e.size }

// at is the address of element AX + off/size of the array at base.
func (e elem) at(base, i reg.Register, off int) Mem {
	return Mem{Base: base, Index: i, Scale: uint8(e.size), Disp: off}
}

// vecKernels writes the vector kernels of one element type: Axpy and Dot for
// both, Axpy2 for float32 (the SAE's sparse weight gradients) and
// ClampedResidual for float64 (the toy models' SAE loss).
func vecKernels(bits int) {
	switch bits {
	case 32:
		f32.axpy()
		f32.dot()
		f32.axpy2()
	case 64:
		f64.axpy()
		f64.dot()
		f64.clampedResidual()
	default:
		panic(fmt.Sprintf("vecKernels: %d bits", bits))
	}
}

// loop emits `for ; i < end; i += step { body() }` under the label name.
func loop(name string, i, end reg.Register, step int, body func()) {
	Label(name + "loop")
	CMPQ(i, end)
	JGE(LabelRef(name + "done"))
	body()
	ADDQ(U8(step), i)
	JMP(LabelRef(name + "loop"))
	Label(name + "done")
}

// bounds loads len(param) and returns the index (0), the length and the end
// of the vector body: the length rounded down to a multiple of block.
func bounds(param string, block int) (i, n, end reg.GPVirtual) {
	n = Load(Param(param).Len(), GP64()).(reg.GPVirtual)
	i, end = GP64(), GP64()
	XORQ(i, i)
	MOVQ(n, end)
	ANDQ(I8(int8(-block)), end)
	return i, n, end
}

// axpy is y[i] += a*x[i] for i < len(x): four vectors a step, then one
// element at a time, every element one fused multiply-add.
func (e elem) axpy() {
	name := fmt.Sprintf("axpy%dAVX2", e.bits)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(a %s, x, y []%s)", e.gotyp, e.gotyp))
	Pragma("noescape")
	Doc(name+" sets y[i] += a*x[i] for i < len(x); len(y) >= len(x).",
		fmt.Sprintf("Four vectors (%d elements) a step, fused multiply-adds.", 4*e.lanes()))
	e.axpyBody("ax", 4, [][3]string{{"a", "x", "y"}})
}

// axpy2 is axpy on two pairs at once (y += a*x, v += b*u): two vectors of
// each a step.
func (e elem) axpy2() {
	name := fmt.Sprintf("axpy2x%dAVX2", e.bits)
	t := e.gotyp
	TEXT(name, NOSPLIT, fmt.Sprintf("func(a %s, x, y []%s, b %s, u, v []%s)", t, t, t, t))
	Pragma("noescape")
	Doc(name+" sets y[i] += a*x[i] and v[i] += b*u[i] for i < len(x);",
		"y, u and v are at least as long as x.")
	e.axpyBody("a2", 2, [][3]string{{"a", "x", "y"}, {"b", "u", "v"}})
}

// axpyBody is the body of an axpy over len(x) elements on one or more
// (scalar, source, destination) argument triples: nv vectors of each
// triple a step (every triple's loads, then its multiply-adds into the
// destination, then its stores), then one element at a time.
func (e elem) axpyBody(label string, nv int, triples [][3]string) {
	type triple struct {
		a        reg.VecVirtual
		src, dst reg.Register
		v        []reg.VecVirtual
	}
	ts := make([]triple, len(triples))
	for t, names := range triples {
		ts[t].a = YMM()
		e.bcast(paramAddr(names[0]), ts[t].a)
		ts[t].src = Load(Param(names[1]).Base(), GP64())
		ts[t].dst = Load(Param(names[2]).Base(), GP64())
	}
	i, n, end := bounds(triples[0][1], nv*e.lanes())
	for t := range ts {
		for range nv {
			ts[t].v = append(ts[t].v, YMM())
		}
	}
	loop(label, i, end, nv*e.lanes(), func() {
		for _, t := range ts {
			for k, v := range t.v {
				e.movu(e.at(t.src, i, 32*k), v)
			}
		}
		for _, t := range ts {
			for k, v := range t.v {
				e.fma213(e.at(t.dst, i, 32*k), t.a, v)
			}
		}
		for _, t := range ts {
			for k, v := range t.v {
				e.movu(v, e.at(t.dst, i, 32*k))
			}
		}
	})
	loop(label+"tail", i, n, 1, func() {
		for _, t := range ts {
			s := XMM()
			e.movs(e.at(t.src, i, 0), s)
			e.fma213s(e.at(t.dst, i, 0), t.a.AsX(), s)
			e.movs(s, e.at(t.dst, i, 0))
		}
	})
	VZEROUPPER()
	RET()
}

// dot is Σ x[i]*y[i] for i < len(x): four accumulators of one vector each,
// summed pairwise ((0+1)+(2+3)), then across lanes, then the last elements
// fused one at a time into the sum.
func (e elem) dot() {
	name := fmt.Sprintf("dot%dAVX2", e.bits)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(x, y []%s) %s", e.gotyp, e.gotyp))
	Pragma("noescape")
	Doc(name+" returns the sum of x[i]*y[i] for i < len(x); len(y) >= len(x).",
		"Four accumulators of one vector each, summed pairwise, then across lanes.")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	var acc [4]reg.VecVirtual
	for k := range acc {
		acc[k] = YMM()
		e.xor(acc[k], acc[k], acc[k])
	}
	i, n, end := bounds("x", 4*e.lanes())
	v := [4]reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	loop("dt", i, end, 4*e.lanes(), func() {
		for k := range v {
			e.movu(e.at(x, i, 32*k), v[k])
		}
		for k := range v {
			e.fma231(e.at(y, i, 32*k), v[k], acc[k])
		}
	})
	s := e.reduce(acc[0], acc[1], acc[2], acc[3])
	loop("dttail", i, n, 1, func() {
		w := XMM()
		e.movs(e.at(x, i, 0), w)
		e.fma231s(e.at(y, i, 0), w, s)
	})
	e.movs(s, resultAddr("ret"))
	VZEROUPPER()
	RET()
}

// reduce adds four accumulators pairwise, then the lanes of the sum, which
// it returns in the low lane of the first one's XMM half.
func (e elem) reduce(a0, a1, a2, a3 reg.VecVirtual) reg.VecVirtual {
	e.add(a1, a0, a0)
	e.add(a3, a2, a2)
	e.add(a2, a0, a0)
	return e.lanesum(a0)
}

// lanesum adds the lanes of v into the low lane of its XMM half, which it
// returns: the high 128 bits onto the low, then horizontal adds.
func (e elem) lanesum(v reg.VecVirtual) reg.VecVirtual {
	hi := XMM()
	VEXTRACTF128(U8(1), v, hi)
	lo := v.AsX()
	e.add(hi, lo, lo)
	for w := 16 / e.size; w > 1; w /= 2 {
		e.hadd(lo, lo, lo)
	}
	return lo.(reg.VecVirtual)
}

// resultAddr is the frame address of the named result ("ret" when the
// signature leaves it unnamed); the kernels store floats through it with
// VEX moves, which Store would write as SSE ones after 256-bit code.
func resultAddr(name string) Mem {
	r := Return(name)
	if name == "ret" {
		r = ReturnIndex(0)
	}
	b, err := r.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// clampedResidual is tensor.ClampedResidual64's kernel: out = max(pre,
// floor), d = out - x, sse += d*d, mask = pre > floor, g = mask ? coef*d : 0,
// gsum += g, and whether any lane passed the mask; one vector a step.
func (e elem) clampedResidual() {
	if e.bits != 64 {
		panic("clampedResidual: float64 only")
	}
	name := "clampedResidual64AVX2"
	TEXT(name, NOSPLIT, "func(pre, x, g []float64, coef, floor float64) (sse, gsum float64, active int)")
	Pragma("noescape")
	Doc(name+" is ClampedResidual64 with floor = 0 (ReLU) or -Inf:",
		"out = max(pre, floor); d = out - x; sse += d*d; mask = pre > floor;",
		"g = mask ? coef*d : 0; gsum += g; active is nonzero when any mask lane was set.")
	pre := Load(Param("pre").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	coef, floor := YMM(), YMM()
	VBROADCASTSD(paramAddr("coef"), coef)
	VBROADCASTSD(paramAddr("floor"), floor)
	sse, gsum, anyv := YMM(), YMM(), YMM()
	for _, r := range []reg.VecVirtual{sse, gsum, anyv} {
		VXORPD(r, r, r)
	}
	i, n, end := bounds("pre", e.lanes())
	const gtOQ = 0x1E // VCMPPD's "greater than, ordered, quiet"
	// step computes one vector (or, scalar, one element) into d and the mask.
	step := func(p, out, d, mask, gv reg.Register, scalar bool) {
		mov, maxf, sub, fma, cmp, mul := VMOVUPD, VMAXPD, VSUBPD, VFMADD231PD, VCMPPD, VMULPD
		if scalar {
			mov, maxf, sub, fma, cmp, mul = VMOVSD, VMAXSD, VSUBSD, VFMADD231SD, VCMPSD, VMULSD
		}
		s, gs, c, f := reg.Register(sse), reg.Register(gsum), reg.Register(coef), reg.Register(floor)
		if scalar {
			s, gs, c, f = sse.AsX(), gsum.AsX(), coef.AsX(), floor.AsX()
		}
		mov(e.at(pre, i, 0), p)
		maxf(f, p, out)
		sub(e.at(x, i, 0), out, d)
		fma(d, d, s)
		cmp(U8(gtOQ), f, p, mask)
		mul(c, d, gv)
		VANDPD(mask, gv, gv)
		mov(gv, e.at(g, i, 0))
		if scalar {
			VADDSD(gv, gs, gs)
		} else {
			VADDPD(gv, gs, gs)
		}
	}
	loop("rs", i, end, e.lanes(), func() {
		p, d, mask, gv := YMM(), YMM(), YMM(), YMM()
		step(p, d, d, mask, gv, false)
		VORPD(mask, anyv, anyv)
	})
	ssum, gsumx := e.lanesum(sse), e.lanesum(gsum)
	hi := XMM()
	VEXTRACTF128(U8(1), anyv, hi)
	VORPD(hi, anyv.AsX(), anyv.AsX())
	active := GP64() // the mask's sign bits, one per lane (VMOVMSKPD zero-extends)
	VMOVMSKPD(anyv.AsX(), active.As32())
	loop("rstail", i, n, 1, func() {
		p, d, mask, gv := XMM(), XMM(), XMM(), XMM()
		step(p, d, d, mask, gv, true)
		bit := GP32()
		VMOVMSKPD(mask, bit)
		ANDL(U8(1), bit)
		ORL(bit, active.As32())
	})
	VMOVSD(ssum, resultAddr("sse"))
	VMOVSD(gsumx, resultAddr("gsum"))
	Store(active, Return("active"))
	VZEROUPPER()
	RET()
}
