#!/usr/bin/env bash
# Bad input gets a clear message and Slurm's exit code, and changes nothing.
source "$(dirname "$0")/lib.sh"

# No controller yet: an error within 2 seconds, no hang.
start=$(date +%s%N)
msg=$(squeue 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "$rc" "1" "squeue without a controller exits 1"
expect_match "$msg" "Unable to contact slurm controller" "squeue without a controller says why"
[ "$ms" -lt 2000 ] && ok || fail "squeue without a controller took ${ms} ms"
msg=$(sbatch --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "sbatch without a controller exits 1"

start_cluster --nodes 2 --cpus-per-node 2 --memory-per-node 1000

# The node listing's compact table (sinfo's): the fields asked for, and an unknown one refused.
api() { curl -s -w ' %{http_code}' --unix-socket "$SHOAL_STATE_DIR/controller.sock" "http://shoal$1"; }
wait_until 10 bash -c '[ "$(sinfo -h -o %D)" = 2 ]' || fail "two nodes: $(sinfo)"
expect_match "$(api '/api/v1/nodes?fields=name,cpus,state&with=partitions')" \
  '^\{"columns":\["name","cpus","state"\],"rows":\[\["node1",2,"idle"\],\["node2",2,"idle"\]\],"partitions":\[\{.*"name":"debug".*\}\]\} 200$' \
  "the node table with partitions"
expect_match "$(api '/api/v1/nodes?fields=name,colour')" "unknown node field 'colour'.* 400$" \
  "an unknown node field"
expect_match "$(api '/api/v1/nodes?fields=name&with=jobs')" "unknown value for 'with': jobs.* 400$" \
  "an unknown 'with'"

count_jobs() { squeue -h | wc -l; }
before=$(sacct -n -X -P --format=JobID | wc -l)

msg=$(sbatch --no-such-option --wrap true 2>&1); rc=$?
expect_eq "$rc" "255" "unknown option exit code (Slurm 22.05 exits 255)"
expect_match "$msg" "unrecognized option '--no-such-option'" "unknown option message"

msg=$(sbatch -t 1:xx --wrap true 2>&1); rc=$?
expect_eq "$rc" "255" "bad time exit code"
expect_eq "$msg" "sbatch: error: Invalid --time specification" "bad time message"

msg=$(sbatch --mem=lots --wrap true 2>&1); rc=$?
expect_eq "$rc" "255" "bad memory exit code"
expect_eq "$msg" "sbatch: error: Invalid --mem specification" "bad memory message"

msg=$(sbatch -p nowhere --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "unknown partition exit code"
expect_eq "$(echo "$msg" | tail -1)" "sbatch: error: Batch job submission failed: Invalid partition name specified" "unknown partition message"

msg=$(sbatch -d afterok:424242 --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "dependency on a job never issued exit code"
expect_eq "$msg" "sbatch: error: Batch job submission failed: Job dependency problem: job 424242 does not exist" "dependency on a job never issued message"

msg=$(sbatch -N 3 --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "too many nodes exit code"
expect_match "$msg" "Requested node configuration is not available" "too many nodes message"

msg=$(sbatch --mem=5000 --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "too much memory exit code"
expect_match "$msg" "Requested node configuration is not available" "too much memory message"

msg=$(sbatch -c 3 --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "too many cpus exit code"

printf 'echo no shebang\n' > noshebang.sh
msg=$(sbatch noshebang.sh 2>&1); rc=$?
expect_eq "$rc" "1" "script without #! exit code"
expect_match "$msg" "This does not look like a batch script" "script without #! message"


msg=$(scontrol show job 999999 2>&1); rc=$?
expect_eq "$rc" "1" "scontrol unknown job exit code"
expect_match "$msg" "Invalid job id specified" "scontrol unknown job message"

msg=$(scancel 999999 2>&1); rc=$?
expect_eq "$rc:$msg" "0:" "scancel of an unknown job is silent, as in Slurm 22.05"

msg=$(sacct -n -X -j 999999 2>&1); rc=$?
expect_eq "$rc" "0" "sacct unknown job exit code"
expect_eq "$msg" "" "sacct unknown job prints nothing"

after=$(sacct -n -X -P --format=JobID | wc -l)
expect_eq "$after" "$before" "no job was created by bad input"
expect_eq "$(count_jobs)" "0" "queue is empty after bad input"

# A config file with a bad line: the controller refuses to start and names file:line.
shoal down >/dev/null
printf 'ClusterName=t\nSlurmdTimeout=soon\n' > "$WORK/bad.conf"
msg=$(shoal up --nodes 1 --config "$WORK/bad.conf" 2>&1); rc=$?
expect_eq "$rc" "1" "bad config exit code"
expect_match "$msg" "bad.conf:2" "bad config names file:line"

finish
