package report

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestMain stops the one browser that the page tests of this binary share.
func TestMain(m *testing.M) { browsertest.Main(m) }

func mustHTML(t *testing.T, r *viz.Report) string {
	t.Helper()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// openPage loads a report page in a warm shared tab (browsertest.SharedTab). Report pages
// keep nothing in the browser (no cookies, no storage), so sharing a browser context changes
// nothing they show, and a warm tab loads a page's 1 MB of inline ECharts about three times as
// fast as a new tab in a fresh context: the page loads were most of this package's test time.
func openPage(t *testing.T, target string, opts ...browsertest.Option) *browsertest.Page {
	t.Helper()
	return browsertest.Open(t, target, append(opts, browsertest.SharedTab())...)
}

// screenshot saves a picture of the page in $MECHINTERP_ARTIFACTS/<test name>/ when that is
// set. Without it the picture would go to the test's temporary directory, which nothing
// reads, and a full-page screenshot of a long report costs 0.1-1.2 s (5 s of the package's
// browser time).
func screenshot(p *browsertest.Page, name string) {
	if os.Getenv("MECHINTERP_ARTIFACTS") != "" {
		p.Screenshot(name)
	}
}

// embeddedData decodes the JSON block name that a page embeds, what mechinterp.data(name)
// returns in the browser, into out. Tests of several variants of one page type draw one in
// the browser and read the others' data this way.
func embeddedData(t *testing.T, html, name string, out any) {
	t.Helper()
	open := `<script type="application/json" class="mi-data" id="mi-data-` + name + `">`
	i := strings.Index(html, open)
	if i < 0 {
		t.Fatalf("the page embeds no data block %q", name)
	}
	block, _, ok := strings.Cut(html[i+len(open):], "</script>")
	if !ok {
		t.Fatalf("data block %q is not closed", name)
	}
	if err := json.Unmarshal([]byte(block), out); err != nil {
		t.Fatalf("data block %q: %v", name, err)
	}
}
