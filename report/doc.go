// Package report turns the results of mechinterp's analyses into self-contained HTML pages
// drawn with package viz: it is the one place where analysis packages and the chart engine
// meet (viz imports no analysis package).
//
// Each builder takes what one analysis computed and returns a *viz.Report, ready for
// WriteFile, or an error when the result cannot be drawn honestly (a ragged grid, no
// checkpoints):
//
//   - Heads: every head's scores and role (probes.Heads).
//
//   - Track: scores over a run's checkpoints beside the loss bump (probes.Track).
//
//   - Circuits: OV/QK copying scores and composition (circuits.Analyze).
//
//   - Patch: activation and attribution patching (circuits).
//
//   - Repeated: the repeated-data study's table and analysis.
//
//   - Superposition: a toy-model experiment, sweep or SAE experiment (superposition).
//
//     s, err := probes.Heads(m, probes.HeadOptions{})
//     ...
//     page, err := report.Heads(s, "runs/demo/checkpoints/step-1000")
//     ...
//     err = page.WriteFile("heads.html")
//
// Beside each page, a text readout prints the same analysis for a terminal (HeadsText,
// TrackText, CircuitsText, PatchText): what the mechinterp commands print. Demo trains the demo
// run and writes every page above about it, with RunIndex's index linking them.
//
// Each mechinterp command is a job here (HeadsJob, PatchJob, PrefsTrainJob, TrainJob ...):
// a struct whose fields are the command's flags, tagged with their names, usage lines and
// defaults (the CLI registers them with internal/config's BindFlags), and whose Run loads
// the checkpoint, computes, writes the page and prints the readout or JSON, so that a Go
// program does what a command does with one call:
//
//	err := report.HeadsJob{ModelFlag: report.ModelFlag{Model: "runs/demo/checkpoints/step-001000"}, Out: "heads.html",
//		RepeatFlags: report.RepeatFlags{Batch: 32, Seed: 1, MinToken: -1, MaxToken: -1}}.Run(os.Stdout, os.Stderr)
//
// The flags several commands share are embedded groups: ModelFlag (--model), PromptFlags
// (--model with --tokens or --text), PageFlags (-o/--out and --json), SampleFlags,
// RepeatFlags, CorpusFlags. PromptTokens is the one way
// a command's --tokens or --text becomes token ids.
//
// Every page embeds the numbers it plots as JSON (mechinterp.data(name) in the page), and the
// tests open each page type once in headless Chromium (package viz/browsertest).
package report
