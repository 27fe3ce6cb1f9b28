package run

import (
	"path/filepath"
	"testing"
)

func TestDefaultDir(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"", filepath.Join("runs", "run")},
		{"demo.yaml", filepath.Join("runs", "demo")},
		{filepath.Join("configs", "big.run.yml"), filepath.Join("runs", "big.run")},
	} {
		if got := DefaultDir(tc.config); got != tc.want {
			t.Errorf("DefaultDir(%q) = %q, want %q", tc.config, got, tc.want)
		}
	}
}
