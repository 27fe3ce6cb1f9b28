package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds everything one Page does: starting the browser, loading, waiting for
// charts and each later action.
const DefaultTimeout = 30 * time.Second

// Option configures Open.
type Option func(*config)

type config struct {
	timeout       time.Duration
	width, height int
	noAutoCheck   bool
	shared        bool
}

// Timeout replaces DefaultTimeout.
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WindowSize sets the browser window in CSS pixels (default 1280 x 900).
func WindowSize(w, h int) Option { return func(c *config) { c.width, c.height = w, h } }

// NoAutoCheck stops Open from running Check when the test ends. Only for tests that expect a
// page to misbehave (such as this package's own tests); they read Problems instead.
func NoAutoCheck() Option { return func(c *config) { c.noAutoCheck = true } }

// SharedTab makes Open load the page in a tab that earlier pages of the test binary have
// used, if one is free, instead of a new tab in a fresh browser context. A warm tab loads a
// page with the inline 1 MB ECharts about three times as fast (0.3-0.4 s against 0.9-1.1 s
// on a 2-core Xeon): its renderer process is running and V8 has compiled that script
// before. The page is otherwise the same; only what it would keep across pages differs:
// all shared tabs are in one browser context of their own, so they share cookies, storage
// and the HTTP cache (report pages keep none of these). When the test ends (or at
// Page.Close) the tab goes back to the pool on about:blank with its window size reset; a tab
// whose test failed is closed instead.
func SharedTab() Option { return func(c *config) { c.shared = true } }

// Page is a page loaded in its own tab and browser context (with SharedTab, a tab of the shared
// context that no other page uses meanwhile). Its methods fail the test on errors of the
// harness itself (the browser died, a selector matched nothing, a timeout).
type Page struct {
	t       testing.TB
	ctx     context.Context
	tab     *tab
	cfg     config
	url     string
	allowed string // the page's own origin, for pages served from loopback; else ""
	closed  atomic.Bool
	pointer atomic.Bool // the test moved the mouse on the page
	release sync.Once

	mu       sync.Mutex
	console  []string
	requests []string
	reported map[string]bool
}

// Chromium returns the path of the chromium binary, or "" when there is none.
func Chromium() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// Require skips the test when chromium is absent, or fails it when MECHINTERP_BROWSER is
// "required". It returns chromium's path. Open calls it; call it yourself to skip before
// expensive setup. Under go test -short it always skips: starting Chromium and drawing
// every chart is most of the short suite's time, and the full run (CI's) requires it.
func Require(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test; run without -short")
	}
	p := Chromium()
	if p != "" {
		return p
	}
	where := "/usr/bin/chromium or chromium on $PATH"
	if env := os.Getenv("CHROME_PATH"); env != "" {
		where = "CHROME_PATH=" + env
	}
	msg := "browser test needs Chromium, not found at " + where + "; install it with `apt-get install chromium` (Debian) or set CHROME_PATH"
	if os.Getenv("MECHINTERP_BROWSER") == "required" {
		t.Fatal(msg + " (MECHINTERP_BROWSER=required, so this is a failure)")
	}
	t.Skip(msg)
	return ""
}

// Open loads target (a file path, a file:// URL, or an http:// URL on a loopback address such
// as a test server) in a new tab of the test binary's one headless Chromium, in a fresh browser
// context (an incognito profile of its own: no cookies, storage or cache shared with other
// pages), and waits until every chart on it is drawn or the timeout passes. With SharedTab the
// tab is a warm one that other pages used before. The browser starts on the first Open and
// lives until Close (call it from TestMain, or use Main). Requests may go only to file:, data:
// and blob: URLs and, for a page served from loopback, to the page's own origin; any other
// request is blocked and reported as a problem.
func Open(t testing.TB, target string, opts ...Option) *Page {
	t.Helper()
	exe := Require(t)
	cfg := config{timeout: DefaultTimeout, width: defaultWidth, height: defaultHeight}
	for _, o := range opts {
		o(&cfg)
	}
	p := &Page{t: t, cfg: cfg, reported: map[string]bool{}}
	var err error
	if p.url, p.allowed, err = pageURL(target); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	bctx, err := sharedBrowser(exe, cfg.timeout)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}

	// The tab serves the page until the test's cleanup or Close; each action gets its own
	// timeout.
	var tb *tab
	if cfg.shared {
		tb, err = takeSharedTab(bctx, cfg.timeout)
	} else {
		tb, err = newTab(bctx, bctx, cfg.timeout, chromedp.WithNewBrowserContext())
	}
	if err != nil {
		t.Fatalf("browsertest: %s: %v", exe, err)
	}
	tb.page.Store(p)
	p.tab, p.ctx = tb, tb.ctx
	// Close runs Check, then closes the tab (disposing of its browser context) or returns it to
	// the pool.
	t.Cleanup(p.Close)
	tctx, tcancel := p.timeoutCtx()
	defer tcancel()
	if cfg.width != defaultWidth || cfg.height != defaultHeight {
		if err := chromedp.Do(tctx, chromedp.EmulateViewport(int64(cfg.width), int64(cfg.height))); err != nil {
			t.Fatalf("browsertest: window size: %v", err)
		}
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(p.url)); err != nil {
		t.Fatalf("browsertest: load %s: %v", p.url, err)
	}
	p.waitCharts(tctx)
	return p
}

