package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestCatchesBadPage shows the harness can fail: a page with a console error, an uncaught
// exception, two requests to the network and a chart that is never drawn.
func TestCatchesBadPage(t *testing.T) {
	p := browsertest.Open(t, "testdata/bad.html", browsertest.NoAutoCheck())
	problems := strings.Join(p.Problems(), "\n")
	for _, want := range []string{
		"deliberate console error",
		"deliberate uncaught exception",
		"network request left the page: http://192.0.2.1/pixel.png",
		"network request left the page: https://example.invalid/data.json",
		"chart not drawn: #never-drawn (no ECharts instance)",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q; got:\n%s", want, problems)
		}
	}
	if c := p.Charts(); c.Count != 1 || c.Drawn != 0 {
		t.Errorf("Charts() = %+v, want 1 chart, 0 drawn", c)
	}
}

func TestGoodPageClickEval(t *testing.T) {
	p := browsertest.Open(t, "testdata/good.html")
	p.Check()
	if pr := p.Problems(); len(pr) != 0 {
		t.Fatalf("quiet page has problems: %q", pr)
	}
	p.Click("#b")
	p.Click("#b")
	var n int
	p.Eval("window.clicks", &n)
	if n != 2 {
		t.Errorf("window.clicks = %d after two clicks, want 2", n)
	}
	p.WaitFor("window.clicks === 2")
	if c := p.Charts(); c.Count != 0 {
		t.Errorf("Charts() = %+v on a page without charts", c)
	}
	path := p.Screenshot("good")
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Errorf("screenshot %s: %v", path, err)
	}
}

// TestLoopbackServer: a page served from loopback may fetch from its own origin only.
func TestLoopbackServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>s</title></head><body>
<script>fetch("/data.json").then(r => r.json()).then(v => { window.got = v.x; });
fetch("http://192.0.2.1/elsewhere").catch(() => {});</script></body></html>`))
	})
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"x": 7}`)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := browsertest.Open(t, srv.URL+"/", browsertest.NoAutoCheck())
	p.WaitFor("window.got === 7")
	if got, want := p.Requests(), []string{"http://192.0.2.1/elsewhere"}; !slices.Equal(slices.Compact(got), want) {
		t.Errorf("Requests() = %q, want %q", got, want)
	}
}

// TestMissingChromium runs this test binary again with CHROME_PATH pointing nowhere: the
// browser test skips with an install hint, or fails when MECHINTERP_BROWSER=required.
func TestMissingChromium(t *testing.T) {
	if os.Getenv("BROWSERTEST_CHILD") == "1" {
		browsertest.Open(t, "testdata/good.html")
		t.Fatal("Open returned without chromium")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		browser string
		fail    bool
	}{{"", false}, {"required", true}} {
		cmd := exec.Command(exe, "-test.run=^TestMissingChromium$", "-test.v")
		cmd.Env = append(os.Environ(), "BROWSERTEST_CHILD=1", "CHROME_PATH=/nonexistent/chromium", "MECHINTERP_BROWSER="+tc.browser)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.fail {
			t.Errorf("MECHINTERP_BROWSER=%q: failed=%v, want %v; output:\n%s", tc.browser, failed, tc.fail, out)
		}
		if !strings.Contains(string(out), "apt-get install chromium") {
			t.Errorf("MECHINTERP_BROWSER=%q: output lacks the install hint:\n%s", tc.browser, out)
		}
		if !tc.fail && !strings.Contains(string(out), "--- SKIP") {
			t.Errorf("without MECHINTERP_BROWSER the test should skip:\n%s", out)
		}
	}
}

func TestMain(m *testing.M) { browsertest.Main(m) }

// TestOneBrowserFreshContexts: pages of one test binary share the Chromium process but not
// their state: what one page stores, the next does not see.
func TestOneBrowserFreshContexts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>s</title></head><body></body></html>`))
	}))
	defer srv.Close()
	a := browsertest.Open(t, srv.URL+"/")
	a.Eval(`(localStorage.setItem("k", "a"), document.cookie = "c=1", 1)`, nil)
	b := browsertest.Open(t, srv.URL+"/", browsertest.WindowSize(640, 480))
	var got struct {
		Stored *string
		Cookie string
		Width  int
	}
	b.Eval(`({Stored: localStorage.getItem("k"), Cookie: document.cookie, Width: window.innerWidth})`, &got)
	if got.Stored != nil || got.Cookie != "" {
		t.Errorf("second page sees the first page's state: localStorage k = %v, cookie %q", got.Stored, got.Cookie)
	}
	if got.Width != 640 {
		t.Errorf("WindowSize(640, 480): innerWidth = %d", got.Width)
	}
	ba, bb := chromedp.FromContext(a.Context()).Browser, chromedp.FromContext(b.Context()).Browser
	if ba == nil || ba != bb {
		t.Errorf("pages run in different browsers (%p, %p), want one per test binary", ba, bb)
	}
}

// TestSharedTab: a SharedTab page reuses the tab of a shared page closed before it, sees none
// of that page's problems or window size, and a shared page opened while another is in use
// gets a tab of its own.
func TestSharedTab(t *testing.T) {
	targetID := func(p *browsertest.Page) string {
		return string(chromedp.FromContext(p.Context()).Target.TargetID)
	}
	a := browsertest.Open(t, "testdata/bad.html", browsertest.SharedTab(), browsertest.NoAutoCheck(), browsertest.WindowSize(640, 480))
	if len(a.Problems()) == 0 {
		t.Fatal("the bad page shows no problems")
	}
	var width int
	a.Eval(`window.innerWidth`, &width)
	if width != 640 {
		t.Errorf("WindowSize(640, 480): innerWidth = %d", width)
	}
	a.Click("body")
	first := targetID(a)
	a.Close()

	b := browsertest.Open(t, "testdata/good.html", browsertest.SharedTab())
	if got := targetID(b); got != first {
		t.Errorf("the page after a closed shared page opened tab %s, not the free tab %s", got, first)
	}
	if pr := b.Problems(); len(pr) != 0 {
		t.Errorf("a quiet page in a reused tab has problems: %q", pr)
	}
	b.Eval(`window.innerWidth`, &width)
	if width != 1280 {
		t.Errorf("a reused tab kept the last page's window size: innerWidth = %d, want 1280", width)
	}
	b.Click("#b")
	var clicks int
	b.Eval("window.clicks", &clicks)
	if clicks != 1 {
		t.Errorf("window.clicks = %d after one click in a reused tab", clicks)
	}

	c := browsertest.Open(t, "testdata/good.html", browsertest.SharedTab())
	if targetID(c) == targetID(b) {
		t.Error("two shared pages open at once share one tab")
	}
}
