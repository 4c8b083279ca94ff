#!/usr/bin/env bash
# Identity and authorization on the public API: over TCP a caller is anonymous unless it
# presents a token from `scontrol token` (SLURM_JWT), and anonymous callers change nothing; a
# bad, forged or expired token is refused (401), not taken as anonymous; a user cancels only
# their own jobs and drains no node; PrivateData=jobs hides others' jobs; one caller flooding
# the API gets 429s while another's requests go through.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

if ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
  echo "SKIP: needs the user nobody and setpriv (util-linux) to act as an ordinary user"
  FINISHED=1
  exit 77
fi

cat > "$WORK/slurm.conf" <<'CONF'
PrivateData=jobs
ApiRateLimit=40
ApiRateBurst=40
CONF
start_cluster --nodes 1 --cpus-per-node 4 --config "$WORK/slurm.conf"
HTTP=$(python3 -c "import json;print(json.load(open('$SHOAL_STATE_DIR/controller.json'))['http'])")
NODE=$(sinfo -h -N -o %N | head -1)

expect_eq "$(stat -c %a "$SHOAL_STATE_DIR/jwt.key")" "600" "the signing key is made with mode 0600"
expect_eq "$(stat -c %s "$SHOAL_STATE_DIR/jwt.key")" "32" "the signing key holds 32 random bytes"

# nobody runs a copy of the commands from a directory it can reach (the build may be in /root).
chmod 755 "$SHOAL_STATE_DIR" "$WORK"
mkdir "$WORK/bin" && cp "$BIN/shoal" "$WORK/bin/shoal"
for c in sbatch squeue scancel scontrol; do ln -s shoal "$WORK/bin/$c"; done
chmod 755 "$WORK/bin" "$WORK/bin/shoal"
as_nobody() {
  setpriv --reuid nobody --regid nogroup --clear-groups \
    env -i PATH=/usr/bin:/bin SHOAL_STATE_DIR="$SHOAL_STATE_DIR" "$@"
}
# Over TCP with a token (any local user may hold one: the token says who is asking).
tcp() { env SHOAL_CONTROLLER="$HTTP" SLURM_JWT="$1" "${@:2}"; }
submit() { tcp "$1" sbatch --parsable -D /tmp -o /dev/null --wrap "sleep 300" 2>&1; }

# --- no token: reading is open, changing is refused and changes nothing ---
out=$(tcp "" sbatch -D /tmp -o /dev/null --wrap "sleep 1" 2>&1)
rc=$?
expect_eq "$rc" "1" "sbatch over TCP without a token fails"
expect_match "$out" "authentication required" "and says authentication is required"
expect_eq "$(squeue -h | wc -l)" "0" "nothing was queued"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://$HTTP/api/v1/jobs")" \
  "401" "an anonymous POST is 401"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://$HTTP/api/v1/nodes")" "200" \
  "an anonymous GET is allowed"

# --- tokens: root's and nobody's ---
line=$(scontrol token lifespan=600)
expect_match "$line" '^SLURM_JWT=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' \
  "scontrol token prints SLURM_JWT=<jwt>"
