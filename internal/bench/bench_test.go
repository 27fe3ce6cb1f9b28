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
