package attention_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/mechinterp/mechinterp/viz/attention"
)

// A previous-token head and a head attending to the first token, on three tokens.
func exampleData() *attention.Data {
	return &attention.Data{
		Title:  "two heads",
		Tokens: []string{"<|endoftext|>", "The", " cat"},
		Patterns: [][][]float32{{
			{1, 0, 0, 1, 0, 0, 0, 1, 0}, // row-major [query][key]; above the diagonal is ignored
			{1, 0, 0, 1, 0, 0, 1, 0, 0},
		}},
		Heads: [][]attention.HeadInfo{{{Role: "previous_token", Scores: map[string]float64{"previous_token": 1}}, {}}},
	}
}

func ExamplePage() {
	dir, _ := os.MkdirTemp("", "attention-example")
	defer os.RemoveAll(dir)
	r, err := attention.Page(exampleData(), attention.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Title(), r.WriteFile(filepath.Join(dir, "attn.html")))
	// Output: Attention: two heads <nil>
}

func ExampleNewServer() {
	fn := func(ctx context.Context, req attention.Request) (*attention.Data, error) {
		if req.Prompt != "The cat" {
			return nil, fmt.Errorf("this example knows one prompt, not %q", req.Prompt)
		}
		return exampleData(), nil
	}
	s, err := attention.NewServer(fn, attention.ServerOptions{MaxPromptBytes: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(s) // mechinterp serve uses attention.ListenAndServe
	defer srv.Close()
	for _, prompt := range []string{"The cat", "A dog", strings.Repeat("x", 101)} {
		res, err := http.Post(srv.URL+"/api/attention", "application/json", strings.NewReader(`{"prompt": "`+prompt+`"}`))
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			fmt.Println(res.StatusCode, string(b))
			continue
		}
		fmt.Println(res.StatusCode, strings.Contains(string(b), `"layers":1,"heads":2`))
	}
	// Output:
	// 200 true
	// 422 {"error":"this example knows one prompt, not \"A dog\""}
	// 413 {"error":"the prompt is 101 bytes; this server accepts at most 100"}
}
