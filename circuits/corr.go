package circuits

import (
	"gonum.org/v1/gonum/stat"

	"github.com/mechinterp/mechinterp/internal/stats"
)

// Pearson is the Pearson correlation of x and y (NaN when either is constant).
func Pearson(x, y []float64) float64 { return stat.Correlation(x, y, nil) }

// Spearman is the Spearman rank correlation of x and y: the Pearson
// correlation of their ranks, ties given their mean rank.
func Spearman(x, y []float64) float64 { return stat.Correlation(stats.Ranks(x), stats.Ranks(y), nil) }
