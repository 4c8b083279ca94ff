#!/bin/sh
# shoal-entrypoint controller|agent: the steps of docs/install.md, without systemd.
#   controller: `shoal init` on first start, then the controller; it leaves one join token per
#               agent (SHOAL_AGENTS) in /join, a volume only the cluster's containers share.
#   agent:      on first start, waits for its token and runs `shoal join`; then the agent.
set -eu
role=${1:?usage: shoal-entrypoint controller|agent}
controller=${SHOAL_CONTROLLER_HOST:-shoal-controller}
case "$role" in
controller)
  if [ ! -f /etc/shoal/shoal.conf ]; then
    shoal init --controller "$controller" --cluster-name "${SHOAL_CLUSTER_NAME:-lab}"
    if [ -n "${SHOAL_STORAGE_URL:-}" ]; then
      printf 'StorageType=postgresql\nStorageURL=%s\n' "$SHOAL_STORAGE_URL" >>/etc/shoal/shoal.conf
    fi
  fi
  shoal-controller --config /etc/shoal/shoal.conf --state-dir /var/lib/shoal/controller \
    --listen 0.0.0.0:6820 --agent-listen 0.0.0.0:6817 &
  pid=$!
  trap 'kill -TERM $pid' TERM INT
  until shoal token --join lifespan=60 >/dev/null 2>&1; do sleep 0.5; done
  for agent in ${SHOAL_AGENTS:-}; do
    [ -f "/etc/shoal/joined.$agent" ] && continue
    shoal token --join lifespan=3600 2>/dev/null >"/join/$agent.tmp"
    mv "/join/$agent.tmp" "/join/$agent"
    touch "/etc/shoal/joined.$agent"
  done
  wait $pid
  ;;
agent)
  name=${SHOAL_NODE_NAME:-$(hostname -s)}
  if [ ! -f /etc/shoal/agent.conf ]; then
    until [ -s "/join/$name" ]; do sleep 0.5; done
    shoal join "$controller" "$(cat "/join/$name")" --name "$name"
    rm -f "/join/$name"
  fi
  exec shoal-agent --config /etc/shoal/agent.conf
  ;;
*)
  echo "shoal-entrypoint: unknown role '$role' (controller or agent)" >&2
  exit 2
  ;;
esac
