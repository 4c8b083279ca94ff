#!/usr/bin/env bash
# Example ResumeProgram for shoal's power saving (slurm.conf: ResumeProgram=/path/resume.sh).
#
# The controller runs it as its own user, with one argument: a hostlist expression of the nodes
# to start ("cloud[1-4,7]"). It must start a machine for each name whose `shoal agent` joins the
# cluster under that name (--name NODE) within ResumeTimeout. Exit 0 once the machines are being
# created; a non-zero exit (or running past ResumeTimeout) marks the nodes DOWN with the reason
# and requeues their jobs. What it prints is logged by the controller.
#
# This one drives a generic cloud CLI ("cloudctl"); replace the two commands marked CLOUD with
# your provider's (aws ec2 run-instances, gcloud compute instances create, openstack server
# create, ...). The instance's boot script (cloud-init user data) starts the agent.
set -euo pipefail

: "${CLOUD_IMAGE:=shoal-node-image}"       # an image with shoal installed
: "${CLOUD_FLAVOR:=standard-4}"            # machine type, matching the node's CPUs/RealMemory
: "${SHOAL_CONTROLLER:=controller.example.org:6820}"
: "${SHOAL_CA:=/etc/shoal/tls/ca.pem}"
: "${SHOAL_CLUSTER_KEY:=/etc/shoal/cluster.key}"

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 HOSTLIST" >&2
  exit 2
fi

# The boot script each machine runs: the agent registers under the node's name.
user_data() {
  cat <<USERDATA
#!/bin/sh
install -d -m 700 /etc/shoal
printf '%s' '$(base64 -w0 "$SHOAL_CA")' | base64 -d > /etc/shoal/ca.pem
printf '%s' '$(base64 -w0 "$SHOAL_CLUSTER_KEY")' | base64 -d > /etc/shoal/cluster.key
exec shoal agent --controller $SHOAL_CONTROLLER --name $1 \\
  --tls-ca /etc/shoal/ca.pem --cluster-key-file /etc/shoal/cluster.key
USERDATA
}

status=0
# scontrol expands the expression exactly as the controller wrote it.
for node in $(scontrol show hostnames "$1"); do
  # CLOUD: create (or start) the machine named after the node.
  if ! cloudctl instance create --name "$node" --image "$CLOUD_IMAGE" \
      --flavor "$CLOUD_FLAVOR" --user-data "$(user_data "$node")"; then
    echo "resume: could not create $node" >&2
    status=1
  fi
done
exit "$status"
