package attention

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// Models serves the checkpoints of one model or of a training run to the explorer: its
// Attention method is the server's Func. It loads checkpoints on demand, keeps the few most
// recently used (KeepModels), and labels each checkpoint's heads once, the first time it is
// shown. Set the fields before the first call; the methods are safe for concurrent use.
type Models struct {
	// Dirs holds one checkpoint directory per entry of ServerOptions.Checkpoints (one for a
	// single model).
	Dirs []string
	// Steps, when set, holds the training step of each checkpoint, shown beside the title.
	Steps []int
	// MaxTokens refuses longer prompts (0: no limit beyond the model's context).
	MaxTokens int
	// Tokenize turns a prompt (text, or comma-separated ids when ids is set) into token ids
	// for m, loaded from dir, and the tokenizer that names them (nil: show the ids).
	Tokenize func(m *models.Model, dir, prompt string, ids bool) ([]int, tokenizer.Tokenizer, error)
	// Heads, when set, labels every head of a checkpoint with a role and scores. Its error
	// leaves the page without labels and goes to Warn.
	Heads func(m *models.Model) ([][]HeadInfo, error)
	// Warn, when set, receives the errors of Heads (one line each).
	Warn func(format string, args ...any)

	mu     sync.Mutex
	loaded map[int]*models.Model
	order  []int // least recently used first
	heads  map[int][][]HeadInfo
}

// KeepModels is how many checkpoints Models keeps loaded.
const KeepModels = 4

// Model returns checkpoint i, loading it if it is not among the last KeepModels used.
func (s *Models) Model(i int) (*models.Model, error) {
	if i < 0 || i >= len(s.Dirs) {
		return nil, fmt.Errorf("no checkpoint %d (the run has %d)", i, len(s.Dirs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.loaded[i]; ok {
		s.touch(i)
		return m, nil
	}
	m, err := models.Load(s.Dirs[i])
	if err != nil {
		return nil, err
	}
	if s.loaded == nil {
		s.loaded = map[int]*models.Model{}
	}
	if len(s.order) >= KeepModels {
		delete(s.loaded, s.order[0])
		s.order = s.order[1:]
	}
	s.loaded[i] = m
	s.order = append(s.order, i)
	return m, nil
}

func (s *Models) touch(i int) {
	for j, k := range s.order {
		if k == i {
			s.order = append(append(s.order[:j:j], s.order[j+1:]...), i)
			return
		}
	}
}

// headInfo returns checkpoint i's head labels, computing them the first time; nil when
// Heads is unset or fails.
func (s *Models) headInfo(i int, m *models.Model) [][]HeadInfo {
	if s.Heads == nil {
		return nil
	}
	s.mu.Lock()
	info, ok := s.heads[i]
	s.mu.Unlock()
	if ok {
		return info
	}
	info, err := s.Heads(m)
	if err != nil && s.Warn != nil {
		s.Warn("no head roles for %s: %v", s.Dirs[i], err)
	}
	s.mu.Lock()
	if s.heads == nil {
		s.heads = map[int][][]HeadInfo{}
	}
	s.heads[i] = info
	s.mu.Unlock()
	return info
}

// Attention answers one request of the explorer: it tokenizes the prompt for the chosen
// checkpoint, runs it (Compute) and labels the heads. Its errors are meant for the page.
func (s *Models) Attention(ctx context.Context, req Request) (*Data, error) {
	if s.Tokenize == nil {
		return nil, errors.New("attention: Models.Tokenize is nil")
	}
	m, err := s.Model(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	dir := s.Dirs[req.Checkpoint]
	if req.Tokens && strings.Contains(req.Prompt, ";") {
		return nil, errors.New("give one prompt (no ';')")
	}
	ids, tok, err := s.Tokenize(m, dir, req.Prompt, req.Tokens)
	if err != nil {
		return nil, err
	}
	if s.MaxTokens > 0 && len(ids) > s.MaxTokens {
		return nil, fmt.Errorf("the prompt is %d tokens; this server shows at most %d", len(ids), s.MaxTokens)
	}
	d, err := Compute(ctx, m, ids, tok)
	if err != nil {
		return nil, err
	}
	d.Title = ModelTitle(dir)
	if s.Steps != nil {
		d.Step, d.HasStep = s.Steps[req.Checkpoint], true
	}
	d.Heads = s.headInfo(req.Checkpoint, m)
	return d, nil
}
