package train

import (
	"math"
	"slices"
)

// LR returns the learning rate of update i (0-based: the first update is
// i=0) out of total: a linear warmup from peak/warmup to peak over the first
// warmup updates, then a cosine decay from peak to minLR, reaching minLR at
// i = total (so the last update, i = total−1, is just above it). This is
// nanoGPT's schedule (warmup then cosine), with the decay spanning the run.
func LR(i, total, warmup int, peak, minLR float64) float64 {
	if i < warmup {
		return peak * float64(i+1) / float64(warmup)
	}
	if i >= total {
		return minLR
	}
	ratio := float64(i-warmup) / float64(total-warmup)
	coeff := 0.5 * (1 + math.Cos(math.Pi*ratio))
	return minLR + coeff*(peak-minLR)
}

// GlobalNorm returns the Euclidean norm of g, accumulated in float64.
func GlobalNorm(g []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(g); i += 4 {
		a, b, c, d := float64(g[i]), float64(g[i+1]), float64(g[i+2]), float64(g[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(g); i++ {
		s0 += float64(g[i]) * float64(g[i])
	}
	return math.Sqrt(s0 + s1 + s2 + s3)
}

// ClipGlobalNorm scales g in place so that its global norm is at most
// maxNorm, as PyTorch's clip_grad_norm_ does (factor maxNorm/(norm+1e-6),
// applied only when it is below 1), and returns the norm before clipping.
// A maxNorm of zero or less disables clipping. A non-finite norm leaves g
// unchanged.
func ClipGlobalNorm(g []float32, maxNorm float64) float64 {
	norm := GlobalNorm(g)
	if maxNorm <= 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	if f := maxNorm / (norm + 1e-6); f < 1 {
		s := float32(f)
		for i := range g {
			g[i] *= s
		}
	}
	return norm
}

// CheckpointSchedule decides after which steps a checkpoint is written. Step
// s means the parameters after s updates; step 0 is the initialization.
//
// Induction heads form abruptly, early in training, at the only non-convex
// bump of the loss curve (Olsson et al. 2022), so the schedule is dense
// early: log-spaced steps 0, 1, 2, 4, 8, 16, ... (PerDoubling points per
// factor of two), plus every Every steps, plus listed Steps, plus the final
// step, which is always saved.
type CheckpointSchedule struct {
	// PerDoubling is the number of log-spaced checkpoints per doubling of
	// the step: 1 gives 0,1,2,4,8,...; 2 gives 0,1,2,3,4,6,8,11,16,23,...;
	// 0 turns log spacing off (step 0 is then saved only if listed).
	PerDoubling int `json:"log_per_doubling" mapstructure:"log_per_doubling" yaml:"log_per_doubling"`
	// Every saves every Every steps (0: never).
	Every int `json:"every" mapstructure:"every" yaml:"every"`
	// Steps lists extra steps to save.
	Steps []int `json:"steps" mapstructure:"steps" yaml:"steps"`
}

// List returns the sorted, distinct steps in [0, total] the schedule saves.
func (s CheckpointSchedule) List(total int) []int {
	var out []int
	if s.PerDoubling > 0 {
		out = append(out, 0)
		for k := 0; ; k++ {
			x := int(math.Round(math.Pow(2, float64(k)/float64(s.PerDoubling))))
			if x > total {
				break
			}
			out = append(out, x)
		}
	}
	if s.Every > 0 {
		for x := s.Every; x <= total; x += s.Every {
			out = append(out, x)
		}
	}
	for _, x := range s.Steps {
		if x >= 0 && x <= total {
			out = append(out, x)
		}
	}
	out = append(out, total)
	slices.Sort(out)
	return slices.Compact(out)
}
