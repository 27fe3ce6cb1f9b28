// Command mechinterp is the command-line face of the toolkit: train small
// transformers, look inside them, and study toy models of superposition.
//
// Each command is a library job (report.HeadsJob, bench.Options ...): its
// flags are the job's tagged fields (config.BindFlags), resolved in this
// order of precedence: flags, MECHINTERP_* environment variables, a YAML file
// given by --config, then defaults; then the job's Run does the work. Errors end the program with one line on stderr and exit 1.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		// One line, whatever the error: cobra's suggestions span several.
		fmt.Fprintln(os.Stderr, "mechinterp:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}
