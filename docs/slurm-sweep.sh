#!/bin/bash
# An example Slurm batch script for a large stagewise sweep (docs/cluster.md).
# The z-full plateau law over d and T with 4 seeds per point: 7 x 7 x 4 points
# whose cost grows steeply with d and T.  Submit it again after a timeout or a
# failure: the sweep resumes from its file.
#SBATCH --job-name=zfull-plateau
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=8
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=zfull-plateau-%j.log
set -euo pipefail

# Each rank runs --threads OpenMP threads on its own cores; no busy-waiting
# threads between points.
export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK
export OMP_WAIT_POLICY=PASSIVE

# Run where the result should live: rank 0 alone writes it.
cd "${SWEEP_DIR:-$SLURM_SUBMIT_DIR}"

srun --mpi=pmix --cpus-per-task="$SLURM_CPUS_PER_TASK" \
    stagewise sweep z-full d=16:1024:7:log T=64:4096:7:log seed=1:4:4 \
    --measure plateau --t-end 1e9 --solver bdf \
    --threads "$SLURM_CPUS_PER_TASK" --out zfull-plateau.csv \
    --summary zfull-plateau-median.csv

# The exponents of the median plateau time:
stagewise fit zfull-plateau-median.csv --y t_plateau_median --law 'C * d^a * T^b'
