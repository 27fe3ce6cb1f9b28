package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/viz"
)

// Routes of DashboardHandler.
const (
	DashboardsPath    = "/dashboards/"
	DashboardsAPIPath = "/api/dashboards/"
)

// Limits of DashboardHandler.
const (
	// MaxDashboardQuery is the longest search, in bytes.
	MaxDashboardQuery = 100
	// MaxDashboardLimit is the most units one list request returns.
	MaxDashboardLimit = 500
	// maxBuiltDashboards is how many dashboards are kept built; the oldest
	// is dropped for a new one, so memory stays bounded however many
	// layers are browsed.
	maxBuiltDashboards = 4
)

// DashboardHandler serves the neuron and feature dashboards of a
// sae.DashboardSet in `mechinterp serve`:
//
//	GET /dashboards/                       the list of dashboards
//	GET /dashboards/features               the SAE's feature dashboard
//	GET /dashboards/neurons/L              the MLP neurons of layer L
//	GET /api/dashboards/KIND/list?q=&sort=&offset=&limit=
//	                                       a page of the unit list (sort: density,
//	                                       index, max or entropy; q: a token to search)
//	GET /api/dashboards/KIND/unit/N        unit N's detail
//
// with KIND "features" or "neurons/L". A dashboard is built on its first
// request (one at a time, within the request timeout) and kept; bad
// parameters are answered with one JSON error and a 4xx status.
type DashboardHandler struct {
	set     *sae.DashboardSet
	timeout time.Duration
	sem     chan struct{}
	mu      sync.Mutex
	built   map[string]*builtDashboard
	order   []string // keys of built, oldest first
}

type builtDashboard struct {
	db   *sae.Dashboard
	page []byte
}

// NewDashboardHandler returns the handler of set's dashboards; building
// one dashboard may take up to timeout (0: 2 minutes).
func NewDashboardHandler(set *sae.DashboardSet, timeout time.Duration) *DashboardHandler {
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	return &DashboardHandler{set: set, timeout: timeout, sem: make(chan struct{}, 1), built: map[string]*builtDashboard{}}
}

// dashError is an answer with a status.
type dashError struct {
	status int
	msg    string
}

func (e *dashError) Error() string { return e.msg }

func dashFail(status int, format string, args ...any) error {
	return &dashError{status, fmt.Sprintf(format, args...)}
}

func (h *DashboardHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		status := http.StatusInternalServerError
		var de *dashError
		if errors.As(err, &de) {
			status = de.status
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		w.Write(b)
	}
}

func (h *DashboardHandler) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return dashFail(http.StatusMethodNotAllowed, "%s %s is not allowed; use GET", r.Method, r.URL.Path)
	}
	if !utf8.ValidString(r.URL.Path) || len(r.URL.Path) > 200 {
		return dashFail(http.StatusNotFound, "no such page")
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, DashboardsAPIPath); ok {
		return h.serveAPI(w, r, rest)
	}
	rest, _ := strings.CutPrefix(r.URL.Path, DashboardsPath)
	if rest == "" {
		return h.serveIndex(w)
	}
	b, err := h.dashboard(r.Context(), rest)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Write(b.page)
	return nil
}

// key checks a dashboard's name ("features" or "neurons/L").
func (h *DashboardHandler) key(name string) (string, error) {
	if name == "features" {
		if h.set.SAE == nil {
			return "", dashFail(http.StatusNotFound, "no feature dashboard: the server was started without an SAE (--sae)")
		}
		return name, nil
	}
	if ls, ok := strings.CutPrefix(name, "neurons/"); ok {
		l, err := strconv.Atoi(ls)
		n := h.set.Model.Config.NLayers
		if err != nil || l < 0 || l >= n || strconv.Itoa(l) != ls {
			return "", dashFail(http.StatusNotFound, "no layer %q: the model's layers are 0 to %d", ls, n-1)
		}
		return name, nil
	}
	return "", dashFail(http.StatusNotFound, "no such dashboard: %q (features, or neurons/LAYER)", name)
}

func (h *DashboardHandler) serveIndex(w http.ResponseWriter) error {
	var links []viz.Link
	if h.set.SAE != nil {
		links = append(links, viz.Link{Title: "SAE features of " + h.set.SAEHook, Path: "features"})
	}
	for l := range h.set.Model.Config.NLayers {
		links = append(links, viz.Link{Title: "MLP neurons of layer " + strconv.Itoa(l) + " (" + models.ActName("mlp_post", l) + ")", Path: "neurons/" + strconv.Itoa(l)})
	}
	b, err := viz.Index("Dashboards", links...).Section("", "Each dashboard is built from the model's activations on its first visit, which takes a few seconds.").HTML()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
	return nil
}

