package main

import (
	"encoding/json"
	"testing"
)

// The bench command prints torch_ref.py's JSON keys, so that the two can be
// compared line by line.
func TestBenchPrintsTorchRefKeys(t *testing.T) {
	shape := []string{"--layers", "1", "--heads", "2", "--d-model", "16", "--ctx", "8", "--batch", "2", "--vocab", "32", "--steps", "2", "--threads", "1"}
	cases := []struct {
		args []string
		keys []string
	}{
		{append([]string{"bench", "train"}, shape...), []string{"workload", "layers", "heads", "d_model", "ctx", "batch", "vocab", "attn_only", "params", "threads", "tokens_per_s", "ms_per_step", "peak_rss_mb"}},
		{append([]string{"bench", "cache", "--attn-only", "--names", "blocks.0.attn.hook_pattern"}, shape...), []string{"workload", "tokens_per_s", "ms_per_step", "attn_only"}},
		{append([]string{"bench", "sample", "--prompt", "3", "--new", "9"}, shape...), []string{"workload", "layers", "heads", "d_model", "vocab", "batch", "prompt", "new", "attn_only", "threads", "new_tokens_per_s"}},
		{[]string{"bench", "toy", "--instances", "2", "--features", "5", "--hidden", "2", "--batch", "8", "--steps", "2", "--threads", "1"}, []string{"workload", "instances", "features", "hidden", "batch", "steps_per_s", "samples_per_s", "threads"}},
		{[]string{"bench", "gemm", "--m", "7", "--n", "33", "--k", "5", "--trans-b", "--steps", "1"}, []string{"workload", "impl", "m", "n", "k", "trans_a", "trans_b", "gflops", "ms_per_op", "peak_gflops", "peak_share"}},
		{[]string{"bench", "peak", "--threads", "2"}, []string{"workload", "isa", "threads", "gflops_1thread", "gflops"}},
	}
	for _, tc := range cases {
		out, err := cli(t, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: output is not one JSON object: %q", tc.args, out)
		}
		for _, k := range tc.keys {
			if _, ok := got[k]; !ok {
				t.Errorf("%v: no key %q in %v", tc.args, k, got)
			}
		}
		for _, k := range []string{"gflops", "gflops_1thread", "peak_gflops"} {
			if v, ok := got[k]; ok && !(v.(float64) > 0) {
				t.Errorf("%v: %s = %v, want > 0", tc.args, k, v)
			}
		}
		if got["workload"] != tc.args[1] {
			t.Errorf("workload %v, want %s", got["workload"], tc.args[1])
		}
	}
	if _, err := cli(t, "bench", "fly"); err == nil {
		t.Error("an unknown workload was accepted")
	}
	if _, err := cli(t, "bench", "gemm", "--m", "0"); err == nil {
		t.Error("an empty gemm was accepted")
	}
	if _, err := cli(t, append([]string{"bench", "cache", "--names", "blocks.9.hook_q"}, shape...)...); err == nil {
		t.Error("a cache filter naming no hook point was accepted")
	}
}
