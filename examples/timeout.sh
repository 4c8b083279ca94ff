#!/bin/bash
#SBATCH --job-name=too-slow
#SBATCH --time=0:05
#SBATCH --output=too-slow-%j.out
# A job that outlives its 5-second limit: it is stopped and sacct shows TIMEOUT.
echo "started, limit is 5 seconds"
sleep 600
