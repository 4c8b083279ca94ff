#!/bin/bash
#SBATCH --job-name=hello
#SBATCH --ntasks=1
#SBATCH --time=00:01:00
#SBATCH --output=hello-%j.out
# A plain batch job: where it ran and what Slurm told it.
echo "hello from job $SLURM_JOB_ID ($SLURM_JOB_NAME) on $(hostname) as node $SLURMD_NODENAME"
echo "nodes: $SLURM_JOB_NODELIST  tasks: $SLURM_NTASKS  cpus on node: $SLURM_CPUS_ON_NODE"
