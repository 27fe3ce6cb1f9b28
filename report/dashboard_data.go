package report

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/sae"
)

// The dashboard pages carry their data in a compact form, so that a page
// of 2048 features loads in a fraction of a second: the token ids read
// (the corpus) once, every example as a window of it, every activation as
// two base-64 digits (12 bits of the unit's maximum), and each unit's
// detail as its own line of JSON that the page parses only when the unit
// is picked. The offline page holds all of it gzip-compressed; the served
// page fetches the list a page at a time and each unit's detail on demand.

// dashMeta is what every dashboard page holds: the text of each token id
// and the corpus the examples are windows of.
type dashMeta struct {
	Kind    string   `json:"kind"`
	Hook    string   `json:"hook"`
	Tokens  int      `json:"tokens"`
	K       int      `json:"k"`
	Units   int      `json:"units"`
	Vocab   []string `json:"vocab"`
	Corpus  string   `json:"corpus"` // base64 of little-endian uint32 ids
	PerPage int      `json:"per_page"`
	// API is where the served page fetches its list and units ("":
	// offline, the data is in Z).
	API string `json:"api,omitempty"`
	// Z is the offline page's data: gzip of the summaries as one line of
	// JSON, then one line of detail per unit.
	Z string `json:"z,omitempty"`
}

// dashPerPage is the length of a page of the unit list.
const dashPerPage = 100

// dashSummary is one unit in the list: [index, density, max, entropy or
// null, top token, its share, search token ids] (search ids only offline).
func dashSummary(u *sae.Unit, search bool) []any {
	s := []any{u.Index, round4(u.Density), round4(u.Max), entropyOrNil(u.Entropy), u.TopToken, round4(u.TopShare)}
	if search {
		s = append(s, searchIDs(u))
	}
	return s
}

func entropyOrNil(e jsonx.Float) any {
	if math.IsNaN(float64(e)) {
		return nil
	}
	return round4(float64(e))
}

// searchIDs are the tokens a search by token matches a unit on: the
// current tokens of its top examples and the tokens it promotes most.
func searchIDs(u *sae.Unit) []int {
	var ids []int
	for _, e := range u.Top {
		ids = append(ids, e.Tokens[e.At])
	}
	for _, p := range u.Promoted {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// matches reports whether unit u matches the lower-cased search q: one of
// its searchIDs contains q, or, for q in double quotes, equals what is
// inside them (both trimmed of spaces).
func matches(u *sae.Unit, vocab []string, q string) bool {
	if q == "" {
		return true
	}
	exact := len(q) > 2 && q[0] == '"' && q[len(q)-1] == '"'
	inner := ""
	if exact {
		inner = strings.TrimSpace(q[1 : len(q)-1])
	}
	for _, id := range searchIDs(u) {
		if id < 0 || id >= len(vocab) {
			continue
		}
		tok := strings.ToLower(vocab[id])
		if exact && strings.TrimSpace(tok) == inner || !exact && strings.Contains(tok, q) {
			return true
		}
	}
	return false
}

// dashDetail is one unit's detail: {"i","d","m","e","tt","ts",
// "top": [example...], "bands": [[lo, hi, count, [example...]]...],
// "hist": counts of 24 equal bins from 0 to m, "up"/"down": [[id, value]...]},
// an example being [first corpus position, index of its token, value,
// activations as two base-64 digits each].
func dashDetail(u *sae.Unit) map[string]any {
	ex := func(es []sae.Example) [][]any {
		out := make([][]any, 0, len(es))
		for _, e := range es {
			out = append(out, []any{e.Pos - e.At, e.At, round4(e.Value), quantize(e.Acts, u.Max)})
		}
		return out
	}
	bands := make([][]any, 0, len(u.Bands))
	for _, b := range u.Bands {
		bands = append(bands, []any{round4(b.Lo), round4(b.Hi), b.Count, ex(b.Examples)})
	}
	tv := func(ts []sae.TokenValue) [][2]any {
		out := make([][2]any, 0, len(ts))
		for _, t := range ts {
			out = append(out, [2]any{t.ID, round4(t.Value)})
		}
		return out
	}
	d := map[string]any{"i": u.Index, "d": round4(u.Density), "m": round4(u.Max), "e": entropyOrNil(u.Entropy),
		"tt": u.TopToken, "ts": round4(u.TopShare), "top": ex(u.Top), "bands": bands, "hist": u.HistCounts}
	if u.Promoted != nil {
		d["up"], d["down"] = tv(u.Promoted), tv(u.Suppressed)
	}
	return d
}

// quantAlphabet holds the base-64 digits of quantize.
const quantAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// quantize writes each activation as round(a/max·2047) + 2048, clamped to
// [0, 4095], in two base-64 digits: 12 bits, a resolution of max/2047,
// signed (a GELU neuron's small negative values survive).
func quantize(acts []float64, max float64) string {
	b := make([]byte, 0, 2*len(acts))
	for _, a := range acts {
		l := 2048
		if max > 0 && !math.IsNaN(a) {
			l = int(math.Round(a/max*2047)) + 2048
			l = min(4095, l)
			l = maxInt(0, l)
		}
		b = append(b, quantAlphabet[l>>6], quantAlphabet[l&63])
	}
	return string(b)
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// round4 rounds to 4 significant digits (0 for NaN and ±Inf).
func round4(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// newDashMeta is the page data of db without the units.
func newDashMeta(db *sae.Dashboard) *dashMeta {
	b := make([]byte, 4*len(db.Corpus))
	for i, t := range db.Corpus {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(t))
	}
	return &dashMeta{Kind: db.Kind, Hook: db.Hook, Tokens: db.Tokens, K: db.K, Units: len(db.Units), Vocab: db.Vocab,
		Corpus: base64.StdEncoding.EncodeToString(b), PerPage: dashPerPage}
}

// offlineData is the offline page's data: the meta with every unit in Z.
func offlineData(db *sae.Dashboard) (*dashMeta, error) {
	meta := newDashMeta(db)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	list := make([][]any, len(db.Units))
	for i := range db.Units {
		list[i] = dashSummary(&db.Units[i], true)
	}
	enc := json.NewEncoder(zw) // one value per line; no raw newline inside one
	if err := enc.Encode(list); err != nil {
		return nil, err
	}
	for i := range db.Units {
		if err := enc.Encode(dashDetail(&db.Units[i])); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	meta.Z = base64.StdEncoding.EncodeToString(buf.Bytes())
	return meta, nil
}
