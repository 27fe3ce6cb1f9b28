package sae

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// DashboardConfig configures [Dashboards].
type DashboardConfig struct {
	Hook string
	// Contexts of Context tokens are read (defaults 256 and the model's
	// n_ctx), in batches of 16.
	Contexts, Context int
	// Top is the number of top-activating examples per unit (default 20),
	// also the k of the concentration measure.
	Top int
	// Window is the tokens shown before an example's token (default 12;
	// 3 are shown after it).
	Window int
	// Logits is the number of most promoted and suppressed tokens (default 10).
	Logits int
	// BOS is the token whose positions are skipped (-1: none).
	BOS int
}

func (c *DashboardConfig) defaults(m *models.Model) {
	if c.Contexts == 0 {
		c.Contexts = 256
	}
	if c.Context == 0 {
		c.Context = m.Config.NCtx
	}
	if c.Top == 0 {
		c.Top = 20
	}
	if c.Window == 0 {
		c.Window = 12
	}
	if c.Logits == 0 {
		c.Logits = 10
	}
}

// Example is one token in context: the token ids around it (their text is
// the dashboard's Vocab) and the unit's activation at each, the example's
// own token at index At, which is token Pos of the dashboard's Corpus.
type Example struct {
	Tokens []int     `json:"tokens"`
	Acts   []float64 `json:"acts"`
	At     int       `json:"at"`
	Pos    int       `json:"pos"`
	Value  float64   `json:"value"`
}

// Band is a range of activations and examples drawn from it.
type Band struct {
	Lo       float64   `json:"lo"`
	Hi       float64   `json:"hi"`
	Count    int       `json:"count"`
	Examples []Example `json:"examples"`
}

// TokenValue is a token and a number (a logit effect).
type TokenValue struct {
	ID    int     `json:"id"`
	Token string  `json:"token"`
	Value float64 `json:"value"`
}

// Unit is the dashboard of one neuron or feature, as sae_vis and
// Neuronpedia show one: where it fires, how strongly, and what it writes.
type Unit struct {
	Index int `json:"index"`
	// Density is the share of tokens with a positive activation.
	Density float64 `json:"density"`
	Max     float64 `json:"max"`
	// Top are the top-activating examples (one per context), highest first.
	Top []Example `json:"top"`
	// Bands split (0, Max] into equal ranges, with examples from each.
	Bands []Band `json:"bands"`
	// Hist counts the positive activations in equal bins from 0 to Max.
	HistEdges  []float64 `json:"hist_edges"`
	HistCounts []int     `json:"hist_counts"`
	// Promoted and Suppressed are the tokens whose logits the unit's output
	// direction raises and lowers most (nil when the hook's space is not
	// the residual stream's or an MLP's hidden layer).
	Promoted   []TokenValue `json:"promoted"`
	Suppressed []TokenValue `json:"suppressed"`
	// Entropy is the entropy, in bits, of the current-token distribution
	// over the Top examples: 0 when they are all the same token, log2(Top)
	// when all differ; NaN with fewer than Top positive activations.
	Entropy jsonx.Float `json:"entropy"`
	// TopToken is the commonest current token of the Top examples and
	// TopShare its share.
	TopToken string  `json:"top_token"`
	TopShare float64 `json:"top_share"`
}

// Dashboard is every unit of one kind (neurons of a layer, or an SAE's
// features) over the same tokens.
type Dashboard struct {
	Kind   string `json:"kind"` // "neuron" or "feature"
	Hook   string `json:"hook"`
	Tokens int    `json:"tokens"`
	// K is the number of top examples the entropy is taken over.
	K     int    `json:"k"`
	Units []Unit `json:"units"`
	// Vocab is the text of every token id.
	Vocab []string `json:"vocab"`
	// Corpus is the token ids read, contexts of Context tokens one after
	// the other: every example is a window of it.
	Corpus  []int `json:"corpus"`
	Context int   `json:"context"`
}

// Units of a dashboard.
const (
	KindNeuron  = "neuron"
	KindFeature = "feature"
)

