package superposition

import "github.com/mechinterp/mechinterp/internal/config"

// LoadExperimentConfig resolves experiment name's settings with package config's rules:
// MECHINTERP_* variables over the keys of file ("" for none) over the ready config
// (ConfigYAML), unknown keys rejected. The file may also hold the keys named in extra (a
// command's own flags), which are left to the caller.
func LoadExperimentConfig(name, file string, extra []string) (ExperimentConfig, error) {
	var cfg ExperimentConfig
	def, err := ConfigYAML(name)
	if err != nil {
		return cfg, err
	}
	_, err = config.Load(&cfg, config.Sources{Base: def, BaseName: "ready config", File: file, Extra: extra,
		Doc: "docs/superposition.md"})
	return cfg, err
}

// Quick shrinks an experiment for smoke runs: at most 300 steps, 2 seeds, batch 256, three
// densities and importances, 40 features, the two strongest L1 penalties and one dictionary
// size of the SAE, 200 SAE steps on 2,000 rows.
func (c *ExperimentConfig) Quick() {
	c.Steps = min(max(c.Steps, 1), 300)
	c.Seeds = min(max(c.Seeds, 1), 2)
	c.Batch = min(max(c.Batch, 1), 256)
	if len(c.Densities) > 3 {
		c.Densities = []float64{c.Densities[0], c.Densities[len(c.Densities)/2], c.Densities[len(c.Densities)-1]}
	}
	if len(c.PhaseImportances) > 3 {
		p := c.PhaseImportances
		c.PhaseImportances = []float64{p[0], p[len(p)/2], p[len(p)-1]}
	}
	if c.Features > 40 {
		c.Features, c.Hidden = 40, max(1, c.Hidden*40/c.Features)
	}
	if len(c.SAEL1) > 2 {
		c.SAEL1 = c.SAEL1[len(c.SAEL1)-2:]
	}
	if len(c.SAEDictSizes) > 1 {
		c.SAEDictSizes = c.SAEDictSizes[:1]
	}
	c.SAESteps = min(max(c.SAESteps, 1), 200)
	c.SAERows = min(max(c.SAERows, 1), 2000)
}
