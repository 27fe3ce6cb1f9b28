package report

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

func TestCircuitsReport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     models.Config
		charts  int
		browser bool // drawn in Chromium; the page type is one, so one variant is enough
	}{
		// bars + 3 composition heatmaps + OV and QK scatters per layer.
		{"two layers", models.Config{NLayers: 2, NHeads: 3, DModel: 24, NCtx: 8, DVocab: 30, AttnOnly: true, Seed: 1, InitializerRange: 0.2}, 1 + 3 + 2*2, true},
		{"one layer", models.Config{NLayers: 1, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, AttnOnly: true, Seed: 1}, 1 + 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := circuits.Analyze(testmodel.New(t, tc.cfg), 1)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Circuits(a, "test-model")
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
			if tc.cfg.NLayers > 1 && !strings.Contains(string(html), "Random baseline") {
				t.Error("composition charts do not state the baseline")
			}
			path := filepath.Join(t.TempDir(), "circuits.html")
			if err := r.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			var heads int
			if tc.browser {
				p := openPage(t, path)
				p.Check()
				p.Eval(`mechinterp.data("circuits").heads.length`, &heads)
				screenshot(p, "circuits-"+strings.ReplaceAll(tc.name, " ", "-"))
			} else {
				var data struct{ Heads []json.RawMessage }
				embeddedData(t, string(html), "circuits", &data)
				heads = len(data.Heads)
			}
			if heads != tc.cfg.NLayers*tc.cfg.NHeads {
				t.Errorf("embedded data holds %d heads", heads)
			}
		})
	}
	if _, err := Circuits(nil, "x"); err == nil {
		t.Error("nil analysis: no error")
	}
}
