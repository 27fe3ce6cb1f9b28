// Package bench holds the workloads `mechinterp bench` times, with the flags and JSON keys of
// the PyTorch reference workloads in scripts/torch_ref.py (train, cache, toy) and
// scripts/gemm_openblas.py (gemm), so that the two run side by side and compare as ratios
// (docs/PERFORMANCE.md). Each returns one JSON object's keys; timings come after three
// warm-up steps.
package bench
