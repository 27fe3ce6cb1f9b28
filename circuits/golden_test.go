package circuits_test

import (
	"encoding/json"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

type goldenHead struct {
	Layer, Head   int
	OVEigenvalues [][2]float64 `json:"ov_eigenvalues"`
	QKEigenvalues [][2]float64 `json:"qk_eigenvalues"`
	OVCopying     float64      `json:"ov_copying"`
	QKCopying     float64      `json:"qk_copying"`
	OVSingular    []float64    `json:"ov_singular"`
	QKNorm        float64      `json:"qk_norm"`
}

type golden struct {
	Config struct {
		NLayers int  `json:"n_layers"`
		NHeads  int  `json:"n_heads"`
		DModel  int  `json:"d_model"`
		DHead   int  `json:"d_head"`
		NCtx    int  `json:"n_ctx"`
		DVocab  int  `json:"d_vocab"`
		LN      bool `json:"ln"`
		Untied  bool `json:"untied"`
	}
	Heads       []goldenHead
	Composition map[string][][]*float64
}

// loadGolden builds the model of testdata/circuits/<name> (written by gen.py)
// from its TransformerLens-named weights.
func loadGolden(t *testing.T, name string) (*models.Model, golden) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "circuits", name)
	var g golden
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	c := g.Config
	cfg := models.Config{NLayers: c.NLayers, NHeads: c.NHeads, DModel: c.DModel, DHead: c.DHead, NCtx: c.NCtx,
		DVocab: c.DVocab, AttnOnly: true, Untied: c.Untied, Normalization: models.NormNone}
	if c.LN {
		cfg.Normalization = models.NormLN
	}
	m := testmodel.New(t, cfg)
	ws, _, err := safetensors.Read(filepath.Join(dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for key, w := range ws {
		layer, name := 0, key
		if strings.HasPrefix(key, "blocks.") {
			parts := strings.SplitN(key, ".", 3)
			layer, name = int(parts[1][0]-'0'), parts[2]
		}
		if name == "W_U" && !c.Untied {
			continue // tied: W_U is W_E^T, set through W_E
		}
		if err := m.SetWeight(name, layer, w); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	return m, g
}

// matchEigen checks that every expected eigenvalue has a distinct match among got.
func matchEigen(t *testing.T, what string, got []complex128, want [][2]float64, tol float64) float64 {
	t.Helper()
	used := make([]bool, len(got))
	worst := 0.0
	for _, w := range want {
		wc := complex(w[0], w[1])
		best, bi := math.Inf(1), -1
		for i, g := range got {
			if d := cmplx.Abs(g - wc); !used[i] && d < best {
				best, bi = d, i
			}
		}
		if bi < 0 || best > tol*(1+cmplx.Abs(wc)) {
			t.Errorf("%s: eigenvalue %v has no match within %g in %v", what, wc, tol, got)
			continue
		}
		used[bi] = true
		worst = math.Max(worst, best)
	}
	return worst
}

// TestGoldenPyTorch compares eigenvalues, copying scores, singular values,
// norms and composition scores with PyTorch's, computed on the full matrices
// by testdata/circuits/gen.py, within 1e-4.
func TestGoldenPyTorch(t *testing.T) {
	const tol = 1e-4
	for _, name := range []string{"ln_untied", "no_ln_tied"} {
		t.Run(name, func(t *testing.T) {
			m, g := loadGolden(t, name)
			a, err := circuits.Analyze(m, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Heads) != len(g.Heads) {
				t.Fatalf("%d heads, golden %d", len(a.Heads), len(g.Heads))
			}
			var worst float64
			for i, gh := range g.Heads {
				h := a.Heads[i]
				id := h.Head.String()
				worst = math.Max(worst, matchEigen(t, id+" OV", h.OVEigenvalues, gh.OVEigenvalues, tol))
				worst = math.Max(worst, matchEigen(t, id+" QK", h.QKEigenvalues, gh.QKEigenvalues, tol))
				for _, c := range []struct {
					what      string
					got, want float64
				}{
					{"OV copying", h.OVCopying, gh.OVCopying},
					{"QK copying", h.QKCopying, gh.QKCopying},
					{"OV copying (package function)", circuits.OVCopyingScore(m, h.Layer, h.Head.Head), gh.OVCopying},
					{"QK norm", h.QKNorm, gh.QKNorm},
				} {
					if !near(c.got, c.want, tol) {
						t.Errorf("%s %s: %g, PyTorch %g", id, c.what, c.got, c.want)
					}
					worst = math.Max(worst, math.Abs(c.got-c.want))
				}
				sv := circuits.OV(m, h.Layer, h.Head.Head).SingularValues()
				for k, w := range gh.OVSingular {
					if !near(sv[k], w, tol) {
						t.Errorf("%s OV singular value %d: %g, PyTorch %g", id, k, sv[k], w)
					}
				}
			}
			for _, s := range a.Composition {
				want := g.Composition[s.Kind.String()]
				for i := range want {
					for j, w := range want[i] {
						got := s.Scores[i][j]
						if w == nil {
							if !math.IsNaN(got) {
								t.Errorf("%v-composition [%d][%d] = %g, want NaN", s.Kind, i, j, got)
							}
							continue
						}
						if !near(got, *w, tol) {
							t.Errorf("%v-composition [%d][%d] = %g, PyTorch %g", s.Kind, i, j, got, *w)
						}
						worst = math.Max(worst, math.Abs(got-*w))
					}
				}
			}
			t.Logf("largest difference from PyTorch: %.2g", worst)
		})
	}
}
