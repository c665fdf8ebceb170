#!/usr/bin/env python3
"""A webhook receiver for the alert tests: an HTTP server on 127.0.0.1.

Usage: alert_webhook.py OUT.jsonl [FAILURES] [PORT]

Binds PORT (default 0: a free port chosen by the kernel), prints the port on
the first line of stdout, then appends one JSON line per request to OUT.jsonl
({"method", "path", "headers", "body"}) before it answers: 500 for the first
FAILURES requests (default 0), then 200. Runs until it is killed.
"""
import http.server
import json
import sys

out_path = sys.argv[1]
failures = int(sys.argv[2]) if len(sys.argv) > 2 else 0
port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with open(out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"method": "POST", "path": self.path,
                                "headers": dict(self.headers.items()), "body": body}) + "\n")
        count += 1
        code = 500 if count <= failures else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
