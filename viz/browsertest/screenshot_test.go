package browsertest_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestScreenshotPages is a tool, not a check: with MECHINTERP_SCREENSHOT_DIR=DIR it opens every
// .html page under DIR (and each URL of MECHINTERP_SCREENSHOT_URLS, space-separated loopback
// addresses such as serve's pages, which are screenshotted once MECHINTERP_SCREENSHOT_READY, a
// JavaScript condition, holds), checks it opens cleanly, and saves a full-page PNG 1200 CSS
// pixels wide under $MECHINTERP_ARTIFACTS. scripts/screenshots.sh writes every page and runs it;
// the PNGs are what a reviewer looks at and what docs/images keeps.
func TestScreenshotPages(t *testing.T) {
	dir, urls := os.Getenv("MECHINTERP_SCREENSHOT_DIR"), strings.Fields(os.Getenv("MECHINTERP_SCREENSHOT_URLS"))
	if dir == "" && len(urls) == 0 {
		t.Skip("set MECHINTERP_SCREENSHOT_DIR (and MECHINTERP_ARTIFACTS) to screenshot pages")
	}
	type page struct{ name, target, ready string }
	var pages []page
	if dir != "" {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) != ".html" {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			pages = append(pages, page{strings.TrimSuffix(rel, ".html"), path, ""})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range urls {
		pages = append(pages, page{"url-" + string(rune('a'+i)), u, os.Getenv("MECHINTERP_SCREENSHOT_READY")})
	}
	for _, pg := range pages {
		t.Run(strings.ReplaceAll(pg.name, string(filepath.Separator), "-"), func(t *testing.T) {
			p := browsertest.Open(t, pg.target, browsertest.WindowSize(1200, 900))
			if pg.ready != "" {
				p.WaitFor(pg.ready)
			}
			if c := p.Charts(); c.Drawn != c.Count {
				t.Errorf("%d of %d charts drawn: blank %v", c.Drawn, c.Count, c.Blank)
			}
			p.Screenshot("page")
		})
	}
}
