package report

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// dashboards builds neuron and feature dashboards of a small MLP model on
// text (a random SAE of 160 features).
func dashboards(t *testing.T) (neurons, features *sae.Dashboard) {
	t.Helper()
	m := testmodel.New(t, models.Config{NLayers: 1, NHeads: 2, DModel: 16, DMLP: 32, NCtx: 16, DVocab: 257, Seed: 1})
	dir := t.TempDir()
	path := filepath.Join(dir, "c.txt")
	writeText(t, path, strings.Repeat("// Close closes the file, rendering it unusable for I/O.\nfunc (f *File) Close() error {\n\treturn f.close()\n}\n", 20))
	src := func() data.Source {
		s, err := data.NewText(data.TextConfig{Paths: []string{path}}, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	r := seed.New(2)
	s := &sae.SAE{Architecture: sae.TopK, K: 4, D: 32, F: 160, Be: make([]float64, 160), Bd: make([]float64, 32)}
	for k := 0; k < 160; k++ {
		we, wd := make([]float64, 32), make([]float64, 32)
		for j := range we {
			we[j], wd[j] = r.NormFloat64(), r.NormFloat64()
		}
		s.We, s.Wd = append(s.We, we), append(s.Wd, wd)
	}
	cfg := sae.DashboardConfig{Hook: models.ActName("mlp_post", 0), Contexts: 32, Top: 5, BOS: tokenizer.ByteEndOfText}
	var err error
	if neurons, err = sae.Dashboards(context.Background(), m, nil, src(), tokenizer.Byte{}, cfg); err != nil {
		t.Fatal(err)
	}
	if features, err = sae.Dashboards(context.Background(), m, s, src(), tokenizer.Byte{}, cfg); err != nil {
		t.Fatal(err)
	}
	return neurons, features
}

func TestDashboardPages(t *testing.T) {
	neurons, features := dashboards(t)
	if len(neurons.Units) != 32 || len(features.Units) != 160 || neurons.Kind != sae.KindNeuron || features.Kind != sae.KindFeature {
		t.Fatalf("%d neurons, %d features", len(neurons.Units), len(features.Units))
	}
	u := neurons.Units[0]
	if len(u.Promoted) != 10 || u.Promoted[0].Value < u.Promoted[9].Value || u.Suppressed[0].Value > u.Suppressed[9].Value {
		t.Errorf("logit effects %+v / %+v", u.Promoted, u.Suppressed)
	}
	dir := t.TempDir()
	pages := map[string]string{}
	for name, build := range map[string]func() (interface{ WriteFile(string) error }, error){
		"neurons":  func() (interface{ WriteFile(string) error }, error) { return Dashboard(neurons, "Neurons") },
		"features": func() (interface{ WriteFile(string) error }, error) { return Dashboard(features, "Features") },
		"compare":  func() (interface{ WriteFile(string) error }, error) { return NeuronsVsFeatures(neurons, features) },
	} {
		r, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pages[name] = filepath.Join(dir, name+".html")
		if err := r.WriteFile(pages[name]); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := Dashboard(features, "Features")
	checkChartRules(t, "features", chartOptions(t, r))
	c, _ := NeuronsVsFeatures(neurons, features)
	checkChartRules(t, "compare", chartOptions(t, c))
	if _, err := Dashboard(&sae.Dashboard{}, "x"); err == nil {
		t.Error("empty dashboard: no error")
	}

	browsertest.Require(t)
	p := openPage(t, pages["features"])
	checkDashboardPage(t, p, features)
	screenshot(p, "features")
	p.Close() // frees the warm tab for the next page
	p2 := openPage(t, pages["compare"])
	p2.Check()
	screenshot(p2, "compare")
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkDashboardPage drives a dashboard page (offline or served) showing
// db: the first unit is shown with shaded tokens, picking another shows
// it, searching by token narrows the list to the units whose top contexts
// or promoted tokens hold it, and paging moves through the list.
func checkDashboardPage(t *testing.T, p *browsertest.Page, db *sae.Dashboard) {
	t.Helper()
	p.WaitFor(`document.querySelector("#mi-dash-detail h3") !== null`)
	p.Check()
	var text string
	p.Eval(`document.getElementById("mi-dash-detail").innerText`, &text)
	if !strings.Contains(text, "Top activating contexts") || !strings.Contains(text, "Logit effect") {
		t.Errorf("detail pane: %q", text)
	}
	p.Click(`#mi-dash-list div:nth-child(2)`)
	var second string
	p.Eval(`document.querySelector("#mi-dash-list div:nth-child(2)").dataset.i`, &second)
	p.WaitFor(`document.querySelector("#mi-dash-detail h3").textContent.endsWith(" ` + second + `")`)
	var shaded int
	p.Eval(`document.querySelectorAll("#mi-dash-detail .tok").length`, &shaded)
	if shaded == 0 {
		t.Error("no shaded tokens after picking a unit")
	}
	// Search by token: the page's count must be the number of units the
	// Go side says match.
	for _, q := range []string{"close", "(", `"e"`, "zzzqqq"} {
		want := 0
		for i := range db.Units {
			if matches(&db.Units[i], db.Vocab, q) {
				want++
			}
		}
		p.Eval(`(() => { const q = document.getElementById("mi-dash-q"); q.value = `+strconv.Quote(q)+`; q.dispatchEvent(new Event("input")); return 0; })()`, nil)
		if want == 0 {
			p.WaitFor(`document.getElementById("mi-dash-count").textContent.startsWith("no ")`)
			continue
		}
		p.WaitFor(`document.getElementById("mi-dash-count").textContent.includes(` + strconv.Quote(" of "+strconv.Itoa(want)+" matching \""+q+"\"") + `)`)
		var listed []int
		p.Eval(`[...document.querySelectorAll("#mi-dash-list div[data-i]")].map(d => +d.dataset.i)`, &listed)
		for _, i := range listed {
			if !matches(&db.Units[i], db.Vocab, q) {
				t.Errorf("search %q lists unit %d, which does not match", q, i)
			}
		}
	}
	p.Eval(`(() => { const q = document.getElementById("mi-dash-q"); q.value = ""; q.dispatchEvent(new Event("input")); return 0; })()`, nil)
	if len(db.Units) > dashPerPage {
		p.WaitFor(`document.getElementById("mi-dash-count").textContent.includes("1-` + strconv.Itoa(dashPerPage) + ` of")`)
		p.Click("#mi-dash-next")
		p.WaitFor(`document.getElementById("mi-dash-count").textContent.includes("` + strconv.Itoa(dashPerPage+1) + `-")`)
	}
	p.Check()
}
