package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newVersionCmd) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mechinterp's version, the Go that built it and the commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return nil
		},
	}
}

// versionLine is "mechinterp VERSION (GO, commit REV[, modified])" from the build
// information Go embeds: the module version for `go install ...@version`, "(devel)" for a
// build from a checkout, whose commit then identifies it.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "mechinterp (unknown version: built without module information)"
	}
	s := fmt.Sprintf("mechinterp %s (%s", bi.Main.Version, bi.GoVersion)
	var rev, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		s += ", commit " + rev[:min(12, len(rev))] + modified
	}
	return s + ")"
}
