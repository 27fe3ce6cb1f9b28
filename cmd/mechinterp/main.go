// Command mechinterp is the command-line face of the toolkit: train small
// transformers, look inside them, and study toy models of superposition.
//
// Every command reads its settings with viper, in this order of precedence:
// flags, MECHINTERP_* environment variables, a YAML file given by --config,
// then defaults. Errors end the program with one line on stderr and exit 1.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "mechinterp:", err)
		os.Exit(1)
	}
}
