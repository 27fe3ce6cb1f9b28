// Package lab holds the experiments of the RLHF papers on the in-process
// transformer: comparison data (HH-RLHF files, and a synthetic preference
// task with a known true reward), preference models (a scalar reward head
// on the final residual stream) trained with the objectives Askell et al.
// 2021 compare, the metrics TRL's RewardTrainer logs, calibration
// (reliability diagram, ECE, Brier) and best-of-n sampling against
// sqrt(KL) (Bai et al. 2022). Definitions and citations are in
// docs/REFERENCE.md ("Preference models and RLHF"); the workflow is in
// docs/alignment-lab.md.
package lab
