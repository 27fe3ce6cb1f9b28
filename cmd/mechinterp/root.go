package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mechinterp/mechinterp/internal/config"
)

// subcommands are added by each command's file in an init function, so that
// one file owns one command.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "mechinterp",
		Short:         "Look inside transformers and toy models of superposition",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return noDefaultPage(cmd) }
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	addHelp(root)
	return root
}

//go:embed help/*.txt
var helpFiles embed.FS

// helpName is the name of c's help file: its path below mechinterp, words joined by '-'
// ("lens-train" for mechinterp lens train).
func helpName(c *cobra.Command) string {
	path := strings.Fields(c.CommandPath())
	return strings.Join(path[1:], "-")
}

// help is the long description of the command whose helpName is name, help/NAME.txt:
// prose kept out of the Go.
func help(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err) // a missing file is caught by every test that builds the command tree
	}
	return strings.TrimSpace(string(b))
}

// addHelp gives every command below c without a long description the one in its help
// file (helpName), if it has one.
func addHelp(c *cobra.Command) {
	for _, sub := range c.Commands() {
		if _, err := helpFiles.Open("help/" + helpName(sub) + ".txt"); sub.Long == "" && err == nil {
			sub.Long = help(helpName(sub))
		}
		addHelp(sub)
	}
}

// jobCmd is the command whose usage line is use (its first word the command's name) and
// whose summary is short, with one flag per setting of job (command) and no arguments; it
// calls job's Run (runJob). job is a pointer to a library job: report's *Job types.
func jobCmd(use, short string, job any) *cobra.Command {
	return command(&cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}, job, runJob(job, nil))
}

// argJobCmd is jobCmd for a command that takes one argument, set into *arg (the job's
// directory or experiment) before the job runs.
func argJobCmd(use, short string, job any, arg *string) *cobra.Command {
	return command(&cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}, job, runJob(job, arg))
}

// runJob is a command's run that sets *arg (unless arg is nil) to the command's argument
// and calls job.Run, whichever of the jobs' signatures it has: the output, the error
// stream for progress and warnings, and a context that Ctrl-C or SIGTERM ends
// (interruptible), so that long work stops cleanly.
func runJob(job any, arg *string) func(*cobra.Command, []string) error {
	var run func(cmd *cobra.Command) error
	switch j := job.(type) {
	case interface{ Run(w io.Writer) error }:
		run = func(cmd *cobra.Command) error { return j.Run(cmd.OutOrStdout()) }
	case interface{ Run(w, errw io.Writer) error }:
		run = func(cmd *cobra.Command) error { return j.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) }
	case interface {
		Run(ctx context.Context, w io.Writer) error
	}:
		run = func(cmd *cobra.Command) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			return j.Run(ctx, cmd.OutOrStdout())
		}
	case interface {
		Run(ctx context.Context, w, errw io.Writer) error
	}:
		run = func(cmd *cobra.Command) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			return j.Run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}
	default:
		panic(fmt.Sprintf("%T has no Run a command can call", job)) // caught by every test that builds the command tree
	}
	return func(cmd *cobra.Command, args []string) error {
		if arg != nil {
			*arg = args[0]
		}
		return run(cmd)
	}
}

// command gives c one flag per setting of opts, a pointer to a library's job or options
// struct (config.BindFlags: the struct's tags name and document the flags), and a RunE
// that resolves them into opts (settings) before calling run. Unless opts has a setting
// "config" of its own (a command's config file: train's run, repeated's study), c also
// gets --config, a YAML file of flag values (addFlagFile).
func command(c *cobra.Command, opts any, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	if err := config.BindFlags(c.Flags(), opts); err != nil {
		panic(err) // a wrongly tagged struct, caught by every test that builds the command tree
	}
	if c.Flags().Lookup("config") == nil {
		addFlagFile(c)
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := load(cmd, opts); err != nil {
			return err
		}
		return run(cmd, args)
	}
	return c
}

// load resolves one command invocation's flags into opts with package config's
// rules: flags beat MECHINTERP_* environment variables, which beat the YAML
// file named by the command's --config flag (if it has one), which beats the
// flag defaults. For a command made with
// addFlagFile the file holds flag values only; other commands' files (train's
// run config, repeated's study) are checked by their own loaders.
func load(cmd *cobra.Command, opts any) error {
	src := config.Sources{Flags: cmd.Flags(), AnyKey: cmd.Annotations[flagFileAnnotation] == ""}
	if f := cmd.Flags().Lookup("config"); f != nil {
		src.File = f.Value.String()
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" {
			src.Extra = append(src.Extra, f.Name)
		}
	})
	_, err := config.Load(opts, src)
	return err
}

// flagFileAnnotation marks commands whose --config file holds flag values.
const flagFileAnnotation = "mechinterp-flag-file"

// addFlagFile gives cmd a --config flag naming a YAML file of flag values
// (model: DIR, top: 5, ...), for commands whose settings are their flags.
func addFlagFile(cmd *cobra.Command) {
	cmd.Flags().String("config", "", "YAML file of flag values (flags and MECHINTERP_* variables beat it)")
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[flagFileAnnotation] = "true"
}

// noDefaultPage makes --json print without also writing the default page (heads.html, ...)
// into the current directory: a page is written with --json only when -o (or
// MECHINTERP_OUT) names one.
func noDefaultPage(cmd *cobra.Command) error {
	j, o := cmd.Flags().Lookup("json"), cmd.Flags().Lookup("out")
	if j == nil || o == nil || o.Shorthand != "o" || o.Changed || o.DefValue == "" || j.Value.String() != "true" {
		return nil
	}
	if _, ok := os.LookupEnv(config.EnvPrefix + "_OUT"); ok {
		return nil
	}
	return cmd.Flags().Set("out", "")
}
