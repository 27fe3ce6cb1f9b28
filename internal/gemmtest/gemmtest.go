// Package gemmtest reruns tests under every matrix-multiply kernel behind
// tensor.Gemm (the paths MECHINTERP_GEMM selects), so that a golden or
// finite-difference test checks each kernel in the ordinary test run, not
// only the one this CPU picks by default. It is for tests only.
package gemmtest

import (
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// EachPath runs every test in tests as a subtest "path/name" with
// tensor.Gemm switched to that path, and restores the kernel after. The
// tests must not call t.Parallel: the kernel is a process-wide setting.
func EachPath(t *testing.T, tests map[string]func(*testing.T)) {
	t.Helper()
	for _, path := range tensor.GemmPaths {
		f, ok := tensor.GemmPath(path)
		if !ok {
			t.Fatalf("tensor.GemmPath(%q) unknown", path)
		}
		t.Run(path, func(t *testing.T) {
			defer tensor.SetGemm(tensor.SetGemm(f))
			for name, test := range tests {
				t.Run(name, test)
			}
		})
	}
}
