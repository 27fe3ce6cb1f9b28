// Command asm generates tensor's assembly with avo: with -kernels gemm the
// SGEMM micro-kernels (../gemm_amd64.s and their Go declarations,
// ../gemm_stubs_amd64.go) from one parameterised description: the vector
// width (AVX2's 256 bits or AVX-512's 512) and how A is read (packed, rows
// in place, or transposed in place). avo allocates the registers and computes the argument offsets
// from the Go signatures, so neither is written by hand, and one epilogue
// serves every kernel. With -kernels peak it writes MeasurePeak's
// register-only FMA loops (../peak_amd64.s, ../peak_stubs_amd64.go). With
// -kernels f32 and -kernels f64 it writes the vector kernels (axpy, dot and
// their relatives; ../f32_amd64.s, ../f64_amd64.s and their stubs) of both
// element types from one description (vec.go).
//
// It is a module of its own, so that users of tensor never depend on avo;
// run it from the tensor directory with `go generate`.
package main
