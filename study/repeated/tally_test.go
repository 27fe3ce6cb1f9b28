package repeated

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestTally: every event but start counts as done, failures are counted, and each prints
// its line with the count so far.
func TestTally(t *testing.T) {
	var w bytes.Buffer
	tl := &Tally{W: &w, Total: 3}
	a, b, c := Run{ID: "a"}, Run{ID: "b"}, Run{ID: "c"}
	for _, e := range []Event{
		{Run: a, Kind: "start", ResumedFrom: -1},
		{Run: b, Kind: "start", ResumedFrom: 8},
		{Run: a, Kind: "done", Elapsed: 2500 * time.Millisecond},
		{Run: b, Kind: "failed", Err: errors.New("nan loss\nat step 9")},
		{Run: c, Kind: "skip"},
	} {
		tl.Event(e)
	}
	want := "  a: training\n  b: training, resuming from step 8\n  a: done in 2 s (1/3)\n  b: failed: nan loss; at step 9\n  c: already complete (3/3)\n"
	if w.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", w.String(), want)
	}
	if tl.Done != 3 || tl.Failed != 1 {
		t.Errorf("done %d failed %d, want 3 and 1", tl.Done, tl.Failed)
	}
	quiet := &Tally{Total: 1}
	quiet.Event(Event{Run: a, Kind: "failed", Err: errors.New("x")})
	if quiet.Done != 1 || quiet.Failed != 1 {
		t.Errorf("quiet tally: done %d failed %d", quiet.Done, quiet.Failed)
	}
}
