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
)
