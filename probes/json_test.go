package probes

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
)

// TestJSONNaN checks that scores and losses that are not finite encode as
// null rather than failing a --json output or a results file.
func TestJSONNaN(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		v    any
		want []string // substrings of the encoding
	}{
		{"induction loss", HeadScores{Layers: 1, Heads: 1, InductionLoss: &InductionLoss{Loss: nan, FirstCopy: 4.5, PerPosition: []float64{1, math.Inf(1)}, Len: 3, Repeats: 2, Batch: 1, BOS: true}},
			[]string{`"induction_loss":{"loss":null,"first_copy_loss":4.5,"per_position":[1,null],"len":3,"repeats":2,"batch":1,"bos":true}`}},
		{"scores", HeadScores{Layers: 1, Heads: 2, HeadMaps: HeadMaps{Induction: [][]float64{{nan, 0.5}}}},
			[]string{`{"layers":1,"heads":2,"previous_token":null,`, `"induction":[[null,0.5]]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s\ndoes not contain %s", b, w)
				}
			}
		})
	}
}

// TestJSONUnchanged checks that finite scores encode exactly as before
// HeadScores had a MarshalJSON.
func TestJSONUnchanged(t *testing.T) {
	m := testmodel.HandSet(t, []int{1, 4}, []func(int) []float32{testmodel.OVNext, testmodel.OVCopy})
	s, err := Heads(m, HeadOptions{Repeat: RepeatOptions{RepeatedConfig: data.RepeatedConfig{Len: 5}, Batch: 4, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	type plain HeadScores
	want, err := json.Marshal(plain(*s))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
