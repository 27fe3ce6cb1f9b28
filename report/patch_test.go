package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

func TestPatchReport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     models.Config
		charts  int
		browser bool // drawn in Chromium; the page type is one, so one variant is enough
	}{
		// resid, attn_out, (mlp_out), heads, heads x position, scatter, DLA bars.
		{"attention-only", models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, AttnOnly: true, Seed: 2, InitializerRange: 0.3}, 6, false},
		{"with MLPs", models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, Seed: 2, InitializerRange: 0.3}, 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testmodel.New(t, tc.cfg)
			clean, corrupted := []int{3, 7, 1, 7, 2}, []int{3, 8, 1, 7, 2}
			act, err := circuits.Patch(m, clean, corrupted, 1, 4, circuits.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			att, err := circuits.AttributionPatch(m, clean, corrupted, 1, 4)
			if err != nil {
				t.Fatal(err)
			}
			dla, err := circuits.DirectLogitAttribution(m, clean, len(clean), -1, 1, 4)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Patch(PatchInput{Model: "tiny", Activation: act, Attribution: att, DLA: dla,
				Clean: []string{"a", "b", "c", "b", "<d>"}, Answer: "x", Wrong: "y"})
			if err != nil {
				t.Fatal(err)
			}
			html, err := r.HTML()
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(html), `class="mi-chart"`); n != tc.charts {
				t.Errorf("%d charts, want %d", n, tc.charts)
			}
			if !strings.Contains(string(html), "1 b/8") {
				t.Error("the differing position is not labelled clean/corrupted")
			}
			path := filepath.Join(t.TempDir(), "patch.html")
			if err := r.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			var clean0 float64
			if tc.browser {
				p := openPage(t, path)
				p.Check()
				p.Eval(`mechinterp.data("patch").activation.clean_diff`, &clean0)
				screenshot(p, "patch-"+strings.ReplaceAll(tc.name, " ", "-"))
			} else {
				var data struct {
					Activation struct {
						CleanDiff float64 `json:"clean_diff"`
					}
				}
				embeddedData(t, string(html), "patch", &data)
				clean0 = data.Activation.CleanDiff
			}
			if !near64(clean0, act.CleanDiff) {
				t.Errorf("embedded clean diff %g, want %g", clean0, act.CleanDiff)
			}
		})
	}
	if _, err := Patch(PatchInput{}); err == nil {
		t.Error("empty input: no error")
	}
}

func near64(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
