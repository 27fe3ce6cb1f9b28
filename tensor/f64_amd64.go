//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasF64Asm reports whether the float64 kernels can use AVX2 and FMA (the
// cpu package also checks that the OS saves the YMM registers). Their
// declarations are generated (f64_stubs_amd64.go).
var hasF64Asm = cpu.X86.HasAVX2 && cpu.X86.HasFMA
