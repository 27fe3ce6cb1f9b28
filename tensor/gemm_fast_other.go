//go:build !amd64

package tensor

// hasGemmAsm reports whether an assembly micro-kernel can run here.
const hasGemmAsm = false

// asmKernel is the assembly micro-kernel; there is none here.
var asmKernel microKernel

var bestKernel microKernel = kernelGeneric
