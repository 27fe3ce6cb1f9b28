package hooks

import (
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// sumStack adds a stack's components: [B, len(Pos), C].
func sumStack(s *Stack) []float32 {
	out := make([]float32, len(s.Component(0)))
	for i := range s.Labels {
		for j, v := range s.Component(i) {
			out[j] += v
		}
	}
	return out
}

// atPositions gathers act [B,T,C] at the positions pos: [B, len(pos), C].
func atPositions(act []float32, B, T, C int, pos []int) []float32 {
	var out []float32
	for b := 0; b < B; b++ {
		for _, p := range pos {
			out = append(out, act[(b*T+p)*C:(b*T+p+1)*C]...)
		}
	}
	return out
}

func TestStacksSumToTheResidualStream(t *testing.T) {
	const B, T = 2, 6
	for _, c := range configs {
		m := testmodel.Random(t, c, 0.3)
		_, cache, err := Run(m, tokens(4, B*T, c.DVocab), B, T, Spec{Cache: MustFilter("*"), AttnResult: true})
		if err != nil {
			t.Fatal(err)
		}
		L, C := c.NLayers, c.DModel
		type point struct {
			layer    int
			mlpInput bool
			want     string // the activation the components add up to
		}
		points := []point{{L, false, models.ActName("resid_post", L-1)}}
		for l := 0; l < L; l++ {
			points = append(points, point{l, false, models.ActName("resid_pre", l)})
			if c.ParallelAttnMLP {
				points = append(points, point{l, true, models.ActName("resid_pre", l)})
			} else if !c.AttnOnly {
				points = append(points, point{l, true, models.ActName("resid_mid", l)})
			}
		}
		for _, pos := range [][]int{nil, {-1}, {0, 3}} {
			for _, pt := range points {
				s, err := cache.DecomposeResid(m.Config, pt.layer, pt.mlpInput, pos)
				if err != nil {
					t.Fatal(err)
				}
				want := atPositions(cache.Get(pt.want).Data, B, T, C, s.Pos)
				if d := maxDiff(sumStack(s), want); d > 1e-5 {
					t.Errorf("%+v, %v: DecomposeResid(%d, %v) %v sums %g away from %s", c, pos, pt.layer, pt.mlpInput, s.Labels, d, pt.want)
				}
			}
			// Heads plus b_O make attn_out.
			for l := 1; l <= L; l++ {
				s, err := cache.StackHeadResults(m.Config, l, pos)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(s.Labels), l*c.NHeads; got != want || s.Labels[0] != "L0H0" {
					t.Fatalf("StackHeadResults(%d) labels %v, want %d from L0H0", l, s.Labels, want)
				}
				sum := make([]float32, B*len(s.Pos)*C)
				for i := (l - 1) * c.NHeads; i < l*c.NHeads; i++ {
					for j, v := range s.Component(i) {
						sum[j] += v
					}
				}
				bo, _ := m.Weight("b_O", l-1)
				for j := range sum {
					sum[j] += bo.Data[j%C]
				}
				want := atPositions(cache.Get(models.ActName("attn_out", l-1)).Data, B, T, C, s.Pos)
				if d := maxDiff(sum, want); d > 1e-5 {
					t.Errorf("%+v: layer %d heads + b_O are %g away from hook_attn_out", c, l-1, d)
				}
			}
		}
	}
}

func TestApplyLNToStack(t *testing.T) {
	const B, T = 2, 5
	for _, c := range configs {
		m := testmodel.Random(t, c, 0.3)
		c := m.Config // with defaults: LayerNorm unless none is asked for
		_, cache, err := Run(m, tokens(5, B*T, c.DVocab), B, T, Spec{Cache: MustFilter("*")})
		if err != nil {
			t.Fatal(err)
		}
		L, C := c.NLayers, c.DModel
		type point struct {
			layer    int
			mlpInput bool
			ln       string // the LayerNorm's hook_normalized; its gain and bias
			w, b     string
		}
		points := []point{{L, false, "ln_final.hook_normalized", "ln_final.w", "ln_final.b"}}
		for l := 0; l < L; l++ {
			points = append(points, point{l, false, models.ActName("ln1.normalized", l), "ln1.w", "ln1.b"})
			if !c.AttnOnly {
				points = append(points, point{l, true, models.ActName("ln2.normalized", l), "ln2.w", "ln2.b"})
			}
		}
		for _, pt := range points {
			s, err := cache.DecomposeResid(m.Config, pt.layer, pt.mlpInput, []int{1, -1})
			if err != nil {
				t.Fatal(err)
			}
			before := sumStack(s)
			if err := cache.ApplyLNToStack(m.Config, s, pt.layer, pt.mlpInput); err != nil {
				t.Fatal(err)
			}
			got := sumStack(s)
			if !c.HasNorm() {
				if d := maxDiff(got, before); d != 0 {
					t.Errorf("%+v: without LayerNorm the stack changed by %g", c, d)
				}
				continue
			}
			// Gain and bias on the sum of the normalized components give the
			// LayerNorm's output; RMSNorm's hook_normalized is before its gain.
			l := min(pt.layer, L-1)
			if c.Normalization == models.NormRMS {
				pt.w, pt.b = "", ""
			}
			if pt.w != "" {
				w, _ := m.Weight(pt.w, l)
				b, _ := m.Weight(pt.b, l)
				for j := range got {
					got[j] = got[j]*w.Data[j%C] + b.Data[j%C]
				}
			}
			want := atPositions(cache.Get(pt.ln).Data, B, T, C, s.Pos)
			if d := maxDiff(got, want); d > 1e-4 {
				t.Errorf("%+v: ApplyLNToStack(%d, %v) is %g away from %s", c, pt.layer, pt.mlpInput, d, pt.ln)
			}
		}
	}
}

func TestStackErrors(t *testing.T) {
	c := configs[0]
	m := testmodel.Random(t, c, 0.3)
	const B, T = 1, 4
	_, full, err := Run(m, tokens(6, B*T, c.DVocab), B, T, Spec{Cache: MustFilter("*"), AttnResult: true})
	if err != nil {
		t.Fatal(err)
	}
	_, embedOnly, err := Run(m, tokens(6, B*T, c.DVocab), B, T, Spec{Cache: MustFilter("hook_embed")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"position past the end", func() error { _, err := full.DecomposeResid(c, 1, false, []int{4}); return err }, "position 4"},
		{"position before the start", func() error { _, err := full.DecomposeResid(c, 1, false, []int{-5}); return err }, "position -5"},
		{"layer past the end", func() error { _, err := full.DecomposeResid(c, 3, false, nil); return err }, "layer 3"},
		{"mlp input of the final stream", func() error { _, err := full.DecomposeResid(c, 2, true, nil); return err }, "layer 2"},
		{"heads before layer 0", func() error { _, err := full.StackHeadResults(c, 0, nil); return err }, "layer 0"},
		{"uncached outputs", func() error { _, err := embedOnly.DecomposeResid(c, 1, false, nil); return err }, "hook_pos_embed"},
		{"uncached results", func() error { _, err := embedOnly.StackHeadResults(c, 1, nil); return err }, "hook_result"},
		{"uncached scale", func() error {
			s, err := full.DecomposeResid(c, 2, false, nil)
			if err != nil {
				return err
			}
			return embedOnly.ApplyLNToStack(c, s, 2, false)
		}, "ln_final.hook_scale"},
	}
	for _, tt := range tests {
		err := tt.run()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one naming %q", tt.name, err, tt.want)
		}
	}
}