// Dashboards reads cfg.Contexts contexts of src through m and builds the
// dashboards of the neurons at cfg.Hook (s nil: each dimension of the hook
// is a unit) or of the features of s (reading the hook s was trained on).
func Dashboards(ctx context.Context, m *models.Model, s *SAE, src data.Source, tok tokenizer.Tokenizer, cfg DashboardConfig) (*Dashboard, error) {
	cfg.defaults(m)
	shape, err := models.HookShape(m.Config, cfg.Hook, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("sae: hook %s is not a vector per token", cfg.Hook)
	}
	d := shape[2]
	units := d
	if s != nil {
		units = s.F
	}
	if cfg.Contexts < 0 || cfg.Top < 0 || cfg.Window < 0 || cfg.Logits < 0 ||
		cfg.Contexts > MaxBufferFloats/max(1, cfg.Context*max(d, units)) || cfg.Top > 1000 || cfg.Window > 1000 {
		return nil, fmt.Errorf("sae: dashboards of %d contexts (top %d, window %d, logits %d): negative, or over %d activations in memory", cfg.Contexts, cfg.Top, cfg.Window, cfg.Logits, MaxBufferFloats)
	}
	if s != nil && s.D != d {
		return nil, fmt.Errorf("sae: the SAE reads %d-dimensional activations; hook %s gives %d", s.D, cfg.Hook, d)
	}
	if cfg.Context < 2 || cfg.Context > m.Config.NCtx {
		return nil, fmt.Errorf("sae: context %d (model n_ctx %d)", cfg.Context, m.Config.NCtx)
	}
	T := cfg.Context
	const batch = 16
	nb := (cfg.Contexts + batch - 1) / batch
	N := nb * batch * T
	toks := make([]int, 0, N)
	raw := make([]float32, 0, N*d)
	b := data.NewBatch(batch, T-1)
	for range nb {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := src.Next(b); err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
		toks = append(toks, b.Tokens...)
		if _, err := Activations(m, b.Tokens, batch, T, cfg.Hook, func(_ int, a []float32) { raw = append(raw, a...) }); err != nil {
			return nil, err
		}
	}
	kind := KindNeuron
	vals := raw
	if s != nil {
		enc, err := newEncoder(s)
		if err != nil {
			return nil, err
		}
		kind = KindFeature
		vals = slices.Clone(enc.encode(raw, N))
	}
	text := make([]string, m.Config.DVocab)
	for i := range text {
		text[i] = tok.Decode([]int{i})
	}
	dirs, err := outputDirections(m, s, cfg.Hook, units)
	if err != nil {
		return nil, err
	}
	wu := m.MustWeight("W_U", 0)
	db := &Dashboard{Kind: kind, Hook: cfg.Hook, K: cfg.Top, Units: make([]Unit, units), Vocab: text, Corpus: toks, Context: T}
	valid := 0
	for i := range toks {
		if toks[i] != cfg.BOS {
			valid++
		}
	}
	db.Tokens = valid
	col := make([]float64, N)
	for u := 0; u < units; u++ {
		for i := 0; i < N; i++ {
			col[i] = float64(vals[i*units+u])
			if toks[i] == cfg.BOS {
				col[i] = 0
			}
		}
		un := unitOf(u, col, toks, T, text, cfg)
		un.Density /= float64(valid)
		if dirs != nil {
			un.Promoted, un.Suppressed = logitEffects(dirs[u], wu.Data, m.Config.DModel, m.Config.DVocab, text, cfg.Logits)
		}
		db.Units[u] = un
	}
	return db, nil
}

