package sae

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
)

// CheckpointFile is the training state in Config.CheckpointDir.
const CheckpointFile = "sae_checkpoint.gob"

// checkpoint is everything fit needs to go on from a step exactly as if
// it had never stopped: parameters, Adam's moments and step count,
// BatchTopK's threshold, AuxK's counters, the dead-window counts, the
// curves so far, and the number of rows consumed (the row source is
// replayed that far on resume, so a seeded source gives the same rows).
type checkpoint struct {
	Config       Config
	Step, Seen   int
	P, M, V      []float64
	AdamT        int
	Thr          float64
	Since, Fires []int
	AccL, AccM   float64
	Cnt          int
	LossSteps    []int
	Loss, MSE    []float64
}

// sameRun reports whether two configs train the same SAE (checkpoint
// settings aside).
func sameRun(a, b Config) bool {
	a.CheckpointDir, a.CheckpointEvery = "", 0
	b.CheckpointDir, b.CheckpointEvery = "", 0
	return reflect.DeepEqual(a, b)
}

func (t *trainer[T]) saveCheckpoint(dir string, c *checkpoint) error {
	c.P, c.M, c.V = f64s(t.p), f64s(t.opt.M), f64s(t.opt.V)
	c.AdamT, c.Thr = t.opt.T, t.thr
	c.Since = append([]int(nil), t.aux.since...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, CheckpointFile), func(w io.Writer) error {
		return gob.NewEncoder(w).Encode(c)
	})
}

// loadCheckpoint reads dir's checkpoint into t (false: there is none).
func (t *trainer[T]) loadCheckpoint(dir string, cfg Config) (*checkpoint, bool, error) {
	f, err := os.Open(filepath.Join(dir, CheckpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	var c checkpoint
	if err := gob.NewDecoder(f).Decode(&c); err != nil {
		return nil, false, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if !sameRun(c.Config, cfg) {
		return nil, false, fmt.Errorf("%s was written by another configuration (%+v); give another checkpoint directory", f.Name(), c.Config)
	}
	if len(c.P) != len(t.p) || len(c.M) != len(t.p) || len(c.V) != len(t.p) || len(c.Fires) != t.f || c.Step > cfg.Steps {
		return nil, false, fmt.Errorf("%s: malformed checkpoint", f.Name())
	}
	for i := range t.p {
		t.p[i], t.opt.M[i], t.opt.V[i] = T(c.P[i]), T(c.M[i]), T(c.V[i])
	}
	t.opt.T, t.thr = c.AdamT, c.Thr
	if c.Since != nil {
		t.aux.since = append([]int(nil), c.Since...)
	}
	return &c, true, nil
}
