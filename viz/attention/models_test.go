package attention

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// idsOnly reads comma-separated ids; it stands in for the CLI's tokenizer lookup.
func idsOnly(m *models.Model, dir, prompt string, ids bool) ([]int, tokenizer.Tokenizer, error) {
	if !ids {
		return nil, nil, fmt.Errorf("%s has no tokenizer: give token ids", dir)
	}
	var out []int
	for _, f := range strings.Split(prompt, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, nil, err
		}
		out = append(out, n)
	}
	return out, nil, m.CheckTokens(out, 1, len(out))
}

// TestModels: a run of KeepModels+1 checkpoints answers every request with its own step and
// title, keeps KeepModels loaded, labels each checkpoint's heads once, and turns bad prompts
// into errors for the page.
func TestModels(t *testing.T) {
	m := testmodel.New(t, computeConfig)
	run := t.TempDir()
	s := &Models{MaxTokens: 8, Tokenize: idsOnly}
	for i := range KeepModels + 1 {
		dir := filepath.Join(run, "checkpoints", fmt.Sprintf("step-%06d", 100*i))
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		s.Dirs, s.Steps = append(s.Dirs, dir), append(s.Steps, 100*i)
	}
	var labelled atomic.Int32
	s.Heads = func(m *models.Model) ([][]HeadInfo, error) {
		labelled.Add(1)
		out := make([][]HeadInfo, m.Config.NLayers)
		for l := range out {
			out[l] = make([]HeadInfo, m.Config.NHeads)
		}
		return out, nil
	}
	ctx := context.Background()
	for _, i := range []int{0, 1, 2, 3, 4, 0, 4} {
		d, err := s.Attention(ctx, Request{Prompt: "1,2,3", Tokens: true, Checkpoint: i})
		if err != nil {
			t.Fatal(err)
		}
		if !d.HasStep || d.Step != 100*i || d.Title != filepath.Join("checkpoints", fmt.Sprintf("step-%06d", 100*i)) || len(d.Heads) != 2 {
			t.Errorf("checkpoint %d: step %d (%v), title %q, %d layers of labels", i, d.Step, d.HasStep, d.Title, len(d.Heads))
		}
		if err := d.Validate(); err != nil {
			t.Errorf("checkpoint %d: %v", i, err)
		}
	}
	if n := len(s.loaded); n != KeepModels {
		t.Errorf("%d checkpoints loaded, want %d", n, KeepModels)
	}
	if n := labelled.Load(); n != KeepModels+1 {
		t.Errorf("heads labelled %d times, want once per checkpoint (%d)", n, KeepModels+1)
	}
	for _, tt := range []struct {
		req  Request
		want string
	}{
		{Request{Prompt: "1,2;3,4", Tokens: true}, "give one prompt (no ';')"},
		{Request{Prompt: "1,2,3,4,5,6,7,8,9", Tokens: true}, "the prompt is 9 tokens; this server shows at most 8"},
		{Request{Prompt: "hello"}, "has no tokenizer"},
		{Request{Prompt: "1", Tokens: true, Checkpoint: 9}, "no checkpoint 9 (the run has 5)"},
	} {
		if _, err := s.Attention(ctx, tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.req, err, tt.want)
		}
	}
}
