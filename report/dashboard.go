package report

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"path/filepath"
	"slices"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/viz"
)

// Dashboard builds the browsable page of every neuron or every SAE feature
// of a dashboard (sae.Dashboards), as sae_vis and Neuronpedia show them:
// a searchable list, and for the unit picked its top-activating contexts
// with every token shaded by its activation, examples from activation
// bands, its activation histogram, the tokens its output promotes and
// suppresses, and its density. The dashboard travels with the page as
// JSON (mechinterp.data("dashboard")).
func Dashboard(db *sae.Dashboard, title string) (*viz.Report, error) {
	return dashboardPage(db, title, "")
}

// DashboardServed is the page of Dashboard served by `mechinterp serve`:
// the same charts and controls, the unit list fetched a page at a time and
// each unit on demand from api (DashboardHandler's routes).
func DashboardServed(db *sae.Dashboard, title, api string) (*viz.Report, error) {
	if api == "" {
		return nil, errors.New("dashboard report: no API path")
	}
	return dashboardPage(db, title, api)
}

func dashboardPage(db *sae.Dashboard, title, api string) (*viz.Report, error) {
	if db == nil || len(db.Units) == 0 {
		return nil, errors.New("dashboard report: no units")
	}
	what := "neurons"
	if db.Kind == sae.KindFeature {
		what = "features"
	}
	r := viz.NewReport(title)
	dead := 0
	dens := make([]float64, len(db.Units))
	for i, u := range db.Units {
		dens[i] = u.Density
		if u.Density == 0 {
			dead++
		}
	}
	ent := db.Entropies()
	r.Section("", fmt.Sprintf("%d %s at %s over %d tokens of text; %d never active on them. "+
		"Pick a unit in the list (search by token: a unit matches when a token containing the search, or in quotes equal to it, is among its top-activating tokens or its most promoted ones) to see its top-activating contexts, "+
		"each token shaded from white (0) to full orange (the unit's largest activation on these tokens), examples from four equal bands of its activation range, "+
		"the histogram of its positive activations, and the tokens its output direction raises and lowers most through the unembedding (W_U, with ln_final's gain; "+
		"for a neuron its W_out row, for a feature its decoder column through W_out). "+
		"Concentration: the entropy in bits of the current token over a unit's top %d contexts, 0 when they are all one token, %.2f when all differ; "+
		"%d of the %s fire on at least %d contexts and have one (median %.2f bits).",
		len(db.Units), what, db.Hook, db.Tokens, dead, db.K, math.Log2(float64(db.K)), len(ent), what, db.K, median(ent)))
	cats, counts := densityBars(dens, db.Tokens)
	r.Add(viz.Bars(viz.Spec{Title: "Firing density of the " + what, X: "log10 share of tokens with a positive activation", Y: what,
		Caption: fmt.Sprintf("How many %s fire on what share of the %d tokens; \"never\" counts those that did not fire at all.", what, db.Tokens)},
		cats, []viz.Series{{Name: what, Y: counts}}))
	ecats, ecounts := entropyBars(ent, db.K)
	r.Add(viz.Bars(viz.Spec{Title: "Concentration of the top contexts", X: "entropy of the current token over the top contexts (bits)", Y: what,
		Caption: "Left: units whose top contexts are one token (monosemantic by this measure); right: units whose top contexts are all different tokens."},
		ecats, []viz.Series{{Name: what, Y: ecounts}}))
	r.Raw(template.HTML(dashboardHTML))
	if api != "" {
		meta := newDashMeta(db)
		meta.API = api
		r.Data("dashboard", meta).AllowConnect("'self'")
	} else {
		data, err := offlineData(db)
		if err != nil {
			return nil, fmt.Errorf("dashboard report: %w", err)
		}
		r.Data("dashboard", data)
	}
	r.Script(dashboardJS)
	return r, r.Err()
}

// compact rounds the activations to 4 significant digits, for the page's size.
func compact(db *sae.Dashboard) *sae.Dashboard {
	out := *db
	round := round4
	ex := func(es []sae.Example) []sae.Example {
		o := make([]sae.Example, len(es))
		for i, e := range es {
			e.Acts = slices.Clone(e.Acts)
			for j := range e.Acts {
				e.Acts[j] = round(e.Acts[j])
			}
			e.Value = round(e.Value)
			o[i] = e
		}
		return o
	}
	out.Units = make([]sae.Unit, len(db.Units))
	for i, u := range db.Units {
		u.Top = ex(u.Top)
		u.Bands = slices.Clone(u.Bands)
		for j := range u.Bands {
			u.Bands[j].Examples = ex(u.Bands[j].Examples)
		}
		out.Units[i] = u
	}
	return &out
}

