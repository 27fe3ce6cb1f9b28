//go:build !noasm

#include "textflag.h"

// func axpy64AVX2(a float64, x, y []float64)
// y[i] += a*x[i] for i < len(x); len(y) >= len(x).
TEXT ·axpy64AVX2(SB), NOSPLIT, $0-56
	MOVSD a+0(FP), X0
	VBROADCASTSD X0, Y0
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
	MOVQ y_base+32(FP), DI
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
axloop:
	CMPQ AX, BX
	JGE axtail
	VMOVUPD (SI)(AX*8), Y1
	VMOVUPD 32(SI)(AX*8), Y2
	VMOVUPD 64(SI)(AX*8), Y3
	VMOVUPD 96(SI)(AX*8), Y4
	VFMADD213PD (DI)(AX*8), Y0, Y1
	VFMADD213PD 32(DI)(AX*8), Y0, Y2
	VFMADD213PD 64(DI)(AX*8), Y0, Y3
	VFMADD213PD 96(DI)(AX*8), Y0, Y4
	VMOVUPD Y1, (DI)(AX*8)
	VMOVUPD Y2, 32(DI)(AX*8)
	VMOVUPD Y3, 64(DI)(AX*8)
	VMOVUPD Y4, 96(DI)(AX*8)
	ADDQ $16, AX
	JMP axloop
axtail:
	CMPQ AX, CX
	JGE axdone
	VMOVSD (SI)(AX*8), X1
	VFMADD213SD (DI)(AX*8), X0, X1
	VMOVSD X1, (DI)(AX*8)
	INCQ AX
	JMP axtail
axdone:
	VZEROUPPER
	RET

// func dot64AVX2(x, y []float64) float64
// sum of x[i]*y[i] for i < len(x); len(y) >= len(x).
TEXT ·dot64AVX2(SB), NOSPLIT, $0-56
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
dtloop:
	CMPQ AX, BX
	JGE dtreduce
	VMOVUPD (SI)(AX*8), Y4
	VMOVUPD 32(SI)(AX*8), Y5
	VMOVUPD 64(SI)(AX*8), Y6
	VMOVUPD 96(SI)(AX*8), Y7
	VFMADD231PD (DI)(AX*8), Y4, Y0
	VFMADD231PD 32(DI)(AX*8), Y5, Y1
	VFMADD231PD 64(DI)(AX*8), Y6, Y2
	VFMADD231PD 96(DI)(AX*8), Y7, Y3
	ADDQ $16, AX
	JMP dtloop
dtreduce:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
dttail:
	CMPQ AX, CX
	JGE dtdone
	VMOVSD (SI)(AX*8), X1
	VFMADD231SD (DI)(AX*8), X1, X0
	INCQ AX
	JMP dttail
dtdone:
	VMOVSD X0, ret+48(FP)
	VZEROUPPER
	RET

// func clampedResidual64AVX2(pre, x, g []float64, coef, floor float64) (sse, gsum float64, active int)
// out = max(pre, floor); d = out - x; loss += d*d; mask = pre > floor;
// g = mask ? coef*d : 0; gsum += g; active counts mask lanes.
TEXT ·clampedResidual64AVX2(SB), NOSPLIT, $0-112
	MOVQ pre_base+0(FP), SI
	MOVQ pre_len+8(FP), CX
	MOVQ x_base+24(FP), DX
	MOVQ g_base+48(FP), DI
	VBROADCASTSD coef+72(FP), Y15
	VBROADCASTSD floor+80(FP), Y14
	VXORPD Y0, Y0, Y0 // loss
	VXORPD Y1, Y1, Y1 // gsum
	VXORPD Y2, Y2, Y2 // active mask accumulator (OR)
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-4, BX
rsloop:
	CMPQ AX, BX
	JGE rsreduce
	VMOVUPD (SI)(AX*8), Y3           // pre
	VMAXPD Y14, Y3, Y4               // out = max(pre, floor)
	VSUBPD (DX)(AX*8), Y4, Y4        // d = out - x
	VFMADD231PD Y4, Y4, Y0           // loss += d*d
	VCMPPD $0x1E, Y14, Y3, Y5        // mask = pre > floor (GT_OQ)
	VMULPD Y15, Y4, Y6               // coef*d
	VANDPD Y5, Y6, Y6
	VMOVUPD Y6, (DI)(AX*8)
	VADDPD Y6, Y1, Y1
	VORPD Y5, Y2, Y2
	ADDQ $4, AX
	JMP rsloop
rsreduce:
	VEXTRACTF128 $1, Y0, X3
	VADDPD X3, X0, X0
	VHADDPD X0, X0, X0
	VEXTRACTF128 $1, Y1, X3
	VADDPD X3, X1, X1
	VHADDPD X1, X1, X1
	VEXTRACTF128 $1, Y2, X3
	VORPD X3, X2, X2
	VMOVMSKPD X2, R8
rstail:
	CMPQ AX, CX
	JGE rsdone
	VMOVSD (SI)(AX*8), X3
	VMAXSD X14, X3, X4
	VSUBSD (DX)(AX*8), X4, X4
	VFMADD231SD X4, X4, X0
	VCMPSD $0x1E, X14, X3, X5
	VMULSD X15, X4, X6
	VANDPD X5, X6, X6
	VMOVSD X6, (DI)(AX*8)
	VADDSD X6, X1, X1
	VMOVMSKPD X5, R9
	ANDQ $1, R9
	ORQ R9, R8
	INCQ AX
	JMP rstail
rsdone:
	VMOVSD X0, sse+88(FP)
	VMOVSD X1, gsum+96(FP)
	MOVQ R8, active+104(FP)
	VZEROUPPER
	RET
