package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal), the
// condition under which a progress bar is worth drawing.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws one status line, redrawn in place at most every
// progressEvery: step/total, a bar, the loss, tokens/s and the ETA.
type progress struct {
	w          io.Writer
	total      int
	start      time.Time
	startStep  int
	last       time.Time
	drawn      bool
	lastLength int
}

const progressEvery = 200 * time.Millisecond

func newProgress(w io.Writer, startStep, total int) *progress {
	if w == nil {
		return nil
	}
	now := time.Now()
	return &progress{w: w, total: total, start: now, startStep: startStep}
}

func (p *progress) update(step int, loss float32, tokensPerSec float64, force bool) {
	if p == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	const width = 24
	frac := float64(step) / float64(max(p.total, 1))
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	eta := "?"
	if done := step - p.startStep; done > 0 {
		left := time.Duration(float64(now.Sub(p.start)) / float64(done) * float64(p.total-step))
		eta = left.Round(time.Second).String()
	}
	line := fmt.Sprintf("step %d/%d [%s] loss %.4f  %s tok/s  ETA %s", step, p.total, bar, loss, humanRate(tokensPerSec), eta)
	pad := ""
	if len(line) < p.lastLength {
		pad = strings.Repeat(" ", p.lastLength-len(line))
	}
	p.lastLength = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.drawn = true
}

// done ends the status line.
func (p *progress) done() {
	if p != nil && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func humanRate(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
