package run

import (
	"encoding/json"
	"fmt"

	"github.com/mechinterp/mechinterp/internal/config"
)

// readLegacy reads a run.json of the repeated-data study: a JSON object
// with the sections of run.yaml (and others, such as the run's grid point
// and evaluation, which a Config does not hold). Its values were resolved
// when it was written.
func readLegacy(path string) (Config, error) {
	b, err := config.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
