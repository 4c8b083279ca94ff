#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium through chromedriver's WebDriver HTTP API (standard
library only) against a running cluster. Used by dashboard_test.sh; prints one line per check and
exits non-zero when one failed.

usage: dashboard_browser.py HTTP_ADDRESS SCREENSHOT_PATH
"""
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADDR, SHOT = sys.argv[1], sys.argv[2]
# A token (scontrol token) for the page's actions: the fragment hands it to the page without
# sending it to the server; viewing alone needs none.
TOKEN = sys.argv[3] if len(sys.argv) > 3 else ""
URL = f"http://{ADDR}/" + (f"#token={TOKEN}" if TOKEN else "")
failures = 0


def check(cond, what):
    global failures
    print(("ok  " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="chromedriver-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(["chromedriver", f"--port={self.port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 15
        while True:
            try:
                self.call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.time() > deadline:
                    raise RuntimeError("chromedriver did not start")
                time.sleep(0.1)
        args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1100", "--no-first-run", f"--user-data-dir={tempfile.mkdtemp()}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.load(resp).get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.read().decode()[:400]}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait(self, script, timeout, *args):
        """Polls `script` until it returns something truthy; (value, seconds waited)."""
        start = time.monotonic()
        while True:
            v = self.js(script, *args)
            if v:
                return v, time.monotonic() - start
            if time.monotonic() - start > timeout:
                return v, time.monotonic() - start
            time.sleep(0.02)

    def quit(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(10)


def sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()


STATE_OF = "const c = document.querySelector(`#job-table tr[data-id='${arguments[0]}'] td.state`);" \
           "return c ? c.textContent : null;"


def main():
    # A job that finished before the page opened, with output to show.
    done_id = sh("sbatch", "--parsable", "-J", "early", "--wrap", "echo hello-from-early").split(";")[0]
    for _ in range(100):
        if sh("sacct", "-n", "-X", "-P", "-j", done_id, "--format=State") == "COMPLETED":
            break
        time.sleep(0.1)

    # An account with limits and a reservation, for the accounts view and the node timeline
    # (the page reads both when it opens, then every 10 s).
    me = sh("id", "-un")
    sh("sacctmgr", "-i", "add", "account", "physics")
    sh("sacctmgr", "-i", "add", "user", me, "account=physics")
    sh("sacctmgr", "-i", "modify", "account", "physics", "set", "GrpJobs=3", "GrpTRES=cpu=2")
    resv = sh("scontrol", "create", "reservation", "ReservationName=paint",
              "StartTime=now+3600", "Duration=120", "Nodes=node2", "Users=root", "Flags=MAINT,IGNORE_JOBS")
    check(resv == "Reservation created: paint", f"a reservation for the timeline ({resv})")

    d = Driver()
    try:
        d.s("POST", "/url", {"url": URL})
        live, _ = d.wait("return document.querySelector('#conn').textContent === 'live'", 10)
        check(live, "the page loads and its event stream connects")
        nodes, _ = d.wait("const n = [...document.querySelectorAll('#nodes .node')]"
                          ".map(e => e.dataset.name); return n.length >= 2 ? n : null;", 10)
        check(nodes == ["node1", "node2"], f"node grid shows the cluster's nodes ({nodes})")
        bars = d.js("return document.querySelectorAll('#nodes .node .bar.cpu').length")
        check(bars == 2, "each node has a CPU allocation bar")
        state, _ = d.wait(STATE_OF, 5, done_id)
        check(state == "COMPLETED", f"job table shows the finished job {done_id} ({state})")

        # sbatch -> row within 1 s.
        job = sh("sbatch", "--parsable", "-J", "sleeper", "--wrap", "sleep 300").split(";")[0]
        state, took = d.wait(STATE_OF, 3, job)
        check(state in ("PENDING", "RUNNING") and took <= 1.0,
              f"job {job} submitted with sbatch appears in {took:.3f} s ({state})")
        state, _ = d.wait(f"const s = (function(){{{STATE_OF}}})(arguments[0]);"
                          "return s === 'RUNNING' ? s : null;", 5, job)
        check(state == "RUNNING", f"job {job} shows RUNNING")
        alloc, _ = d.wait("return [...document.querySelectorAll('#nodes .node')]"
                          ".some(e => e.dataset.state === 'mixed' || e.dataset.state === 'allocated')",
                          3)
        check(bool(alloc), "node grid shows the allocation")

        # scancel -> CANCELLED within 1 s.
        sh("scancel", job)
        state, took = d.wait(f"const s = (function(){{{STATE_OF}}})(arguments[0]);"
                             "return s === 'CANCELLED' ? s : null;", 3, job)
        check(state == "CANCELLED" and took <= 1.0,
              f"job {job} cancelled with scancel shows CANCELLED in {took:.3f} s")

        # Detail panel with the output's tail.
        d.js(f"document.querySelector(`#job-table tr[data-id='{done_id}']`).click()")
        out, _ = d.wait("const t = document.querySelector('#detail-output').textContent;"
                        "return t.includes('hello-from-early') ? t : null;", 5)
        check(bool(out), "job detail shows the tail of the job's output")
        fields = d.js("return document.querySelector('#detail-fields').textContent")
        check("early" in (fields or "") and "COMPLETED" in (fields or ""),
              "job detail lists the job's fields")

        # Filter and sort.
        d.js("const f = document.querySelector('#job-filter'); f.value = 'sleeper';"
             "f.dispatchEvent(new Event('input'));")
        ids, _ = d.wait("const r = [...document.querySelectorAll('#job-table tbody tr')]"
                        ".map(e => e.dataset.id); return r.length === 1 ? r : null;", 2)
        check(ids == [job], f"the filter keeps only matching jobs ({ids})")
        d.js("const f = document.querySelector('#job-filter'); f.value = '';"
             "f.dispatchEvent(new Event('input'));")

        # The form: a job that squeue sees.
        d.js("document.querySelector('#f-command').value = 'sleep 120';"
             "document.querySelector('#f-name').value = 'from-web';"
             "document.querySelector('#f-time').value = '5';"
             "document.querySelector('#f-submit').click();")
        res, _ = d.wait("const t = document.querySelector('#submit-result').textContent;"
                        "return /Submitted batch job|error/.test(t) ? t : null;", 5)
        check(bool(res) and res.startswith("Submitted batch job"), f"the form submits ({res})")
        web_id = (res or "").rsplit(" ", 1)[-1]
        squeue = sh("squeue", "-h", "-j", web_id, "-o", "%i %j %l")
        check(squeue.startswith(f"{web_id} from-web 5:00"), f"squeue shows the form's job ({squeue})")
        state, _ = d.wait(STATE_OF, 2, web_id)
        check(state in ("PENDING", "RUNNING"), f"the form's job is in the table ({state})")

        # A bad submission shows the controller's message.
        d.js("document.querySelector('#f-workdir').value = 'relative';"
             "document.querySelector('#f-submit').click();")
        res, _ = d.wait("const t = document.querySelector('#submit-result').textContent;"
                        "return t.startsWith('error') ? t : null;", 5)
        check(bool(res) and "absolute" in res, f"the form shows the error message ({res})")

        # Cancel from the page.
        d.js(f"document.querySelector(`#job-table tr[data-id='{web_id}']`).click()")
        d.wait("return !document.querySelector('#detail-cancel').disabled && "
               f"document.querySelector('#detail-title').textContent === 'Job {web_id}'", 3)
        d.js("document.querySelector('#detail-cancel').click()")
        state, _ = d.wait(f"const s = (function(){{{STATE_OF}}})(arguments[0]);"
                          "return s === 'CANCELLED' ? s : null;", 3, web_id)
        check(state == "CANCELLED", "the cancel button cancels the job")
        check(sh("sacct", "-n", "-X", "-P", "-j", web_id, "--format=State").startswith("CANCELLED"),
              "sacct agrees")

        timeline, _ = d.wait("const t = document.querySelector('#timeline').textContent;"
                             f"return t.includes('job {job} (sleeper) CANCELLED') ? t : null;", 3)
        check(bool(timeline), "the timeline lists the cancellation")
        charts, _ = d.wait("return document.querySelectorAll('#chart-queue polyline').length === 2"
                           " && document.querySelectorAll('#chart-util polyline').length === 2", 8)
        check(bool(charts), "queue and utilization charts are drawn")
        # The live simulation's panel: hidden until a simulation reports (here the test reports
        # as one would), then its controls change the settings the simulation takes back.
        check(d.js("return document.querySelector('#sim-section').classList.contains('hidden')"),
              "no live-simulation panel without a simulation")
        report = {"settings": {"job_rate_per_min": 0, "preset": "steady",
                               "failure_pct_per_min": [0, 0]},
                  "status": {"nodes": 8, "nodes_up": 7, "submitted": 42, "failures": 3,
                             "job_rate_per_min": 2}}
        def post(path, body):
            req = urllib.request.Request(f"http://{ADDR}/api/v1{path}", method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.load(resp)
        post("/sim/live/status", report)
        shown, _ = d.wait("const t = document.querySelector('#sim-status').textContent;"
                          "return !document.querySelector('#sim-section').classList.contains("
                          "'hidden') && t.includes('7/8 nodes up') ? t : null;", 5)
        check(bool(shown), f"the live-simulation panel shows its report ({shown})")
        d.js("const r = document.querySelector('#sim-rate'); r.value = 1000;"
             "r.dispatchEvent(new Event('input', {bubbles: true}));"
             "document.querySelector('#sim-preset').value = '';"
             "document.querySelector('#sim-fail-low').value = 5;"
             "document.querySelector('#sim-fail-high').value = 12;"
             "document.querySelector('#sim-apply').click();")
        msg, _ = d.wait("const m = document.querySelector('#sim-msg').textContent;"
                        "return m === 'applied' ? m : null;", 3)
        wanted = post("/sim/live/status", report)["settings"]
        check(msg == "applied" and wanted["job_rate_per_min"] == 50 and
              wanted["failure_pct_per_min"] == [5, 12],
              f"the panel's controls change the simulation's settings ({msg}, {wanted})")
        d.js("document.querySelector('#sim-form').dispatchEvent(new Event('input'));"
             "document.querySelector('#sim-fail-low').value = 30;"
             "document.querySelector('#sim-fail-high').value = 10;"
             "document.querySelector('#sim-apply').click();")
        bad, _ = d.wait("const m = document.querySelector('#sim-msg');"
                        "return m.classList.contains('error') ? m.textContent : null;", 3)
        check(bool(bad) and "low <= high" in bad, f"a bad setting shows the API's message ({bad})")

        # The node timeline draws the reservation on its node; the accounts view shows a job's
        # usage against its account's limits as it runs.
        bar, _ = d.wait("const r = document.querySelector(\"#plan rect[data-resv='paint']\");"
                        "return r ? r.getAttribute('class') : null;", 5)
        check(bar == "resv maint", f"the node timeline shows the reservation ({bar})")
        listed = d.js("const l = document.querySelector(\"#resv-list li[data-resv='paint']\");"
                      "return l ? l.textContent : null;")
        check(bool(listed) and "node2" in listed and "MAINT" in listed,
              f"the reservation is listed with its nodes and flags ({listed})")
        acct_job = sh("sbatch", "--parsable", "-A", "physics", "-J", "acct", "--wrap", "sleep 60")
        ROW = ("const r = document.querySelector(`#accounts-table tr[data-account='physics']"
               "[data-user='${arguments[0]}']`); return r ? [...r.cells].map(c => c.textContent) : null;")
        row, _ = d.wait(f"const c = (function(){{{ROW}}})(arguments[0]);"
                        "return c && c[3].startsWith('1 /') ? c : null;", 5, "")
        check(bool(row) and row[3] == "1 / 3" and row[4] == "1 / 2" and "GrpJobs=3" in row[7],
              f"the accounts view shows the account's running job and CPUs against its limits ({row})")
        user_row, _ = d.wait(ROW, 3, me)
        check(bool(user_row) and user_row[3].startswith("1"),
              f"and the user's own row under it ({user_row})")
        sh("scancel", acct_job)

        errors = d.js("return window.__errors || []")
        check(not errors, f"no script errors ({errors})")

        png = base64.b64decode(d.s("GET", "/screenshot"))
        os.makedirs(os.path.dirname(SHOT), exist_ok=True)
        with open(SHOT, "wb") as f:
            f.write(png)
        check(png[:8] == b"\x89PNG\r\n\x1a\n", f"screenshot saved: {SHOT}")
    finally:
        d.quit()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
