#!/usr/bin/env bash
# deploy/: what cannot run here is checked by its own tool. The compose file (docker-compose
# config -q, with every profile) and the Ansible playbook (ansible-playbook --syntax-check), each
# skipped with a note when its tool is missing (scripts/install-deps installs both); the
# container entrypoint by sh -n. Each tool must also reject a broken copy, so a check that
# passes means something.
DEPLOY=$(cd "$(dirname "$0")/../../deploy" && pwd)
source "$(dirname "$0")/lib.sh"
ran=0

sh -n "$DEPLOY/compose/entrypoint.sh" && ok || fail "entrypoint.sh: sh -n"

if command -v docker-compose >/dev/null 2>&1; then
  ran=$((ran + 1))
  cp -r "$DEPLOY" "$WORK/deploy"
  compose=$WORK/deploy/compose/compose.yaml
  docker-compose -f "$compose" --profile monitoring --profile postgres config -q \
    >"$WORK/compose.err" 2>&1 && ok || fail "docker-compose config: $(cat "$WORK/compose.err")"
  services=$(docker-compose -f "$compose" --profile monitoring --profile postgres config \
    --services 2>/dev/null | sort | tr '\n' ' ')
  expect_eq "$services" "agent1 agent2 grafana postgres prometheus shoal-controller " \
    "compose services"
  sed -i 's/^services:/services:\n  broken: [/' "$compose"
  docker-compose -f "$compose" config -q >/dev/null 2>&1 && fail "docker-compose accepts a broken file" || ok
else
  echo "NOTE: docker-compose is not installed (Debian package docker-compose): compose.yaml not checked"
fi

if command -v ansible-playbook >/dev/null 2>&1; then
  ran=$((ran + 1))
  export ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp ANSIBLE_HOME=$WORK/ansible-home
  (cd "$DEPLOY/ansible" &&
    ansible-playbook -i inventory.example.ini --syntax-check site.yml) >"$WORK/ansible.out" 2>&1 &&
    ok || fail "ansible-playbook --syntax-check: $(cat "$WORK/ansible.out")"
  mkdir -p "$WORK/ansible"
  cp -r "$DEPLOY/ansible/." "$WORK/ansible/"
  echo "- name: broken
  ansible.builtin.command: [" >>"$WORK/ansible/roles/agent/tasks/main.yml"
  (cd "$WORK/ansible" && ansible-playbook -i inventory.example.ini --syntax-check site.yml) \
    >/dev/null 2>&1 && fail "ansible-playbook accepts a broken role" || ok
else
  echo "NOTE: ansible-playbook is not installed (Debian package ansible-core): site.yml not checked"
fi
if [ "$ran" = 0 ]; then
  echo "SKIP: neither docker-compose nor ansible-playbook is installed (scripts/install-deps)"
  FINISHED=1
  exit 77
fi
finish
