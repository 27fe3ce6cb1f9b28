package jsonx

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestFloatMarshal(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
		{math.Inf(-1), "null"},
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1.5, "1.5"},
		{-2, "-2"},
		{1e-7, "1e-7"},
		{1e21, "1e+21"},
		{123456789, "123456789"},
		{0.1, "0.1"},
	}
	for _, tc := range tests {
		b, err := json.Marshal(Float(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Float(%v) = %s, want %s", tc.in, b, tc.want)
		}
	}
}

// TestFloatMatchesEncodingJSON checks that a finite Float is written exactly
// as encoding/json writes the float64, so switching a field to Float changes
// nothing but the non-finite case.
func TestFloatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		v := math.Float64frombits(r.Uint64())
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		want, _ := json.Marshal(v)
		got, _ := json.Marshal(Float(v))
		if string(got) != string(want) {
			t.Fatalf("%v: Float gives %s, encoding/json %s", v, got, want)
		}
	}
}

func TestFloatRoundTrip(t *testing.T) {
	in := struct {
		A []Float   `json:"a"`
		M [][]Float `json:"m"`
	}{Floats([]float64{1, math.NaN()}), Matrix([][]float64{{math.Inf(1), 2}})}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":[1,null],"m":[[null,2]]}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	var out struct {
		A []Float   `json:"a"`
		M [][]Float `json:"m"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.A[0] != 1 || !math.IsNaN(float64(out.A[1])) || !math.IsNaN(float64(out.M[0][0])) || out.M[0][1] != 2 {
		t.Fatalf("decoded %v", out)
	}
	if err := json.Unmarshal([]byte(`"x"`), &out.A[0]); err == nil {
		t.Fatal("a string decoded as a Float")
	}
	if Floats(nil) != nil || Matrix(nil) != nil {
		t.Fatal("nil did not stay nil")
	}
}
