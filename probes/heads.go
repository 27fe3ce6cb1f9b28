package probes

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
)

// Role labels of a head, in the order Roles tries them.
const (
	RoleInduction      = "induction"
	RolePreviousToken  = "previous_token"
	RoleDuplicateToken = "duplicate_token"
	RoleCopying        = "copying"
	RoleNone           = "none"
)

// Thresholds decide a head's role. Zero fields take the defaults.
type Thresholds struct {
	// PrefixMatching makes a head an induction head (default 0.4, the common
	// threshold on Olsson et al. 2022's prefix-matching score).
	PrefixMatching float64 `json:"prefix_matching"`
	// PreviousToken and DuplicateToken are the detector scores that make a
	// previous-token or duplicate-token head (default 0.4 each).
	PreviousToken  float64 `json:"previous_token"`
	DuplicateToken float64 `json:"duplicate_token"`
	// Copying is the copying score that makes a copying head (default 0.5:
	// half of the raised logits on the attended token, against about
	// 2/d_vocab for a random head).
	Copying float64 `json:"copying"`
}

// WithDefaults fills the zero thresholds.
func (t Thresholds) WithDefaults() Thresholds {
	def := func(x *float64, d float64) {
		if *x == 0 {
			*x = d
		}
	}
	def(&t.PrefixMatching, 0.4)
	def(&t.PreviousToken, 0.4)
	def(&t.DuplicateToken, 0.4)
	def(&t.Copying, 0.5)
	return t
}

// HeadOptions configure Heads. The zero value measures everything on 32
// prompts [BOS] + r + r with |r| = min(25, (n_ctx-1)/2) drawn from the whole
// vocabulary, with TransformerLens's default detector options (nothing
// excluded) and the default thresholds.
type HeadOptions struct {
	// Repeat chooses the prompts of prefix matching, copying and induction
	// loss (see RepeatOptions).
	Repeat RepeatOptions `json:"repeat"`
	// DetectTokens [DetectBatch, T], if set, are the prompts of the three
	// detectors; nil means the repeated prompts, whose second copy gives
	// every detector something to find.
	DetectTokens []int `json:"detect_tokens,omitempty"`
	DetectBatch  int   `json:"detect_batch,omitempty"`
	// Detect holds the detectors' exclusions.
	Detect DetectOptions `json:"detect"`
	// Thresholds decide the roles.
	Thresholds Thresholds `json:"thresholds"`
}

// HeadMaps are every run-time score of every head, [layer][head], and a
// role per head: what Heads measures and Track records at each checkpoint.
type HeadMaps struct {
	// PreviousToken, DuplicateToken and Induction are the TransformerLens
	// detector scores (PatternScore).
	PreviousToken  [][]float64 `json:"previous_token"`
	DuplicateToken [][]float64 `json:"duplicate_token"`
	Induction      [][]float64 `json:"induction"`
	// PrefixMatching and Copying are Olsson et al. 2022's scores.
	PrefixMatching [][]float64 `json:"prefix_matching"`
	Copying        [][]float64 `json:"copying"`
	// Roles is one of RoleInduction, RolePreviousToken, RoleDuplicateToken,
	// RoleCopying or RoleNone per head (see Roles).
	Roles [][]string `json:"roles"`
}

// HeadScores holds every run-time score of every head, [layer][head], and
// a role per head.
type HeadScores struct {
	Layers int `json:"layers"`
	Heads  int `json:"heads"`
	HeadMaps
	// InductionLoss is the model's loss on the repeated prompts.
	InductionLoss *InductionLoss `json:"induction_loss"`
	// Options are the options used, defaults filled in.
	Options HeadOptions `json:"options"`
}

// MarshalJSON writes null for a score or loss that is not finite (a mean
// over no positions, overflowed logits), which JSON cannot hold.
func (s HeadScores) MarshalJSON() ([]byte, error) {
	type plain HeadScores
	return jsonx.Marshal(plain(s))
}

// Heads measures every head of m: the three detector scores, prefix
// matching, copying, the induction loss, and a role per head (see Roles).
// It runs the model twice at most: once on the repeated prompts and, when
// DetectTokens are given, once on them.
func Heads(m *models.Model, o HeadOptions) (*HeadScores, error) {
	if m == nil {
		return nil, errors.New("probes: heads: no model")
	}
	var err error
	if o.Repeat, err = o.Repeat.resolve(m.Config); err != nil {
		return nil, err
	}
	o.Thresholds = o.Thresholds.WithDefaults()
	r, err := runRepeated(m, o.Repeat, true)
	if err != nil {
		return nil, err
	}
	s := &HeadScores{Layers: m.Config.NLayers, Heads: m.Config.NHeads, Options: o}
	if s.PrefixMatching, err = r.prefixMatching(); err != nil {
		return nil, err
	}
	if s.Copying, err = r.copying(m); err != nil {
		return nil, err
	}
	s.InductionLoss = r.inductionLoss()
	var det map[Kind][][]float64
	if o.DetectTokens != nil {
		if o.DetectBatch <= 0 || len(o.DetectTokens)%o.DetectBatch != 0 {
			return nil, fmt.Errorf("probes: heads: %d detector tokens do not form %d prompts", len(o.DetectTokens), o.DetectBatch)
		}
		det, err = detectAll(m, o.DetectTokens, o.DetectBatch, len(o.DetectTokens)/o.DetectBatch, o.Detect)
		if err != nil {
			return nil, err
		}
	} else {
		det = map[Kind][][]float64{}
		for _, k := range Kinds {
			det[k] = make([][]float64, len(r.patterns))
			for l, p := range r.patterns {
				if det[k][l], err = ScorePatterns(k, p, r.tokens, o.Detect); err != nil {
					return nil, err
				}
			}
		}
	}
	s.PreviousToken, s.DuplicateToken, s.Induction = det[PreviousToken], det[DuplicateToken], det[Induction]
	s.Roles = Roles(s, o.Thresholds)
	return s, nil
}

// Roles gives each head the first role whose score reaches its threshold, in
// this order: induction (prefix matching, the criterion of Olsson et al.
// 2022; an induction head also copies and attends to duplicates' successors,
// so it is tried first), previous token, duplicate token, copying; else none.
func Roles(s *HeadScores, t Thresholds) [][]string {
	t = t.WithDefaults()
	at := func(x [][]float64, l, h int) float64 {
		if l < len(x) && h < len(x[l]) {
			return x[l][h]
		}
		return math.NaN()
	}
	roles := make([][]string, s.Layers)
	for l := range roles {
		roles[l] = make([]string, s.Heads)
		for h := range roles[l] {
			switch {
			case at(s.PrefixMatching, l, h) >= t.PrefixMatching:
				roles[l][h] = RoleInduction
			case at(s.PreviousToken, l, h) >= t.PreviousToken:
				roles[l][h] = RolePreviousToken
			case at(s.DuplicateToken, l, h) >= t.DuplicateToken:
				roles[l][h] = RoleDuplicateToken
			case at(s.Copying, l, h) >= t.Copying:
				roles[l][h] = RoleCopying
			default:
				roles[l][h] = RoleNone
			}
		}
	}
	return roles
}
