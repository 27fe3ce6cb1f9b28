package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// Files of a checkpoint directory (see docs/checkpoints.md).
const (
	// ConfigFile holds the architecture as Hugging Face GPT-2 config keys
	// plus mechinterp_* extensions.
	ConfigFile = "config.json"
	// WeightsFile holds the parameters, Hugging Face GPT-2 names and layouts.
	WeightsFile = "model.safetensors"
)

// CheckpointFormatVersion is written as mechinterp_format_version; a loader
// refuses checkpoints from a newer format.
const CheckpointFormatVersion = 1

// ReadConfig reads and validates dir/config.json without touching the weights.
func ReadConfig(dir string) (Config, error) {
	if err := checkDir(dir); err != nil {
		return Config{}, err
	}
	path := filepath.Join(dir, ConfigFile)
	data, err := config.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Config{}, fmt.Errorf("checkpoint %s: missing %s: %w", dir, ConfigFile, err)
		}
		return Config{}, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	cfg, err := UnmarshalHFConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return cfg, nil
}

// checkDir reports a missing, non-directory or empty checkpoint directory.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if old := atomicfile.OldVersions(dir); len(old) > 0 {
				return fmt.Errorf("checkpoint %s does not exist (%s looks like the previous version left by an interrupted save): %w", dir, old[0], err)
			}
			return fmt.Errorf("checkpoint %s does not exist: %w", dir, err)
		}
		return fmt.Errorf("checkpoint: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("checkpoint %s is not a directory (a checkpoint is a directory holding %s and %s)", dir, ConfigFile, WeightsFile)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if len(ents) == 0 {
		return fmt.Errorf("checkpoint %s is an empty directory (want %s and %s)", dir, ConfigFile, WeightsFile)
	}
	return nil
}

// hfBuffer matches the attention-mask buffers Hugging Face GPT-2 files carry.
var hfBuffer = regexp.MustCompile(`^h\.(\d+)\.attn\.(bias|masked_bias)$`)

// LoadParams loads a checkpoint directory: ours, or a Hugging Face GPT-2,
// GPT-NeoX, Llama, Qwen2 or Mistral directory as downloaded (the latter in
// one model.safetensors or sharded with model.safetensors.index.json; see
// docs/models.md). For GPT-2: Tensor names may carry the "transformer." prefix
// (GPT2LMHeadModel) or not (GPT2Model); the buffers h.N.attn.bias and
// h.N.attn.masked_bias are ignored; a missing lm_head.bias is zeros; with
// tied embeddings a stored lm_head.weight must equal wte.weight. Every other
// parameter the config implies must be present with exactly its shape, and
// nothing else may be. F16, BF16 and F64 weights are converted to float32.
// Tensors are read one at a time straight into the Params buffer, so peak
// memory stays near the size of the weights.
func LoadParams(dir string) (Config, *Params, error) {
	return loadParamsDir(dir, false)
}

// loadParamsDir is LoadParams; with untie, a tied checkpoint is loaded
// straight into the untied layout (Config.Untied set, lm_head.weight a copy
// of wte.weight), so that untying costs no second buffer.
func loadParamsDir(dir string, untie bool) (Config, *Params, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return Config{}, nil, err
	}
	if cfg.HFArchitecture != "" && cfg.HFArchitecture != ArchGPT2 {
		p, err := loadArchParams(dir, cfg, cfg.HFArchitecture, untie)
		if err != nil {
			return Config{}, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		if untie {
			cfg.Untied = true
		}
		return cfg, p, nil
	}
	path := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		hint := ""
		if _, e := os.Stat(filepath.Join(dir, "model.safetensors.index.json")); e == nil {
			hint = " (sharded safetensors checkpoints are not supported; merge the shards into one model.safetensors)"
		} else if _, e := os.Stat(filepath.Join(dir, "pytorch_model.bin")); e == nil {
			hint = " (only pytorch_model.bin is present; convert it to model.safetensors)"
		}
		return Config{}, nil, fmt.Errorf("checkpoint %s: missing %s%s: %w", dir, WeightsFile, hint, err)
	}
	layout := ParamLayout(cfg)
	f, err := safetensors.OpenLimited(path, maxTensors(cfg, layout))
	if err != nil {
		return Config{}, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	defer f.Close()
	p, err := loadParams(cfg, layout, f, untie)
	if err != nil {
		return Config{}, nil, fmt.Errorf("checkpoint %s: %s and %s disagree: %w", dir, ConfigFile, WeightsFile, err)
	}
	if untie {
		cfg.Untied = true
	}
	return cfg, p, nil
}

