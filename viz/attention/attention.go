package attention

import (
	"bytes"
	"compress/zlib"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/viz"
)

// The explorer's script and style, inlined into every attention page (no CDN, no request).
//
//go:embed assets/attention.js
var attentionJS string

//go:embed assets/attention.css
var attentionCSS string

// Data is what the attention explorer draws for one prompt: the tokens and every
// head's attention pattern, and optionally a role and scores per head. It is data only; the
// caller runs the model (for example hooks.RunWithCache with the filter
// "blocks.*.attn.hook_pattern").
type Data struct {
	// Title names the model (or run and checkpoint) in the page.
	Title string
	// Tokens holds one display string per position (a tokenizer's Decode of each id, or the
	// id itself when there is no tokenizer).
	Tokens []string
	// IDs, if set, holds the token id of each position, shown in tooltips.
	IDs []int
	// Patterns[l][h] is head h of layer l's pattern, len(Tokens)² weights row-major by
	// [query][key] (hook_pattern's last two axes): entry q*T+k is the weight query q puts on
	// key k. Only the causal half (k <= q) is read; each weight must lie in [0, 1].
	Patterns [][][]float32
	// Heads, if set, labels head h of layer l with Heads[l][h] (same shape as Patterns).
	Heads [][]HeadInfo
	// Step, when HasStep, is the training step of the checkpoint, shown beside the title.
	Step    int
	HasStep bool
}

// HeadInfo labels one head in the explorer: a role such as "induction" or
// "previous-token" (empty: none) and named scores (for example the detection scores of
// TransformerLens's head_detector), shown when the head is hovered or focused.
type HeadInfo struct {
	Role   string             `json:"role,omitempty"`
	Scores map[string]float64 `json:"scores,omitempty"`
}

// Options tune how an attention page stores its patterns.
type Options struct {
	// Bits is the precision each weight is stored with: 8 (one byte, values within
	// ±1/510 of the model's) or 16 (two bytes, within ±1/131070). 0 chooses 16 bits while
	// the page holds at most AutoBitsLimit weights and 8 beyond, so long prompts on big
	// models stay a few megabytes.
	Bits int
}

// AutoBitsLimit is the number of stored weights (layers × heads × T(T+1)/2) up to which
// Bits 0 chooses 16 bits.
const AutoBitsLimit = 1 << 20

// Tolerance is how far outside [0, 1] a weight may lie (float rounding of a
// softmax) before it is refused; such weights are clamped.
const Tolerance = 1e-4

// Validate checks the shapes and values of d: at least one token, one layer and one head,
// every layer with the same number of heads, every pattern T×T with finite weights in
// [0, 1] on its causal half, IDs and Heads (when given) of matching shapes, finite scores.
func (d *Data) Validate() error {
	if d == nil {
		return errors.New("attention data is nil")
	}
	T := len(d.Tokens)
	if T == 0 {
		return errors.New("attention data has no tokens")
	}
	if d.IDs != nil && len(d.IDs) != T {
		return fmt.Errorf("attention data has %d ids for %d tokens", len(d.IDs), T)
	}
	if len(d.Patterns) == 0 || len(d.Patterns[0]) == 0 {
		return errors.New("attention data has no heads (Patterns is empty)")
	}
	H := len(d.Patterns[0])
	for l, layer := range d.Patterns {
		if len(layer) != H {
			return fmt.Errorf("attention layer %d has %d heads, layer 0 has %d", l, len(layer), H)
		}
		for h, p := range layer {
			if len(p) != T*T {
				return fmt.Errorf("attention pattern %s has %d weights, want %d×%d = %d", models.Head{Layer: l, Head: h}, len(p), T, T, T*T)
			}
			for q := 0; q < T; q++ {
				for k := 0; k <= q; k++ {
					w := p[q*T+k]
					if math.IsNaN(float64(w)) || w < -Tolerance || w > 1+Tolerance {
						return fmt.Errorf("attention pattern %s: weight of query %d on key %d is %g, outside [0, 1]", models.Head{Layer: l, Head: h}, q, k, w)
					}
				}
			}
		}
	}
	if d.Heads != nil {
		if len(d.Heads) != len(d.Patterns) {
			return fmt.Errorf("attention head labels cover %d layers, patterns %d", len(d.Heads), len(d.Patterns))
		}
		for l, row := range d.Heads {
			if len(row) != H {
				return fmt.Errorf("attention head labels of layer %d cover %d heads, want %d", l, len(row), H)
			}
			for h, info := range row {
				for name, v := range info.Scores {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						return fmt.Errorf("attention head %s: score %q is %g", models.Head{Layer: l, Head: h}, name, v)
					}
				}
			}
		}
	}
	return nil
}

