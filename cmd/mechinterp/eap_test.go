package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
)

func TestEAPCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	if err := testmodel.Induction(t, 0.1).Save(dir); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, "eap", "--model", dir, "--task", "induction", "--len", "7", "--effects", "--top", "4")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"eap-ig (logit_diff, 32 pairs)", "faithfulness", "Spearman", "L1H0 -> logits"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A task file with token ids; --json.
	tasks := filepath.Join(t.TempDir(), "tasks.jsonl")
	line := `{"clean": [0, 3, 4, 5, 6, 3, 4], "corrupted": [0, 9, 8, 7, 6, 3, 4], "answer": 5, "wrong": 7}` + "\n"
	if err := os.WriteFile(tasks, []byte(line+"\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	js, err := cli(t, "eap", "--model", dir, "--tasks", tasks, "--method", "eap", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	var d struct {
		Pairs        int     `json:"pairs"`
		Faithfulness float64 `json:"faithfulness"`
		Edges        []struct {
			Name string `json:"name"`
		} `json:"edges"`
	}
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatalf("%v:\n%s", err, js)
	}
	if d.Pairs != 2 || len(d.Edges) != 81 {
		t.Errorf("%d pairs, %d edges", d.Pairs, len(d.Edges))
	}
	for _, bad := range [][]string{
		{"eap", "--model", dir},
		{"eap", "--model", dir, "--task", "ioi"},
		{"eap", "--model", dir, "--task", "induction"}, // 2·10 tokens exceed n_ctx 16
		{"eap", "--model", dir, "--task", "induction", "--len", "7", "--metric", "kl", "--method", "eap"},
		{"eap", "--model", dir, "--tasks", filepath.Join(t.TempDir(), "none.jsonl")},
	} {
		if out, err := cli(t, bad...); err == nil || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%v: error %v\n%s", bad, err, out)
		}
	}
}
