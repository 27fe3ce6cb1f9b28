package probes

import (
	"errors"
	"fmt"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Kind names one of TransformerLens's head-detector patterns.
type Kind int

// The detector kinds (TransformerLens head_detector.HEAD_NAMES).
const (
	PreviousToken Kind = iota
	DuplicateToken
	Induction
)

// Kinds lists every detector kind, in order.
var Kinds = []Kind{PreviousToken, DuplicateToken, Induction}

// String returns the kind's snake_case name: "previous_token", "duplicate_token"
// or "induction".
func (k Kind) String() string {
	switch k {
	case PreviousToken:
		return "previous_token"
	case DuplicateToken:
		return "duplicate_token"
	case Induction:
		return "induction"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) valid() error {
	if k < PreviousToken || k > Induction {
		return fmt.Errorf("probes: unknown detector kind %d", int(k))
	}
	return nil
}

// DetectOptions are the exclusions of TransformerLens's detect_head.
type DetectOptions struct {
	// ExcludeBOS drops the attention paid to position 0 (the BOS column).
	ExcludeBOS bool `json:"exclude_bos"`
	// ExcludeDiagonal drops the attention a token pays to itself
	// (TransformerLens's exclude_current_token).
	ExcludeDiagonal bool `json:"exclude_diagonal"`
}

// DetectionPattern returns the detection pattern D [T*T] (row-major
// [query, key]) of kind for tokens, as TransformerLens's head detector builds
// it (docs/REFERENCE.md "Attention-head scores"):
//
//   - previous token: D[i,i-1] = 1;
//   - duplicate token: D[i,j] = 1 iff t_i = t_j and j < i;
//   - induction: D[i,j] = 1 iff t_{j-1} = t_i, j <= i and j-1 != i: the
//     duplicate pattern shifted one key to the right, so a query attends to
//     the token after an earlier occurrence of itself.
//
// An unknown kind gives nil.
func DetectionPattern(kind Kind, tokens []int) []float32 {
	T := len(tokens)
	D := make([]float32, T*T)
	switch kind {
	case PreviousToken:
		for i := 1; i < T; i++ {
			D[i*T+i-1] = 1
		}
	case DuplicateToken:
		for i := range T {
			for j := 0; j < i; j++ {
				if tokens[i] == tokens[j] {
					D[i*T+j] = 1
				}
			}
		}
	case Induction:
		for i := range T {
			for j := 1; j <= i; j++ {
				if tokens[j-1] == tokens[i] && j-1 != i {
					D[i*T+j] = 1
				}
			}
		}
	default:
		return nil
	}
	return D
}

// PatternScore is TransformerLens's "mul" head-detector score of one head's
// pattern A [T*T] (row-major [query, key]) on tokens: sum(A*D)/sum(A) with D
// the kind's DetectionPattern. Excluded entries (the BOS column, the
// diagonal) are removed from both sums, as TransformerLens zeroes them in A.
// A pattern with no attention left scores 0. len(A) must be len(tokens)².
func PatternScore(kind Kind, A []float32, tokens []int, opt DetectOptions) float64 {
	T := len(tokens)
	if len(A) != T*T {
		return 0
	}
	return patternScore(A, DetectionPattern(kind, tokens), T, opt)
}

func patternScore(A, D []float32, T int, opt DetectOptions) float64 {
	var num, den float64
	for i := range T {
		for j := range T {
			if (opt.ExcludeBOS && j == 0) || (opt.ExcludeDiagonal && i == j) {
				continue
			}
			a := float64(A[i*T+j])
			den += a
			num += a * float64(D[i*T+j])
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// ScorePatterns scores every head of one layer's cached patterns
// [B,H,T,T] (hook_pattern) on tokens [B,T]: each prompt is scored with its
// own detection pattern and the options, then the scores are averaged over
// the B prompts. (TransformerLens's detect_head, given a list of prompts,
// drops exclude_bos and exclude_current_token; this keeps them.)
func ScorePatterns(kind Kind, patterns *tensor.Tensor, tokens []int, opt DetectOptions) ([]float64, error) {
	if err := kind.valid(); err != nil {
		return nil, err
	}
	if patterns == nil || len(patterns.Shape) != 4 || patterns.Shape[2] != patterns.Shape[3] {
		return nil, fmt.Errorf("probes: patterns must be [batch,head,query,key], got %v", shapeOf(patterns))
	}
	B, H, T := patterns.Shape[0], patterns.Shape[1], patterns.Shape[2]
	if len(tokens) != B*T {
		return nil, fmt.Errorf("probes: %d tokens for patterns of %d prompts × %d positions", len(tokens), B, T)
	}
	scores := make([]float64, H)
	for b := range B {
		D := DetectionPattern(kind, tokens[b*T:(b+1)*T])
		for h := range H {
			off := (b*H + h) * T * T
			scores[h] += patternScore(patterns.Data[off:off+T*T], D, T, opt) / float64(B)
		}
	}
	return scores, nil
}

func shapeOf(t *tensor.Tensor) string {
	if t == nil {
		return "nil"
	}
	return tensor.ShapeString(t.Shape)
}

// Detect runs m on tokens [B,T] (row-major) and returns the kind's detector
// score of every head, [layer][head], averaged over the B prompts with the
// options applied to each (see ScorePatterns). Like TransformerLens it needs
// at least two positions.
func Detect(m *models.Model, tokens []int, B, T int, kind Kind, opt DetectOptions) ([][]float64, error) {
	all, err := detectAll(m, tokens, B, T, opt)
	if err != nil {
		return nil, err
	}
	return all[kind], nil
}

// detectAll runs m once and scores all three kinds.
func detectAll(m *models.Model, tokens []int, B, T int, opt DetectOptions) (map[Kind][][]float64, error) {
	if m == nil {
		return nil, errors.New("probes: detect: no model")
	}
	if T < 2 {
		return nil, fmt.Errorf("probes: detect: prompts need at least 2 positions, got %d", T)
	}
	if err := m.CheckTokens(tokens, B, T); err != nil {
		return nil, fmt.Errorf("probes: detect: %w", err)
	}
	_, cache, err := hooks.RunWithCache(m, tokens, B, T, hooks.MustFilter("blocks.*.attn.hook_pattern"))
	if err != nil {
		return nil, fmt.Errorf("probes: detect: %w", err)
	}
	L := m.Config.NLayers
	out := map[Kind][][]float64{}
	for _, k := range Kinds {
		out[k] = make([][]float64, L)
	}
	for l := range L {
		p, err := cache.Lookup(patternName(l))
		if err != nil {
			return nil, err
		}
		for _, k := range Kinds {
			if out[k][l], err = ScorePatterns(k, p, tokens, opt); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func patternName(l int) string { return models.ActName("pattern", l) }
