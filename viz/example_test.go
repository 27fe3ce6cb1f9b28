package viz_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/viz"
)

func ExampleNewReport() {
	dir, _ := os.MkdirTemp("", "viz-example")
	defer os.RemoveAll(dir)

	steps := []float64{10, 100, 1000, 10000}
	r := viz.NewReport("Training run")
	r.Section("Loss", "The loss falls, with a bump where induction heads form.")
	r.Add(viz.Lines(viz.Spec{Title: "Training loss", X: "step", Y: "loss",
		Caption: "Lower is better; the dashed line marks the bump."},
		[]viz.Series{{Name: "loss", X: steps, Y: []float64{5, 3.1, 2.9, 2.2}}},
		viz.LogX(), viz.VLine(1000, "bump")))
	r.Data("loss", map[string][]float64{"step": steps})
	if err := r.WriteFile(filepath.Join(dir, "run.html")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("written")
	// Output: written
}

func ExampleHeatmap() {
	wtw := [][]float64{{1, -1}, {-1, 1}}
	c := viz.Heatmap(viz.Spec{Title: "W^T W", X: "feature j", Y: "feature i",
		Caption: "Red: same direction; blue: opposite."},
		[]string{"f0", "f1"}, []string{"f0", "f1"}, wtw, viz.Diverging(), viz.ShowValues())
	fmt.Println(c.Err())
	// Output: <nil>
}

func ExampleSpec() {
	// A chart without a caption is refused when the page is rendered.
	c := viz.Bars(viz.Spec{Title: "Feature norms", X: "feature", Y: "||W_i||"},
		[]string{"f0"}, []viz.Series{{Y: []float64{1}}})
	_, err := viz.NewReport("r").Add(c).HTML()
	fmt.Println(err)
	// Output: report "r": chart "Feature norms": Spec.Caption is empty; every chart needs a title, both axis names and a caption
}

func ExampleIndex() {
	page, err := viz.Index("Demo run",
		viz.Link{Title: "Head scores", Path: "heads.html", Description: "which heads do what"},
		viz.Link{Title: "Formation", Path: "track.html"},
	).HTML()
	fmt.Println(err, len(page) > 0)
	// Output: <nil> true
}
