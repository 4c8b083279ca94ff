#!/usr/bin/env bash
# The web dashboard in a real headless Chromium (WebDriver through chromedriver, driven by
# dashboard_browser.py with Python's standard library) against a real `shoal up` cluster: the
# page loads and shows the nodes and jobs, sbatch and scancel show within a second, the form
# submits a job squeue sees, the cancel button works; a screenshot is kept under the build dir.
# Without chromium/chromedriver (scripts/install-deps installs them) it says SKIP and exits 77.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

start_cluster --nodes 2 --cpus-per-node 2 --gpus-per-node 1 --memory-per-node 1000
HTTP=$(python3 -c "import json;print(json.load(open('$SHOAL_STATE_DIR/controller.json'))['http'])")

# --- without a browser: the page, its files, the stream and bad input ---
code() { curl -s -o /dev/null -w '%{http_code} %{content_type}' "$@"; }
expect_eq "$(code "http://$HTTP/")" "200 text/html; charset=utf-8" "GET / serves the page"
expect_eq "$(code "http://$HTTP/dashboard/app.js")" "200 text/javascript; charset=utf-8" "app.js"
expect_eq "$(code "http://$HTTP/dashboard/style.css")" "200 text/css; charset=utf-8" "style.css"
expect_eq "$(code "http://$HTTP/dashboard/missing.js")" "404 application/json" "unknown asset: JSON 404"
etag=$(curl -sI "http://$HTTP/dashboard/app.js" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://$HTTP/dashboard/app.js")" \
  "304" "ETag revalidation"
expect_eq "$(code "http://$HTTP/api/v1/events/timeline?x=1")" "400 application/json" "unknown parameter"
expect_eq "$(code "http://$HTTP/api/v1/nothing")" "404 application/json" "unknown API path"
expect_eq "$(code -X POST -H 'Origin: http://elsewhere.example' -d '{}' "http://$HTTP/api/v1/jobs")" \
  "403 application/json" "a cross-origin POST is refused"
# Over TCP, changes need a token: none is 401, a bad one 401 naming the problem; reading is open.
expect_eq "$(code -X POST -d '{}' "http://$HTTP/api/v1/jobs")" "401 application/json" \
  "an anonymous POST is refused"
expect_match "$(curl -s -H 'Authorization: Bearer x.y.z' "http://$HTTP/api/v1/jobs")" \
  "malformed token" "a bad token is refused, not read as anonymous"
TOKEN=$("$BIN/scontrol" token lifespan=600 | sed 's/^SLURM_JWT=//')
expect_match "$TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "scontrol token prints a JWT"
sse=$(timeout 1 curl -sN "http://$HTTP/api/v1/events")
expect_match "$sse" "event: hello" "the event stream greets"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "SKIP: chromium and chromedriver are not installed (scripts/install-deps installs them)"
  FINISHED=1
  [ "$FAILURES" -eq 0 ] && exit 77
  exit 1
fi

SHOT="$(cd "$BIN/.." && pwd)/test-artifacts/dashboard.png"
if python3 "$HERE/dashboard_browser.py" "$HTTP" "$SHOT" "$TOKEN"; then
  ok
  echo "screenshot: $SHOT"
else
  fail "browser checks (above)"
fi

FINISHED=1
echo "dashboard_test: $CHECKS checks, $FAILURES failures"
[ "$FAILURES" -eq 0 ]
