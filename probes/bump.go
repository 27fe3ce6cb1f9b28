package probes

import (
	"math"
	"sort"
)

// Bump is the loss bump of a training curve: the one non-convex stretch of
// the loss curve, at which induction heads form (Olsson et al. 2022, "In-context
// Learning and Induction Heads": a plateau, then a drop steeper than the
// decay before it).
type Bump struct {
	// Found is false when the curve has no stretch above the tolerance.
	Found bool `json:"found"`
	// Step is the step of steepest descent within the stretch: the drop.
	Step int `json:"step"`
	// Start and End bound the stretch: where the smoothed curve leaves its
	// lower convex hull and where it meets it again.
	Start int `json:"start"`
	End   int `json:"end"`
	// Height is the largest distance of the smoothed curve above its hull.
	Height float64 `json:"height"`
	// LossStart and LossEnd are the smoothed loss at Start and End.
	LossStart float64 `json:"loss_start"`
	LossEnd   float64 `json:"loss_end"`
	// Window is the smoothing window (points) and Tolerance the height a
	// stretch had to exceed away from the ends of the curve.
	Window    int     `json:"window"`
	Tolerance float64 `json:"tolerance"`
}

// FindBump locates the loss bump in a training-loss curve (steps ascending,
// one loss each) by this rule:
//
//  1. Smooth the loss with a centred moving average of window points (0
//     means max(5, n/20), made odd), since per-step losses are noisy.
//  2. Take the lower convex hull of the smoothed curve. A convex curve lies
//     on its hull; a non-convex stretch (a plateau followed by a steeper
//     drop) lies above it.
//  3. The tolerance is the larger of 10 standard errors of the smoothed
//     curve (the residual noise over √window: a hull resting on the dips of
//     the noise lies several standard errors below its peaks) and 2% of the
//     smoothed curve's range. Stretches where the curve lies higher than that above
//     the hull are candidates; the bump is the one that rises highest.
//  4. Its Step is where the smoothed loss falls fastest inside the stretch,
//     the slope taken over one window's width.
//
// Curves of fewer than 5 points, or whose largest stretch is within the
// tolerance, have no bump (Found false).
func FindBump(steps []int, loss []float64, window int) Bump {
	// Keep finite points, in step order.
	type pt struct {
		s int
		l float64
	}
	var pts []pt
	for i := range min(len(steps), len(loss)) {
		if !math.IsNaN(loss[i]) && !math.IsInf(loss[i], 0) {
			pts = append(pts, pt{steps[i], loss[i]})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].s < pts[j].s })
	n := len(pts)
	if window <= 0 {
		window = max(5, n/20)
	}
	window |= 1
	b := Bump{Window: window}
	if n < 5 {
		return b
	}
	xs, raw := make([]float64, n), make([]float64, n)
	for i, p := range pts {
		xs[i], raw[i] = float64(p.s), p.l
	}
	sm := Smooth(raw, window)

	// Lower convex hull (Andrew's monotone chain), then the gap above it.
	var hull []int
	for i := range n {
		for len(hull) >= 2 {
			a, c := hull[len(hull)-2], hull[len(hull)-1]
			// Drop c if it lies on or above the segment a -> i.
			if (xs[c]-xs[a])*(sm[i]-sm[a])-(sm[c]-sm[a])*(xs[i]-xs[a]) <= 0 {
				hull = hull[:len(hull)-1]
				continue
			}
			break
		}
		hull = append(hull, i)
	}
	gap := make([]float64, n)
	for k := 0; k+1 < len(hull); k++ {
		a, c := hull[k], hull[k+1]
		for i := a; i <= c; i++ {
			h := sm[a]
			if xs[c] > xs[a] {
				h += (sm[c] - sm[a]) * (xs[i] - xs[a]) / (xs[c] - xs[a])
			}
			gap[i] = sm[i] - h
		}
	}

	var resid, lo, hi float64 = 0, math.Inf(1), math.Inf(-1)
	for i := range n {
		resid += (raw[i] - sm[i]) * (raw[i] - sm[i])
		lo, hi = min(lo, sm[i]), max(hi, sm[i])
	}
	sigma := math.Sqrt(resid / float64(n))
	half := window / 2
	floor := 0.02 * (hi - lo)
	b.Tolerance = max(10*sigma/math.Sqrt(float64(window)), floor)
	// Near the ends the average has fewer points, so more noise: the
	// tolerance there grows with the standard error of the shorter average.
	tol := func(i int) float64 {
		h := min(half, i, n-1-i)
		return max(10*sigma/math.Sqrt(float64(2*h+1)), floor)
	}

	// The highest stretch above the tolerance.
	best, bestH := -1, 0.0
	for i := range n {
		if gap[i] > tol(i) && gap[i] > bestH {
			best, bestH = i, gap[i]
		}
	}
	if best < 0 {
		return b
	}
	start, end := best, best
	for start > 0 && gap[start-1] > 0 {
		start--
	}
	for end < n-1 && gap[end+1] > 0 {
		end++
	}
	if end < n-1 {
		end++ // where the curve meets the hull again
	}
	if start > 0 {
		start--
	}
	// The slope over a window's width, which averages out the noise that
	// neighbouring differences of the moving average keep.
	steep, drop := best, math.Inf(-1)
	for i := start; i <= end; i++ {
		a, c := max(i-half, 0), min(i+half, n-1)
		if c == a {
			continue
		}
		if d := -(sm[c] - sm[a]) / (xs[c] - xs[a]); d > drop {
			steep, drop = i, d
		}
	}
	b.Found, b.Height = true, bestH
	b.Step, b.Start, b.End = pts[steep].s, pts[start].s, pts[end].s
	b.LossStart, b.LossEnd = sm[start], sm[end]
	return b
}

// Smooth is a centred moving average of window points (shrunk at both
// ends so that every point averages the same number of neighbours on each
// side).
func Smooth(x []float64, window int) []float64 {
	half := max(window, 1) / 2
	prefix := make([]float64, len(x)+1)
	for i, v := range x {
		prefix[i+1] = prefix[i] + v
	}
	out := make([]float64, len(x))
	for i := range x {
		h := min(half, i, len(x)-1-i)
		out[i] = (prefix[i+h+1] - prefix[i-h]) / float64(2*h+1)
	}
	return out
}
