#!/usr/bin/env bash
# Example SuspendProgram for shoal's power saving (slurm.conf: SuspendProgram=/path/suspend.sh).
#
# Called with a hostlist expression of nodes that were idle for SuspendTime (or that an
# administrator powered down with scontrol update NodeName=... State=POWER_DOWN). It must stop
# their machines; within SuspendTimeout the nodes count as powered down (idle~) and are started
# again by the ResumeProgram when jobs need them. The agent's connection closing meanwhile is
# expected, not a failure. A failure is logged; a node whose agent still answers stays up.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 HOSTLIST" >&2
  exit 2
fi

status=0
for node in $(scontrol show hostnames "$1"); do
  # CLOUD: delete the machine (or stop it, to keep its disk and start faster next time).
  if ! cloudctl instance delete --name "$node" --yes; then
    echo "suspend: could not delete $node" >&2
    status=1
  fi
done
exit "$status"
