package circuits_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
)

// TestJSONNaN checks that the scores that are NaN by definition (a head
// with zero weights, a pair that cannot compose, a baseline of no samples)
// encode as null instead of failing the whole encoding.
func TestJSONNaN(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"head summary", circuits.HeadSummary{OVCopying: nan, QKCopying: 0.5, OVNorm: 1},
			`{"layer":0,"head":0,"ov_copying":null,"qk_copying":0.5,"ov_eigenvalues":[],"qk_eigenvalues":[],"ov_norm":1,"qk_norm":0}`},
		{"eigenvalues", circuits.Eigenvalues{complex(1, nan)}, `[[1,null]]`},
		{"baseline", circuits.RandomBaseline(4, 2, 0, 1), `{"mean":null,"std":null,"p95":null,"samples":0,"seed":1}`},
		{"composition", &circuits.CompositionScores{Kind: circuits.QComposition, NLayers: 2, NHeads: 1, Scores: [][]float64{{nan, 0.25}, {nan, nan}}, Baseline: circuits.Baseline{Mean: 0.1, Std: 0.01, P95: 0.12, Samples: 2}},
			`{"kind":"Q","n_layers":2,"n_heads":1,"scores":[[null,0.25],[null,null]],"baseline":{"mean":0.1,"std":0.01,"p95":0.12,"samples":2,"seed":0}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}