const defaultWidth, defaultHeight = 1280, 900

// tab is a Chromium tab, and the Page it serves now (nil while it waits in the pool of shared
// tabs): its listener and request gate pass what happens in the tab to that Page.
type tab struct {
	ctx     context.Context
	cancel  context.CancelFunc // closes the tab (and disposes of a browser context it made)
	browser context.Context    // the context of the browser it is a tab of
	page    atomic.Pointer[Page]
}

// newTab opens a tab of the browser bctx with chromedp.NewContext(parent, opts...) and turns
// on what Page needs: network and log events, and the Fetch domain that gate answers.
func newTab(bctx, parent context.Context, timeout time.Duration, opts ...chromedp.ContextOption) (*tab, error) {
	tb := &tab{browser: bctx}
	ctx, cancel := chromedp.NewContext(parent, append(opts, chromedp.WithListener(tb.listen))...)
	tb.ctx, tb.cancel = ctx, cancel
	// The first Do on ctx creates the tab and must not carry a timeout, or the tab would close
	// with it; a watchdog bounds it instead.
	if err := startBounded(ctx, cancel, timeout); err != nil {
		return nil, fmt.Errorf("open a tab in chromium: %w", err)
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused) // subscribed now, before any request
	go tb.gate(ctx, paused)
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	defer tcancel()
	err := chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return fmt.Errorf("network.enable: %w", err)
		}
		if _, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{}); err != nil {
			return fmt.Errorf("log.enable: %w", err)
		}
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "http://*"}, {URLPattern: "https://*"},
		}})
		if err != nil {
			return fmt.Errorf("fetch.enable: %w", err)
		}
		return nil
	}))
	if err != nil {
		cancel()
		return nil, err
	}
	return tb, nil
}

// shared is the pool of tabs that SharedTab pages use: idle tabs of one browser context,
// which anchor (a tab never handed out) holds open, so that any other tab can be closed.
var shared struct {
	mu      sync.Mutex
	browser context.Context // the browser the pool belongs to
	anchor  context.Context
	cancel  func() // closes the anchor and disposes of the pool's browser context
	idle    []*tab
}

// takeSharedTab returns an idle shared tab, the most recently used one (the warmest), or
// opens a new one.
func takeSharedTab(bctx context.Context, timeout time.Duration) (*tab, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.browser != bctx { // the first shared tab, or the browser was started again
		closeShared()
		shared.browser = bctx
	}
	for len(shared.idle) > 0 {
		tb := shared.idle[len(shared.idle)-1]
		shared.idle = shared.idle[:len(shared.idle)-1]
		if tb.ctx.Err() == nil {
			return tb, nil
		}
	}
	if shared.anchor == nil {
		ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		if err := startBounded(ctx, cancel, timeout); err != nil {
			cancel()
			return nil, fmt.Errorf("open a shared browser context in chromium: %w", err)
		}
		shared.anchor, shared.cancel = ctx, cancel
	}
	return newTab(bctx, shared.anchor, timeout) // in the anchor's browser context
}

// closeShared closes the pool's tabs and browser context; the caller holds shared.mu.
func closeShared() {
	for _, tb := range shared.idle {
		tb.cancel()
	}
	if shared.cancel != nil {
		shared.cancel()
	}
	shared.browser, shared.anchor, shared.cancel, shared.idle = nil, nil, nil, nil
}

