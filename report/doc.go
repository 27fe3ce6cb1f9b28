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
// Every page embeds the numbers it plots as JSON (mechinterp.data(name) in the page), and the
// tests open each page type once in headless Chromium (package viz/browsertest).
package report
