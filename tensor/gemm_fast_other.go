//go:build !amd64

package tensor

// hasGemmAsm reports whether an assembly micro-kernel can run here.
const hasGemmAsm = false

var bestKernel microKernel = kernelGeneric
