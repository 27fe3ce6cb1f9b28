package attention

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
)

// explorerTokens are the tokens of the hand-built patterns below.
var explorerTokens = []string{"<|endoftext|>", "The", " cat", " sat", " on", " the", " mat", "\n"}

// handPatterns builds 2 layers × 3 heads of patterns whose every weight is known exactly:
//
//	L0H0 previous token (query 0 on itself)   L1H0 each token on itself
//	L0H1 uniform over the causal half: 1/(q+1) L1H1 0.3 on the previous token, 0.7 on itself
//	L0H2 everything on the first token (BOS)   L1H2 weight ∝ 2^k over keys k <= q
func handPatterns(T int) [][][]float32 {
	mk := func(f func(q, k int) float64) []float32 {
		p := make([]float32, T*T)
		for q := 0; q < T; q++ {
			for k := 0; k < T; k++ {
				if k > q {
					p[q*T+k] = float32(math.NaN()) // the masked half is never read
					continue
				}
				p[q*T+k] = float32(f(q, k))
			}
		}
		return p
	}
	ind := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	return [][][]float32{
		{
			mk(func(q, k int) float64 { return ind(k == max(q-1, 0)) }),
			mk(func(q, k int) float64 { return 1 / float64(q+1) }),
			mk(func(q, k int) float64 { return ind(k == 0) }),
		},
		{
			mk(func(q, k int) float64 { return ind(k == q) }),
			mk(func(q, k int) float64 {
				if q == 0 {
					return 1
				}
				return 0.3*ind(k == q-1) + 0.7*ind(k == q)
			}),
			mk(func(q, k int) float64 { return math.Pow(2, float64(k)) / (math.Pow(2, float64(q+1)) - 1) }),
		},
	}
}

func handData() *Data {
	ids := make([]int, len(explorerTokens))
	for i := range ids {
		ids[i] = 100 + i
	}
	return &Data{
		Title: "hand-built heads", Tokens: explorerTokens, IDs: ids, Patterns: handPatterns(len(explorerTokens)),
		Heads: [][]HeadInfo{
			{{Role: "previous-token", Scores: map[string]float64{"previous_token": 1, "induction": 0}}, {}, {Role: "bos"}},
			{{Role: "self"}, {Scores: map[string]float64{"previous_token": 0.3}}, {Role: "induction", Scores: map[string]float64{"prefix_matching": 0.83}}},
		},
		Step: 1200, HasStep: true,
	}
}

// decodePayload undoes encodeAttention's packing: the causal half of each head, as floats.
func decodePayload(t *testing.T, p *attentionPayload) [][][]float64 {
	t.Helper()
	z, err := base64.StdEncoding.DecodeString(p.Weights)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	T := len(p.Tokens)
	per := T * (T + 1) / 2
	if len(raw) != p.Layers*p.Heads*per*p.Bits/8 || len(raw) != p.Bytes {
		t.Fatalf("%d bytes, want %d (and Bytes %d)", len(raw), p.Layers*p.Heads*per*p.Bits/8, p.Bytes)
	}
	scale := 1 / float64(uint32(1)<<p.Bits-1)
	out := make([][][]float64, p.Layers)
	i := 0
	for l := range out {
		out[l] = make([][]float64, p.Heads)
		for h := range out[l] {
			for j := 0; j < per; j++ {
				var v float64
				if p.Bits == 8 {
					v = float64(raw[i])
					i++
				} else {
					v = float64(binary.LittleEndian.Uint16(raw[i:]))
					i += 2
				}
				out[l][h] = append(out[l][h], v*scale)
			}
		}
	}
	return out
}

func TestAttentionValidate(t *testing.T) {
	good := handData
	tests := []struct {
		name   string
		change func(d *Data)
		want   string // "" = valid
	}{
		{"valid", func(d *Data) {}, ""},
		{"masked half ignored", func(d *Data) { d.Patterns[0][0][1] = 7 }, ""},
		{"float rounding tolerated", func(d *Data) { d.Patterns[0][0][0] = 1 + 5e-5 }, ""},
		{"no tokens", func(d *Data) { d.Tokens = nil }, "no tokens"},
		{"ids mismatch", func(d *Data) { d.IDs = d.IDs[:3] }, "3 ids for 8 tokens"},
		{"no heads", func(d *Data) { d.Patterns = nil }, "no heads"},
		{"ragged layers", func(d *Data) { d.Patterns[1] = d.Patterns[1][:2] }, "layer 1 has 2 heads, layer 0 has 3"},
		{"short pattern", func(d *Data) { d.Patterns[1][2] = d.Patterns[1][2][:10] }, "L1H2 has 10 weights, want 8×8 = 64"},
		{"NaN weight", func(d *Data) { d.Patterns[0][1][3*8+2] = float32(math.NaN()) }, "L0H1: weight of query 3 on key 2 is NaN"},
		{"weight above 1", func(d *Data) { d.Patterns[1][0][5*8+5] = 1.5 }, "query 5 on key 5 is 1.5, outside [0, 1]"},
		{"negative weight", func(d *Data) { d.Patterns[1][0][2*8+1] = -0.01 }, "is -0.01, outside"},
		{"head labels layers", func(d *Data) { d.Heads = d.Heads[:1] }, "cover 1 layers, patterns 2"},
		{"head labels heads", func(d *Data) { d.Heads[1] = d.Heads[1][:1] }, "layer 1 cover 1 heads, want 3"},
		{"NaN score", func(d *Data) { d.Heads[1][2].Scores["x"] = math.Inf(1) }, `L1H2: score "x" is +Inf`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good()
			tt.change(d)
			err := d.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if _, rerr := Page(d, Options{}); rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Page error %v, want the Validate error", rerr)
			}
		})
	}
	var nilData *Data
	if err := nilData.Validate(); err == nil {
		t.Error("nil data validated")
	}
}

