#!/usr/bin/env bash
# --container-image (NVIDIA pyxis's option spelling): a batch script and srun steps run in a
# rootless podman container, as the submitting user, with the job's working directory and
# environment; exit codes propagate, scancel leaves no container behind, and an image that does
# not exist fails the job with a clear message while the cluster carries on. The image is built
# here from a directory (busybox), never pulled: nothing here reaches a registry.
source "$(dirname "$0")/lib.sh"

skip() {
  echo "SKIP: $1"
  FINISHED=1
  exit 77
}
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
  skip "needs root, useradd and setpriv to create the rootless container user"
fi
command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps installs it)"
command -v newuidmap >/dev/null || skip "newuidmap is missing (package uidmap)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && [[ "$(ldd "$busybox" 2>&1)" == *"not a dynamic"* ]] ||
  skip "a static busybox is needed to build the test image (package busybox-static)"

user="shoal-c$$"
# A subordinate id range of its own, far from the usual 100000+ ones.
sub_start=$((1000000000 + ($$ % 10000) * 65536))
remove_user() {
  # Containers and storage belong to the user: remove them as the user, then the user.
  if id "$user" >/dev/null 2>&1; then
    as_user podman rm --all --force >/dev/null 2>&1
    as_user podman system reset --force >/dev/null 2>&1
    pkill -U "$user" 2>/dev/null  # its rootless podman pause process
    userdel "$user" 2>/dev/null
    groupdel "$user" 2>/dev/null
  fi
  rm -rf "/tmp/podman-run-$user_uid" 2>/dev/null
  cleanup
}
user_uid=""
trap remove_user EXIT
chmod 755 "$WORK"
home="$WORK/home"
useradd -M -d "$home" -s /bin/sh "$user"
user_uid=$(id -u "$user")
usermod --add-subuids "$sub_start-$((sub_start + 65535))" \
  --add-subgids "$sub_start-$((sub_start + 65535))" "$user"
mkdir -p "$home/.config/containers"
chown -R "$user:$user" "$home"
as_user() {
  setpriv --reuid "$user" --regid "$user" --init-groups \
    env -i HOME="$home" USER="$user" LOGNAME="$user" SHOAL_STATE_DIR="$SHOAL_STATE_DIR" \
    PATH="$WORK/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@"
}

# The image: busybox and its applets in an otherwise empty root, imported as localhost/shoal-test.
root="$WORK/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp"
cp "$(readlink -f "$busybox")" "$root/bin/busybox"
for a in sh cat echo ls id env sleep pwd grep true; do ln -s busybox "$root/bin/$a"; done
printf 'NAME="shoal test image"\nID=shoaltest\n' >"$root/etc/os-release"
tar -C "$root" -cf "$WORK/rootfs.tar" .
chmod 644 "$WORK/rootfs.tar"
cd "$home" || fail "no home"
as_user podman import "$WORK/rootfs.tar" localhost/shoal-test:1 >"$WORK/import.log" 2>&1 ||
  skip "rootless podman cannot import an image here: $(tail -1 "$WORK/import.log")"
# Host-specific podman settings belong in containers.conf, not in shoal: where the default OCI
# runtime cannot run here (crun refuses hybrid cgroup hierarchies), runc may.
probe() { as_user podman run --rm --pull=never --network=host --userns=keep-id --init \
  localhost/shoal-test:1 true >"$WORK/probe.log" 2>&1; }
if ! probe; then
  printf '[engine]\nruntime = "runc"\n' >"$home/.config/containers/containers.conf"
  chown "$user:$user" "$home/.config/containers/containers.conf"
  probe || skip "rootless podman cannot run a container here: $(tail -1 "$WORK/probe.log")"
  echo "note: podman's default runtime failed here; the test user runs runc (containers.conf)"
fi

