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
