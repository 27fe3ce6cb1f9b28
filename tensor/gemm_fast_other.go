//go:build !amd64 || noasm

package tensor

// hasGemmAsm reports whether an assembly micro-kernel can run here.
const hasGemmAsm = false

// asmKernels are the assembly micro-kernels; there are none here.
var asmKernels []gemmKernel

// asmSet is the assembly kernel set; empty here.
var asmSet kernelSet

// The packing loops are the Go twins here.
var (
	packAT6Fn    = packAT6Go
	copyRows64Fn = copyRows64Go
	// packBT16Fn is nil: B's transposition stays one value at a time, the
	// path the twin tests run against the assembly's.
	packBT16Fn func(blocks int, src *float32, ldb int, dst *float32, ldd int)
)
