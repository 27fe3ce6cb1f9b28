//go:build !noasm

package tensor

// hasF32Asm reports whether the float32 vector kernels can use AVX2 and FMA:
// the float64 kernels' condition. Their declarations are generated
// (f32_stubs_amd64.go).
var hasF32Asm = hasF64Asm