// TestAttentionEncoding: the stored causal half decodes to every weight within half a
// quantisation step, in the documented layout, for both precisions.
func TestAttentionEncoding(t *testing.T) {
	d := handData()
	T := len(d.Tokens)
	for _, tt := range []struct {
		bits     int
		halfStep float64
	}{{8, 1.0 / 510}, {16, 1.0 / 131070}} {
		p, err := encodeAttention(d, Options{Bits: tt.bits})
		if err != nil {
			t.Fatal(err)
		}
		if p.Bits != tt.bits || p.Layers != 2 || p.Heads != 3 || *p.Step != 1200 {
			t.Fatalf("payload header %+v", p)
		}
		got := decodePayload(t, p)
		worst := 0.0
		for l := range d.Patterns {
			for h := range d.Patterns[l] {
				j := 0
				for q := 0; q < T; q++ {
					for k := 0; k <= q; k++ {
						worst = math.Max(worst, math.Abs(got[l][h][j]-float64(d.Patterns[l][h][q*T+k])))
						j++
					}
				}
			}
		}
		if worst > tt.halfStep+1e-7 {
			t.Errorf("%d bits: worst error %g, want <= half a step %g", tt.bits, worst, tt.halfStep)
		}
		// Exactly representable weights come back exactly: L0H0 is 0s and 1s.
		for j, v := range got[0][0] {
			if v != 0 && v != 1 {
				t.Errorf("%d bits: L0H0 weight %d decodes to %g, want 0 or 1", tt.bits, j, v)
				break
			}
		}
		// Layout: head L1H1, query 3 (row start 3·4/2 = 6), keys 2 and 3 hold 0.3 and 0.7.
		if a, b := got[1][1][6+2], got[1][1][6+3]; math.Abs(a-0.3) > tt.halfStep || math.Abs(b-0.7) > tt.halfStep {
			t.Errorf("%d bits: L1H1 row 3 = %v, want 0.3 and 0.7 at keys 2, 3", tt.bits, got[1][1][6:10])
		}
	}
	// 0.5 lies between two 8-bit steps: it rounds to 128/255.
	if v := quantize(0.5, 255); v != 128 {
		t.Errorf("quantize(0.5, 255) = %d, want 128", v)
	}
	if v := quantize(1+5e-5, 255); v != 255 {
		t.Errorf("quantize clamps above 1: got %d", v)
	}
}

func TestAttentionBits(t *testing.T) {
	tests := []struct {
		bits, n, want int
		err           bool
	}{
		{0, 100, 16, false},
		{0, AutoBitsLimit, 16, false},
		{0, AutoBitsLimit + 1, 8, false},
		{8, 10, 8, false},
		{16, 1 << 30, 16, false},
		{12, 10, 0, true},
		{-1, 10, 0, true},
	}
	for _, tt := range tests {
		got, err := bitsFor(tt.bits, tt.n)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("bitsFor(%d, %d) = %d, %v; want %d, error %v", tt.bits, tt.n, got, err, tt.want, tt.err)
		}
	}
	if _, err := Page(handData(), Options{Bits: 4}); err == nil || !strings.Contains(err.Error(), "want 8, 16 or 0") {
		t.Errorf("Bits 4: error %v", err)
	}
}

func TestAttentionReportHTML(t *testing.T) {
	r, err := Page(handData(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := mustHTML(t, r)
	for _, want := range []string{
		"<title>Attention: hand-built heads</title>",
		`id="mi-data-attention"`, `id="mi-data-attention-config"`,
		`id="mi-attn-grid"`, `id="mi-attn-heatmap"`, `id="mi-attn-tokens"`,
		"connect-src &#39;none&#39;",
		`\u003c|endoftext|\u003e`, // tokens cannot close the script
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="mi-attn-form"`) {
		t.Error("a static page has the server's prompt form")
	}
	// Nothing on the page points outside it.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).FindString(page); m != "" {
		t.Errorf("page refers to the network: %s", m)
	}
	blocks := regexp.MustCompile(`(?s)<script type="application/json"[^>]*id="mi-data-attention">(.*?)</script>`).FindStringSubmatch(page)
	if blocks == nil {
		t.Fatal("no attention data block")
	}
	var p attentionPayload
	if err := json.Unmarshal([]byte(blocks[1]), &p); err != nil {
		t.Fatal(err)
	}
	if p.Info[1][2].Role != "induction" || p.Info[1][2].Scores["prefix_matching"] != 0.83 || p.Tokens[7] != "\n" {
		t.Errorf("payload lost labels or tokens: %+v", p.Info)
	}
}
