#!/usr/bin/env python3
"""An SMTP sink for the alert tests (aiosmtpd, Debian package python3-aiosmtpd).

Usage: alert_smtp.py OUT.jsonl

Listens on 127.0.0.1 at a free port, prints the port on the first line of
stdout, and appends one JSON line per message to OUT.jsonl ({"mail_from",
"rcpt_tos", "data"}) before it answers 250. Runs until it is killed.
"""
import json
import signal
import socket
import sys
import time

from aiosmtpd.controller import Controller

out_path = sys.argv[1]


class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"mail_from": envelope.mail_from,
                                "rcpt_tos": list(envelope.rcpt_tos),
                                "data": envelope.content.decode("utf-8", "replace")}) + "\n")
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


for attempt in range(20):  # the port may be taken between free_port() and start()
    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    try:
        controller.start()
        break
    except Exception:
        time.sleep(0.05)
else:
    sys.exit("alert_smtp.py: could not start the SMTP sink")
print(controller.port, flush=True)
signal.signal(signal.SIGTERM, lambda *a: (controller.stop(), sys.exit(0)))
while True:
    time.sleep(3600)
