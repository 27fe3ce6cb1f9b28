package repeated

import (
	"context"
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

// ExecuteShard trains and measures one shard of s's runs (Execute with o, its Event set to a
// Tally). On progress (nil: nothing) it prints a header line naming the study, the number of
// runs, the shard and o.Dir, then a line per event. It returns the tally and Execute's error.
func ExecuteShard(ctx context.Context, s Study, shard Shard, o Options, progress io.Writer) (*Tally, error) {
	runs := shard.Of(s.Runs())
	t := &Tally{W: progress, Total: len(runs)}
	if progress != nil {
		part := ""
		if shard.N > 1 {
			part = fmt.Sprintf(" (shard %d/%d)", shard.I, shard.N)
		}
		fmt.Fprintf(progress, "study %q: %d runs%s into %s\n", s.Name, len(runs), part, o.Dir)
	}
	o.Event = t.Event
	return t, Execute(ctx, s, runs, o)
}
