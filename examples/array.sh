#!/bin/bash
#SBATCH --job-name=squares
#SBATCH --array=0-7%4
#SBATCH --output=squares-%A_%a.out
# A job array: eight tasks, at most four at a time, each squaring its index.
echo "task $SLURM_ARRAY_TASK_ID of array $SLURM_ARRAY_JOB_ID: $((SLURM_ARRAY_TASK_ID * SLURM_ARRAY_TASK_ID))"
sleep 1