// Close runs Check (unless NoAutoCheck) and ends the page: its tab closes, or with SharedTab
// goes back to the pool for the next page. Later calls of Page's methods that use the tab
// fail the test. Open registers Close to run when the test ends; call it sooner to free the
// tab for the next page of the same test.
func (p *Page) Close() {
	p.t.Helper()
	if !p.cfg.noAutoCheck {
		p.Check()
	}
	p.release.Do(func() {
		p.closed.Store(true)
		tb := p.tab
		tb.page.CompareAndSwap(p, nil)
		if !p.cfg.shared || p.t.Failed() || !p.resetTab() {
			tb.cancel() // a failed test's tab may be in any state: close it
			return
		}
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if shared.browser == nil || shared.browser != tb.browser {
			tb.cancel() // the pool was closed, or belongs to a browser started since
			return
		}
		shared.idle = append(shared.idle, tb)
	})
}

// resetTab readies a shared tab for the next page: the mouse away, the window size of a
// fresh tab, and about:blank, so that nothing of this page keeps running. It reports whether
// that worked.
func (p *Page) resetTab() bool {
	ctx, cancel := context.WithTimeout(p.tab.ctx, p.cfg.timeout)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if p.pointer.Load() {
			if _, err := cdp.Call(ctx, tg, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved}); err != nil {
				return err
			}
		}
		if p.cfg.width != defaultWidth || p.cfg.height != defaultHeight {
			if _, err := cdp.Call(ctx, tg, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
				return err
			}
		}
		return nil
	}))
	return err == nil && chromedp.Do(ctx, chromedp.Navigate("about:blank")) == nil
}

// browser is the test binary's one Chromium, started by the first Open.
var browser struct {
	mu     sync.Mutex
	ctx    context.Context // chromedp context of the browser (its first tab)
	cancel func()          // closes it and waits for the process to exit
}

// sharedBrowser returns the context of the running browser, starting it if need be. Starting
// Chromium costs about a second; a tab in a new browser context costs milliseconds, so every
// page of a test binary shares one process.
func sharedBrowser(exe string, timeout time.Duration) (context.Context, error) {
	browser.mu.Lock()
	defer browser.mu.Unlock()
	if browser.ctx != nil && browser.ctx.Err() == nil {
		return browser.ctx, nil
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(defaultWidth, defaultHeight),
	) // without UserDataDir, chromedp makes a temporary profile and removes it at cancelAlloc
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	cancel := func() {
		cancelCtx()
		cancelAlloc() // waits for the browser to exit and removes its profile
	}
	if err := startBounded(ctx, cancel, timeout); err != nil {
		cancel()
		return nil, fmt.Errorf("start chromium (%s): %w", exe, err)
	}
	browser.ctx, browser.cancel = ctx, cancel
	return ctx, nil
}

// startBounded runs the first action on a chromedp context, which starts its browser or tab.
// That call must not carry a timeout (the browser or tab would end with it), so a watchdog
// cancels the context if starting takes longer than timeout.
func startBounded(ctx context.Context, cancel func(), timeout time.Duration) error {
	started := make(chan struct{})
	go func() {
		select {
		case <-started:
		case <-time.After(timeout):
			cancel()
		}
	}()
	err := chromedp.Do(ctx)
	close(started)
	return err
}

// Close stops the test binary's browser, if one was started, and removes its profile. Call it
// from TestMain after m.Run (Main does); a browser left running is killed when the test binary
// exits, but its temporary profile stays behind.
func Close() {
	shared.mu.Lock()
	closeShared()
	shared.mu.Unlock()
	browser.mu.Lock()
	defer browser.mu.Unlock()
	if browser.cancel != nil {
		browser.cancel()
	}
	browser.ctx, browser.cancel = nil, nil
}

// Main runs the tests and then Close, and exits with the tests' code: the whole TestMain of a
// package that needs nothing else.
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Close()
	os.Exit(code)
}

// pageURL turns a file path or URL into the URL to load and the origin it may fetch from.
func pageURL(target string) (string, string, error) {
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		h := u.Hostname()
		if h != "127.0.0.1" && h != "localhost" && h != "::1" {
			return "", "", fmt.Errorf("%s: only loopback servers may be opened", target)
		}
		return target, u.Scheme + "://" + u.Host, nil
	}
	if strings.HasPrefix(target, "file://") {
		return target, "", nil
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), "", nil
}

// allowedURL reports whether the page may request u.
func (p *Page) allowedURL(u string) bool {
	for _, s := range []string{"file:", "data:", "blob:", "about:"} {
		if strings.HasPrefix(u, s) {
			return true
		}
	}
	return p.allowed != "" && (u == p.allowed || strings.HasPrefix(u, p.allowed+"/"))
}

