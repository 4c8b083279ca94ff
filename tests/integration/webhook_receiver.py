#!/usr/bin/env python3
"""A webhook receiver for webhooks_test.sh: verifies each delivery's signature the way the
documentation tells receivers to (docs/webhooks.md) and appends one JSON line per delivery to
LOG. Answers 200 when the signature verifies, 401 when it does not.

usage: webhook_receiver.py PORT SECRET_FILE LOG PORT_FILE   (PORT 0: any; written to PORT_FILE)
"""
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, secret_file, log_path, port_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        secret = open(secret_file, "rb").read().strip()
        ok = verify(secret, self.headers.get("X-Shoal-Timestamp", ""), body,
                    self.headers.get("X-Shoal-Signature", ""))
        event = json.loads(body)
        record = {
            "path": self.path,
            "key": self.headers.get("Idempotency-Key"),
            "header_type": self.headers.get("X-Shoal-Event"),
            "id": event["id"],
            "type": event["type"],
            "cluster": event["cluster"],
            "job_id": event["job"]["job_id"],
            "state": event["job"]["state"],
            "sig_ok": ok,
        }
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", port), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
