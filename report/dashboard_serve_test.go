package report

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/viz/attention"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// servedDashboards starts the attention server with the dashboards of a
// small MLP model and a random SAE of 160 features mounted, over a text file.
func servedDashboards(t *testing.T) (*httptest.Server, *DashboardHandler) {
	t.Helper()
	dir := t.TempDir()
	m := testmodel.New(t, models.Config{NLayers: 2, NHeads: 2, DModel: 16, DMLP: 32, NCtx: 16, DVocab: 257, Seed: 1})
	modelDir := filepath.Join(dir, "model")
	if err := m.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	r := seed.New(2)
	const F = 160
	s := &sae.SAE{Architecture: sae.TopK, K: 4, D: 32, F: F, Be: make([]float64, F), Bd: make([]float64, 32)}
	for k := 0; k < F; k++ {
		we, wd := make([]float64, 32), make([]float64, 32)
		for j := range we {
			we[j], wd[j] = r.NormFloat64(), r.NormFloat64()
		}
		s.We, s.Wd = append(s.We, we), append(s.Wd, wd)
	}
	saeDir := filepath.Join(dir, "sae")
	if err := s.Save(saeDir, sae.LensConfig{HookName: models.ActName("mlp_post", 0)}, make([]float64, F), nil); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "c.txt")
	writeText(t, text, strings.Repeat("// Close closes the file, rendering it unusable for I/O.\nfunc (f *File) Close() error {\n\treturn f.close()\n}\n", 20))
	set, err := sae.OpenDashboards(modelDir, saeDir, []string{text}, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	h := NewDashboardHandler(set, 0)
	fn := func(context.Context, attention.Request) (*attention.Data, error) { return nil, io.EOF }
	srv, err := attention.NewServer(fn, attention.ServerOptions{Routes: map[string]http.Handler{DashboardsPath: h, DashboardsAPIPath: h}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, h
}

// TestDashboardServeHostile: every bad path, method or parameter is one
// JSON error with a 4xx status, and the server keeps answering.
func TestDashboardServeHostile(t *testing.T) {
	ts, h := servedDashboards(t)
	get := func(method, path string) (int, map[string]any) {
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			json.NewDecoder(resp.Body).Decode(&out)
		}
		return resp.StatusCode, out
	}
	long := strings.Repeat("a", MaxDashboardQuery+1)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/dashboards/neurons/2", 404},
		{"GET", "/dashboards/neurons/-1", 404},
		{"GET", "/dashboards/neurons/01", 404},
		{"GET", "/dashboards/neurons/", 404},
		{"GET", "/dashboards/nope", 404},
		{"GET", "/api/dashboards/features", 404},
		{"GET", "/api/dashboards/features/unit/160", 404},
		{"GET", "/api/dashboards/features/unit/-1", 404},
		{"GET", "/api/dashboards/features/unit/1e3", 404},
		{"GET", "/api/dashboards/features/unit/", 404},
		{"GET", "/api/dashboards/neurons/0/unit/32", 404},
		{"GET", "/api/dashboards/features/list?offset=-1", 400},
		{"GET", "/api/dashboards/features/list?offset=abc", 400},
		{"GET", "/api/dashboards/features/list?offset=99999999999999999999999", 400},
		{"GET", "/api/dashboards/features/list?offset=161", 400},
		{"GET", "/api/dashboards/features/list?limit=0", 400},
		{"GET", "/api/dashboards/features/list?limit=100000", 400},
		{"GET", "/api/dashboards/features/list?sort=evil", 400},
		{"GET", "/api/dashboards/features/list?q=" + long, 400},
		{"GET", "/api/dashboards/features/list?q=%ff%fe", 400},
		{"POST", "/api/dashboards/features/list", 405},
		{"DELETE", "/dashboards/features", 405},
		{"GET", "/api/dashboards/../../etc/passwd", 404},
	} {
		status, out := get(tc.method, tc.path)
		if status != tc.status || out["error"] == "" || strings.Contains(out["error"].(string), "\n") {
			t.Errorf("%s %s: %d %v, want %d and one error line", tc.method, tc.path, status, out, tc.status)
		}
	}
	for _, q := range []string{"a", "%22", "%22%22", "%22%20%22", "%00"} {
		if status, out := get("GET", "/api/dashboards/features/list?q="+q); status != 200 {
			t.Errorf("q=%s: %d %v", q, status, out)
		}
	}
	// Still serving, and right.
	status, out := get("GET", "/api/dashboards/features/list?q=close&sort=max&offset=0&limit=7")
	if status != 200 {
		t.Fatalf("list after the bad requests: %d %v", status, out)
	}
	db := h.built["features"].db
	want := 0
	for i := range db.Units {
		if matches(&db.Units[i], db.Vocab, "close") {
			want++
		}
	}
	if int(out["total"].(float64)) != want || len(out["units"].([]any)) != min(7, want) {
		t.Errorf("list: total %v, %d units; want %d matching", out["total"], len(out["units"].([]any)), want)
	}
	units := out["units"].([]any)
	for i := 1; i < len(units); i++ {
		if units[i].([]any)[2].(float64) > units[i-1].([]any)[2].(float64) {
			t.Errorf("sort=max: unit %v after %v", units[i], units[i-1])
		}
	}
	if status, out := get("GET", "/api/dashboards/neurons/1/unit/31"); status != 200 || out["i"].(float64) != 31 {
		t.Errorf("neuron 31 of layer 1: %d %v", status, out)
	}
	if status, _ := get("GET", "/dashboards/"); status != 200 {
		t.Errorf("index: %d", status)
	}
	if len(h.built) > maxBuiltDashboards {
		t.Errorf("%d dashboards kept", len(h.built))
	}
}

// TestDashboardServedPage opens the served feature and neuron dashboards in
// Chromium: no console error, no request but to the server, the list paged
// and searched through the API, units fetched on demand.
func TestDashboardServedPage(t *testing.T) {
	browsertest.Require(t)
	ts, h := servedDashboards(t)
	p := openPage(t, ts.URL+"/dashboards/features")
	checkDashboardPage(t, p, h.built["features"].db)
	screenshot(p, "served-features")
	p.Close() // frees the warm tab for the next page
	p2 := openPage(t, ts.URL+"/dashboards/neurons/1")
	checkDashboardPage(t, p2, h.built["neurons/1"].db)
	p2.Close()
	p3 := openPage(t, ts.URL+"/dashboards/")
	p3.Check()
}
