#!/bin/bash
#SBATCH --job-name=fails
#SBATCH --output=fails-%j.out
# A job that fails: sacct shows FAILED with exit code 3.
echo "about to fail"
exit 3
