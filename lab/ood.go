package lab

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/probes"
)

// OODData are the four sets of an out-of-distribution experiment (Bai et
// al. 2022, section 5.4): inputs to fit the in-distribution Gaussian to,
// background inputs (optional), and held-out in- and out-of-distribution
// inputs.
type OODData struct {
	Fit, Background, Outliers, In, Out [][]int
	// Description says where each set came from.
	Description string
}

// builtinOutliers is the number of labelled outliers of the built-in sets.
const builtinOutliers = 10

// BuiltinOOD draws the built-in sets at the synthetic task's scale: in
// distribution, the task's sequences (n to fit on, n/2 held out); out of
// distribution, n/2 sequences of the same length in a Markov-chain language
// (package data's synthetic language, same vocabulary, one repeated span),
// which no preference-model training saw; background, n more task sequences
// and n uniform random sequences over the vocabulary (a broad set standing
// for "all the training inputs" of a model that saw more than the task);
// ten more sequences of the language are the labelled outliers of few-shot
// outlier exposure.
func BuiltinOOD(task SyntheticConfig, n int) (OODData, error) {
	task = task.WithDefaults()
	if err := task.Validate(); err != nil {
		return OODData{}, err
	}
	if n < 4 {
		return OODData{}, fmt.Errorf("lab: OOD sets of %d inputs are too small", n)
	}
	T := task.SeqLen()
	// Fit, background (twice n) and the held-out sets (n/2 each): about five
	// sets of n sequences of T ids.
	if err := memory.Check(5 * float64(n) * float64(T*8+24)); err != nil {
		return OODData{}, fmt.Errorf("lab: OOD sets of %d inputs %w", n, err)
	}
	lang, err := data.NewSynthetic(data.SyntheticConfig{Vocab: task.Vocab, RandomFraction: data.Float(0), MinSpan: 3, MaxSpan: 5,
		LanguageSeed: seed.Derive(task.Seed, 0, "lab/ood/language")}, seed.Derive(task.Seed, 0, "lab/ood/stream"))
	if err != nil {
		return OODData{}, err
	}
	var d OODData
	for i := 0; i < n; i++ {
		d.Fit = append(d.Fit, task.Sequence(SetTrain, uint64(i)))
		d.Background = append(d.Background, task.Sequence(SetTrain, uint64(n+i)))
		r := seed.New(seed.Derive(task.Seed, uint64(i), "lab/ood/uniform"))
		u := make([]int, T)
		for j := 1; j < T; j++ {
			u[j] = 1 + r.IntN(task.Vocab-1)
		}
		d.Background = append(d.Background, u)
	}
	for i := 0; i < n/2; i++ {
		d.In = append(d.In, task.Sequence(SetEval, uint64(i)))
		row := make([]int, T)
		if _, err := lang.Sequence(uint64(i), row); err != nil {
			return OODData{}, err
		}
		d.Out = append(d.Out, row)
	}
	for i := 0; i < builtinOutliers; i++ {
		row := make([]int, T)
		if _, err := lang.Sequence(uint64(n/2+i), row); err != nil {
			return OODData{}, err
		}
		d.Outliers = append(d.Outliers, row)
	}
	d.Description = fmt.Sprintf("built in: %d synthetic-task sequences to fit, %d held out; %d out-of-distribution sequences of a Markov-chain language over the same %d tokens (and %d more as labelled outliers); background %d task and %d uniform random sequences",
		n, n/2, n/2, task.Vocab, builtinOutliers, n, n)
	return d, nil
}

// ReadSequences reads one input per line of a file: token ids separated by
// commas when ids is set, else text encoded with tok (BOS first). Inputs
// longer than maxLen keep their last maxLen tokens (BOS first, as ReadHH);
// blank lines are skipped.
func ReadSequences(path string, tok tokenizer.Tokenizer, ids bool, maxLen int) ([][]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxHHLine)
	var out [][]int
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		if !ids {
			out = append(out, encodeLeft(tok, s, maxLen))
			continue
		}
		var seq []int
		for _, x := range strings.Split(s, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("lab: %s line %d: %q is not a token id", path, line, x)
			}
			seq = append(seq, v)
		}
		if len(seq) > maxLen {
			seq = seq[len(seq)-maxLen:]
		}
		out = append(out, seq)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lab: %s holds no inputs", path)
	}
	return out, nil
}

// OODFiles names a user's OOD sets: In and Out are required; without Fit,
// the first half of In is fitted and the second half held out; Background
// and Outliers (a few labelled out-of-distribution inputs) are optional. IDs reads token ids instead of text.
type OODFiles struct {
	Fit, Background, Outliers, In, Out string
	IDs                                bool
}

// RunOOD loads a checkpoint and runs out-of-distribution detection at
// every layer on the built-in sets (files zero) or the user's files,
// checking every token against the model's vocabulary.
func RunOOD(modelDir string, files OODFiles, task SyntheticConfig, n int, cfg probes.OODConfig) (*probes.OODResult, string, error) {
	m, err := models.Load(modelDir)
	if err != nil {
		return nil, "", err
	}
	var d OODData
	if files == (OODFiles{}) {
		if d, err = BuiltinOOD(task, n); err != nil {
			return nil, "", err
		}
	} else {
		if files.In == "" || files.Out == "" {
			return nil, "", fmt.Errorf("lab: OOD files need both an in-distribution and an out-of-distribution file")
		}
		var tok tokenizer.Tokenizer
		if !files.IDs {
			if tok, err = tokenizer.ForDir(modelDir, m.Config.DVocab, models.WrittenByMechinterp(modelDir)); err != nil {
				return nil, "", err
			}
		}
		read := func(p string) ([][]int, error) {
			if p == "" {
				return nil, nil
			}
			return ReadSequences(p, tok, files.IDs, m.Config.NCtx)
		}
		if d.In, err = read(files.In); err != nil {
			return nil, "", err
		}
		if d.Out, err = read(files.Out); err != nil {
			return nil, "", err
		}
		if d.Background, err = read(files.Background); err != nil {
			return nil, "", err
		}
		if d.Fit, err = read(files.Fit); err != nil {
			return nil, "", err
		}
		if d.Outliers, err = read(files.Outliers); err != nil {
			return nil, "", err
		}
		if d.Fit == nil {
			h := len(d.In) / 2
			d.Fit, d.In = d.In[:h], d.In[h:]
		}
		d.Description = fmt.Sprintf("files: fit %d inputs, background %d, labelled outliers %d, held out %d in and %d out of distribution",
			len(d.Fit), len(d.Background), len(d.Outliers), len(d.In), len(d.Out))
	}
	for _, set := range [][][]int{d.Fit, d.Background, d.Outliers, d.In, d.Out} {
		for _, s := range set {
			if err := m.CheckTokens(s, 1, len(s)); err != nil {
				return nil, "", err
			}
		}
	}
	res, err := probes.OOD(m, probes.OODSets{Fit: d.Fit, Background: d.Background, Outliers: d.Outliers, In: d.In, Out: d.Out}, cfg)
	if err != nil {
		return nil, "", err
	}
	return res, d.Description, nil
}
