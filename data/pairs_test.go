package data

import "testing"

func TestPairsShiftTargetsByOne(t *testing.T) {
	src, err := New(Config{Kind: KindRepeated, Seed: 3, Repeated: RepeatedConfig{Vocab: 50, Len: 5}})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := New(Config{Kind: KindRepeated, Seed: 3, Repeated: RepeatedConfig{Vocab: 50, Len: 5}})
	p := NewPairs(src)
	B, T := 3, 12
	tok, tgt := make([]int, B*T), make([]int, B*T)
	if err := p.Next(tok, tgt, B, T); err != nil {
		t.Fatal(err)
	}
	b := NewBatch(B, T)
	if err := ref.Next(b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < B; i++ {
		row := b.Row(i)
		for j := 0; j < T; j++ {
			if tok[i*T+j] != row[j] || tgt[i*T+j] != row[j+1] {
				t.Fatalf("row %d pos %d: got (%d,%d), want (%d,%d)", i, j, tok[i*T+j], tgt[i*T+j], row[j], row[j+1])
			}
		}
	}
}