// densityBars bins log10 densities from the smallest one n tokens can show
// to 0, in half-decades, plus "never".
func densityBars(dens []float64, n int) ([]string, []float64) {
	lo := math.Floor(math.Log10(1/float64(max(n, 1)))*2) / 2
	bins := int(-lo * 2)
	cats := []string{"never"}
	counts := make([]float64, bins+1)
	for b := 0; b < bins; b++ {
		cats = append(cats, fmt.Sprintf("%.1f to %.1f", lo+float64(b)/2, lo+float64(b+1)/2))
	}
	for _, p := range dens {
		if p <= 0 {
			counts[0]++
			continue
		}
		b := int((math.Log10(p) - lo) * 2)
		counts[1+min(max(b, 0), bins-1)]++
	}
	return cats, counts
}

// entropyBars bins entropies in quarter bits from 0 to log2(k).
func entropyBars(ent []float64, k int) ([]string, []float64) {
	top := math.Log2(float64(max(k, 2)))
	bins := int(math.Ceil(top * 4))
	cats := make([]string, bins)
	counts := make([]float64, bins)
	for b := range cats {
		cats[b] = fmt.Sprintf("%.2f-%.2f", float64(b)/4, math.Min(float64(b+1)/4, top))
	}
	for _, e := range ent {
		counts[min(int(e*4), bins-1)]++
	}
	return cats, counts
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Concentration compares how concentrated the top contexts of neurons and
// of features are (Bricken et al. 2023: features are more monosemantic
// than neurons): per group, the units measured, the median entropy and the
// share of units whose top contexts are at least half one token.
type Concentration struct {
	K            int         `json:"k"`
	Neurons      int         `json:"neurons"`
	Features     int         `json:"features"`
	MedianNeuron jsonx.Float `json:"median_entropy_neurons"`
	MedianFeat   jsonx.Float `json:"median_entropy_features"`
	HalfNeuron   float64     `json:"share_half_one_token_neurons"`
	HalfFeat     float64     `json:"share_half_one_token_features"`
}

// Compare measures the concentration of two dashboards over the same
// tokens and k.
func Compare(neurons, features *sae.Dashboard) Concentration {
	half := func(d *sae.Dashboard) (n int, share float64) {
		for _, u := range d.Units {
			if !math.IsNaN(float64(u.Entropy)) {
				n++
				if u.TopShare >= 0.5 {
					share++
				}
			}
		}
		if n > 0 {
			share /= float64(n)
		}
		return n, share
	}
	c := Concentration{K: neurons.K}
	c.Neurons, c.HalfNeuron = half(neurons)
	c.Features, c.HalfFeat = half(features)
	c.MedianNeuron, c.MedianFeat = jsonx.Float(median(neurons.Entropies())), jsonx.Float(median(features.Entropies()))
	return c
}

// NeuronsVsFeatures builds the page that makes polysemanticity visible
// with a number: the entropy of the current token over each unit's top k
// contexts, for the neurons and for the SAE's features, as two histograms
// on the same bins.
func NeuronsVsFeatures(neurons, features *sae.Dashboard) (*viz.Report, error) {
	if neurons == nil || features == nil || neurons.K != features.K {
		return nil, errors.New("neurons vs features: two dashboards with the same k are needed")
	}
	c := Compare(neurons, features)
	r := viz.NewReport("Neurons vs features: " + neurons.Hook)
	r.Section("", fmt.Sprintf("For every unit that fires on at least %d contexts: the entropy, in bits, of the current token over its top %d contexts (one per context). "+
		"0 bits: all its strongest activations are on one token; %.2f bits: all on different tokens. "+
		"Neurons (%d measured): median %.2f bits, %.0f%% have at least half their top contexts on one token. "+
		"SAE features (%d measured): median %.2f bits, %.0f%%. "+
		"Lower is more concentrated: the measure of Bricken et al. 2023's claim that dictionary features are more monosemantic than neurons, at this scale.",
		c.K, c.K, math.Log2(float64(c.K)), c.Neurons, float64(c.MedianNeuron), 100*c.HalfNeuron, c.Features, float64(c.MedianFeat), 100*c.HalfFeat))
	cats, nc := entropyBars(neurons.Entropies(), c.K)
	_, fc := entropyBars(features.Entropies(), c.K)
	share := func(v []float64) []float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		out := make([]float64, len(v))
		for i, x := range v {
			if s > 0 {
				out[i] = x / s
			}
		}
		return out
	}
	r.Add(viz.Bars(viz.Spec{Title: "Entropy of the top contexts' tokens", X: "entropy of the current token over the top contexts (bits)", Y: "share of units",
		Caption: "Each group's units as shares of the group, on the same bins: mass to the left is concentration on one token."},
		cats, []viz.Series{{Name: fmt.Sprintf("neurons (%d)", c.Neurons), Y: share(nc)}, {Name: fmt.Sprintf("SAE features (%d)", c.Features), Y: share(fc)}}))
	r.Data("concentration", c)
	return r, r.Err()
}

