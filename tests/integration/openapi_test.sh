#!/usr/bin/env bash
# docs/openapi.json describes the API that runs: a well-formed OpenAPI 3 document whose
# references resolve, which names every route src/api/ROUTES.md lists, and whose GET routes a
# running controller answers (none is "no such route").
root=$(cd "$(dirname "$0")/../.." && pwd)  # before lib.sh moves into the work directory
source "$(dirname "$0")/lib.sh"

start_cluster --nodes 1
id=$(sbatch --parsable -o /dev/null --wrap 'sleep 30')
out=$(python3 - "$root/docs/openapi.json" "$root/src/api/ROUTES.md" "$SHOAL_STATE_DIR/controller.sock" "$id" <<'PY'
import http.client, json, re, socket, sys
doc_path, routes_path, sock, job = sys.argv[1:5]
doc = json.load(open(doc_path))
problems = []
if not str(doc.get("openapi", "")).startswith("3."): problems.append("not OpenAPI 3")
for key in ("info", "paths", "components"):
    if key not in doc: problems.append("no " + key)
def walk(node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None:
            target = doc
            for part in ref.lstrip("#/").split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            if target is None: problems.append("unresolved " + ref + " at " + where)
        for k, v in node.items(): walk(v, where + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node): walk(v, where + "/" + str(i))
walk(doc, "#")
methods = {"get", "post", "put", "patch", "delete"}
for path, ops in doc["paths"].items():
    for m, o in ops.items():
        if m not in methods: problems.append(f"{path}: unknown method {m}")
        elif not o.get("responses"): problems.append(f"{path} {m}: no responses")
        for p in re.findall(r"{(\w+)}", path):
            if not any(x.get("in") == "path" and x.get("name") == p for x in o.get("parameters", [])):
                problems.append(f"{path} {m}: path parameter {p} undeclared")
# Every /api/v1 route in ROUTES.md's first columns is in the document.
norm = lambda p: re.sub(r"{[^}]+}", "{}", p)
documented = {norm(p) for p in doc["paths"]}
for line in open(routes_path):
    cells = line.split("|")
    if len(cells) < 4 or not cells[1].strip() or cells[1].strip().startswith("-"): continue
    for p in re.findall(r"`(/api/v1/[^`]*)`", cells[2]):
        if p.startswith("/api/v1/jobs/{id}/hold"): p = "/api/v1/jobs/{id}/hold"
        if norm(p) not in documented: problems.append("ROUTES.md route missing from openapi.json: " + p)
# A running controller answers every GET route that needs nothing but a job id.
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sock)
checked = 0
for path, ops in doc["paths"].items():
    if "get" not in ops or path in ("/api/v1/events",) or re.search(r"{(?!id})", path): continue
    if "required" in json.dumps([x for x in ops["get"].get("parameters", []) if x.get("in") == "query" and x.get("required")]):
        path += "?start=1&end=2"
    c = Unix("localhost"); c.request("GET", path.replace("{id}", job)); r = c.getresponse(); body = r.read().decode()
    checked += 1
    if "no such route" in body: problems.append("the controller does not know GET " + path)
print(f"checked {checked} GET routes")
print("\n".join(problems) if problems else "OK")
PY
)
expect_match "$out" "^checked [0-9]+ GET routes" "GET routes were tried"
expect_eq "$(tail -n +2 <<<"$out")" "OK" "openapi.json is well formed and matches the API"
scancel "$id"
finish
