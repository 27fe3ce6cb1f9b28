package repeated

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadStudy: whatever a study's YAML holds, LoadStudy either refuses it with one line
// or returns a study every run of which has a model that validates; it never panics.
// Seeds are in testdata/fuzz/FuzzLoadStudy; `go test -fuzz FuzzLoadStudy ./study/repeated`
// explores further.
func FuzzLoadStudy(f *testing.F) {
	f.Add([]byte("sizes: [{name: s, d_model: 32}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "study.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadStudy(path)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			return
		}
		runs := s.Runs()
		if len(runs) > 10000 {
			t.Skipf("%d runs", len(runs))
		}
		for _, r := range runs {
			if _, err := s.ModelConfig(r, 1); err != nil {
				t.Fatalf("run %s of an accepted study: %v", r.ID, err)
			}
		}
	})
}
