package report

import (
	"math"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz/attention"
)

// AttentionHeads labels every head for the attention explorer with its role and scores from
// probes.Heads (non-finite scores are left out).
func AttentionHeads(s *probes.HeadScores) [][]attention.HeadInfo {
	out := make([][]attention.HeadInfo, s.Layers)
	for l := range out {
		out[l] = make([]attention.HeadInfo, s.Heads)
		for h := range out[l] {
			info := attention.HeadInfo{Scores: map[string]float64{}}
			if role := s.Roles[l][h]; role != probes.RoleNone {
				info.Role = role
			}
			for name, x := range map[string][][]float64{
				"prefix_matching": s.PrefixMatching, "copying": s.Copying, "previous_token": s.PreviousToken,
				"duplicate_token": s.DuplicateToken, "induction": s.Induction,
			} {
				if l < len(x) && h < len(x[l]) && !math.IsNaN(x[l][h]) && !math.IsInf(x[l][h], 0) {
					info.Scores[name] = x[l][h]
				}
			}
			out[l][h] = info
		}
	}
	return out
}

// AttentionRoles scores the heads of m, loaded from checkpoint, with probes.HeadsOfCheckpoint
// (32 prompts [BOS]+r+r drawn as its run's data says) and labels them for the explorer: the
// scores the heads page shows for the same checkpoint.
func AttentionRoles(m *models.Model, checkpoint string) ([][]attention.HeadInfo, error) {
	s, err := probes.HeadsOfCheckpoint(m, checkpoint)
	if err != nil {
		return nil, err
	}
	return AttentionHeads(s), nil
}