start_cluster --nodes 1 --cpus-per-node 4
chmod 755 "$SHOAL_STATE_DIR"
mkdir "$WORK/bin"
cp "$BIN/shoal" "$WORK/bin/shoal"
for c in sbatch srun squeue sacct scancel scontrol; do ln -s shoal "$WORK/bin/$c"; done
chmod -R a+rX "$WORK/bin"
jobdir="$home/jobs"
mkdir "$jobdir"
chown "$user:$user" "$jobdir"
submit() { (cd "$jobdir" && as_user sbatch --parsable "$@"); }
sacct_field() { sacct -n -X -P -j "$1" --format="$2" | head -1; }

# A batch script in the container: its os-release, the job's directory at the same path, the
# job's environment, the user's own uid.
cat >"$jobdir/inside.sh" <<'EOF'
#!/bin/sh
grep '^NAME=' /etc/os-release
echo "pwd=$(pwd)"
echo "job=$SLURM_JOB_ID"
echo "uid=$(id -u)"
echo written >made-inside
EOF
chown "$user:$user" "$jobdir/inside.sh"
id=$(submit --container-image=localhost/shoal-test:1 inside.sh 2>&1)
expect_match "$id" '^[0-9]+$' "sbatch --container-image answers a job id"
wait_until 30 job_done "$id" || fail "container job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "the container job completes"
out=$(cat "$jobdir/slurm-$id.out" 2>&1)
expect_match "$out" 'NAME="shoal test image"' "the script runs inside the image (its os-release)"
expect_match "$out" "pwd=$jobdir" "the working directory is mounted at the same path"
expect_match "$out" "job=$id" "the job's environment (SLURM_JOB_ID) reaches the container"
expect_match "$out" "uid=$user_uid" "rootless: the user is himself inside (keep-id)"
expect_eq "$(stat -c %U "$jobdir/made-inside" 2>&1)" "$user" \
  "a file written in the container belongs to the user"
expect_match "$(scontrol show job "$id")" "ContainerImage=localhost/shoal-test:1" \
  "scontrol show job names the image"

# Exit codes propagate: exit 3 is ExitCode 3:0 and FAILED.
id=$(submit --container-image=localhost/shoal-test:1 --wrap "exit 3" 2>&1)
wait_until 30 job_done "$id" || fail "exit-3 job $id did not finish"
expect_eq "$(job_state "$id")" "FAILED" "exit 3 in the container fails the job"
expect_eq "$(sacct_field "$id" ExitCode)" "3:0" "the container's exit code is the job's"

# srun outside a job, with a mount and a workdir; its exit code is srun's.
mkdir "$jobdir/data" && echo hello-mount >"$jobdir/data/f" && chown -R "$user:$user" "$jobdir/data"
out=$(cd "$jobdir" && as_user srun --container-image=localhost/shoal-test:1 \
  --container-mounts=./data:/mnt/data:ro --container-workdir=/mnt/data sh -c 'cat f; pwd; exit 4' 2>&1)
rc=$?
expect_match "$out" "hello-mount" "srun --container-mounts mounts the directory"
expect_eq "$(echo "$out" | sed -n 2p)" "/mnt/data" "srun --container-workdir sets the working directory"
expect_eq "$rc" "4" "srun's exit code is the container's"

# srun --container-image inside a batch job (the batch script itself on the host).
cat >"$jobdir/steps.sh" <<'EOF'
#!/bin/sh
srun --container-image=localhost/shoal-test:1 sh -c 'grep ^ID= /etc/os-release; echo step=$SLURM_STEP_ID'
EOF
chown "$user:$user" "$jobdir/steps.sh"
id=$(submit steps.sh 2>&1)
wait_until 30 job_done "$id" || fail "steps job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "a job with a containerized step completes"
expect_match "$(cat "$jobdir/slurm-$id.out" 2>&1)" "ID=shoaltest" "the step runs in the image"

# scancel: the container's processes get SIGTERM, nothing is left behind in podman.
id=$(submit --container-image=localhost/shoal-test:1 --wrap "echo started; sleep 300" 2>&1)
wait_until 30 grep -q started "$jobdir/slurm-$id.out" || fail "sleeping container job did not start"
as_user scancel "$id"
wait_until 30 job_done "$id" || fail "cancelled container job $id did not end"
expect_match "$(job_state "$id")" "^CANCELLED" "scancel cancels the container job"
no_containers() { [ -z "$(as_user podman ps -aq 2>/dev/null)" ]; }
wait_until 15 no_containers ||
  fail "containers left behind after scancel: $(as_user podman ps -a 2>&1)"