const dashboardHTML = `<style>
.mi-dash{display:flex;gap:16px;align-items:flex-start;font:13px system-ui,sans-serif}
.mi-dash .list{width:300px;max-height:900px;overflow:auto;border:1px solid #ddd}
.mi-dash .list div{padding:3px 6px;cursor:pointer;border-bottom:1px solid #f0f0f0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.mi-dash .list div.sel{background:#fde5d2}
.mi-dash .detail{flex:1;min-width:0}
.mi-dash .ctx{font:12px ui-monospace,monospace;white-space:pre;margin:2px 0;overflow:hidden}
.mi-dash .tok{border-radius:2px}
.mi-dash .pre{display:inline-flex;justify-content:flex-end;width:44ch;overflow:hidden;vertical-align:bottom}
.mi-dash .tok.at{outline:1px solid #000}
.mi-dash .hist{display:flex;align-items:flex-end;height:80px;gap:1px;border-bottom:1px solid #999}
.mi-dash .hist div{background:#e6550d;flex:1}
.mi-dash .axis{display:flex;justify-content:space-between;font:11px system-ui,sans-serif;color:#555}
.mi-dash table.logits td{padding:1px 8px;font:12px ui-monospace,monospace;white-space:pre}
.mi-dash h4{margin:12px 0 4px}
.mi-dash-legend{display:inline-block;width:120px;height:10px;vertical-align:middle;background:linear-gradient(to right,rgba(230,85,13,0),rgba(230,85,13,1));border:1px solid #ccc}
#mi-dash-error{color:#b00020}
</style>
<div class="mi-dash-controls">
<label>Search by token <input id="mi-dash-q" type="text" maxlength="100" placeholder="e.g. err, or &quot;x&quot; for exactly x"></label>
<label> Sort <select id="mi-dash-sort"><option value="density">by density</option><option value="index">by index</option><option value="max">by max activation</option><option value="entropy">by concentration (lowest entropy first)</option></select></label>
<button id="mi-dash-prev" type="button">&larr; previous</button> <button id="mi-dash-next" type="button">next &rarr;</button>
<span id="mi-dash-count">loading&hellip;</span> <span id="mi-dash-error"></span>
</div>
<div class="mi-dash"><div class="list" id="mi-dash-list"></div><div class="detail" id="mi-dash-detail"></div></div>`

