package bench

import "testing"

func TestBenchToy(t *testing.T) {
	res, err := Toy(4, 20, 5, 128, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"workload", "instances", "features", "hidden", "batch", "steps_per_s", "samples_per_s", "threads"} {
		if _, ok := res[k]; !ok {
			t.Errorf("missing key %s", k)
		}
	}
	if res["steps_per_s"].(float64) <= 0 {
		t.Errorf("steps_per_s %v", res["steps_per_s"])
	}
	if _, err := Toy(0, 20, 5, 128, 5, 2); err == nil {
		t.Error("zero instances accepted")
	}
}

func TestSAE(t *testing.T) {
	for _, k := range []int{0, 4} {
		out, err := SAE(8, 32, 16, k, 5, 0, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if out["workload"] != "sae" || !(out["activations_per_s"].(float64) > 0) || out["k"] != k {
			t.Errorf("k %d: %v", k, out)
		}
	}
	for _, bad := range [][4]int{{0, 32, 16, 0}, {8, 32, 16, 64}, {8, 1 << 30, 16, 0}, {8, 32, -1, 0}} {
		if _, err := SAE(bad[0], bad[1], bad[2], bad[3], 5, 0, 2, 1); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestSAEL0 checks that --l0 starts a ReLU SAE at about that many active
// latents per row (b_e at -Φ⁻¹(1 - l0/d_sae) on standard normal data),
// that a fresh one has about half active, and that --l0 out of range is
// refused.
func TestSAEL0(t *testing.T) {
	for _, tc := range []struct{ l0, lo, hi float64 }{{0, 400, 620}, {16, 10, 22}} {
		out, err := SAE(64, 1024, 256, 0, 5, tc.l0, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := out["l0"].(float64); got < tc.lo || got > tc.hi {
			t.Errorf("--l0 %v: measured l0 %.1f, want in [%v, %v]", tc.l0, got, tc.lo, tc.hi)
		}
	}
	for _, bad := range []float64{-1, 1024, 5000} {
		if _, err := SAE(64, 1024, 256, 0, 5, bad, 2, 1); err == nil {
			t.Errorf("--l0 %v accepted", bad)
		}
	}
}