// attentionPayload is Data as the page's script reads it: the causal half of every
// pattern quantised to Bits, zlib-compressed and base64-encoded. The same JSON is embedded in a
// static page and returned by the server's /api/attention.
type attentionPayload struct {
	Title  string       `json:"title"`
	Tokens []string     `json:"tokens"`
	IDs    []int        `json:"ids,omitempty"`
	Layers int          `json:"layers"`
	Heads  int          `json:"heads"`
	Bits   int          `json:"bits"`
	Step   *int         `json:"step,omitempty"`
	Info   [][]HeadInfo `json:"info,omitempty"`
	// Weights is base64(zlib(w)), w the quantised weights: for each layer, each head, each
	// query q, keys 0..q, as uint8 or little-endian uint16 (value / (2^Bits-1)).
	Weights string `json:"weights"`
	// Bytes is the length of w, so the page can check what it inflated.
	Bytes int `json:"bytes"`
}

// bitsFor resolves Options.Bits for n stored weights.
func bitsFor(bits, n int) (int, error) {
	switch bits {
	case 8, 16:
		return bits, nil
	case 0:
		if n <= AutoBitsLimit {
			return 16, nil
		}
		return 8, nil
	}
	return 0, fmt.Errorf("attention: Bits is %d; want 8, 16 or 0 (automatic)", bits)
}

// quantize maps a weight in [0, 1] (clamped) to the nearest of 2^bits-1 steps, so the decoded
// value w' = v/(2^bits-1) is within half a step of w.
func quantize(w float32, max float64) uint16 {
	x := math.Round(float64(w) * max)
	return uint16(math.Min(math.Max(x, 0), max))
}