expect_eq "$(pgrep -U "$user" -f 'sleep 300')" "" "no container process survives scancel"

# A nonexistent image: FAILED with the reason in the job's error output, no hang, no pull.
id=$(submit --container-image=localhost/no-such-image:9 --wrap "echo never" 2>&1)
wait_until 30 job_done "$id" || fail "job $id with a missing image did not end"
expect_eq "$(job_state "$id")" "FAILED" "a missing image fails the job"
expect_match "$(cat "$jobdir/slurm-$id.out" 2>&1)" \
  "container image localhost/no-such-image:9 not found" "the job's output says why"
expect_match "$(scontrol show job "$id")" "Reason=container image localhost/no-such-image:9" \
  "the job's reason says why"

# --container-name (pyxis): the job's first step that names a container creates it from the
# image; later steps use it by the name alone and see what earlier ones changed in it; an image
# given again is ignored for an existing one; an unnamed step starts fresh from the image; a
# name no step created is refused with the reason. The container goes at the job's end.
cat >"$jobdir/named.sh" <<'EOF'
#!/bin/sh
srun --container-image=localhost/shoal-test:1 --container-name=work sh -c 'echo kept-$SLURM_STEP_ID >/etc/mark'
srun --container-name=work sh -c 'echo "reused: $(cat /etc/mark)"; echo more >>/etc/mark'
srun --container-image=localhost/shoal-test:1 --container-name=work sh -c 'echo "again: $(cat /etc/mark | tr "\n" " ")"'
srun --container-image=localhost/shoal-test:1 sh -c 'cat /etc/mark 2>/dev/null || echo unnamed-fresh'
srun --container-name=never-made true
echo "missing rc=$?"
EOF
chown "$user:$user" "$jobdir/named.sh"
containers="$SHOAL_STATE_DIR/agents/node1/containers"
id=$(submit named.sh 2>&1)
expect_match "$id" '^[0-9]+$' "the named-container job is queued"
wait_until 60 job_done "$id" || fail "named-container job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "the named-container job completes"
out=$(cat "$jobdir/slurm-$id.out" 2>&1)
expect_match "$out" "reused: kept-0" "a later step sees the first step's change (by the name alone)"
expect_match "$out" "again: kept-0 more " "an image given again is ignored: the same container"
expect_match "$out" "unnamed-fresh" "an unnamed step starts from the image"
expect_match "$out" "container never-made does not exist on this node for job $id" \
  "a name no step created is refused with the reason"
expect_match "$out" "missing rc=[1-9]" "srun fails for a container that does not exist"
[ -d "$containers" ] && ok || fail "no named containers were kept under $containers"
gone() { [ ! -e "$containers/$id" ]; }
wait_until 10 gone && ok ||
  fail "the job's named containers are left: $(ls "$containers/$id" 2>&1 | head -3)"
wait_until 15 no_containers || fail "podman containers left: $(as_user podman ps -a 2>&1)"

# Bad values are refused at submit, before anything is queued.
out=$(submit --container-image=/x/img.sqsh --wrap true 2>&1)
expect_match "$out" "squashfs" "an enroot squashfs image is refused with the reason"
out=$(submit --container-image=localhost/shoal-test:1 --container-mounts=/a:rel --wrap true 2>&1)
expect_match "$out" "must be an absolute path" "a relative mount destination is refused"
out=$(submit --container-mounts=/a:/b --wrap true 2>&1)
expect_match "$out" "need --container-image" "container options without an image are refused"
out=$(submit --container-image=localhost/shoal-test:1 --container-name=a/b --wrap true 2>&1)
expect_match "$out" "invalid name 'a/b'" "a bad container name is refused"

# The cluster carries on.
id=$(submit --wrap "echo fine" 2>&1)
wait_until 20 job_done "$id" || fail "plain job $id after the container jobs did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "a plain job still runs afterwards"

finish