// unitOf builds one unit's dashboard from its activations col over the
// contexts of T tokens (Density left as a count).
func unitOf(u int, col []float64, toks []int, T int, text []string, cfg DashboardConfig) Unit {
	un := Unit{Index: u, Entropy: jsonx.Float(math.NaN())}
	// The best position of each context.
	type cand struct {
		i int
		v float64
	}
	var best []cand
	for c := 0; c*T < len(col); c++ {
		bi, bv := -1, 0.0
		for i := c * T; i < (c+1)*T; i++ {
			v := col[i]
			if v > 0 {
				un.Density++
				if v > bv {
					bi, bv = i, v
				}
			}
		}
		if bi >= 0 {
			best = append(best, cand{bi, bv})
		}
	}
	for _, c := range best {
		un.Max = max(un.Max, c.v)
	}
	slices.SortStableFunc(best, func(a, b cand) int {
		switch {
		case a.v > b.v:
			return -1
		case a.v < b.v:
			return 1
		}
		return a.i - b.i
	})
	example := func(i int) Example {
		c := i / T
		lo, hi := max(c*T, i-cfg.Window), min((c+1)*T, i+4)
		e := Example{At: i - lo, Pos: i, Value: col[i]}
		for j := lo; j < hi; j++ {
			e.Tokens = append(e.Tokens, toks[j])
			e.Acts = append(e.Acts, col[j])
		}
		return e
	}
	counts := map[int]int{}
	for _, c := range best[:min(len(best), cfg.Top)] {
		un.Top = append(un.Top, example(c.i))
		counts[toks[c.i]]++
	}
	if len(best) >= cfg.Top {
		var h float64
		top, topN := 0, 0
		for t, n := range counts {
			p := float64(n) / float64(cfg.Top)
			h -= p * math.Log2(p)
			if n > topN || n == topN && t < top {
				top, topN = t, n
			}
		}
		un.Entropy = jsonx.Float(h)
		un.TopToken, un.TopShare = text[top], float64(topN)/float64(cfg.Top)
	}
	if un.Max <= 0 {
		return un
	}
	const bins, bands, perBand = 24, 4, 3
	un.HistCounts = make([]int, bins)
	for j := 0; j <= bins; j++ {
		un.HistEdges = append(un.HistEdges, un.Max*float64(j)/bins)
	}
	un.Bands = make([]Band, bands)
	for j := range un.Bands {
		un.Bands[j].Lo, un.Bands[j].Hi = un.Max*float64(j)/bands, un.Max*float64(j+1)/bands
	}
	for i, v := range col {
		if v <= 0 {
			continue
		}
		un.HistCounts[min(int(v/un.Max*bins), bins-1)]++
		bd := &un.Bands[min(int(v/un.Max*bands), bands-1)]
		bd.Count++
		// Every 7th token of a band, up to perBand: spread through the
		// corpus, the same on every run.
		if bd.Count%7 == 1 && len(bd.Examples) < perBand {
			bd.Examples = append(bd.Examples, example(i))
		}
	}
	return un
}

// outputDirections returns each unit's output direction in the residual
// stream, scaled by ln_final's gain: a neuron's W_out row, a feature's
// decoder column through W_out (MLP hooks) or as it is (residual-stream
// hooks); nil where the hook's space does not write to the residual stream
// linearly.
func outputDirections(m *models.Model, s *SAE, hook string, units int) ([][]float64, error) {
	C := m.Config.DModel
	leaf := hook[strings.LastIndex(hook, ".")+1:]
	var wout []float32
	switch {
	case leaf == "hook_post" && strings.Contains(hook, ".mlp."):
		w, err := m.Weight("W_out", hookLayer(hook))
		if err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
		wout = w.Data // [d_mlp, d_model]
	case strings.HasPrefix(leaf, "hook_resid") || leaf == "hook_mlp_out" || leaf == "hook_attn_out":
	default:
		return nil, nil
	}
	gain := make([]float64, C)
	for j := range gain {
		gain[j] = 1
	}
	if g, err := m.Weight("ln_final.w", 0); err == nil {
		for j := range gain {
			gain[j] = float64(g.Data[j])
		}
	}
	in := func(u int) []float64 { // the unit's direction in the hook's space
		if s != nil {
			return s.Wd[u]
		}
		v := make([]float64, units)
		v[u] = 1
		return v
	}
	dirs := make([][]float64, units)
	for u := range dirs {
		v := in(u)
		out := make([]float64, C)
		if wout == nil {
			copy(out, v)
		} else {
			for h, a := range v {
				if a != 0 {
					for j := 0; j < C; j++ {
						out[j] += a * float64(wout[h*C+j])
					}
				}
			}
		}
		for j := range out {
			out[j] *= gain[j]
		}
		dirs[u] = out
	}
	return dirs, nil
}

// logitEffects returns the n tokens whose logits dir·W_U raises most and
// the n it lowers most.
func logitEffects(dir []float64, wu []float32, C, V int, text []string, n int) (up, down []TokenValue) {
	eff := make([]TokenValue, V)
	for v := 0; v < V; v++ {
		var s float64
		for j := 0; j < C; j++ {
			s += dir[j] * float64(wu[j*V+v])
		}
		eff[v] = TokenValue{v, text[v], s}
	}
	slices.SortStableFunc(eff, func(a, b TokenValue) int {
		switch {
		case a.Value > b.Value:
			return -1
		case a.Value < b.Value:
			return 1
		}
		return 0
	})
	n = min(n, V)
	up = slices.Clone(eff[:n])
	for i := V - 1; i >= V-n; i-- {
		down = append(down, eff[i])
	}
	return up, down
}

// Entropies returns the Entropy of every unit that has one (enough
// positive activations), for the neurons-vs-features comparison.
func (d *Dashboard) Entropies() []float64 {
	var out []float64
	for _, u := range d.Units {
		if e := float64(u.Entropy); !math.IsNaN(e) {
			out = append(out, e)
		}
	}
	return out
}