// dashboardJS renders a dashboard page from dashMeta: offline from the
// gzip-compressed Z (decompressed once, each unit's line parsed when it is
// picked), served from the API (list pages and units fetched on demand).
const dashboardJS = `(async function(){
performance.mark("mi-dash-start");
const D = mechinterp.data("dashboard"), V = D.vocab;
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"})[c]);
const show = s => esc(s.replace(/\n/g, "\u23ce").replace(/\t/g, "\u2192"));
const unitName = D.kind === "feature" ? "feature" : "neuron";
const $ = id => document.getElementById(id);
const list = $("mi-dash-list"), detail = $("mi-dash-detail"), q = $("mi-dash-q"), sort = $("mi-dash-sort"), count = $("mi-dash-count"), errBox = $("mi-dash-error");
const bytes = b64 => { const s = atob(b64), u = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return u; };
const cb = bytes(D.corpus), corpus = new Uint32Array(cb.buffer, 0, cb.length / 4);
const Q = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const acts = (s, max) => { const o = []; for (let j = 0; j < s.length; j += 2) o.push((Q.indexOf(s[j]) * 64 + Q.indexOf(s[j+1]) - 2048) / 2047 * max); return o; };
const keys = {density: u => -u[1], index: u => u[0], max: u => -u[2], entropy: u => u[3] === null ? 99 : u[3]};
let src;
if (D.api) {
  const get = async url => {
    const r = await fetch(url, {headers: {"Accept": "application/json"}});
    const j = await r.json().catch(() => ({error: "the server's answer is not JSON (status " + r.status + ")"}));
    if (!r.ok) throw new Error(j.error || ("status " + r.status));
    return j;
  };
  src = {
    list: (s, by, offset) => get(D.api + "/list?" + new URLSearchParams({q: s, sort: by, offset: offset, limit: D.per_page})),
    unit: i => get(D.api + "/unit/" + i),
  };
} else {
  const text = await new Response(new Blob([bytes(D.z)]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  const lines = text.split("\n"), all = JSON.parse(lines[0]);
  const exact = s => s.length > 2 && s[0] === '"' && s[s.length - 1] === '"';
  const hit = (u, s) => !s || (exact(s) ? u[6].some(id => V[id].trim().toLowerCase() === s.slice(1, -1).trim()) : u[6].some(id => V[id].toLowerCase().includes(s)));
  src = {
    list: async (s, by, offset) => {
      const us = all.filter(u => hit(u, s)).sort((a, b) => keys[by](a) - keys[by](b) || a[0] - b[0]);
      return {total: us.length, offset: offset, units: us.slice(offset, offset + D.per_page)};
    },
    unit: async i => JSON.parse(lines[i + 1]),
  };
}
let sel = null, offset = 0, total = 0, seq = 0;
function ctxHTML(e, max) {
  // The tokens before the example's own sit right-aligned in a fixed
  // width (clipped on the left), so every example's token is in one column.
  const [lo, at, value, qa] = e, a = acts(qa, max);
  let h = '<div class="ctx"><span class="pre">';
  for (let j = 0; j < a.length; j++) {
    const id = corpus[lo + j], o = max > 0 ? Math.max(0, Math.min(1, a[j] / max)) : 0;
    if (j === at) h += '</span>';
    h += '<span class="tok' + (j === at ? ' at' : '') + '" style="background:rgba(230,85,13,' + o.toFixed(3) + ')" title="' + esc(V[id]) + ': ' + (j === at ? value : a[j].toPrecision(3)) + '">' + show(V[id]) + '</span>';
  }
  return h + '   <b>' + value.toPrecision(3) + '</b></div>';
}
function render(u) {
  const max = u.m;
  let h = '<h3>' + unitName + ' ' + u.i + '</h3>';
  h += '<div>density ' + (100 * u.d).toPrecision(3) + '% of ' + D.tokens + ' tokens; max activation ' + (max ? max.toPrecision(4) : 0);
  h += u.e === null ? '; too few contexts for the concentration measure' : '; top-' + D.k + ' entropy ' + u.e.toFixed(2) + ' bits (' + Math.round(100 * u.ts) + '% on ' + show(u.tt) + ')';
  h += '.</div><div>Shading: <span class="mi-dash-legend"></span> white = 0 to full orange = ' + (max ? max.toPrecision(3) : 0) + ' (this ' + unitName + '\'s largest activation; negative values white); the outlined token is the example\'s.</div>';
  if (u.hist && u.hist.length) {
    const m = Math.max(...u.hist), n = u.hist.length;
    h += '<h4>Activation histogram (positive activations; tallest bar ' + m + ' tokens)</h4><div class="hist">' +
      u.hist.map((c, i) => '<div title="' + (max * i / n).toPrecision(3) + '-' + (max * (i + 1) / n).toPrecision(3) + ': ' + c + ' tokens" style="height:' + (m ? 100 * c / m : 0) + '%"></div>').join("") +
      '</div><div class="axis"><span>0</span><span>' + (max / 2).toPrecision(3) + '</span><span>' + max.toPrecision(3) + '</span></div>';
  }
  h += '<h4>Top activating contexts</h4>' + u.top.map(e => ctxHTML(e, max)).join("");
  u.bands.slice().reverse().forEach(b => {
    h += '<h4>Activations ' + b[0].toPrecision(3) + ' to ' + b[1].toPrecision(3) + ' (' + b[2] + ' tokens)</h4>' + b[3].map(e => ctxHTML(e, max)).join("");
  });
  if (u.up) {
    h += '<h4>Logit effect (output direction through W_U)</h4><table class="logits"><tr><th>promoted</th><th></th><th>suppressed</th><th></th></tr>';
    for (let i = 0; i < u.up.length; i++) {
      const p = u.up[i], s = u.down[i];
      h += '<tr><td>' + show(V[p[0]]) + '</td><td>+' + p[1].toFixed(3) + '</td><td>' + show(V[s[0]]) + '</td><td>' + s[1].toFixed(3) + '</td></tr>';
    }
    h += '</table>';
  }
  detail.innerHTML = h;
}
async function pick(i) {
  sel = i;
  list.querySelectorAll("div[data-i]").forEach(d => d.classList.toggle("sel", +d.dataset.i === i));
  try { render(await src.unit(i)); errBox.textContent = ""; } catch (e) { errBox.textContent = unitName + " " + i + ": " + e.message; }
}
async function refresh() {
  const my = ++seq, s = q.value.trim().toLowerCase();
  let r;
  try { r = await src.list(s, sort.value, offset); errBox.textContent = ""; } catch (e) { errBox.textContent = e.message; return; }
  if (my !== seq) return;
  total = r.total;
  const us = r.units;
  count.textContent = total ? (unitName + 's ' + (offset + 1) + '-' + (offset + us.length) + ' of ' + total + (s ? ' matching "' + s + '"' : '') + ' (' + D.units + ' in all)') : 'no ' + unitName + ' matches "' + s + '"';
  list.innerHTML = us.map(u => '<div data-i="' + u[0] + '"' + (u[0] === sel ? ' class="sel"' : '') + '>' + unitName + ' ' + u[0] + ' \u00b7 ' + (100 * u[1]).toPrecision(2) + '% \u00b7 ' + (u[4] ? show(u[4]) : '') + '</div>').join("");
  $("mi-dash-prev").disabled = offset === 0;
  $("mi-dash-next").disabled = offset + D.per_page >= total;
  if (sel === null && us.length) { await pick(us[0][0]); performance.mark("mi-dash-ready"); }
}
list.addEventListener("click", ev => { const d = ev.target.closest("div[data-i]"); if (d) pick(+d.dataset.i); });
q.addEventListener("input", () => { offset = 0; refresh(); });
sort.addEventListener("change", () => { offset = 0; refresh(); });
$("mi-dash-prev").addEventListener("click", () => { offset = Math.max(0, offset - D.per_page); refresh(); });
$("mi-dash-next").addEventListener("click", () => { if (offset + D.per_page < total) { offset += D.per_page; refresh(); } });
await refresh();
})();`

