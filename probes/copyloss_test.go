package probes

import (
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
)

// TestCopyLosses uses a hand-set head that attends L-1 tokens back with an
// identity OV circuit: in a passage repeated with period L it predicts every
// token of copies 2..k exactly, and nothing of the first copy. A head with
// the wrong offset predicts none of them.
func TestCopyLosses(t *testing.T) {
	const L, k, B = 5, 3, 4
	ident := func(tok int) []float32 {
		row := make([]float32, testmodel.HandVocab)
		row[tok] = 20
		return row
	}
	passages := make([]int, 0, B*L)
	for b := range B {
		for j := range L {
			passages = append(passages, 1+(b*7+j*3)%(testmodel.HandVocab-1)) // distinct within a passage
		}
	}
	for _, tc := range []struct {
		name   string
		shift  int
		copies bool
	}{{"period", L - 1, true}, {"wrong offset", L, false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := testmodel.HandSet(t, []int{tc.shift}, []func(int) []float32{ident})
			res, err := CopyLosses(m, passages, B, L, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.ByCopy) != k || res.Len != L || res.Copies != k || res.Batch != B {
				t.Fatalf("shape of result: %+v", res)
			}
			want := (res.ByCopy[1]*(L-1) + res.ByCopy[2]*L) / (2*L - 1)
			if math.Abs(res.Loss-want) > 1e-9 {
				t.Errorf("Loss %v is not the token-weighted mean of copies 2..k (%v)", res.Loss, want)
			}
			if tc.copies {
				if res.Loss > 1e-3 || res.ByCopy[0] < 1 {
					t.Errorf("copying head: loss on copies %v (want ~0), first copy %v (want > 1)", res.Loss, res.ByCopy[0])
				}
			} else if res.Loss < 1 {
				t.Errorf("misaligned head: loss on copies %v, want > 1", res.Loss)
			}
		})
	}
}

func TestCopyLossesErrors(t *testing.T) {
	m := testmodel.HandSet(t, []int{1}, []func(int) []float32{func(int) []float32 { return make([]float32, testmodel.HandVocab) }})
	for _, tc := range []struct {
		name         string
		tokens       []int
		B, L, k, bos int
		want         string
	}{
		{"ragged", []int{1, 2, 3}, 2, 2, 2, 0, "not 2 passages"},
		{"one copy", []int{1, 2}, 1, 2, 1, 0, "at least 2"},
		{"too long", make([]int, 8), 1, 8, 3, 0, "context is 16"},
		{"out of vocabulary", []int{1, 99}, 1, 2, 2, 0, "99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CopyLosses(m, tc.tokens, tc.B, tc.L, tc.k, tc.bos)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