// maxTensors bounds the tensors a weights file for cfg may hold: a file of
// the right model holds every parameter, Hugging Face's two attention
// buffers per layer and perhaps a tied lm_head.weight. The loader refuses a
// header with more than that (plus 64, so that a file a layer or a few
// tensors off still gets the message naming them) before building anything
// per entry.
func maxTensors(cfg Config, layout []Param) int {
	return len(layout) + 2*cfg.NLayers + 1 + 64
}

// loadParams reads f into parameters laid out for cfg (layout is
// ParamLayout(cfg)).
func loadParams(cfg Config, layout []Param, f *safetensors.File, untie bool) (*Params, error) {
	// Guard ParamLayout against an absurd n_layer before building it.
	if cfg.NLayers > len(f.Entries) {
		return nil, fmt.Errorf("n_layer is %d but %s holds only %d tensors", cfg.NLayers, WeightsFile, len(f.Entries))
	}
	want := make(map[string]bool, len(layout))
	for _, q := range layout {
		want[q.Name] = true
	}
	src := make(map[string]safetensors.Entry, len(layout)) // our name -> file entry
	var unexpected, missing nameSample
	var tiedHead *safetensors.Entry
	for i := range f.Entries {
		e := f.Entries[i]
		name := strings.TrimPrefix(e.Name, "transformer.")
		if m := hfBuffer.FindStringSubmatch(name); m != nil {
			if l, err := strconv.Atoi(m[1]); err == nil && l < cfg.NLayers {
				continue
			}
		}
		if name == "lm_head.weight" && !cfg.Untied {
			tiedHead = &f.Entries[i]
			continue
		}
		if !want[name] {
			unexpected.add(e.Name)
			continue
		}
		if prev, dup := src[name]; dup {
			return nil, fmt.Errorf("tensor %s is stored twice, as %q and %q", name, prev.Name, e.Name)
		}
		src[name] = e
	}
	var problems []string
	for _, q := range layout {
		e, ok := src[q.Name]
		if !ok {
			if q.Name != "lm_head.bias" {
				missing.add(q.Name)
			}
			continue
		}
		if !e.Convertible() {
			problems = append(problems, fmt.Sprintf("tensor %s has dtype %s, want a float type", e.Name, e.DType))
		} else if !slices.Equal(e.Shape, q.Shape) {
			problems = append(problems, shapeProblem(e.Name, e.Shape, q.Shape))
		}
	}
	if tiedHead != nil {
		if wte := layout[slices.IndexFunc(layout, func(q Param) bool { return q.Name == "wte.weight" })]; !slices.Equal(tiedHead.Shape, wte.Shape) {
			problems = append(problems, shapeProblem(tiedHead.Name, tiedHead.Shape, wte.Shape))
		}
	}
	if missing.n > 0 {
		problems = append(problems, "missing tensors "+missing.String())
	}
	if unexpected.n > 0 {
		problems = append(problems, "unexpected tensors "+unexpected.String())
	}
	if len(problems) > 0 {
		if cfg.Untied && slices.Contains(missing.names, "lm_head.weight") {
			problems = append(problems, "tie_word_embeddings is false, so lm_head.weight is needed")
		}
		return nil, errors.New(strings.Join(problems, "; "))
	}

	// Every shape is now checked against the file, so the allocation below
	// is bounded by the file's size.
	dst := cfg
	dst.Untied = dst.Untied || untie
	p := NewParams(dst)
	for _, q := range layout {
		e, ok := src[q.Name]
		if !ok {
			continue // lm_head.bias: zeros
		}
		if err := f.ReadInto(e.Name, p.slice(q.Name)); err != nil {
			return nil, err
		}
	}
	if tiedHead != nil {
		wte := p.slice("wte.weight")
		if err := checkTied(f, tiedHead.Name, wte, "wte.weight"); err != nil {
			return nil, err
		}
	}
	if untie && !cfg.Untied {
		copy(p.slice("lm_head.weight"), p.slice("wte.weight"))
	}
	return p, nil
}

// checkTied reads the stored head name from f and reports the first
// element that differs from the embedding wte (called embName in the
// message), as a tied checkpoint's head must equal it (NaN equals NaN).
func checkTied(f *safetensors.File, name string, wte []float32, embName string) error {
	return f.ReadChunks(name, func(off int, vals []float32) error {
		for i, v := range vals {
			if v != wte[off+i] && !(v != v && wte[off+i] != wte[off+i]) {
				return fmt.Errorf("tie_word_embeddings is true but %s differs from %s at element %d (%g vs %g)", name, embName, off+i, v, wte[off+i])
			}
		}
		return nil
	})
}