// Files of an SAE report directory (WriteSAEReport).
const (
	NeuronsPage     = "neurons.html"
	FeaturesPage    = "features.html"
	ComparePage     = "neurons-vs-features.html"
	IndexPage       = "index.html"
	NeuronsJSON     = "neurons.json"
	FeaturesJSON    = "features.json"
	ConcentrationJS = "concentration.json"
)

// WriteSAEReport writes the neuron and feature dashboards, the
// neurons-vs-features page and an index linking them (under summary, if
// not empty) into dir, with the dashboards' data as JSON, and returns the
// concentration numbers.
func WriteSAEReport(dir string, neurons, features *sae.Dashboard, title, summary string) (Concentration, error) {
	np, err := Dashboard(neurons, "Neurons of "+neurons.Hook)
	if err != nil {
		return Concentration{}, err
	}
	fp, err := Dashboard(features, "SAE features of "+features.Hook)
	if err != nil {
		return Concentration{}, err
	}
	cp, err := NeuronsVsFeatures(neurons, features)
	if err != nil {
		return Concentration{}, err
	}
	c := Compare(neurons, features)
	idx := viz.Index(title,
		viz.Link{Title: "Neurons: " + neurons.Hook, Path: NeuronsPage},
		viz.Link{Title: "SAE features", Path: FeaturesPage},
		viz.Link{Title: "Neurons vs features: how concentrated their top contexts are", Path: ComparePage})
	if summary != "" {
		idx.Section("", summary)
	}
	err = atomicfile.WriteDir(dir, func(tmp string) error {
		for name, r := range map[string]*viz.Report{NeuronsPage: np, FeaturesPage: fp, ComparePage: cp, IndexPage: idx} {
			if err := r.WriteFile(filepath.Join(tmp, name)); err != nil {
				return err
			}
		}
		for name, v := range map[string]any{NeuronsJSON: compact(neurons), FeaturesJSON: compact(features), ConcentrationJS: c} {
			if err := atomicfile.WriteJSON(filepath.Join(tmp, name), v); err != nil {
				return err
			}
		}
		return nil
	})
	return c, err
}