ROOT_TOKEN=${line#SLURM_JWT=}
line=$(as_nobody "$WORK/bin/scontrol" token)
NOBODY_TOKEN=${line#SLURM_JWT=}
expect_match "$line" '^SLURM_JWT=' "nobody gets a token over the Unix socket"
expect_match "$(as_nobody "$WORK/bin/scontrol" token username=root 2>&1)" \
  "Access/permission denied" "nobody may not issue a token for root"
expect_match "$(scontrol token username=nobody)" '^SLURM_JWT=' "root issues one for nobody"
expect_match "$(scontrol token lifespan=999999999 2>&1)" "Invalid lifespan" \
  "an absurd lifespan is refused"

ROOT_JOB=$(submit "$ROOT_TOKEN")
expect_match "$ROOT_JOB" '^[0-9]+$' "root submits over TCP with its token"
NOBODY_JOB=$(submit "$NOBODY_TOKEN")
expect_match "$NOBODY_JOB" '^[0-9]+$' "nobody submits over TCP with its token"
expect_eq "$(squeue -h -j "$NOBODY_JOB" -o %u)" "nobody" "nobody's job runs as nobody"
expect_eq "$(squeue -h -j "$ROOT_JOB" -o %u)" "root" "root's job runs as root"

# --- bad tokens are refused with what is wrong, never read as anonymous ---
IFS=. read -r h p s <<<"$NOBODY_TOKEN"
evil=$(printf '{"sun":"root","uid":0,"iat":1,"exp":9999999999}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
out=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $h.$evil.$s" "http://$HTTP/api/v1/jobs")
expect_match "$out" 'bad token signature.* 401$' "a forged payload is refused (401)"
short=$(scontrol token lifespan=1)
sleep 2.1
out=$(tcp "${short#SLURM_JWT=}" squeue 2>&1)
expect_eq "$?" "1" "squeue with an expired token fails"
expect_match "$out" "token expired" "and says the token expired"
none=$(printf '{"alg":"none"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
out=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $none.$evil." "http://$HTTP/api/v1/jobs")
expect_match "$out" "unsupported token algorithm 'none'.* 401$" "alg none is refused"

# --- only the owner or an operator changes a job; only operators change nodes ---
out=$(tcp "$NOBODY_TOKEN" scancel "$ROOT_JOB" 2>&1)
expect_eq "$?" "1" "nobody's scancel of root's job fails"
expect_eq "$out" "scancel: error: Kill job error on job id $ROOT_JOB: Access/permission denied" \
  "with Slurm's message"
out=$(tcp "$NOBODY_TOKEN" scontrol hold "$ROOT_JOB" 2>&1)
expect_eq "$?" "1" "nobody cannot hold root's job"
expect_match "$out" "Access/permission denied" "hold says access denied"
out=$(tcp "$NOBODY_TOKEN" scontrol update JobId="$ROOT_JOB" TimeLimit=5 2>&1)
expect_eq "$?" "1" "nobody cannot update root's job"
expect_match "$(squeue -h -j "$ROOT_JOB" -o %t)" '^(PD|R)$' "root's job is untouched"
out=$(as_nobody "$WORK/bin/scancel" "$ROOT_JOB" 2>&1)
expect_eq "$out" "scancel: error: Kill job error on job id $ROOT_JOB: Access/permission denied" \
  "the same rule on the Unix socket"
out=$(tcp "$NOBODY_TOKEN" scontrol update NodeName="$NODE" State=DRAIN Reason=evil 2>&1)
expect_eq "$?" "1" "nobody cannot drain a node"
expect_match "$out" "Access/permission denied" "drain says access denied"
node_state=$(sinfo -h -N -n "$NODE" -o %t | head -1)
[[ "$node_state" =~ drain|drng ]] && fail "nobody drained $NODE ($node_state)" || ok

# --- PrivateData=jobs: nobody sees only its own jobs ---
seen=$(tcp "$NOBODY_TOKEN" squeue -h -o %i | sort | tr '\n' ' ')
expect_eq "$seen" "$NOBODY_JOB " "nobody's squeue over TCP lists only its own job"
expect_eq "$(as_nobody "$WORK/bin/squeue" -h -o %i | tr '\n' ' ')" "$NOBODY_JOB " \
  "and on the Unix socket"
expect_eq "$(squeue -h | wc -l)" "2" "root sees both"
expect_match "$(scontrol show config)" "PrivateData *= jobs" "show config shows PrivateData"

out=$(tcp "$NOBODY_TOKEN" scancel "$NOBODY_JOB" 2>&1)
expect_eq "$?" "0" "nobody cancels its own job ($out)"
wait_until 5 job_done "$NOBODY_JOB" && ok || fail "nobody's job did not end"
expect_match "$(job_state "$NOBODY_JOB")" "^CANCELLED" "nobody's own job is CANCELLED"

# --- rate limit: an anonymous flood gets 429s, another caller is served promptly ---
urls=()
for _ in $(seq 400); do urls+=(-o /dev/null "http://$HTTP/api/v1/health"); done
curl -s -D "$WORK/flood.headers" -w '%{http_code}\n' "${urls[@]}" \
  >"$WORK/flood.codes" &
flood=$!
sleep 0.2
start=$(date +%s%N)
# nobody is limited too (root is not), but has a bucket of its own.
out=$(tcp "$NOBODY_TOKEN" squeue -h -o %i 2>&1)
rc=$?
took_ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "$rc" "0" "nobody's squeue during the flood succeeds ($out)"
[ "$took_ms" -lt 1000 ] && ok || fail "nobody's squeue took $took_ms ms during the flood"
wait "$flood"
n429=$(grep -c '^429$' "$WORK/flood.codes")
n200=$(grep -c '^200$' "$WORK/flood.codes")
[ "$n429" -gt 100 ] && ok || fail "the flood got only $n429 429s ($n200 200s)"
[ "$n200" -ge 40 ] && ok || fail "the flood's burst was not served ($n200 200s)"
expect_match "$(tr -d '\r' <"$WORK/flood.headers" | grep -i '^Retry-After' | head -1)" \
  "^Retry-After: [0-9]+$" "a 429 says when to retry"
echo "flood: $n200 served, $n429 refused; nobody's squeue took $took_ms ms meanwhile"

scancel "$ROOT_JOB"
finish
