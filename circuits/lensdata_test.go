package circuits_test

import (
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/run"
)

func TestLensSequences(t *testing.T) {
	dir := t.TempDir()
	if err := run.WriteConfig(dir, run.DemoConfig()); err != nil {
		t.Fatal(err)
	}
	tr, err := circuits.LensSequences(dir, 4, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	ho, err := circuits.LensSequences(dir, 4, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 4 || len(tr[0]) != 64 || len(ho) != 4 {
		t.Fatalf("shapes %d×%d, %d", len(tr), len(tr[0]), len(ho))
	}
	for i := range tr {
		if slices.Equal(tr[i], ho[i]) {
			t.Errorf("held-out sequence %d equals training sequence %d", i, i)
		}
	}
	if _, err := circuits.LensSequences(t.TempDir(), 4, 16, false); err == nil {
		t.Error("a directory without run.yaml: no error")
	}
	a, b, err := circuits.TextSequences(make([]int, 100), 8, 0.1)
	if err != nil || len(a) != 11 || len(b) != 1 {
		t.Errorf("TextSequences: %d train, %d held out, %v", len(a), len(b), err)
	}
	if _, _, err := circuits.TextSequences(make([]int, 10), 8, 0.1); err == nil {
		t.Error("one window: no error")
	}
}
