package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
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
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// settings returns a viper instance for one command invocation: flags beat
// MECHINTERP_* environment variables, which beat the YAML file named by the
// command's --config flag (if it has one), which beats the flag defaults.
func settings(cmd *cobra.Command) (*viper.Viper, error) {
	v := viper.New()
	v.SetEnvPrefix("MECHINTERP")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err := v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return nil, bindErr
	}
	if f := cmd.Flags().Lookup("config"); f != nil && f.Value.String() != "" {
		v.SetConfigFile(f.Value.String())
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("reading config file %s: %w", f.Value.String(), err)
		}
		if cmd.Annotations[flagFileAnnotation] != "" {
			// v also knows every flag; list the file's own keys apart.
			fv := viper.New()
			fv.SetConfigFile(f.Value.String())
			fv.SetConfigType("yaml")
			if err := fv.ReadInConfig(); err != nil {
				return nil, fmt.Errorf("reading config file %s: %w", f.Value.String(), err)
			}
			for _, k := range fv.AllKeys() {
				if fl := cmd.Flags().Lookup(k); fl == nil || k == "config" {
					return nil, fmt.Errorf("config file %s: unknown key %q (the keys are the command's flags, see --help)", f.Value.String(), k)
				}
			}
		}
	}
	return v, nil
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
