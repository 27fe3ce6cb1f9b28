package probes

import (
	"math"
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// uniformCausal is the pattern that spreads each query's attention evenly
// over the keys it can see: A[i,j] = 1/(i+1) for j <= i.
func uniformCausal(T int) []float32 {
	A := make([]float32, T*T)
	for i := range T {
		for j := 0; j <= i; j++ {
			A[i*T+j] = 1 / float32(i+1)
		}
	}
	return A
}

func identity(T int) []float32 {
	A := make([]float32, T*T)
	for i := range T {
		A[i*T+i] = 1
	}
	return A
}

func TestDetectionPattern(t *testing.T) {
	tokens := []int{1, 2, 1, 2, 1}
	// Entries (query, key) that are 1.
	for _, tc := range []struct {
		kind Kind
		ones [][2]int
	}{
		{PreviousToken, [][2]int{{1, 0}, {2, 1}, {3, 2}, {4, 3}}},
		{DuplicateToken, [][2]int{{2, 0}, {3, 1}, {4, 0}, {4, 2}}},
		// t_{j-1} = t_i, j <= i: the duplicates shifted one key right.
		{Induction, [][2]int{{2, 1}, {3, 2}, {4, 1}, {4, 3}}},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			D := DetectionPattern(tc.kind, tokens)
			var got [][2]int
			for i := range 5 {
				for j := range 5 {
					switch D[i*5+j] {
					case 1:
						got = append(got, [2]int{i, j})
					case 0:
					default:
						t.Fatalf("D[%d,%d] = %v", i, j, D[i*5+j])
					}
				}
			}
			if !slices.Equal(got, tc.ones) {
				t.Errorf("ones at %v, want %v", got, tc.ones)
			}
		})
	}
	if DetectionPattern(Kind(7), tokens) != nil {
		t.Error("unknown kind gave a pattern")
	}
	if got := Kind(7).String(); got != "Kind(7)" {
		t.Errorf("String %q", got)
	}
}

// TestPatternScoreExact checks sum(A*D)/sum(A) on patterns whose answers are
// fractions worked out by hand.
func TestPatternScoreExact(t *testing.T) {
	none, bos, diag := DetectOptions{}, DetectOptions{ExcludeBOS: true}, DetectOptions{ExcludeDiagonal: true}
	for _, tc := range []struct {
		name   string
		kind   Kind
		A      []float32
		tokens []int
		opt    DetectOptions
		want   float64
	}{
		// Previous token, uniform: (1/2 + 1/3 + 1/4) / 4 rows.
		{"prev uniform", PreviousToken, uniformCausal(4), []int{0, 1, 2, 3}, none, 13.0 / 48},
		// Without the BOS column: row 1's previous token is the BOS, so
		// (1/3 + 1/4) / (0 + 1/2 + 2/3 + 3/4).
		{"prev uniform no BOS", PreviousToken, uniformCausal(4), []int{0, 1, 2, 3}, bos, 7.0 / 23},
		// Without the diagonal: (1/2+1/3+1/4) / (0 + 1/2 + 2/3 + 3/4).
		{"prev uniform no diagonal", PreviousToken, uniformCausal(4), []int{0, 1, 2, 3}, diag, 13.0 / 23},
		{"prev identity", PreviousToken, identity(4), []int{0, 1, 2, 3}, none, 0},
		// Duplicates of [5 7 5 7] at (2,0) and (3,1): (1/3 + 1/4) / 4.
		{"dup uniform", DuplicateToken, uniformCausal(4), []int{5, 7, 5, 7}, none, 7.0 / 48},
		{"dup uniform no BOS", DuplicateToken, uniformCausal(4), []int{5, 7, 5, 7}, bos, 1.0 / 4 / (23.0 / 12)},
		// Induction of [5 7 5 7] at (2,1) and (3,2).
		{"induction uniform", Induction, uniformCausal(4), []int{5, 7, 5, 7}, none, 7.0 / 48},
		{"induction uniform no diagonal", Induction, uniformCausal(4), []int{5, 7, 5, 7}, diag, 7.0 / 23},
		// [3 3]: D[1,1] = 1 (t_0 = t_1), the one case where the diagonal is in D.
		{"induction on diagonal", Induction, uniformCausal(2), []int{3, 3}, none, 1.0 / 4},
		{"induction on diagonal excluded", Induction, uniformCausal(2), []int{3, 3}, diag, 0},
		// A perfect previous-token head: row 0 can only attend to itself.
		{"prev perfect", PreviousToken, shiftPattern(5, 1), []int{0, 1, 2, 3, 4}, none, 4.0 / 5},
		{"prev perfect no diagonal", PreviousToken, shiftPattern(5, 1), []int{0, 1, 2, 3, 4}, diag, 1},
		{"prev perfect no BOS", PreviousToken, shiftPattern(5, 1), []int{0, 1, 2, 3, 4}, bos, 1},
		// Nothing left after exclusion scores 0, not NaN.
		{"empty", PreviousToken, identity(1), []int{0}, bos, 0},
		{"wrong size", PreviousToken, identity(3), []int{0, 1}, none, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PatternScore(tc.kind, tc.A, tc.tokens, tc.opt)
			if math.Abs(got-tc.want) > 1e-7 {
				t.Errorf("score %v, want %v", got, tc.want)
			}
		})
	}
}

// shiftPattern attends from query i to key i-s (to itself while i < s).
func shiftPattern(T, s int) []float32 {
	A := make([]float32, T*T)
	for i := range T {
		A[i*T+max(i-s, 0)] = 1
	}
	return A
}

// TestScorePatternsBatchKeepsOptions: each prompt is scored with the options,
// then averaged. TransformerLens drops exclude_bos for a list of prompts,
// which would give (13/48 + 1/4)/2 here instead of (7/23 + 0)/2.
func TestScorePatternsBatchKeepsOptions(t *testing.T) {
	const T = 4
	// Two prompts, two heads: head 0 uniform then identity, head 1 the reverse.
	p := tensor.New(2, 2, T, T)
	copy(p.Data[0:], uniformCausal(T))
	copy(p.Data[T*T:], identity(T))
	copy(p.Data[2*T*T:], identity(T))
	copy(p.Data[3*T*T:], uniformCausal(T))
	tokens := []int{0, 1, 2, 3, 0, 1, 2, 3}
	got, err := ScorePatterns(PreviousToken, p, tokens, DetectOptions{ExcludeBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range []float64{7.0 / 46, 7.0 / 46} {
		if math.Abs(got[h]-want) > 1e-7 {
			t.Errorf("head %d: %v, want %v", h, got[h], want)
		}
	}
	got, _ = ScorePatterns(PreviousToken, p, tokens, DetectOptions{})
	if want := 13.0 / 96; math.Abs(got[0]-want) > 1e-7 {
		t.Errorf("no options: %v, want %v", got[0], want)
	}
}

func TestScorePatternsErrors(t *testing.T) {
	p := tensor.New(1, 1, 3, 3)
	for _, tc := range []struct {
		name   string
		kind   Kind
		p      *tensor.Tensor
		tokens []int
	}{
		{"kind", Kind(9), p, []int{0, 1, 2}},
		{"nil", PreviousToken, nil, []int{0, 1, 2}},
		{"rank", PreviousToken, tensor.New(3, 3), []int{0, 1, 2}},
		{"tokens", PreviousToken, p, []int{0, 1}},
	} {
		if _, err := ScorePatterns(tc.kind, tc.p, tc.tokens, DetectOptions{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
