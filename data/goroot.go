package data

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// KindGoroot is the [Config] kind of the built-in Go corpus ([NewGoroot]).
const KindGoroot = "goroot"

// GorootConfig configures the built-in corpus: the sources and documentation
// of the Go distribution that builds this program, English comments and
// code, present on every machine that can build it.
type GorootConfig struct {
	// Paths are directories or files relative to GOROOT (default "src" and
	// "doc"). Directories named testdata are skipped.
	Paths []string `json:"paths" mapstructure:"paths" yaml:"paths"`
	// Extensions are the files taken from directories (default .go, .md,
	// .html, .txt).
	Extensions []string `json:"extensions" mapstructure:"extensions" yaml:"extensions"`
	// Tokenizer is "byte" (default) or a directory holding a GPT-2
	// vocab.json and merges.txt (as `mechinterp tokenizer train` writes).
	Tokenizer string `json:"tokenizer" mapstructure:"tokenizer" yaml:"tokenizer"`
	// MaxMemoryTokens and Order are [TextConfig]'s.
	MaxMemoryTokens int64  `json:"max_memory_tokens" mapstructure:"max_memory_tokens" yaml:"max_memory_tokens"`
	Order           string `json:"order,omitempty" mapstructure:"order" yaml:"order"`
}

// GorootDefaultPaths are the GOROOT directories the corpus reads by default.
var GorootDefaultPaths = []string{"src", "doc"}

// GorootDefaultExtensions are the file types the corpus reads by default.
var GorootDefaultExtensions = []string{".go", ".md", ".html", ".txt"}

// WithDefaults fills the fields left at zero with the defaults.
func (c GorootConfig) WithDefaults() GorootConfig {
	if len(c.Paths) == 0 {
		c.Paths = append([]string(nil), GorootDefaultPaths...)
	}
	if len(c.Extensions) == 0 {
		c.Extensions = append([]string(nil), GorootDefaultExtensions...)
	}
	if c.Tokenizer == "" {
		c.Tokenizer = TokenizerByte
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults) without
// touching the files.
func (c GorootConfig) Validate() error {
	for _, p := range c.Paths {
		if filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..") {
			return fmt.Errorf("data: goroot: path %q must be relative to GOROOT and inside it", p)
		}
	}
	t, err := c.text("GOROOT")
	if err != nil {
		return err
	}
	return t.WithDefaults().Validate()
}

// text is the [TextConfig] that reads c below root.
func (c GorootConfig) text(root string) (TextConfig, error) {
	t := TextConfig{Format: FormatText, Extensions: c.Extensions, Tokenizer: c.Tokenizer,
		MaxMemoryTokens: c.MaxMemoryTokens, Order: c.Order, SkipDirs: []string{"testdata"}}
	for _, p := range c.Paths {
		t.Paths = append(t.Paths, filepath.Join(root, filepath.FromSlash(p)))
	}
	return t, nil
}

// TextConfig returns the [TextConfig] that reads the corpus c describes
// from this machine's GOROOT (see [Goroot]).
func (c GorootConfig) TextConfig() (TextConfig, error) {
	root, err := Goroot()
	if err != nil {
		return TextConfig{}, err
	}
	return c.WithDefaults().text(root)
}

// NewGoroot returns the Go corpus c describes as a [Text] source.
func NewGoroot(c GorootConfig, seed uint64) (*Text, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t, err := c.TextConfig()
	if err != nil {
		return nil, err
	}
	return NewText(t, nil, seed)
}

var (
	gorootOnce sync.Once
	gorootDir  string
	gorootErr  error
)

// Goroot returns the root of the Go distribution: $GOROOT when set, else
// what `go env GOROOT` prints, else the root this program was built with
// (runtime.GOROOT). It must hold src/.
func Goroot() (string, error) {
	gorootOnce.Do(func() {
		var cands []string
		if r := os.Getenv("GOROOT"); r != "" {
			cands = append(cands, r)
		}
		if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
			cands = append(cands, strings.TrimSpace(string(out)))
		}
		cands = append(cands, runtime.GOROOT())
		for _, r := range cands {
			if st, err := os.Stat(filepath.Join(r, "src")); r != "" && err == nil && st.IsDir() {
				gorootDir = r
				return
			}
		}
		gorootErr = errors.New("data: goroot: no Go distribution found (set GOROOT to a directory holding src/)")
	})
	return gorootDir, gorootErr
}
