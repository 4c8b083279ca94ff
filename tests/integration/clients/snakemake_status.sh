#!/usr/bin/env bash
# Snakemake's --cluster-status script: given what the submit command printed (sbatch --parsable:
# "ID" or "ID;CLUSTER"), prints running, success or failed. sacct first, squeue while the job is
# too new for accounting, as such scripts do on Slurm.
id=${1%%;*}
state=$(sacct -j "$id" -X --parsable2 --noheader --format=State 2>/dev/null | head -n 1)
[ -n "$state" ] || state=$(squeue -h -j "$id" -o %T 2>/dev/null | head -n 1)
case "${state%% *}" in
  COMPLETED) echo success ;;
  FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
    echo failed ;;
  *) echo running ;;
esac