// listen passes the tab's events to the Page it serves; an idle tab's are dropped.
func (tb *tab) listen(ev any) {
	if p := tb.page.Load(); p != nil {
		p.listen(ev)
	}
}

// listen runs in chromedp's event loop: it only records.
func (p *Page) listen(ev any) {
	var console, request string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, remoteText(a))
			}
			console = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		console = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			console = "log error: " + ev.Entry.Text
			if ev.Entry.URL != "" {
				console += " (" + ev.Entry.URL + ")"
			}
		}
	case *network.EventRequestWillBeSent:
		if !p.allowedURL(ev.Request.URL) {
			request = ev.Request.URL
		}
	case *network.EventWebSocketCreated:
		request = ev.URL
	}
	if console == "" && request == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if console != "" {
		p.console = append(p.console, console)
	}
	if request != "" {
		p.requests = append(p.requests, request)
	}
}

// gate answers the requests that Fetch pauses: the page's own loopback origin goes through,
// everything else fails (every request of an idle tab too), so no test ever reaches the
// network.
func (tb *tab) gate(ctx context.Context, paused iter.Seq2[fetch.EventRequestPaused, error]) {
	for ev, err := range paused {
		if err != nil {
			return
		}
		p := tb.page.Load()
		if p != nil && p.allowedURL(ev.Request.URL) {
			chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			continue
		}
		if p != nil {
			p.mu.Lock()
			p.requests = append(p.requests, ev.Request.URL)
			p.mu.Unlock()
		}
		chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
	}
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

func (p *Page) timeoutCtx() (context.Context, context.CancelFunc) {
	p.t.Helper()
	if p.closed.Load() {
		p.t.Fatalf("browsertest: %s: the page is closed", p.url)
	}
	return context.WithTimeout(p.ctx, p.cfg.timeout)
}

// Charts is what the page's charts look like: Count charts (elements of class mi-chart, and
// any element holding an ECharts instance), of which Drawn have an ECharts instance and a
// canvas with something painted on it. Blank names the others.
type Charts struct {
	Count int
	Drawn int
	Blank []string
}

const chartsJS = `(() => {
  const els = Array.from(new Set(document.querySelectorAll(".mi-chart, [_echarts_instance_]")));
  const out = {Count: els.length, Drawn: 0, Blank: []};
  for (const el of els) {
    const name = el.id ? "#" + el.id : (el.getAttribute("aria-label") || el.tagName.toLowerCase());
    const inst = window.echarts && window.echarts.getInstanceByDom(el);
    // Counting stops at the 100 painted pixels that make a chart drawn: a full count read
    // every pixel of every canvas, 50-180 ms a call on a report page.
    let painted = 0;
    for (const c of el.querySelectorAll("canvas")) {
      if (painted >= 100) break;
      if (!c.width || !c.height) continue;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length && painted < 100; i += 4) if (d[i] !== 0) painted++;
    }
    if (inst && painted >= 100) out.Drawn++;
    else out.Blank.push(name + (inst ? " (canvas blank)" : " (no ECharts instance)"));
  }
  return out;
})()`

// Charts counts the page's charts and how many are drawn, now.
func (p *Page) Charts() Charts {
	p.t.Helper()
	var c Charts
	p.Eval(chartsJS, &c)
	return c
}

// waitCharts polls until every chart is drawn, nothing has changed for two seconds, or ctx
// ends; Check reports what is still blank.
func (p *Page) waitCharts(ctx context.Context) {
	last, since := -1, time.Now()
	for {
		c, err := chromedp.Run(ctx, chromedp.Evaluate[Charts](chartsJS))
		if err == nil && c.Drawn == c.Count {
			return
		}
		if c.Drawn != last {
			last, since = c.Drawn, time.Now()
		} else if time.Since(since) > 2*time.Second {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ConsoleErrors returns the console errors, failed assertions, uncaught exceptions and
// browser log errors seen so far.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Requests returns the URLs the page tried to reach that are not allowed (they were blocked).
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Problems returns everything Check would report: console errors, requests that left the
// page and charts that are not drawn.
func (p *Page) Problems() []string {
	p.t.Helper()
	var out []string
	for _, c := range p.ConsoleErrors() {
		out = append(out, c)
	}
	seen := map[string]bool{}
	for _, r := range p.Requests() {
		if !seen[r] {
			seen[r] = true
			out = append(out, "network request left the page: "+r)
		}
	}
	c := p.Charts()
	for _, b := range c.Blank {
		out = append(out, "chart not drawn: "+b)
	}
	return out
}

// Check fails the test (without stopping it) for each problem not reported before.
func (p *Page) Check() {
	p.t.Helper()
	if p.closed.Load() || p.ctx.Err() != nil {
		return
	}
	for _, pr := range p.Problems() {
		if !p.reported[pr] {
			p.reported[pr] = true
			p.t.Errorf("browsertest: %s: %s", p.url, pr)
		}
	}
}

// Eval evaluates a JavaScript expression (promises are awaited) and decodes its JSON value into
// out, which may be nil to ignore it.
func (p *Page) Eval(js string, out any) {
	p.t.Helper()
	ctx, cancel := p.timeoutCtx()
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("browsertest: eval %s: %v", abbrev(js), err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.t.Fatalf("browsertest: eval %s: decode %s: %v", abbrev(js), abbrev(string(raw)), err)
		}
	}
}

// WaitFor polls the JavaScript expression until it is truthy, failing the test at the timeout.
// It keeps polling across page loads (say, after clicking a link).
func (p *Page) WaitFor(js string) {
	p.t.Helper()
	ctx, cancel := p.timeoutCtx()
	defer cancel()
	var err error
	for {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")")); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			p.t.Fatalf("browsertest: wait for %s: %v", abbrev(js), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Click clicks the centre of the first element matching the CSS selector.
func (p *Page) Click(selector string) {
	p.t.Helper()
	p.ClickAt(selector, -1, -1)
}

// ClickAt clicks at (dx, dy) CSS pixels from the top-left corner of the first element matching
// the selector (negative: the centre), e.g. a cell of a chart's canvas.
func (p *Page) ClickAt(selector string, dx, dy float64) {
	p.t.Helper()
	x, y := p.point(selector, dx, dy)
	p.pointer.Store(true)
	p.do("click "+selector, chromedp.MouseClickXY(x, y))
}

// Hover moves the mouse to the centre of the first element matching the selector.
func (p *Page) Hover(selector string) {
	p.t.Helper()
	p.HoverAt(selector, -1, -1)
}

// HoverAt moves the mouse to (dx, dy) from the element's top-left corner (negative: the centre).
func (p *Page) HoverAt(selector string, dx, dy float64) {
	p.t.Helper()
	x, y := p.point(selector, dx, dy)
	p.pointer.Store(true)
	p.do("hover "+selector, chromedp.MouseEvent(chromedp.MouseMoved, x, y))
}

// Press sends key presses to the focused element; use the constants of
// github.com/chromedp/chromedp/kb for special keys (kb.Escape).
func (p *Page) Press(keys string) {
	p.t.Helper()
	p.do("press keys", chromedp.KeyEvent(keys))
}

func (p *Page) do(what string, a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.timeoutCtx()
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		p.t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// point scrolls the element into view and returns the viewport point at (dx, dy) inside it.
func (p *Page) point(selector string, dx, dy float64) (float64, float64) {
	p.t.Helper()
	sel, _ := json.Marshal(selector)
	var r *struct{ X, Y, W, H float64 }
	p.Eval(fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return null;
	  el.scrollIntoView({block: "center", inline: "center"}); const b = el.getBoundingClientRect();
	  return {X: b.left, Y: b.top, W: b.width, H: b.height}; })()`, sel), &r)
	if r == nil {
		p.t.Fatalf("browsertest: no element matches %s", selector)
	}
	if dx < 0 || dy < 0 {
		dx, dy = r.W/2, r.H/2
	}
	return r.X + dx, r.Y + dy
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Screenshot saves a PNG of the whole page as <name>.png in the artifact directory
// ($MECHINTERP_ARTIFACTS/<test name>, else the test's temporary directory) and returns its path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := p.timeoutCtx()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("browsertest: screenshot: %v", err)
	}
	dir := p.t.TempDir()
	if a := os.Getenv("MECHINTERP_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, unsafeName.ReplaceAllString(p.t.Name(), "_"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatalf("browsertest: screenshot: %v", err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("browsertest: screenshot: %v", err)
	}
	p.t.Logf("browsertest: screenshot %s", path)
	return path
}

// Context returns the chromedp context of the page's tab, for anything the helpers do not
// cover; derive a timeout from it for each call.
func (p *Page) Context() context.Context { return p.ctx }

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