// encodeAttention validates d and packs it for the page.
func encodeAttention(d *Data, opt Options) (*attentionPayload, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	L, H, T := len(d.Patterns), len(d.Patterns[0]), len(d.Tokens)
	per := T * (T + 1) / 2
	bits, err := bitsFor(opt.Bits, L*H*per)
	if err != nil {
		return nil, err
	}
	max := float64(uint32(1)<<bits - 1)
	raw := make([]byte, 0, L*H*per*bits/8)
	for _, layer := range d.Patterns {
		for _, p := range layer {
			for q := 0; q < T; q++ {
				for _, w := range p[q*T : q*T+q+1] {
					v := quantize(w, max)
					if bits == 8 {
						raw = append(raw, byte(v))
					} else {
						raw = binary.LittleEndian.AppendUint16(raw, v)
					}
				}
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("attention: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("attention: compress: %w", err)
	}
	p := &attentionPayload{
		Title: d.Title, Tokens: d.Tokens, IDs: d.IDs, Layers: L, Heads: H, Bits: bits, Info: d.Heads,
		Weights: base64.StdEncoding.EncodeToString(z.Bytes()), Bytes: len(raw),
	}
	if d.HasStep {
		step := d.Step
		p.Step = &step
	}
	return p, nil
}

// attentionConfig is the page's other JSON block: how the page was made and, for the
// server's page, what it may ask for.
type attentionConfig struct {
	Palette []string `json:"palette"`
	Server  bool     `json:"server"`
	// Server pages only.
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
	Prompt      string       `json:"prompt,omitempty"`
	TokensMode  bool         `json:"tokensMode,omitempty"`
	NoText      bool         `json:"noText,omitempty"`
	MaxPrompt   int          `json:"maxPrompt,omitempty"`
}

// Page builds the attention explorer for one prompt as a self-contained page:
// a grid of every layer × head pattern (hover to preview, click to lock, click again or press
// Escape to unlock), a large heatmap of the focused head with a fixed [0, 1] colour scale and
// a tooltip giving query token, key token and weight, a token strip showing where a hovered
// token attends (or what attends to it) for the focused head or averaged over all heads,
// query and key ranges for long prompts, and each head's role and scores when d.Heads is set.
// The patterns are stored compactly (see Options) and decoded by the page's script.
// Write it with Report.WriteFile.
func Page(d *Data, opt Options) (*viz.Report, error) {
	p, err := encodeAttention(d, opt)
	if err != nil {
		return nil, err
	}
	title := "Attention: " + strings.TrimSpace(d.Title)
	if strings.TrimSpace(d.Title) == "" {
		title = "Attention explorer"
	}
	return attentionPage(title, attentionConfig{}, p), nil
}

// attentionPage assembles the explorer page; payload is nil for a server page that fetches
// its data.
func attentionPage(title string, cfg attentionConfig, payload *attentionPayload) *viz.Report {
	cfg.Palette = viz.SequentialColors()
	r := viz.NewReport(title)
	r.Raw(template.HTML("<style>" + attentionCSS + "</style>"))
	r.Raw(attentionMarkup(cfg))
	r.Data("attention-config", cfg)
	if payload != nil {
		r.Data("attention", payload)
	}
	r.Script(attentionJS)
	return r
}

// attentionMarkup is the explorer's static HTML; the script fills it in.
func attentionMarkup(cfg attentionConfig) template.HTML {
	var b strings.Builder
	b.WriteString(`<div id="mi-attn" class="mi-attn">`)
	if cfg.Server {
		b.WriteString(`
<form id="mi-attn-form" class="mi-attn-form" autocomplete="off">
  <label for="mi-attn-prompt">Prompt</label>
  <textarea id="mi-attn-prompt" rows="2" spellcheck="false" placeholder="Type a prompt, then press Run (Ctrl+Enter)"></textarea>
  <div class="mi-attn-row">
    <select id="mi-attn-mode" aria-label="prompt kind"><option value="text">text</option><option value="tokens">token ids (comma-separated)</option></select>
    <button type="submit" id="mi-attn-run">Run</button>
    <span id="mi-attn-busy" class="mi-attn-busy" hidden>computing…</span>
  </div>
  <div class="mi-attn-row" id="mi-attn-ckpt-row" hidden>
    <label for="mi-attn-ckpt">Checkpoint</label>
    <input type="range" id="mi-attn-ckpt" min="0" max="0" step="1" value="0">
    <span id="mi-attn-ckpt-label"></span>
    <button type="button" id="mi-attn-prev" title="previous checkpoint">◀</button>
    <button type="button" id="mi-attn-next" title="next checkpoint">▶</button>
    <button type="button" id="mi-attn-play" title="step through every checkpoint">play</button>
  </div>
</form>`)
	}
	b.WriteString(`
<div id="mi-attn-error" class="mi-attn-error" role="alert" hidden></div>
<p id="mi-attn-status" class="mi-attn-status"></p>
<div class="mi-attn-controls">
  <fieldset><legend>Queries (rows)</legend>
    <label>from <input type="number" id="mi-attn-q0" min="0" value="0"></label>
    <label>to <input type="number" id="mi-attn-q1" min="0" value="0"></label></fieldset>
  <fieldset><legend>Keys (columns)</legend>
    <label>from <input type="number" id="mi-attn-k0" min="0" value="0"></label>
    <label>to <input type="number" id="mi-attn-k1" min="0" value="0"></label></fieldset>
  <button type="button" id="mi-attn-range-reset">all tokens</button>
</div>
<div class="mi-attn-main">
  <section class="mi-attn-gridbox" aria-label="every head">
    <h2>Heads</h2>
    <div class="mi-attn-gridwrap"><canvas id="mi-attn-grid" tabindex="0" aria-label="attention pattern of every layer and head; hover to preview, click to lock"></canvas>
    <div id="mi-attn-grid-tip" class="mi-attn-tip" hidden></div></div>
    <p class="mi-attn-help">Rows are layers, columns heads; each thumbnail is the pattern over the selected queries (down) and keys (across), each pixel the largest weight it covers. Hover to preview a head, click to lock it, click it again or press Escape to unlock.</p>
  </section>
  <section class="mi-attn-focusbox" aria-label="focused head">
    <h2 id="mi-attn-focus-title">Head</h2>
    <div id="mi-attn-heatbox" class="mi-attn-heatbox">
      <div id="mi-attn-heatmap" class="mi-attn-heatmap" role="img" aria-label="attention pattern of the focused head"></div>
      <canvas id="mi-attn-cells" class="mi-attn-cells"></canvas>
      <div id="mi-attn-heat-tip" class="mi-attn-tip" hidden></div>
    </div>
    <p class="mi-attn-help" id="mi-attn-heatmap-help"></p>
    <div id="mi-attn-headinfo" class="mi-attn-headinfo"></div>
  </section>
</div>
<section class="mi-attn-stripbox" aria-label="tokens">
  <h2>Tokens</h2>
  <div class="mi-attn-row">
    <span>Hovering a token shows</span>
    <label><input type="radio" name="mi-attn-dir" id="mi-attn-dir-to" value="to" checked> where it attends</label>
    <label><input type="radio" name="mi-attn-dir" id="mi-attn-dir-from" value="from"> what attends to it</label>
    <span class="mi-attn-sep">for</span>
    <label><input type="radio" name="mi-attn-src" id="mi-attn-src-head" value="head" checked> the focused head</label>
    <label><input type="radio" name="mi-attn-src" id="mi-attn-src-mean" value="mean"> the mean of all heads</label>
  </div>
  <div id="mi-attn-tokens" class="mi-attn-tokens"></div>
  <p id="mi-attn-strip-info" class="mi-attn-help"></p>
</section>
</div>`)
	return template.HTML(b.String())
}