func shapeProblem(name string, got, want []int) string {
	s := fmt.Sprintf("tensor %s has shape %s, %s implies %s", name, tensor.ShapeString(got), ConfigFile, tensor.ShapeString(want))
	if len(got) == 2 && len(want) == 2 && got[0] == want[1] && got[1] == want[0] && got[0] != got[1] {
		s += " (transposed? Conv1D weights are stored [in,out])"
	}
	return s
}

// nameSample counts names and keeps the first few for a message, so that a
// file of a hundred thousand unexpected tensors costs no list of them.
type nameSample struct {
	names []string
	n     int
}

const nameSampleMax = 10

func (s *nameSample) add(name string) {
	if s.n < nameSampleMax {
		s.names = append(s.names, name)
	}
	s.n++
}

func (s nameSample) String() string {
	if s.n > len(s.names) {
		return fmt.Sprintf("%s and %d more", strings.Join(s.names, ", "), s.n-len(s.names))
	}
	return strings.Join(s.names, ", ")
}

// SaveParams writes a checkpoint directory: config.json and
// model.safetensors (F32, names sorted, metadata format=pt), as the Hugging
// Face class the architecture maps to (Config.HFArchitecture, else GPT-2,
// GPT-NeoX, Llama or Qwen2, the first that expresses it; an error if none
// does). lm_head.bias is
// left out when it is all zeros, so that a plain GPT-2 checkpoint holds
// exactly Hugging Face's tensors. Each extra function runs with the
// temporary directory before it is moved into place, so that callers can
// add files (training state) that appear atomically with the model. The
// whole directory is written atomically (atomicfile.WriteDir): a crash leaves
// either the previous checkpoint or the new one at dir.
func SaveParams(dir string, cfg Config, p *Params, extra ...func(tmpDir string) error) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if p == nil {
		return fmt.Errorf("checkpoint %s: nil params", dir)
	}
	if _, err := FromParams(cfg, p); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if n := len(p.Data); n != paramCount(cfg) {
		return fmt.Errorf("checkpoint %s: params hold %d values, config implies %d", dir, n, paramCount(cfg))
	}
	arch, err := hfArchOf(cfg)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if arch != ArchGPT2 {
		if err := saveArch(dir, cfg, p, arch, extra); err != nil {
			return fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		return nil
	}
	cj, err := MarshalHFConfig(cfg)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	tensors := make(map[string]*tensor.Tensor, len(p.List()))
	for _, q := range p.List() {
		t := p.Get(q.Name)
		if q.Name == "lm_head.bias" && allZero(t.Data) {
			continue
		}
		tensors[q.Name] = t
	}
	if err := writeCheckpointDir(dir, cj, tensors, extra); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return nil
}

// writeCheckpointDir writes config.json and model.safetensors (metadata
// format=pt) into dir atomically (atomicfile.WriteDir, which syncs every
// file before the rename), running each extra function on the temporary
// directory first.
func writeCheckpointDir(dir string, configJSON []byte, tensors map[string]*tensor.Tensor, extra []func(tmpDir string) error) error {
	return atomicfile.WriteDir(dir, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, ConfigFile), configJSON, 0o644); err != nil {
			return err
		}
		if err := safetensors.Write(filepath.Join(tmp, WeightsFile), tensors, map[string]string{"format": "pt"}); err != nil {
			return err
		}
		for _, fn := range extra {
			if err := fn(tmp); err != nil {
				return err
			}
		}
		return nil
	})
}

func paramCount(cfg Config) int {
	n := 0
	for _, q := range ParamLayout(cfg) {
		n += tensor.Numel(q.Shape)
	}
	return n
}

func allZero(s []float32) bool {
	for _, v := range s {
		if math.Float32bits(v) != 0 {
			return false
		}
	}
	return true
}

// WrittenByMechinterp reports whether dir/config.json carries the
// mechinterp_format_version key that SaveParams writes, telling a checkpoint
// saved here (whose vocabulary may be byte-level) from one downloaded from
// Hugging Face (whose token ids only its own tokenizer files give).
func WrittenByMechinterp(dir string) bool {
	b, err := config.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(b, &keys) != nil {
		return false
	}
	_, ok := keys["mechinterp_format_version"]
	return ok
}
