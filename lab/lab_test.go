package lab

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

func tinyModel(t testing.TB, vocab, nctx int) *models.Model {
	t.Helper()
	m, err := models.New(models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: nctx, DVocab: vocab, Seed: 3, InitializerRange: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLossAndGradFiniteDifferences checks the gradient of each objective,
// reward head included, against central differences of the loss.
func TestLossAndGradFiniteDifferences(t *testing.T) {
	task := SyntheticConfig{Vocab: 9, Len: 6, Seed: 4}.WithDefaults()
	cs := task.Comparisons(SetTrain, 3)
	cs[1].Chosen = cs[1].Chosen[:4] // lengths differ: padding must not leak
	for _, obj := range Objectives {
		t.Run(string(obj), func(t *testing.T) {
			m := tinyModel(t, task.Vocab, task.SeqLen())
			pm := NewPrefModel(m, 5)
			for i := range pm.Head {
				pm.Head[i] *= 3
			}
			g := pm.NewGrads()
			if _, err := pm.LossAndGrad(obj, cs, g); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				l, err := pm.LossAndGrad(obj, cs, nil)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			r := seed.New(6)
			check := func(name string, data []float32, i int, analytic float32) {
				const h = 1e-2
				old := data[i]
				data[i] = old + h
				up := loss()
				data[i] = old - h
				down := loss()
				data[i] = old
				num := (up - down) / (2 * h)
				if d := math.Abs(num - float64(analytic)); d > 1e-3+2e-2*math.Abs(num) {
					t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i, analytic, num)
				}
			}
			for i := range pm.Head {
				check("head", pm.Head, i, g.Head[i])
			}
			for _, p := range m.Params.List() {
				n := len(m.Params.Get(p.Name).Data)
				for k := 0; k < 3; k++ {
					i := p.Offset + r.IntN(n)
					check(p.Name, m.Params.Data, i, g.Model.Data[i])
				}
			}
		})
	}
}

func TestTrueRewardAndLabels(t *testing.T) {
	c := SyntheticConfig{Vocab: 10, Len: 4, ClassWeight: 8, CopyWeight: 4, Beta: 1}
	// body 1 4 | 1 5: good tokens (t−1)%3==0: 1,4,1 → 3; bad (%3==1): 5 → −1;
	// class = 2, 2/4·8 = 4; copied: position 2 (1 == 1) → 1/2·4 = 2.
	if got := c.TrueReward([]int{0, 1, 4, 1, 5}); math.Abs(got-6) > 1e-12 {
		t.Errorf("TrueReward = %v, want 6", got)
	}
	task := SyntheticConfig{Seed: 9}.WithDefaults()
	cs := task.Comparisons(SetEval, 4000)
	again := task.Comparisons(SetEval, 4000)
	wins, p := 0.0, 0.0
	for i, c := range cs {
		if c.TrueChosen != again[i].TrueChosen || !equal(c.Chosen, again[i].Chosen) {
			t.Fatal("comparisons differ between two draws with one seed")
		}
		if math.Abs(c.PTrue-sigmoid(task.Beta*(c.TrueChosen-c.TrueRejected))) > 1e-12 {
			t.Fatalf("comparison %d: PTrue %v", i, c.PTrue)
		}
		// The first-drawn sequence is chosen with its Bradley-Terry probability.
		a := task.Sequence(SetEval, uint64(2*i))
		pa := sigmoid(task.Beta * (task.TrueReward(a) - task.TrueReward(task.Sequence(SetEval, uint64(2*i+1)))))
		p += pa
		if equal(c.Chosen, a) {
			wins++
		}
	}
	n := float64(len(cs))
	// Binomial standard error ≤ 0.5/√n ≈ 0.008.
	if math.Abs(wins/n-p/n) > 0.03 {
		t.Errorf("first sequence chosen %.3f of the time, Bradley-Terry says %.3f", wins/n, p/n)
	}
	tr := task.Comparisons(SetTrain, 1)
	if equal(tr[0].Chosen, cs[0].Chosen) || equal(tr[0].Chosen, cs[0].Rejected) {
		t.Error("training and evaluation streams share a sequence")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReliabilityBrier(t *testing.T) {
	p := []float64{0.55, 0.65, 0.95, 1, 0.72}
	y := []float64{1, 0, 1, 1, 0}
	d, err := Reliability(p, y, 0.5, 5) // bins of 0.1 from 0.5
	if err != nil {
		t.Fatal(err)
	}
	// bins: [.5,.6) {.55}; [.6,.7) {.65}; [.7,.8) {.72}; [.8,.9) {}; [.9,1] {.95, 1}
	wantCount := []int{1, 1, 1, 0, 2}
	total := 0
	for k, b := range d.Bins {
		if b.Count != wantCount[k] {
			t.Errorf("bin %d count %d, want %d", k, b.Count, wantCount[k])
		}
		total += b.Count
	}
	if total != len(p) || d.N != len(p) {
		t.Errorf("counts add to %d, N %d, want %d", total, d.N, len(p))
	}
	if !math.IsNaN(d.Bins[3].Observed) {
		t.Error("an empty bin's observed frequency should be NaN")
	}
	// ECE = (|1−.55| + |0−.65| + |0−.72| + 2·|1−.975|)/5
	if want := (0.45 + 0.65 + 0.72 + 0.05) / 5; math.Abs(d.ECE-want) > 1e-12 {
		t.Errorf("ECE %v, want %v", d.ECE, want)
	}
	if want := (0.45*0.45 + 0.65*0.65 + 0.05*0.05 + 0 + 0.72*0.72) / 5; math.Abs(Brier(p, y)-want) > 1e-12 {
		t.Errorf("Brier %v, want %v", Brier(p, y), want)
	}
	if _, err := Reliability([]float64{0.2}, []float64{1}, 0.5, 5); err == nil {
		t.Error("a prediction below the range: want an error")
	}
}

// TestEvaluateOrientation: a comparison the model gets wrong counts against
// its own favourite, and accuracy, margin and the counts follow.
func TestEvaluateOrientation(t *testing.T) {
	cs := []Comparison{
		{HasTrue: true, TrueChosen: 1, TrueRejected: 0, PTrue: 0.7},
		{HasTrue: true, TrueChosen: 0, TrueRejected: 1, PTrue: 0.4},
		{HasTrue: true, TrueChosen: 2, TrueRejected: 3, PTrue: 0.5},
	}
	s := Scores{Chosen: []float64{2, 0, 1}, Rejected: []float64{0, 1, 1}}
	e, err := Evaluate(cs, s, math.NaN(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if e.Accuracy != (1+0+0.5)/3 {
		t.Errorf("accuracy %v", e.Accuracy)
	}
	if e.Margin != (2-1+0)/3.0 {
		t.Errorf("margin %v", e.Margin)
	}
	// Oriented: p = σ(2), σ(1), σ(0) = .881, .731, .5; true probabilities of
	// the favourite: .7, 1−.4 = .6, .5.
	want := (math.Abs(sigmoid(2)-0.7) + math.Abs(sigmoid(1)-0.6) + 0) / 3
	if math.Abs(e.MAETrue-want) > 1e-12 {
		t.Errorf("MAE to truth %v, want %v", e.MAETrue, want)
	}
	n := 0
	for _, b := range e.ReliabilityTrue.Bins {
		n += b.Count
	}
	if n != 3 {
		t.Errorf("true reliability counts add to %d", n)
	}
}

func TestReadHH(t *testing.T) {
	tok := tokenizer.Byte{}
	in := `{"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"}

{"chosen": "abc", "rejected": "abcdefghijkl"}
`
	cs, err := ReadHH(strings.NewReader(in), tok, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d comparisons", len(cs))
	}
	if got := tok.Decode(cs[0].Chosen[1:]); got != ": hello" {
		t.Errorf("left truncation kept %q, want the last 7 bytes", got)
	}
	if cs[0].Chosen[0] != tok.BOS() || len(cs[0].Chosen) != 8 {
		t.Errorf("chosen %v: want BOS and 7 tokens", cs[0].Chosen)
	}
	if got := tok.Decode(cs[1].Chosen[1:]); got != "abc" {
		t.Errorf("a short transcript became %q", got)
	}
	for _, bad := range []struct{ in, want string }{
		{`{"chosen": "a"}`, "line 1"},
		{"{\"chosen\": \"a\", \"rejected\": \"b\"}\nnot json", "line 2"},
		{"", "no comparisons"},
	} {
		if _, err := ReadHH(strings.NewReader(bad.in), tok, 8, 0); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ReadHH(%q): error %v, want one naming %q", bad.in, err, bad.want)
		}
	}
}

// TestTrainLearnsSyntheticReward is a short run: the preference model must
// already rank held-out sequences much like the true reward. The full claim
// (Spearman ≥ 0.9, ECE ≤ 0.05) is TestClaimSynthetic, a long test.
func TestTrainLearnsSyntheticReward(t *testing.T) {
	task := SyntheticConfig{Seed: 1}.WithDefaults()
	m, err := models.New(models.Config{NLayers: 1, NHeads: 2, DModel: 16, NCtx: task.SeqLen(), DVocab: task.Vocab, Seed: 1, InitializerRange: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	pm := NewPrefModel(m, 1)
	h, err := Train(pm, task.Comparisons(SetTrain, 2000), task.Comparisons(SetEval, 300),
		TrainConfig{Steps: 150, Batch: 32, LR: 3e-3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := h.Final
	t.Logf("accuracy %.3f (true reward %.3f), Spearman %.3f, ECE %.3f, ECE to truth %.3f", f.Accuracy, f.AccuracyMax, f.Spearman, f.ECE, f.ECETrue)
	if f.Spearman < 0.6 || f.Accuracy < 0.7 {
		t.Errorf("after 150 steps: Spearman %.3f, accuracy %.3f; want ≥ 0.6 and ≥ 0.7", f.Spearman, f.Accuracy)
	}
	if h.Eval[0].Spearman > 0.3 {
		t.Errorf("before training Spearman is already %.3f", h.Eval[0].Spearman)
	}
	n := 0
	for _, b := range h.Reliability.Bins {
		n += b.Count
	}
	if n != 300 {
		t.Errorf("reliability counts add to %d, want 300", n)
	}
}

// TestTrainPrefsHHFromCheckpoint trains on HH-RLHF-format files from a
// language-model checkpoint (byte-level tokenizer), as a user with the real
// files would, and reads the run back.
func TestTrainPrefsHHFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	m, err := models.New(models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 24, DVocab: 257, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lm := filepath.Join(dir, "lm")
	if err := m.Save(lm); err != nil {
		t.Fatal(err)
	}
	line := `{"chosen": "\n\nHuman: What is 2+2?\n\nAssistant: 4.", "rejected": "\n\nHuman: What is 2+2?\n\nAssistant: I will not say."}` + "\n"
	train, eval := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl")
	os.WriteFile(train, []byte(strings.Repeat(line, 6)), 0o644)
	os.WriteFile(eval, []byte(strings.Repeat(line, 3)), 0o644)
	out := filepath.Join(dir, "run")
	res, pm, err := TrainPrefs(PrefsConfig{Init: lm, HH: train, HHEval: eval, TrainComparisons: 5,
		Train: TrainConfig{Steps: 4, Batch: 2}}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Data, "5 from") || !strings.Contains(res.Data, "3 held out") {
		t.Errorf("data %q: want 5 training (the limit) and 3 held-out comparisons", res.Data)
	}
	if !math.IsNaN(res.History.Final.Spearman) {
		t.Error("real data has no true reward, yet Spearman is set")
	}
	if pm.Model.Config.DVocab != 257 || pm.Model.Config.NCtx != 24 {
		t.Errorf("vocabulary %d", pm.Model.Config.DVocab)
	}
	back, err := ReadPrefsResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.History.Final.Accuracy != res.History.Final.Accuracy {
		t.Error("results.json does not read back")
	}
	if _, err := LoadPrefModel(filepath.Join(out, ModelDir)); err != nil {
		t.Error(err)
	}
	if _, err := LoadPrefModel(lm); err == nil || !strings.Contains(err.Error(), "without a reward head") {
		t.Errorf("a language-model checkpoint as a preference model: %v", err)
	}
	if _, _, err := TrainPrefs(PrefsConfig{HH: train, HHEval: eval}, "", nil); err == nil {
		t.Error("HH data without a checkpoint's tokenizer: want an error")
	}
}
