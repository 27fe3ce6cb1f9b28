#!/bin/bash
# A repeated-data study as a Slurm array job: 8 tasks, each running one shard of the grid
# into one study directory on a filesystem every node sees. Submit with
#   sbatch docs/jobs/repeated-slurm.sh
# and, when the array is done (or at any time, for what is there so far):
#   mechinterp repeated report ~/studies/repeated
# A task that fails or is preempted can simply be resubmitted (sbatch --array=3 ...): finished
# runs are skipped and interrupted ones resume from their last checkpoint.
#SBATCH --job-name=mechinterp-repeated
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=02:00:00
#SBATCH --output=repeated-%A_%a.log

set -euo pipefail
STUDY_DIR=$HOME/studies/repeated     # on a filesystem every task sees
CONFIG=study.yaml                    # omit --config to run the default study

mechinterp repeated --config "$CONFIG" --out "$STUDY_DIR" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --workers "${SLURM_CPUS_PER_TASK}" --quiet
