package probes

import (
	"encoding/json"
	"math"
	"testing"
)

// TestJSONNaN checks that losses that are not finite encode as null rather
// than failing a --json output or a results file.
func TestJSONNaN(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"induction loss", InductionLoss{Loss: nan, FirstCopy: 4.5, PerPosition: []float64{1, math.Inf(1)}, Len: 3, Repeats: 2, Batch: 1, BOS: true},
			`{"loss":null,"first_copy_loss":4.5,"per_position":[1,null],"len":3,"repeats":2,"batch":1,"bos":true}`},
		{"icl", ICL{Score: nan, Early: 1, Late: 5, LossEarly: 2, LossLate: nan},
			`{"score":null,"early":1,"late":5,"loss_early":2,"loss_late":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}
