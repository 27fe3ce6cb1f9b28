package jsonx

import (
	"encoding/json"
	"math"
	"testing"
)

type inner struct {
	X float64 `json:"x"`
	n float64 //nolint:unused // unexported: never encoded
}

type Embedded struct {
	E float64 `json:"e,omitempty"`
}

type outer struct {
	Embedded
	Name   string             `json:"name"`
	A      float64            `json:"a"`
	S      []float64          `json:"s"`
	M      [][]float64        `json:"m,omitempty"`
	Arr    [2]float64         `json:"arr"`
	P      *float64           `json:"p"`
	In     inner              `json:"in"`
	Ins    []*inner           `json:"ins"`
	ByName map[string]float64 `json:"by_name"`
	Q      float64            `json:"q,string"`
	Skip   float64            `json:"-"`
	F32    float32            `json:"f32"`
	Own    Float              `json:"own"`
}

func sample(v float64) outer {
	return outer{Embedded{v}, "n", v, []float64{v, 1}, nil, [2]float64{v, 2}, &v, inner{v, v},
		[]*inner{{X: v}, nil}, map[string]float64{"k": v}, 1.5, v, 0.1, Float(v)}
}

// TestMarshalFinite checks that Marshal writes what json.Marshal writes
// whenever there is nothing to fix.
func TestMarshalFinite(t *testing.T) {
	for _, v := range []float64{0, 1.25, -3e-9, 1e22} {
		want, err := json.Marshal(sample(v))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(sample(v))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("v=%g:\ngot  %s\nwant %s", v, got, want)
		}
	}
}

func TestMarshalNaN(t *testing.T) {
	s := sample(math.NaN())
	s.Q = 2
	got, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"e":null,"name":"n","a":null,"s":[null,1],"arr":[null,2],"p":null,"in":{"x":null},"ins":[{"x":null},null],"by_name":{"k":null},"q":"2","f32":0.1,"own":null}`
	if string(got) != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
	for _, v := range []any{nil, 1.5, math.Inf(1), []float64{math.NaN()}} {
		if _, err := Marshal(v); err != nil {
			t.Errorf("Marshal(%v): %v", v, err)
		}
	}
}

// list is recursive: Marshal must not loop building its plan.
type list struct {
	V    float64 `json:"v"`
	Next *list   `json:"next,omitempty"`
}

func TestMarshalRecursive(t *testing.T) {
	got, err := Marshal(list{V: math.NaN(), Next: &list{V: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":null,"next":{"v":1}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
