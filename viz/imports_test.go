package viz

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoAnalysis keeps the chart engine and the attention explorer apart from the
// analyses: viz draws what it is handed and package report joins the two. viz/attention may
// run a model (models, hooks), never score one.
func TestImportsNoAnalysis(t *testing.T) {
	const module = "github.com/mechinterp/mechinterp/"
	analysis := []string{"probes", "circuits", "sae", "superposition", "lab", "study", "report", "run", "train", "data"}
	for _, dir := range []string{".", "attention"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range ast.Imports {
				path, _ := strconv.Unquote(im.Path.Value)
				for _, a := range analysis {
					if path == module+a || strings.HasPrefix(path, module+a+"/") {
						t.Errorf("%s imports %s: viz renders data it is handed (package report joins analyses and pages)", f, path)
					}
				}
			}
		}
	}
}
