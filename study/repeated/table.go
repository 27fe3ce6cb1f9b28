package repeated

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/models"
)

// ReadStudy reads the study.json that Execute wrote into dir.
func ReadStudy(dir string) (Study, error) {
	b, err := os.ReadFile(filepath.Join(dir, StudyFile))
	if errors.Is(err, os.ErrNotExist) {
		return Study{}, fmt.Errorf("%s is not a study directory: it has no %s (run `mechinterp repeated --out %s` first)", dir, StudyFile, dir)
	}
	if err != nil {
		return Study{}, err
	}
	var s Study
	if err := json.Unmarshal(b, &s); err != nil {
		return Study{}, fmt.Errorf("%s: %w", filepath.Join(dir, StudyFile), err)
	}
	return s, nil
}

// Collect gathers the rows of every run directory under dir: the complete
// results of finished runs and the checkpoints measured so far of the others
// (whatever shards have written), sorted by run and step.
func Collect(dir string) ([]Row, error) {
	ents, err := os.ReadDir(filepath.Join(dir, RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		rd := filepath.Join(dir, RunsDir, e.Name())
		rs, err := readRows(filepath.Join(rd, ResultsJSONL))
		if errors.Is(err, os.ErrNotExist) {
			rs = readRowsLenient(filepath.Join(rd, MeasureFile))
		} else if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Run != rows[j].Run {
			return rows[i].Run < rows[j].Run
		}
		return rows[i].Step < rows[j].Step
	})
	return rows, nil
}

func readRows(path string) ([]Row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Row
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var r Row
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// writeRows writes rows as JSONL, atomically.
func writeRows(path string, rows []Row) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteTable writes rows into dir/results.jsonl and dir/results.csv, each
// atomically. The CSV has one column per scalar field, then the copy loss
// of each copy (copy_loss_2 ...), then the prefix-matching and copying score
// of every head any run has (prefix_L0H0 ..., copying_L0H0 ...; empty where a
// run's model has no such head).
func WriteTable(dir string, rows []Row) error {
	if err := writeRows(filepath.Join(dir, ResultsJSONL), rows); err != nil {
		return err
	}
	copies, L, H := 0, 0, 0
	for _, r := range rows {
		copies = max(copies, len(r.CopyLossByCopy))
		L = max(L, len(r.PrefixMatching))
		for _, hs := range r.PrefixMatching {
			H = max(H, len(hs))
		}
	}
	header := []string{"run", "fraction", "epochs", "size", "arch", "n_layers", "attn_only", "d_model", "n_heads",
		"params", "seed", "repeated_share", "subset_sequences", "context_free_loss", "step", "tokens", "train_loss",
		"test_loss", "repeated_loss", "copy_loss", "induction_loss", "icl_score", "prefix_max", "prefix_max_head"}
	for c := 2; c <= copies; c++ {
		header = append(header, fmt.Sprintf("copy_loss_%d", c))
	}
	for _, name := range []string{"prefix", "copying"} {
		for l := range L {
			for h := range H {
				header = append(header, name+"_"+models.Head{Layer: l, Head: h}.String())
			}
		}
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	opt := func(x *float64) string {
		if x == nil {
			return ""
		}
		return num(*x)
	}
	return atomicfile.Write(filepath.Join(dir, ResultsCSV), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, r := range rows {
			rec := []string{r.Run, num(r.Fraction), strconv.Itoa(r.Epochs), r.Size, r.Arch, strconv.Itoa(r.NLayers),
				strconv.FormatBool(r.AttnOnly), strconv.Itoa(r.DModel), strconv.Itoa(r.NHeads), strconv.Itoa(r.Params),
				strconv.FormatUint(r.Seed, 10), num(r.RepeatedShare), strconv.Itoa(r.SubsetSequences), num(r.ContextFreeLoss),
				strconv.Itoa(r.Step), strconv.FormatInt(r.Tokens, 10), opt(r.TrainLoss), num(r.TestLoss), opt(r.RepeatedLoss),
				num(r.CopyLoss), num(r.InductionLoss), num(r.ICLScore), num(r.PrefixMax), r.PrefixMaxHead}
			for c := 2; c <= copies; c++ {
				v := ""
				if c-1 < len(r.CopyLossByCopy) {
					v = num(r.CopyLossByCopy[c-1])
				}
				rec = append(rec, v)
			}
			for _, g := range [][][]float64{r.PrefixMatching, r.Copying} {
				for l := range L {
					for h := range H {
						v := ""
						if l < len(g) && h < len(g[l]) {
							v = num(g[l][h])
						}
						rec = append(rec, v)
					}
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// ReportFile is the study's report page, written by the command line.
const ReportFile = "report.html"

// ErrNoResults is returned by [Merge] for a study directory in which no run
// has results yet.
var ErrNoResults = errors.New("holds no results yet: no run has finished")

// Merge gathers the results in the study directory dir ([Collect]),
// rewrites its table ([WriteTable]) and analyzes it ([Analyze]) for study
// s: what `mechinterp repeated report` does before writing the page.
func Merge(dir string, s Study) (*Analysis, error) {
	rows, err := Collect(dir)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s %w", dir, ErrNoResults)
	}
	if err := WriteTable(dir, rows); err != nil {
		return nil, err
	}
	return Analyze(s, rows), nil
}
