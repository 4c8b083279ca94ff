#!/usr/bin/env bash
# Snakemake 7 runs its workflows on shoal unchanged, in both of its Slurm modes: --cluster with a
# sbatch command line and a --cluster-status script (sacct/squeue), and the built-in --slurm
# executor (sbatch -J/-o/--export/-p/-t/--mem/--cpus-per-task/-D --wrap, sacct polling, srun
# inside the job). A three-rule chain completes; a failing rule is reported as failed.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$SRC/lib.sh"
require_client snakemake
export USER=${USER:-$(id -un)}  # the --slurm executor reads it
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

# The chain a -> b -> c; every rule records the shoal job it ran in.
write_workflow() {
  mkdir -p "$1"
  cat > "$1/Snakefile" <<'SMK'
rule all:
    input: "c.txt"

rule a:
    output: "a.txt"
    shell: "echo a $SLURM_JOB_ID > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat {input} > {output}; echo b $SLURM_JOB_ID >> {output}"

rule c:
    input: "b.txt"
    output: "c.txt"
    shell: "cat {input} > {output}; echo c $SLURM_JOB_ID >> {output}"
SMK
  cat > "$1/Snakefile.fail" <<'SMK'
rule all:
    input: "ok.txt", "never.txt"

rule ok:
    output: "ok.txt"
    shell: "echo ok > {output}"

rule broken:
    output: "never.txt"
    shell: "echo broken on purpose >&2; exit 3"
SMK
}

# check_chain DIR WHAT: c.txt holds a, b and c, each from a different, completed shoal job.
check_chain() {
  local lines ids id
  lines=$(cat "$1/c.txt" 2>/dev/null)
  expect_match "$lines" $'^a [0-9]+\nb [0-9]+\nc [0-9]+$' "$2: the chain's output"
  ids=$(awk '{print $2}' <<<"$lines" | sort -u)
  expect_eq "$(wc -l <<<"$ids")" "3" "$2: three jobs"
  for id in $ids; do
    expect_eq "$(job_state "$id")" "COMPLETED" "$2: job $id in sacct"
  done
}

# Above one status check a second the --slurm executor falls back to one every 33 s.
COMMON=(-j 3 --latency-wait 10 --max-status-checks-per-second 1 --nocolor)

# --- --cluster "sbatch ..." with a --cluster-status script ---
write_workflow cluster
mkdir -p cluster/logs  # sbatch -o names a file; its directory must exist, as on Slurm
cp "$SRC/clients/snakemake_status.sh" cluster/status.sh
(cd cluster && timeout 240 snakemake "${COMMON[@]}" \
  --cluster "sbatch --parsable -J smk-{rule} -c {threads} -o logs/{rule}-%j.out" \
  --cluster-status ./status.sh > run.log 2>&1)
expect_eq "$?" "0" "--cluster: snakemake's exit code"
check_chain cluster "--cluster"
(cd cluster && timeout 240 snakemake "${COMMON[@]}" -s Snakefile.fail --keep-going \
  --cluster "sbatch --parsable -J smk-{rule} -o logs/{rule}-%j.out" \
  --cluster-status ./status.sh > fail.log 2>&1)
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok || fail "--cluster: a failing rule gave exit code $rc"
expect_match "$(cat cluster/fail.log)" "Error in rule broken" "--cluster: the failed rule reported"
expect_eq "$(cat cluster/ok.txt 2>/dev/null)" "ok" "--cluster: the other rule still ran"
bid=$(sacct -n -X -P --name=smk-broken --format=JobID | tail -n 1)
# The job runs Snakemake itself, which ends with 1 when its rule fails.
expect_eq "$(sacct -n -X -P -j "$bid" --format=State,ExitCode)" "FAILED|1:0" \
  "--cluster: the failed rule's job in sacct"
show_logs() { echo "--- $1/run.log"; cat "$1/run.log"; echo "--- $1/fail.log"; cat "$1/fail.log"; }
[ "$FAILURES" -eq 0 ] || show_logs cluster

# --- the built-in --slurm executor ---
before=$FAILURES
write_workflow slurm
(cd slurm && timeout 240 snakemake "${COMMON[@]}" --slurm \
  --default-resources runtime=5 mem_mb=100 > run.log 2>&1)
expect_eq "$?" "0" "--slurm: snakemake's exit code"
check_chain slurm "--slurm"
expect_match "$(grep -h 'has been submitted with SLURM jobid' slurm/run.log | wc -l)" "^3$" \
  "--slurm: three submissions"
(cd slurm && timeout 240 snakemake "${COMMON[@]}" --slurm -s Snakefile.fail --keep-going \
  --default-resources runtime=5 mem_mb=100 > fail.log 2>&1)
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok || fail "--slurm: a failing rule gave exit code $rc"
expect_match "$(cat slurm/fail.log)" "SLURM-job '[0-9]+' failed, SLURM status is: 'FAILED'" \
  "--slurm: the failed rule reported"
expect_eq "$(cat slurm/ok.txt 2>/dev/null)" "ok" "--slurm: the other rule still ran"
[ "$FAILURES" -eq "$before" ] || show_logs slurm

finish
