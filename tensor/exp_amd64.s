//go:build !noasm

#include "textflag.h"

// Constants of expf (see exp.go), as float32 bit patterns.
DATA expConst<>+0(SB)/4, $0xc2aeac4f  // expLo  -87.33654
DATA expConst<>+4(SB)/4, $0x42b0c0a5  // expHi   88.37626
DATA expConst<>+8(SB)/4, $0x3fb8aa3b  // log2 e
DATA expConst<>+12(SB)/4, $0x3f318000 // C1  0.693359375
DATA expConst<>+16(SB)/4, $0xb95e8083 // C2 -2.12194440e-4
DATA expConst<>+20(SB)/4, $0x39506967 // P0
DATA expConst<>+24(SB)/4, $0x3ab743ce // P1
DATA expConst<>+28(SB)/4, $0x3c088908 // P2
DATA expConst<>+32(SB)/4, $0x3d2aa9c1 // P3
DATA expConst<>+36(SB)/4, $0x3e2aaaaa // P4
DATA expConst<>+40(SB)/4, $0x3f000000 // P5
DATA expConst<>+44(SB)/4, $0x3f800000 // 1
DATA expConst<>+48(SB)/4, $0x7f800000 // +Inf
GLOBL expConst<>(SB), RODATA|NOPTR, $52

