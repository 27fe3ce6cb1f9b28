package models

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is a decoder-only transformer: its configuration and its parameters.
// A Model holds no per-call state, so one Model may serve concurrent Forward
// calls as long as nobody writes its parameters meanwhile.
type Model struct {
	Config Config
	Params *Params
}

// New returns a model with GPT-2's initialization (Radford et al. 2019, as in
// Hugging Face's GPT2PreTrainedModel): weights and embeddings N(0, σ²) with
// σ = Config.InitializerRange (0.02 by default), residual output projections
// N(0, (σ/√(2·n_layers))²), biases 0, LayerNorm gains 1. The draw is fixed by
// Config.Seed. With Config.Init "pytorch" it draws PyTorch's default
// initialization instead (see InitPyTorch).
func New(cfg Config) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Params: NewParams(cfg)}
	m.init()
	return m, nil
}

// FromParams wraps existing parameters, checking that their layout matches
// the configuration.
func FromParams(cfg Config, p *Params) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	want := ParamLayout(cfg)
	got := p.List()
	if len(want) != len(got) {
		return nil, fmt.Errorf("models: config implies %d parameter tensors, got %d", len(want), len(got))
	}
	for i := range want {
		if want[i].Name != got[i].Name || fmt.Sprint(want[i].Shape) != fmt.Sprint(got[i].Shape) {
			return nil, fmt.Errorf("models: parameter %d is %s %v, config implies %s %v",
				i, got[i].Name, got[i].Shape, want[i].Name, want[i].Shape)
		}
	}
	return &Model{Config: cfg, Params: p}, nil
}

func (m *Model) init() {
	c := m.Config
	rng := rand.New(rand.NewPCG(c.Seed, 0x6d656368696e7465)) // "mechinte"
	if c.Init == InitPyTorch {
		m.initPyTorch(rng)
		return
	}
	std := float64(c.InitializerRange)
	projStd := std / math.Sqrt(2*float64(c.NLayers))
	normal := func(s []float32, sd float64) {
		for i := range s {
			s[i] = float32(rng.NormFloat64() * sd)
		}
	}
	for _, p := range m.Params.List() {
		s := m.Params.slice(p.Name)
		switch {
		case hasSuffix(p.Name, "ln_1.weight", "ln_2.weight", "ln_f.weight"): // LayerNorm and RMSNorm gains
			for i := range s {
				s[i] = 1
			}
		case hasSuffix(p.Name, ".bias"):
			// zero
		case hasSuffix(p.Name, "attn.c_proj.weight", "mlp.c_proj.weight"):
			normal(s, projStd)
		default:
			normal(s, std)
		}
	}
}

func hasSuffix(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if len(s) >= len(x) && s[len(s)-len(x):] == x {
			return true
		}
	}
	return false
}

// NumParams is the number of scalar parameters.
func (m *Model) NumParams() int { return len(m.Params.Data) }

// layer gives one block's parameter slices (nil where the config has none).
type layer struct {
	ln1w, ln1b     []float32 // [C]
	attnW, attnB   []float32 // [C,HD+2KD], [HD+2KD]: Q, K, V side by side (K = n_key_value_heads)
	projW, projB   []float32 // [HD,C], [C]
	ln2w, ln2b     []float32 // [C]
	fcW, fcB       []float32 // [C,M], [M]
	gateW, gateB   []float32 // [C,M], [M] (gated MLP)
	fcProjW, fcPrB []float32 // [M,C], [C]
}

func (p *Params) layer(l int) layer {
	n := func(s string) []float32 { return p.slice(fmt.Sprintf("h.%d.%s", l, s)) }
	return layer{
		ln1w: n("ln_1.weight"), ln1b: n("ln_1.bias"),
		attnW: n("attn.c_attn.weight"), attnB: n("attn.c_attn.bias"),
		projW: n("attn.c_proj.weight"), projB: n("attn.c_proj.bias"),
		ln2w: n("ln_2.weight"), ln2b: n("ln_2.bias"),
		fcW: n("mlp.c_fc.weight"), fcB: n("mlp.c_fc.bias"),
		gateW: n("mlp.c_gate.weight"), gateB: n("mlp.c_gate.bias"),
		fcProjW: n("mlp.c_proj.weight"), fcPrB: n("mlp.c_proj.bias"),
	}
}

// unembed returns the unembedding stored [V,C] (wte itself when tied) and its
// bias (nil without one).
func (p *Params) unembed(c Config) (w, b []float32) {
	if c.Untied {
		return p.slice("lm_head.weight"), p.slice("lm_head.bias")
	}
	return p.slice("wte.weight"), p.slice("lm_head.bias")
}

// Load reads a checkpoint directory (config.json + model.safetensors).
func Load(dir string) (*Model, error) {
	cfg, p, err := LoadParams(dir)
	if err != nil {
		return nil, err
	}
	return FromParams(cfg, p)
}

// Save writes the model as a checkpoint directory, atomically.
func (m *Model) Save(dir string) error { return SaveParams(dir, m.Config, m.Params) }