// serveAPI answers KIND/list and KIND/unit/N.
func (h *DashboardHandler) serveAPI(w http.ResponseWriter, r *http.Request, rest string) error {
	var name, op, arg string
	switch i := strings.LastIndex(rest, "/list"); {
	case i > 0 && i+len("/list") == len(rest):
		name, op = rest[:i], "list"
	default:
		j := strings.LastIndex(rest, "/unit/")
		if j <= 0 {
			return dashFail(http.StatusNotFound, "no such API path: %q", rest)
		}
		name, op, arg = rest[:j], "unit", rest[j+len("/unit/"):]
	}
	b, err := h.dashboard(r.Context(), name)
	if err != nil {
		return err
	}
	db := b.db
	var out any
	if op == "unit" {
		i, err := strconv.Atoi(arg)
		if err != nil || i < 0 || i >= len(db.Units) {
			return dashFail(http.StatusNotFound, "no %s %q: there are %d, numbered from 0", db.Kind, arg, len(db.Units))
		}
		out = dashDetail(&db.Units[i])
	} else {
		if out, err = listPage(db, r); err != nil {
			return err
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
	return nil
}

// listPage answers a list request: the units matching q, sorted, from
// offset, at most limit of them.
func listPage(db *sae.Dashboard, r *http.Request) (any, error) {
	v := r.URL.Query()
	q := v.Get("q")
	if len(q) > MaxDashboardQuery || !utf8.ValidString(q) {
		return nil, dashFail(http.StatusBadRequest, "the search must be valid UTF-8 of at most %d bytes", MaxDashboardQuery)
	}
	q = strings.ToLower(strings.TrimSpace(q))
	num := func(name string, def, lo, hi int) (int, error) {
		s := v.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, dashFail(http.StatusBadRequest, "%s=%.40q: want an integer from %d to %d", name, s, lo, hi)
		}
		return n, nil
	}
	offset, err := num("offset", 0, 0, len(db.Units))
	if err != nil {
		return nil, err
	}
	limit, err := num("limit", dashPerPage, 1, MaxDashboardLimit)
	if err != nil {
		return nil, err
	}
	by := v.Get("sort")
	if by == "" {
		by = "density"
	}
	key, ok := sortKeys[by]
	if !ok {
		return nil, dashFail(http.StatusBadRequest, "sort=%.40q: want density, index, max or entropy", by)
	}
	var idx []int
	for i := range db.Units {
		if matches(&db.Units[i], db.Vocab, q) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ka, kb := key(&db.Units[a]), key(&db.Units[b])
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return a - b
	})
	page := [][]any{}
	for _, i := range idx[min(offset, len(idx)):min(offset+limit, len(idx))] {
		page = append(page, dashSummary(&db.Units[i], false))
	}
	return map[string]any{"total": len(idx), "offset": offset, "units": page}, nil
}

// sortKeys order the unit list as the page's sort menu does (ascending).
var sortKeys = map[string]func(u *sae.Unit) float64{
	"density": func(u *sae.Unit) float64 { return -round4(u.Density) },
	"index":   func(u *sae.Unit) float64 { return float64(u.Index) },
	"max":     func(u *sae.Unit) float64 { return -round4(u.Max) },
	"entropy": func(u *sae.Unit) float64 {
		if e := entropyOrNil(u.Entropy); e != nil {
			return e.(float64)
		}
		return 99
	},
}

// dashboard returns the built dashboard of name (key), building it if needed.
func (h *DashboardHandler) dashboard(ctx context.Context, name string) (*builtDashboard, error) {
	key, err := h.key(name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	b := h.built[key]
	h.mu.Unlock()
	if b != nil {
		return b, nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-ctx.Done():
		return nil, dashFail(http.StatusServiceUnavailable, "gave up waiting for another dashboard to be built: %v", ctx.Err())
	}
	h.mu.Lock()
	b = h.built[key]
	h.mu.Unlock()
	if b != nil {
		return b, nil
	}
	var db *sae.Dashboard
	var title string
	if key == "features" {
		db, err = h.set.Features(ctx)
		title = "SAE features of " + h.set.SAEHook
	} else {
		l, _ := strconv.Atoi(strings.TrimPrefix(key, "neurons/"))
		hook := models.ActName("mlp_post", l)
		db, err = h.set.Dashboard(ctx, hook)
		title = "Neurons of " + hook
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, dashFail(http.StatusServiceUnavailable, "building the dashboard stopped: %v", err)
		}
		return nil, dashFail(http.StatusUnprocessableEntity, "%v", err)
	}
	rep, err := DashboardServed(db, title, DashboardsAPIPath+key)
	if err != nil {
		return nil, err
	}
	page, err := rep.HTML()
	if err != nil {
		return nil, err
	}
	b = &builtDashboard{db: db, page: page}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.built[key] = b
	h.order = append(h.order, key)
	if len(h.order) > maxBuiltDashboards {
		delete(h.built, h.order[0])
		h.order = h.order[1:]
	}
	return b, nil
}
