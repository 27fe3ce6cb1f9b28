package attention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// computeConfig is a small model with sharp enough patterns (a large initial scale) that the
// heads differ visibly.
var computeConfig = models.Config{NLayers: 2, NHeads: 3, DModel: 24, NCtx: 16, DVocab: 20, AttnOnly: true, InitializerRange: 0.5, Seed: 5}

// TestComputeIsHookPattern: Compute returns each head's hook_pattern, and the page built from
// it stores every causal weight within half a 16-bit step of the model's.
func TestComputeIsHookPattern(t *testing.T) {
	m := testmodel.New(t, computeConfig)
	ids := []int{0, 3, 7, 11, 19, 3, 7, 11, 19, 2, 5, 3}
	T := len(ids)
	d, err := Compute(context.Background(), m, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Tokens, ","); got != "0,3,7,11,19,3,7,11,19,2,5,3" {
		t.Errorf("tokens without a tokenizer %q, want the ids", got)
	}
	_, cache, err := hooks.RunWithCache(m, ids, 1, T, hooks.MustFilter("blocks.*.attn.hook_pattern"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Page(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	html := mustHTML(t, r)
	match := regexp.MustCompile(`(?s)id="mi-data-attention">(.*?)</script>`).FindStringSubmatch(html)
	if match == nil {
		t.Fatal("the page holds no attention data")
	}
	var p attentionPayload
	if err := json.Unmarshal([]byte(match[1]), &p); err != nil {
		t.Fatal(err)
	}
	stored := decodePayload(t, &p)
	worst := 0.0
	for l := range computeConfig.NLayers {
		want := cache.Get(models.ActName("pattern", l)).Data
		for h := range computeConfig.NHeads {
			j := 0
			for q := range T {
				for k := 0; k < T; k++ {
					w := want[h*T*T+q*T+k]
					if d.Patterns[l][h][q*T+k] != w {
						t.Fatalf("L%dH%d [%d,%d]: Compute %g, hook_pattern %g", l, h, q, k, d.Patterns[l][h][q*T+k], w)
					}
					if k <= q {
						worst = math.Max(worst, math.Abs(stored[l][h][j]-float64(w)))
						j++
					}
				}
			}
		}
	}
	if tol := 0.5/65535 + 1e-7; worst > tol {
		t.Errorf("stored weights differ from hook_pattern by up to %g, want <= %g", worst, tol)
	}
}

func TestComputeTokens(t *testing.T) {
	cfg := computeConfig
	cfg.DVocab = 257
	m := testmodel.New(t, cfg)
	d, err := Compute(context.Background(), m, []int{'a', 'b', '\n'}, tokenizer.Byte{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q", d.Tokens); got != `["a" "b" "\n"]` {
		t.Errorf("tokens %s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compute(ctx, m, []int{1, 2}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Compute with a cancelled context: %v, want context.Canceled", err)
	}
}
