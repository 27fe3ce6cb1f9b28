package circuits

import (
	"errors"
	"fmt"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/run"
)

// heldOutBase is the first sequence index LensSequences draws held-out
// sequences from: far beyond any training run's (steps x batch) sequences.
const heldOutBase = 1 << 50

// LensSequences returns n sequences of T tokens from the token source of
// the training run in runDir (its run.yaml): the first n of the source for
// training a tuned lens, or with heldOut n sequences from far past anything
// a run trains on, for measuring it.
func LensSequences(runDir string, n, T int, heldOut bool) ([][]int, error) {
	if n <= 0 || T <= 0 {
		return nil, fmt.Errorf("circuits: %d sequences of %d tokens", n, T)
	}
	cfg, err := run.ReadConfig(runDir)
	if err != nil {
		return nil, err
	}
	src, err := data.New(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("circuits: the run's data: %w", err)
	}
	var base uint64
	if heldOut {
		base = heldOutBase
	}
	out := make([][]int, n)
	row := make([]int, T+1)
	for i := range out {
		if _, err := src.Sequence(base+uint64(i), row); err != nil {
			return nil, fmt.Errorf("circuits: the run's data: %w", err)
		}
		out[i] = append([]int(nil), row[:T]...)
	}
	return out, nil
}

// TextSequences cuts tokens into consecutive windows of T tokens (the last
// partial one dropped) and holds out the first heldOutFraction of them.
func TextSequences(tokens []int, T int, heldOutFraction float64) (trainSeqs, heldOut [][]int, err error) {
	if T <= 0 {
		return nil, nil, errors.New("circuits: window length must be positive")
	}
	var all [][]int
	for i := 0; i+T <= len(tokens); i += T {
		all = append(all, tokens[i:i+T])
	}
	k := int(float64(len(all)) * heldOutFraction)
	if len(all) < 2 || k < 1 || k >= len(all) {
		return nil, nil, fmt.Errorf("circuits: %d tokens make %d windows of %d: too few to hold out %.0f%%", len(tokens), len(all), T, 100*heldOutFraction)
	}
	return all[k:], all[:k], nil
}
