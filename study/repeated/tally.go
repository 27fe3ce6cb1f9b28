package repeated

import (
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/internal/config"
)

// Tally counts the events of an Execute call (fit for Options.Event) and, when W is set,
// prints a line on W for each: a run starting (and where it resumes), skipped as complete
// or busy, done (with its time and the count so far), interrupted or failed.
type Tally struct {
	W     io.Writer // nil: count only
	Total int       // the runs asked for, for "(done/total)"
	// Done counts the runs that ended in any way (skipped included), Failed those that failed.
	Done, Failed int
}

// Event records e and prints its line.
func (t *Tally) Event(e Event) {
	if e.Kind != "start" {
		t.Done++
	}
	if e.Kind == "failed" {
		t.Failed++
	}
	if t.W == nil {
		return
	}
	switch e.Kind {
	case "start":
		from := ""
		if e.ResumedFrom >= 0 {
			from = fmt.Sprintf(", resuming from step %d", e.ResumedFrom)
		}
		fmt.Fprintf(t.W, "  %s: training%s\n", e.Run.ID, from)
	case "skip":
		fmt.Fprintf(t.W, "  %s: already complete (%d/%d)\n", e.Run.ID, t.Done, t.Total)
	case "busy":
		fmt.Fprintf(t.W, "  %s: another process is training it; skipped (%d/%d)\n", e.Run.ID, t.Done, t.Total)
	case "done":
		fmt.Fprintf(t.W, "  %s: done in %.0f s (%d/%d)\n", e.Run.ID, e.Elapsed.Seconds(), t.Done, t.Total)
	case "interrupted":
		fmt.Fprintf(t.W, "  %s: interrupted; its last checkpoint is saved\n", e.Run.ID)
	case "failed":
		fmt.Fprintf(t.W, "  %s: failed: %s\n", e.Run.ID, config.OneLine(e.Err))
	}
}
