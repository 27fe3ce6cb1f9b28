package lab

import (
	"os"
	"testing"
)

// TestClaimSynthetic is the claim at the default scale
// (PrefsConfig's defaults, `mechinterp prefs train --out DIR`): Bradley-Terry
// training on the synthetic task ranks held-out sequences as the true reward
// does (Spearman ≥ 0.9) and is calibrated against the true probabilities
// (ECE ≤ 0.05). About three minutes on 2 cores: MECHINTERP_LONG_TESTS=1.
func TestClaimSynthetic(t *testing.T) {
	if os.Getenv("MECHINTERP_LONG_TESTS") == "" {
		t.Skip("a 2000-step training run; set MECHINTERP_LONG_TESTS=1")
	}
	res, _, err := TrainPrefs(PrefsConfig{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := res.History.Final
	t.Logf("accuracy %.3f (true reward %.3f), Spearman %.3f, ECE %.3f, ECE to truth %.3f, Brier %.3f",
		f.Accuracy, f.AccuracyMax, f.Spearman, f.ECE, f.ECETrue, f.Brier)
	if f.Spearman < 0.9 {
		t.Errorf("Spearman with the true reward %.3f, want ≥ 0.9", f.Spearman)
	}
	if f.ECETrue > 0.05 {
		t.Errorf("ECE against the true probabilities %.3f, want ≤ 0.05", f.ECETrue)
	}
	n := 0
	for _, b := range res.History.Reliability.Bins {
		n += b.Count
	}
	if n != res.Config.EvalComparisons {
		t.Errorf("reliability counts add to %d, want %d", n, res.Config.EvalComparisons)
	}
}
