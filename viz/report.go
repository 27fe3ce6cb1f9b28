package viz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
)

// Report is one self-contained HTML page: a title, sections of text, charts, embedded JSON data
// and, for interactive pages, raw HTML and scripts. The page inlines the embedded ECharts script
// and makes no network request. Methods chain; mistakes (a chart without a caption, a bad data
// name) are collected and returned by Render, HTML and WriteFile, which then write nothing.
type Report struct {
	title   string
	blocks  []block
	data    []dataBlock
	scripts []string
	connect []string
	charts  int
	errs    []error
}

// block is one piece of the page, in order: exactly one field is set.
type block struct {
	Section *section
	Chart   *chartView
	Raw     template.HTML
	Links   []Link
}

type section struct {
	Heading string
	Paras   []string
}

type chartView struct {
	ID      string
	Kind    string
	Title   string
	Caption string
	Height  int
	Option  template.JS
	chart   *Chart
}

type dataBlock struct {
	Name string
	JSON template.JS
}

// Link is one entry of an index page: Path is relative to the page (for example
// "heads.html"); Description is an optional line of plain text.
type Link struct {
	Title       string
	Path        string
	Description string
}

// NewReport starts a page with the given title (its <title> and top heading).
func NewReport(title string) *Report {
	r := &Report{title: title}
	if strings.TrimSpace(title) == "" {
		r.errs = append(r.errs, errors.New("report title is empty"))
	}
	return r
}

// Index builds a page that links several reports, e.g. the index.html of a run directory.
// It is NewReport(title).Links(links...); sections and charts can be added as to any report.
func Index(title string, links ...Link) *Report {
	return NewReport(title).Links(links...)
}

// Title returns the report's title.
func (r *Report) Title() string { return r.title }

// Charts returns the number of charts added so far.
func (r *Report) Charts() int { return r.charts }

// Section adds a heading and plain text (blank lines separate paragraphs; no markup).
// Charts added after it appear under it. Either may be empty.
func (r *Report) Section(heading, text string) *Report {
	s := &section{Heading: heading}
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			s.Paras = append(s.Paras, p)
		}
	}
	r.blocks = append(r.blocks, block{Section: s})
	return r
}

// Add places charts on the page in order, each with its title, its canvas and its caption.
func (r *Report) Add(charts ...*Chart) *Report {
	for _, c := range charts {
		if c == nil {
			r.errs = append(r.errs, errors.New("Add: nil chart"))
			continue
		}
		id := fmt.Sprintf("mi-chart-%d", r.charts)
		r.charts++
		r.blocks = append(r.blocks, block{Chart: &chartView{ID: id, Kind: string(c.kind), Title: c.spec.Title, Caption: c.spec.Caption, Height: c.height, chart: c}})
	}
	return r
}

var dataName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

// Data embeds v, encoded as JSON, in a <script type="application/json" id="mi-data-NAME">
// block, so the numbers behind the page travel with it. In the page, mechinterp.data("NAME")
// returns it parsed. Names are letters, digits, '_', '.' and '-', start with a letter, and
// are unique in a report. NaN and ±Inf cannot be encoded and are an error.
func (r *Report) Data(name string, v any) *Report {
	if !dataName.MatchString(name) {
		r.errs = append(r.errs, fmt.Errorf("Data: bad name %q (want letters, digits, '_', '.', '-', starting with a letter)", name))
		return r
	}
	for _, d := range r.data {
		if d.Name == name {
			r.errs = append(r.errs, fmt.Errorf("Data: name %q used twice", name))
			return r
		}
	}
	b, err := json.Marshal(v) // escapes <, > and &, so the block cannot close its <script>
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("Data %q: %w", name, err))
		return r
	}
	r.data = append(r.data, dataBlock{Name: name, JSON: template.JS(b)})
	return r
}

// Links adds a list of links to other pages (see Index). Paths must be relative: no scheme,
// no host, no leading '/'.
func (r *Report) Links(links ...Link) *Report {
	for _, l := range links {
		u, err := url.Parse(l.Path)
		switch {
		case err != nil:
			r.errs = append(r.errs, fmt.Errorf("link %q: %w", l.Title, err))
		case l.Path == "" || u.Scheme != "" || u.Host != "" || strings.HasPrefix(l.Path, "/"):
			r.errs = append(r.errs, fmt.Errorf("link %q: path %q must be relative to the page", l.Title, l.Path))
		case strings.TrimSpace(l.Title) == "":
			r.errs = append(r.errs, fmt.Errorf("link to %q has no title", l.Path))
		}
	}
	r.blocks = append(r.blocks, block{Links: links})
	return r
}

// Raw adds HTML as is, for interactive pages that need their own markup (controls, a token
// strip). The caller is responsible for escaping anything it interpolates.
func (r *Report) Raw(html template.HTML) *Report {
	r.blocks = append(r.blocks, block{Raw: html})
	return r
}

// Script adds JavaScript that runs after the page's charts are drawn; window.echarts,
// mechinterp.charts (chart id -> ECharts instance) and mechinterp.data(name) are available.
// A page with a script always inlines ECharts.
func (r *Report) Script(js string) *Report {
	if strings.Contains(strings.ToLower(js), "</script") {
		r.errs = append(r.errs, errors.New("Script: the code contains \"</script\", which would end the script early"))
		return r
	}
	r.scripts = append(r.scripts, js)
	return r
}

// AllowConnect lets the page's scripts fetch from the given Content-Security-Policy sources
// (for example "'self'" for a page served by the local server). Report pages default to
// connect-src 'none'.
func (r *Report) AllowConnect(sources ...string) *Report {
	for _, s := range sources {
		if strings.ContainsAny(s, ";,\"") || strings.TrimSpace(s) == "" {
			r.errs = append(r.errs, fmt.Errorf("AllowConnect: bad source %q", s))
			continue
		}
		r.connect = append(r.connect, s)
	}
	return r
}

// Err returns every mistake collected so far, or nil.
func (r *Report) Err() error {
	errs := append([]error(nil), r.errs...)
	for _, b := range r.blocks {
		if b.Chart != nil {
			if err := b.Chart.chart.Err(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Render writes the page to w. It writes nothing if the report has any mistake.
func (r *Report) Render(w io.Writer) error {
	b, err := r.HTML()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// HTML returns the page.
func (r *Report) HTML() ([]byte, error) {
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("report %q: %w", r.title, err)
	}
	for _, b := range r.blocks {
		if b.Chart == nil {
			continue
		}
		opt, err := b.Chart.chart.OptionJSON()
		if err != nil {
			return nil, fmt.Errorf("report %q: %w", r.title, err)
		}
		b.Chart.Option = template.JS(opt)
	}
	connect := "'none'"
	if len(r.connect) > 0 {
		connect = strings.Join(r.connect, " ")
	}
	page := pageData{
		Title:     r.title,
		CSP:       "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src " + connect,
		Blocks:    r.blocks,
		Data:      r.data,
		ECharts:   r.charts > 0 || len(r.scripts) > 0,
		EChartsJS: template.JS(echartsJS),
		Bootstrap: template.JS(bootstrapJS),
		Version:   EChartsVersion,
		Served:    len(r.connect) > 0,
	}
	for _, s := range r.scripts {
		page.Scripts = append(page.Scripts, template.JS(s))
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("report %q: %w", r.title, err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes the page to path atomically: into a temporary file in the same directory,
// then renamed over path. On any error path is left as it was and no temporary file remains.
func (r *Report) WriteFile(path string) error {
	b, err := r.HTML()
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}
