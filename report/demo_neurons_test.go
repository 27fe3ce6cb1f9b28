package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestNeuronsDemoSmall runs the neurons demo end to end at toy sizes (the
// corpus is still the whole Go distribution, so it takes a minute: it runs
// with MECHINTERP_LONG_TESTS=1).
func TestNeuronsDemoSmall(t *testing.T) {
	if os.Getenv("MECHINTERP_LONG_TESTS") == "" {
		t.Skip("reads and tokenizes the whole Go corpus; set MECHINTERP_LONG_TESTS=1")
	}
	out := t.TempDir()
	var log bytes.Buffer
	o := NeuronsDemoOptions{Vocab: 4096, Steps: 20, SAESteps: 20, SAEWidth: 256, K: 8, Contexts: 32, MaxTokBytes: 1 << 20}
	res, err := NeuronsDemo(context.Background(), out, &log, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Log(log.String())
	if res.Metrics.L0 > 8 || res.Concentration.Neurons == 0 {
		t.Errorf("metrics %+v, concentration %+v", res.Metrics, res.Concentration)
	}
	for _, f := range []string{IndexPage, NeuronsPage, FeaturesPage, ComparePage} {
		if _, err := os.Stat(filepath.Join(out, NeuronsDemoReport, f)); err != nil {
			t.Error(err)
		}
	}
	// A second run reuses everything.
	log.Reset()
	if _, err := NeuronsDemo(context.Background(), out, &log, o); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log.Bytes(), []byte("training a TopK SAE")) {
		t.Errorf("the second run trained the SAE again:\n%s", log.String())
	}
}
