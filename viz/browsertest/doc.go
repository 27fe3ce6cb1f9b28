// Package browsertest opens a page in headless Chromium (Debian's chromium, driven by chromedp)
// from a Go test and checks what a report page must do: no console error or uncaught
// exception, every chart drawn, and no request leaving the page.
//
//	p := browsertest.Open(t, "report.html") // skips if chromium is absent, unless required
//	p.Check()                               // console errors, requests, undrawn charts
//	p.Click("#head-1-3")
//	var focused string
//	p.Eval(`mechinterp.focused`, &focused)
//	p.Screenshot("after-click")
//
// One Chromium runs per test binary: the first Open starts it, and every Open loads its page
// in a new tab with a fresh browser context, so pages share no state but not the start-up
// cost either. A package with browser tests stops the browser after its tests:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
// Loading a page with its 1 MB of inline ECharts in a new tab costs about a second; with the
// SharedTab option, Open takes a tab that earlier pages used (warm: its renderer runs and V8
// has compiled ECharts before), which loads it about three times as fast, at the price of one
// browser context shared by all such pages. Page.Close frees the tab for the next page.
//
// Open registers a cleanup that runs Check once more when the test ends (Page.Close does too),
// so problems caused by clicks are reported too. Chromium is found at $CHROME_PATH, then
// /usr/bin/chromium, then chromium on $PATH. When it is absent the test is skipped, or fails if
// MECHINTERP_BROWSER is "required" (as .ci/run sets it). Screenshots go to
// $MECHINTERP_ARTIFACTS/<test name>/ when that is set, else to the test's temporary directory.
package browsertest
