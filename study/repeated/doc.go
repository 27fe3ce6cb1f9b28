// Package repeated runs the repeated-data study of Hernandez et al. 2022
// ("Scaling Laws and Interpretability of Learning from Repeated Data") at
// CPU scale: families of small transformers trained on a fixed token budget
// of which a fraction f repeats a small subset E times, measured at every
// checkpoint for held-out loss, loss on the repeated subset, copying,
// prefix-matching and copying scores per head, induction loss and the ICL
// score.
//
// A [Study] is a grid over f, E, model size, architecture (layers,
// attention-only or with MLPs) and seeds; [LoadStudy] reads one from YAML
// over the default study ([DefaultConfig]). [Study.Runs] expands it into
// independent [Run]s, each with a stable ID that names its directory;
// [Shard] picks one shard of them, so the same study fits a Slurm array or a
// Kubernetes indexed Job writing into one shared directory. [Execute] trains
// and measures the runs it is given, skipping finished ones and resuming
// interrupted ones from their last checkpoint. Each run trains through
// package run, so its directory is an ordinary run (run.yaml, checkpoints/,
// metrics.jsonl) that run.Open reads and `mechinterp train --config
// RUN/run.yaml` retrains. [Collect] merges whatever results a study
// directory holds into one table of [Row]s (one per run and checkpoint;
// results.csv and results.jsonl) and [Analyze] turns them into the figures
// of the paper: the damage against E for each f, effective model size from
// the f = 0 size family, the fate of each run's induction heads, and double
// descent at large f; [Merge] does all three.
package repeated
