package hooks

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mechinterp/mechinterp/models"
)

// Filter selects hook-point names. It is built from exact names and glob
// patterns in which * matches any run of characters, so
// "blocks.*.attn.hook_pattern" selects every layer's pattern.
type Filter struct {
	patterns []string
	res      []*regexp.Regexp
}

// NewFilter builds a filter from names and patterns; each argument may itself
// hold several, separated by commas. "*" selects everything.
func NewFilter(patterns ...string) (Filter, error) {
	var f Filter
	for _, arg := range patterns {
		for _, p := range strings.Split(arg, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*") + "$")
			if err != nil {
				return Filter{}, fmt.Errorf("hooks: bad pattern %q: %w", p, err)
			}
			f.patterns = append(f.patterns, p)
			f.res = append(f.res, re)
		}
	}
	if len(f.res) == 0 {
		return Filter{}, fmt.Errorf("hooks: empty filter")
	}
	return f, nil
}

// MustFilter is NewFilter for patterns known to be valid; it panics otherwise.
func MustFilter(patterns ...string) Filter {
	f, err := NewFilter(patterns...)
	if err != nil {
		panic(err)
	}
	return f
}

// Match reports whether the filter selects name. The zero Filter selects nothing.
func (f Filter) Match(name string) bool {
	for _, re := range f.res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// Empty reports whether the filter selects nothing.
func (f Filter) Empty() bool { return len(f.res) == 0 }

// String returns the patterns joined by commas.
func (f Filter) String() string { return strings.Join(f.patterns, ",") }

// Check returns an error naming any pattern that selects no hook point of a
// model with this config, so a typo is reported instead of an empty cache.
// Patterns ending in "_grad" are checked against the gradient names.
func (f Filter) Check(c models.Config) error {
	names := models.AllHookNames(c)
	for i, re := range f.res {
		hit := false
		for _, n := range names {
			if re.MatchString(n) || re.MatchString(n+"_grad") {
				hit = true
				break
			}
		}
		if !hit {
			return fmt.Errorf("hooks: %q matches no hook point of this model (see docs/hooks.md for names)", f.patterns[i])
		}
	}
	return nil
}