// func expShiftedAVX2(dst, src *float32, n int, shift float32)
TEXT ·expShiftedAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y15
	VBROADCASTSS expConst<>+0(SB), Y14  // lo
	VBROADCASTSS expConst<>+4(SB), Y13  // hi
	VBROADCASTSS expConst<>+8(SB), Y12  // log2 e
	VBROADCASTSS expConst<>+12(SB), Y11 // C1
	VBROADCASTSS expConst<>+16(SB), Y10 // C2
	VBROADCASTSS expConst<>+44(SB), Y9  // 1
	VBROADCASTSS expConst<>+48(SB), Y8  // +Inf
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE done
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y15, Y0, Y0              // x = src - shift
	VCMPPS $0x11, Y14, Y0, Y5       // under: x < lo (true for -Inf)
	VCMPPS $0x1E, Y13, Y0, Y6       // over: x > hi
	VCMPPS $0x03, Y0, Y0, Y7        // NaN
	VMAXPS Y14, Y0, Y1
	VMINPS Y13, Y1, Y1              // xc = clamp(x)
	VMULPS Y12, Y1, Y2
	VROUNDPS $0, Y2, Y2             // n = round(xc·log2 e)
	VFNMADD231PS Y11, Y2, Y1        // r = xc - n·C1
	VFNMADD231PS Y10, Y2, Y1        // r -= n·C2
	VBROADCASTSS expConst<>+20(SB), Y3
	VBROADCASTSS expConst<>+24(SB), Y4
	VFMADD213PS Y4, Y1, Y3          // p = P0·r + P1
	VBROADCASTSS expConst<>+28(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expConst<>+32(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expConst<>+36(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expConst<>+40(SB), Y4
	VFMADD213PS Y4, Y1, Y3          // p
	VMULPS Y1, Y1, Y4               // r²
	VFMADD213PS Y1, Y4, Y3          // p·r² + r
	VADDPS Y9, Y3, Y3               // + 1
	VCVTPS2DQ Y2, Y2
	VPSLLD $23, Y2, Y2
	VPADDD Y2, Y3, Y3               // · 2^n
	VANDNPS Y3, Y5, Y3              // under → 0
	VBLENDVPS Y6, Y8, Y3, Y3        // over → +Inf
	VBLENDVPS Y7, Y0, Y3, Y3        // NaN → NaN
	VMOVUPS Y3, (DI)(AX*4)
	ADDQ $8, AX
	JMP loop

done:
	VZEROUPPER
	RET

// Constants of tanh-GELU (see GeluTanh), as float32 bit patterns.
DATA geluConst<>+0(SB)/4, $0xbfcc422a  // −2·√(2/π)
DATA geluConst<>+4(SB)/4, $0x3d372713  // 0.044715
DATA geluConst<>+8(SB)/4, $0x3e095d4f  // 3·0.044715
DATA geluConst<>+12(SB)/4, $0x3f4c422a // √(2/π)
GLOBL geluConst<>(SB), RODATA|NOPTR, $16

// GELU_EXP sets Y4 = e^Y1 by expShiftedAVX2's steps (shift 0), given the
// constants in Y8-Y14; it uses Y2, Y3, Y5 and Y6 and keeps Y0, Y1.
#define GELU_EXP \
	VMAXPS Y14, Y1, Y2                \
	VMINPS Y13, Y2, Y2                \ // xc = clamp(x)
	VMULPS Y12, Y2, Y3                \
	VROUNDPS $0, Y3, Y3               \ // n = round(xc·log2 e)
	VFNMADD231PS Y11, Y3, Y2          \ // r = xc − n·C1
	VFNMADD231PS Y10, Y3, Y2          \ // r −= n·C2
	VBROADCASTSS expConst<>+20(SB), Y4 \
	VBROADCASTSS expConst<>+24(SB), Y5 \
	VFMADD213PS Y5, Y2, Y4            \ // p = P0·r + P1
	VBROADCASTSS expConst<>+28(SB), Y5 \
	VFMADD213PS Y5, Y2, Y4            \
	VBROADCASTSS expConst<>+32(SB), Y5 \
	VFMADD213PS Y5, Y2, Y4            \
	VBROADCASTSS expConst<>+36(SB), Y5 \
	VFMADD213PS Y5, Y2, Y4            \
	VBROADCASTSS expConst<>+40(SB), Y5 \
	VFMADD213PS Y5, Y2, Y4            \ // p
	VMULPS Y2, Y2, Y6                 \ // r²
	VFMADD213PS Y2, Y6, Y4            \ // p·r² + r
	VADDPS Y9, Y4, Y4                 \ // + 1
	VCVTPS2DQ Y3, Y3                  \
	VPSLLD $23, Y3, Y3                \
	VPADDD Y3, Y4, Y4                 \ // · 2^n
	VCMPPS $0x11, Y14, Y1, Y2         \ // x < lo (−Inf too) → 0
	VANDNPS Y4, Y2, Y4                \
	VCMPPS $0x1E, Y13, Y1, Y3         \ // x > hi → +Inf
	VBLENDVPS Y3, Y8, Y4, Y4          \
	VCMPPS $0x03, Y1, Y1, Y5          \ // NaN → NaN
	VBLENDVPS Y5, Y1, Y4, Y4

// GELU_ARG sets Y1 = −2·√(2/π)·(v + 0.044715·v·v·v) for v in Y0, in
// GeluTanh's order of operations (Y15 holds −2·√(2/π)).
#define GELU_ARG \
	VBROADCASTSS geluConst<>+4(SB), Y1 \
	VMULPS Y0, Y1, Y1                 \
	VMULPS Y0, Y1, Y1                 \
	VMULPS Y0, Y1, Y1                 \
	VADDPS Y1, Y0, Y1                 \
	VMULPS Y15, Y1, Y1

#define GELU_CONSTS \
	VBROADCASTSS geluConst<>+0(SB), Y15 \
	VBROADCASTSS expConst<>+0(SB), Y14  \
	VBROADCASTSS expConst<>+4(SB), Y13  \
	VBROADCASTSS expConst<>+8(SB), Y12  \
	VBROADCASTSS expConst<>+12(SB), Y11 \
	VBROADCASTSS expConst<>+16(SB), Y10 \
	VBROADCASTSS expConst<>+44(SB), Y9  \
	VBROADCASTSS expConst<>+48(SB), Y8

// func geluTanhAVX2(dst, x *float32, n int)
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	GELU_CONSTS
	XORQ AX, AX

gloop:
	CMPQ AX, CX
	JGE gdone
	VMOVUPS (SI)(AX*4), Y0 // v
	GELU_ARG
	GELU_EXP
	VADDPS Y9, Y4, Y4      // 1 + e
	VDIVPS Y4, Y0, Y4      // v / (1 + e)
	VMOVUPS Y4, (DI)(AX*4)
	ADDQ $8, AX
	JMP gloop

gdone:
	VZEROUPPER
	RET

// func geluTanhBackwardAVX2(dx, dout, x *float32, n int)
TEXT ·geluTanhBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dout+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	GELU_CONSTS
	XORQ AX, AX

bloop:
	CMPQ AX, CX
	JGE bdone
	VMOVUPS (SI)(AX*4), Y0 // v
	GELU_ARG
	GELU_EXP
	VADDPS Y9, Y4, Y4      // 1 + e
	VDIVPS Y4, Y9, Y4      // s = 1 / (1 + e)
	VBROADCASTSS geluConst<>+8(SB), Y1
	VMULPS Y0, Y1, Y1
	VMULPS Y0, Y1, Y1
	VADDPS Y9, Y1, Y1
	VBROADCASTSS geluConst<>+12(SB), Y2
	VMULPS Y2, Y1, Y1      // du = √(2/π)·(1 + 3·0.044715·v·v)
	VADDPS Y0, Y0, Y2      // 2v
	VMULPS Y4, Y2, Y2      // ·s
	VSUBPS Y4, Y9, Y3      // 1 − s
	VMULPS Y3, Y2, Y2
	VMULPS Y1, Y2, Y2      // ·du
	VADDPS Y2, Y4, Y2      // s + 2v·s(1−s)·du
	VMOVUPS (DX)(AX*4), Y3
	VMULPS Y3, Y2, Y2      // · dout
	VMOVUPS (DI)(AX*4), Y3
	VADDPS Y2, Y3, Y3      // dx +=
	VMOVUPS Y3, (DI)(AX*4)
	ADDQ $8, AX
	JMP bloop

bdone:
	VZEROUPPER
	RET
