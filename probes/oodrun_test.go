package probes

import (
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

func oodSeqs(r *seed.Rand, n, lo, hi int) [][]int {
	out := make([][]int, n)
	for i := range out {
		s := make([]int, 4+r.IntN(5)) // lengths differ: pooling must skip padding
		for j := range s {
			s[j] = lo + r.IntN(hi-lo)
		}
		out[i] = s
	}
	return out
}

func TestOODOnModel(t *testing.T) {
	m := testmodel.New(t, models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 20, Seed: 4, InitializerRange: 0.5})
	r := seed.New(5)
	fit, bg := oodSeqs(&r, 300, 1, 8), append(oodSeqs(&r, 150, 1, 8), oodSeqs(&r, 150, 1, 20)...)
	in, out := oodSeqs(&r, 100, 1, 8), oodSeqs(&r, 100, 12, 20)
	res, err := OOD(m, OODSets{Fit: fit, Background: bg, Outliers: oodSeqs(&r, 5, 12, 20), In: in, Out: out}, OODConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Layers) != 2 || res.Layers[1].Name != "blocks.1.hook_resid_post" || len(res.Layers[0].Scores) != 4 {
		t.Fatalf("layers %+v", res.Layers)
	}
	for _, l := range res.Layers {
		for _, s := range l.Scores {
			// A random 8-wide model separates disjoint token ranges well, not
			// perfectly (0.90 and 0.83 at this seed).
			if s.Method == Mahalanobis && s.AUROC < 0.75 {
				t.Errorf("%s %s: AUROC %.3f on disjoint token ranges", l.Name, s.Method, s.AUROC)
			}
			if math.IsNaN(s.FPR) || s.ROC[0] != (ROCPoint{}) || s.ROC[len(s.ROC)-1] != (ROCPoint{1, 1}) {
				t.Errorf("%s %s: FPR %v, ROC ends %v %v", l.Name, s.Method, s.FPR, s.ROC[0], s.ROC[len(s.ROC)-1])
			}
		}
	}
	// A sequence pools to the same vector alone and beside a longer one
	// (padding is left out).
	acts, _, err := OODActivations(m, [][]int{{1, 2, 3}, {4, 5, 6, 7, 8}}, "resid_post", PoolMean)
	if err != nil {
		t.Fatal(err)
	}
	last, _, err := OODActivations(m, [][]int{{1, 2, 3}}, "resid_post", PoolLast)
	if err != nil {
		t.Fatal(err)
	}
	alone, _, err := OODActivations(m, [][]int{{1, 2, 3}}, "resid_post", PoolMean)
	if err != nil {
		t.Fatal(err)
	}
	for j := range acts[1][0] {
		if math.Abs(acts[1][0][j]-alone[1][0][j]) > 1e-5 {
			t.Fatalf("padding changed a pooled activation: %v vs %v", acts[1][0], alone[1][0])
		}
	}
	if last[1][0][0] == alone[1][0][0] {
		t.Error("last and mean pooling agree; suspicious")
	}
	for _, bad := range []struct{ hook, pool, want string }{
		{"nonsense", PoolMean, "no hook"},
		{"resid_post", "max", "pooling"},
		{"pattern", PoolMean, "shape"},
	} {
		if _, _, err := OODActivations(m, in[:2], bad.hook, bad.pool); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s/%s: error %v, want %q", bad.hook, bad.pool, err, bad.want)
		}
	}
}
