//go:build !noasm

#include "textflag.h"

// func axpy32AVX2(a float32, x, y []float32)
// y[i] += a*x[i] for i < len(x); len(y) >= len(x).
TEXT ·axpy32AVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS a+0(FP), Y0
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
	MOVQ y_base+32(FP), DI
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
axloop:
	CMPQ AX, BX
	JGE axtail
	VMOVUPS (SI)(AX*4), Y1
	VMOVUPS 32(SI)(AX*4), Y2
	VMOVUPS 64(SI)(AX*4), Y3
	VMOVUPS 96(SI)(AX*4), Y4
	VFMADD213PS (DI)(AX*4), Y0, Y1
	VFMADD213PS 32(DI)(AX*4), Y0, Y2
	VFMADD213PS 64(DI)(AX*4), Y0, Y3
	VFMADD213PS 96(DI)(AX*4), Y0, Y4
	VMOVUPS Y1, (DI)(AX*4)
	VMOVUPS Y2, 32(DI)(AX*4)
	VMOVUPS Y3, 64(DI)(AX*4)
	VMOVUPS Y4, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP axloop
axtail:
	CMPQ AX, CX
	JGE axdone
	VMOVSS (SI)(AX*4), X1
	VFMADD213SS (DI)(AX*4), X0, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ AX
	JMP axtail
axdone:
	VZEROUPPER
	RET

// func dot32AVX2(x, y []float32) float32
// sum of x[i]*y[i] for i < len(x); len(y) >= len(x).
TEXT ·dot32AVX2(SB), NOSPLIT, $0-52
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
dtloop:
	CMPQ AX, BX
	JGE dtreduce
	VMOVUPS (SI)(AX*4), Y4
	VMOVUPS 32(SI)(AX*4), Y5
	VMOVUPS 64(SI)(AX*4), Y6
	VMOVUPS 96(SI)(AX*4), Y7
	VFMADD231PS (DI)(AX*4), Y4, Y0
	VFMADD231PS 32(DI)(AX*4), Y5, Y1
	VFMADD231PS 64(DI)(AX*4), Y6, Y2
	VFMADD231PS 96(DI)(AX*4), Y7, Y3
	ADDQ $32, AX
	JMP dtloop
dtreduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
dttail:
	CMPQ AX, CX
	JGE dtdone
	VMOVSS (SI)(AX*4), X1
	VFMADD231SS (DI)(AX*4), X1, X0
	INCQ AX
	JMP dttail
dtdone:
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func axpy2x32AVX2(a float32, x, y []float32, b float32, u, v []float32)
// y[i] += a*x[i] and v[i] += b*u[i] for i < len(x); x, y, u and v at
// least as long as x.
TEXT ·axpy2x32AVX2(SB), NOSPLIT, $0-112
	VBROADCASTSS a+0(FP), Y0
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
	MOVQ y_base+32(FP), DI
	VBROADCASTSS b+56(FP), Y8
	MOVQ u_base+64(FP), R8
	MOVQ v_base+88(FP), R9
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
a2loop:
	CMPQ AX, BX
	JGE a2tail
	VMOVUPS (SI)(AX*4), Y1
	VMOVUPS 32(SI)(AX*4), Y2
	VMOVUPS (R8)(AX*4), Y3
	VMOVUPS 32(R8)(AX*4), Y4
	VFMADD213PS (DI)(AX*4), Y0, Y1
	VFMADD213PS 32(DI)(AX*4), Y0, Y2
	VFMADD213PS (R9)(AX*4), Y8, Y3
	VFMADD213PS 32(R9)(AX*4), Y8, Y4
	VMOVUPS Y1, (DI)(AX*4)
	VMOVUPS Y2, 32(DI)(AX*4)
	VMOVUPS Y3, (R9)(AX*4)
	VMOVUPS Y4, 32(R9)(AX*4)
	ADDQ $16, AX
	JMP a2loop
a2tail:
	CMPQ AX, CX
	JGE a2done
	VMOVSS (SI)(AX*4), X1
	VFMADD213SS (DI)(AX*4), X0, X1
	VMOVSS X1, (DI)(AX*4)
	VMOVSS (R8)(AX*4), X3
	VFMADD213SS (R9)(AX*4), X8, X3
	VMOVSS X3, (R9)(AX*4)
	INCQ AX
	JMP a2tail
a2done:
	VZEROUPPER
	RET
