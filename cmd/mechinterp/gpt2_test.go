package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// hfDir is the GPT2LMHeadModel directory of testdata/hf_gpt2 (see its
// README): Hugging Face's layout, a hand-made BPE tokenizer beside it, and
// PyTorch's logits for its two sequences in expected.safetensors; the first
// sequence is promptText.
var hfDir = filepath.Join("..", "..", "testdata", "hf_gpt2", "lmhead")

const promptText = "Hello world, the cat is in the hat. Hello"

var promptIDs = []int{268, 272, 11, 258, 290, 274, 300, 258, 292, 289, 13, 220, 268}

type runJSON struct {
	Tokens      [][]int               `json:"tokens"`
	Predictions [][]models.Prediction `json:"predictions"`
}

func runJSONOut(t *testing.T, args ...string) runJSON {
	t.Helper()
	out, err := cli(t, append([]string{"run", "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r runJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// expectedLogits returns PyTorch's logits [2,T,V] for the directory.
func expectedLogits(t *testing.T) *tensor.Tensor {
	t.Helper()
	want, _, err := safetensors.Read(filepath.Join(hfDir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return want["logits"]
}

// TestGPT2RunText: `run --text` on a Hugging Face directory encodes with
// its vocab.json and merges.txt, and the logits it writes are PyTorch's;
// the predictions are labelled with the tokens' text.
func TestGPT2RunText(t *testing.T) {
	logits := filepath.Join(t.TempDir(), "logits.safetensors")
	r := runJSONOut(t, "--model", hfDir, "--text", promptText, "--top", "3", "--logits", logits)
	if len(r.Tokens) != 1 || !slices.Equal(r.Tokens[0], promptIDs) {
		t.Fatalf("tokens %v, want %v", r.Tokens, promptIDs)
	}
	got, _, err := safetensors.Read(logits)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedLogits(t)
	T, V := want.Shape[1], want.Shape[2]
	var worst float64
	for i, w := range want.Data[:T*V] {
		worst = max(worst, math.Abs(float64(got["logits"].Data[i]-w)))
	}
	t.Logf("logits vs PyTorch: max |diff| %.2e", worst)
	if worst > 1e-4 {
		t.Errorf("logits differ from PyTorch's by %.3g", worst)
	}
	last := want.Data[(T-1)*V : T*V]
	best := 0
	for i, v := range last {
		if v > last[best] {
			best = i
		}
	}
	p := r.Predictions[0][0]
	if p.Token != best || p.Text == "" {
		t.Errorf("top prediction %+v, want token %d with its text", p, best)
	}

	// <|endoftext|> in the text is the special token; ids get text labels.
	r = runJSONOut(t, "--model", hfDir, "--text", "<|endoftext|>Hello world")
	if !slices.Equal(r.Tokens[0], []int{304, 268, 272}) {
		t.Errorf("tokens %v, want [304 268 272]", r.Tokens[0])
	}
	r = runJSONOut(t, "--model", hfDir, "--tokens", "268,272", "--top", "1")
	if r.Predictions[0][0].Text == "" {
		t.Error("--tokens on a directory with a tokenizer gave no text labels")
	}
}

// TestGPT2RunProcess: --process with all four steps keeps the predictions
// (same tokens, same probabilities) and shifts each position's logits by a
// constant, as TransformerLens's processing does.
func TestGPT2RunProcess(t *testing.T) {
	dir := t.TempDir()
	plainF, procF := filepath.Join(dir, "plain.st"), filepath.Join(dir, "proc.st")
	plain := runJSONOut(t, "--model", hfDir, "--text", promptText, "--top", "5", "--logits", plainF)
	proc := runJSONOut(t, "--model", hfDir, "--text", promptText, "--top", "5", "--logits", procF,
		"--process", "fold_ln,center_writing,center_unembed,fold_value_biases")
	for i, p := range plain.Predictions[0] {
		q := proc.Predictions[0][i]
		if p.Token != q.Token || math.Abs(p.Prob-q.Prob) > 1e-5 {
			t.Errorf("prediction %d: %+v unprocessed, %+v processed", i, p, q)
		}
	}
	a, _, _ := safetensors.Read(plainF)
	b, _, _ := safetensors.Read(procF)
	x, y := a["logits"], b["logits"]
	V := x.Shape[2]
	var worst, shift float64
	for i := 0; i < len(x.Data); i += V {
		var mx, my float64
		for j := 0; j < V; j++ {
			mx += float64(x.Data[i+j]) / float64(V)
			my += float64(y.Data[i+j]) / float64(V)
		}
		shift = max(shift, math.Abs(mx-my))
		for j := 0; j < V; j++ {
			worst = max(worst, math.Abs((float64(x.Data[i+j])-mx)-(float64(y.Data[i+j])-my)))
		}
	}
	t.Logf("processed logits: centred max |diff| %.2e, mean shift up to %.3f", worst, shift)
	if worst > 1e-4 {
		t.Errorf("processing changed the centred logits by %.3g", worst)
	}
	if shift < 1e-3 {
		t.Error("--process center_unembed did not centre the logits: was it applied?")
	}
}

func TestGPT2BadInput(t *testing.T) {
	noLN := testmodel.Checkpoint(t, func() models.Config {
		c := tinyConfig
		c.Normalization = "none"
		return c
	}())
	brokenVocab := filepath.Join(t.TempDir(), "m")
	copyDir(t, hfDir, brokenVocab)
	os.WriteFile(filepath.Join(brokenVocab, "vocab.json"), []byte("[not a vocabulary"), 0o644)
	noMerges := filepath.Join(t.TempDir(), "m")
	copyDir(t, hfDir, noMerges)
	os.Remove(filepath.Join(noMerges, "merges.txt"))
	bigVocab := filepath.Join(t.TempDir(), "m")
	copyDir(t, hfDir, bigVocab)
	b, _ := os.ReadFile(filepath.Join(bigVocab, "vocab.json"))
	os.WriteFile(filepath.Join(bigVocab, "vocab.json"), []byte(strings.Replace(string(b), `"<|endoftext|>": 304`, `"<|endoftext|>": 400`, 1)), 0o644)

	// The "model" directory is GPT2Model as downloaded, without tokenizer
	// files: --text must not fall back to bytes, which would be the wrong ids.
	noTok := filepath.Join(hfDir, "..", "model")
	withTokJSON := filepath.Join(t.TempDir(), "m")
	copyDir(t, noTok, withTokJSON)
	os.WriteFile(filepath.Join(withTokJSON, "tokenizer.json"), []byte("{}"), 0o644)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"downloaded model without tokenizer", []string{"run", "--model", noTok, "--text", "hi"}, "has no vocab.json and merges.txt"},
		{"tokenizer.json only", []string{"run", "--model", withTokJSON, "--text", "hi"}, `unsupported model type ""`},
		{"unknown step", []string{"run", "--model", hfDir, "--text", "hi", "--process", "fold_ln,fold_everything"}, `"fold_everything"`},
		{"fold_ln without LayerNorm", []string{"run", "--model", noLN, "--tokens", "1,2", "--process", "fold_ln"}, "no LayerNorm"},
		{"broken vocab.json", []string{"run", "--model", brokenVocab, "--text", "hi"}, "vocab.json"},
		{"merges.txt missing", []string{"run", "--model", noMerges, "--text", "hi"}, "merges.txt"},
		{"tokenizer larger than the model", []string{"run", "--model", bigVocab, "--text", "hi"}, "401 tokens but the model's vocabulary holds 305"},
		{"text too long", []string{"run", "--model", hfDir, "--text", strings.Repeat("Hello world ", 13)}, "n_ctx=24"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tc.args...)
			assertCleanFailure(t, stderr, code, tc.want)
		})
	}
}

// TestGPT2EveryCommand: on a Hugging Face GPT-2 directory with its own
// tokenizer, every command that looks inside a model runs as a user would
// run it, taking its prompts as text: heads, circuits, patch and attention
// write their reports, and the attention page labels tokens with their text.
func TestGPT2EveryCommand(t *testing.T) {
	out := t.TempDir()
	cases := [][]string{
		{"heads", "--model", hfDir, "--text", promptText, "-o", filepath.Join(out, "heads.html")},
		{"heads", "--model", hfDir, "--json", "-o", filepath.Join(out, "heads2.html")},
		{"circuits", "--model", hfDir, "-o", filepath.Join(out, "circuits.html")},
		{"patch", "--model", hfDir, "--clean", "Hello world, the cat", "--corrupted", "Hello world, the in",
			"--answer", " is", "--wrong", " in", "-o", filepath.Join(out, "patch.html")},
		{"attention", "--model", hfDir, "--text", promptText, "-o", filepath.Join(out, "attention.html")},
	}
	for _, args := range cases {
		got, err := cli(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, got)
		}
		page := args[len(args)-1]
		if _, err := os.Stat(page); err != nil {
			t.Errorf("%s: no report: %v", args[0], err)
		}
	}
	v := pagePayload(t, filepath.Join(out, "attention.html"))
	toks, _ := v["tokens"].([]any)
	if len(toks) != len(promptIDs) || toks[0] != "Hello" || toks[1] != " world" {
		t.Errorf("attention page tokens %v, want the BPE pieces of %q", toks, promptText)
	}
}
