// Package run is a training run as a library object: its config file
// ([Config]: the model:, data: and train: sections users write as YAML),
// starting and resuming it ([Start], [Resume]), and its directory, whose
// names are the constants below:
//
//	RUN/run.yaml                      the resolved config (ConfigFile)
//	RUN/metrics.jsonl                 one JSON object per step (MetricsFile)
//	RUN/checkpoints/step-NNNNNN/      config.json, model.safetensors, training state (CheckpointsDir)
//	RUN/track/                        per-checkpoint probe scores (TrackDir)
//	RUN/reports/, RUN/index.html      pages written about the run (ReportsDir, IndexFile)
//
// [Open] reads a run directory back: its config, checkpoints, metrics and
// the held-out data it was evaluated on, so that probes and reports draw
// the same prompts the run was measured with. `mechinterp train`, the demo
// and the repeated-data study (package study/repeated) all train through
// this package.
package run
