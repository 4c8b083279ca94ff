#!/bin/bash
#SBATCH --job-name=too-slow
#SBATCH --time=1
#SBATCH --output=too-slow-%j.out
# A job that outlives its one-minute limit (Slurm's limits are whole minutes): it gets SIGTERM
# at the limit, SIGKILL KillWait seconds later if still there, and sacct shows TIMEOUT.
echo "started at $(date +%T), limit is one minute"
trap 'echo "SIGTERM at $(date +%T): time is up"; exit 143' TERM
sleep 600 & wait
