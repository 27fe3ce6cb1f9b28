package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
)

// Metrics is one line of metrics.jsonl. Step s is the s-th update: Loss is
// the training loss of the batch that update used (the weights after s−1
// updates), LR the learning rate it applied and GradNorm the global gradient
// norm before clipping. EvalLoss, when present, is the held-out loss of the
// weights after the update (the weights of checkpoint step s). The line of
// step 0 has only the held-out loss of the initialization.
type Metrics struct {
	Step     int      `json:"step"`
	Tokens   int64    `json:"tokens"`
	Loss     *float64 `json:"loss,omitempty"`
	LR       float64  `json:"lr"`
	GradNorm *float64 `json:"grad_norm,omitempty"`
	EvalLoss *float64 `json:"eval_loss,omitempty"`
	// Time is the wall time in seconds since the run began, across resumes.
	Time float64 `json:"time_s"`
	// TokensPerSecond is the training throughput since this process started
	// (or resumed) the run.
	TokensPerSecond float64 `json:"tokens_per_s"`
}

// ReadMetrics reads a metrics.jsonl file. A torn last line (a crash while
// writing it) is ignored.
func ReadMetrics(path string) ([]Metrics, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var out []Metrics
	lines := bytes.Split(b, []byte("\n"))
	for i, ln := range lines {
		if len(bytes.TrimSpace(ln)) == 0 {
			continue
		}
		var m Metrics
		if err := json.Unmarshal(ln, &m); err != nil {
			if i == len(lines)-1 {
				break // torn last line
			}
			return nil, fmt.Errorf("train: %s line %d: %w", path, i+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// metricsLog appends one JSON object per line, each with a single write to
// a file opened for appending, so a crash leaves whole lines only (or a torn
// last one, which ReadMetrics skips and a resume removes).
type metricsLog struct {
	f   *os.File
	buf []byte
}

// openMetrics opens run/metrics.jsonl for appending. keepThrough >= 0 first
// drops every line with a step above it, and any torn line, so that a
// resumed run continues the log of its checkpoint; the file is rewritten
// atomically. keepThrough < 0 (a run starting from step 0) empties it.
func openMetrics(run string, keepThrough int) (*metricsLog, error) {
	path := filepath.Join(run, MetricsFile)
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if keepThrough >= 0 {
		if err := truncateMetrics(path, keepThrough); err != nil {
			return nil, err
		}
	} else {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &metricsLog{f: f}, nil
}

func truncateMetrics(path string, keepThrough int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		ln := sc.Bytes()
		var m struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(ln, &m) != nil || m.Step == nil || *m.Step > keepThrough {
			continue
		}
		kept.Write(ln)
		kept.WriteByte('\n')
	}
	if bytes.Equal(kept.Bytes(), b) {
		return nil
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(kept.Bytes())
		return err
	})
}

func (l *metricsLog) write(m *Metrics) error {
	var err error
	l.buf, err = appendJSON(l.buf[:0], m)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(l.buf); err != nil {
		return fmt.Errorf("train: writing %s: %w", l.f.Name(), err)
	}
	return nil
}

func appendJSON(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("train: encoding metrics: %w", err)
	}
	dst = append(dst, b...)
	return append(dst, '\n'), nil
}

func (l *metricsLog) close() error { return l.f.Close() }
