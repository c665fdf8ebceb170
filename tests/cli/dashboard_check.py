#!/usr/bin/env python3
"""Loads the voxtrack dashboard in headless Chromium through chromedriver (plain
WebDriver HTTP calls, no selenium) and checks that it works: the track table
fills, the map canvas draws, live state events arrive, and the browser console
shows no errors. Saves a screenshot.

usage: dashboard_check.py URL SCREENSHOT.png [TOKEN]
Exit status 0 when every check passes; 1 with a message otherwise.
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.code} {e.read()[:500]!r}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def js(self, script):
        return self.s("POST", "/execute/sync", {"script": script, "args": []})


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) < 3:
        fail("usage: dashboard_check.py URL SCREENSHOT.png [TOKEN]")
    url, shot = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else None
    for tool in ("chromedriver", "chromium"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed (scripts/install-deps installs it)")
    port = free_port()
    profile = tempfile.mkdtemp(prefix="vt-chromium-")
    log = open(os.path.join(profile, "chromedriver.log"), "w")
    drv_proc = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=log, stderr=log)
    d = Driver(port)
    try:
        for _ in range(100):
            try:
                d.call("GET", "/status", timeout=2)
                break
            except Exception:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": shutil.which("chromium"),
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run",
                         f"--user-data-dir={profile}/profile", "--window-size=1600,1000"],
            }}}}
        r = d.call("POST", "/session", caps)
        d.session = r["sessionId"]
        d.s("POST", "/url", {"url": url + (f"?token={token}" if token else "")})
        rows = states = draws = 0
        deadline = time.time() + 30
        while time.time() < deadline:
            rows = d.js("return document.querySelectorAll('#tracks-body tr').length")
            states = int(d.js("return document.body.dataset.states || 0"))
            draws = int(d.js("return document.getElementById('map').dataset.draws || 0"))
            if rows > 0 and states >= 5 and draws >= 2:
                break
            time.sleep(0.3)
        # the map canvas has pixels that are not the background
        painted = d.js("""
            const c = document.getElementById('map');
            const g = c.getContext('2d');
            const px = g.getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
            return n;""")
        cells = d.js("""return Array.from(document.querySelectorAll('#tracks-body tr:first-child td'))
                        .map((td) => td.textContent)""")
        status = d.js("return document.getElementById('status').textContent")
        png = d.s("GET", "/screenshot")
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        logs = d.s("POST", "/se/log", {"type": "browser"}) or []
        errors = [e for e in logs if e.get("level") == "SEVERE"]
        print(f"rows {rows}, state events {states}, map draws {draws}, painted pixels {painted}, "
              f"status '{status}', first row {cells}, console entries {len(logs)}")
        if errors:
            fail("browser console errors: " + json.dumps(errors)[:2000])
        if rows == 0:
            fail("the track table stayed empty")
        if states < 5:
            fail(f"only {states} state events arrived")
        if draws < 2 or painted < 1000:
            fail(f"the map did not draw (draws {draws}, painted pixels {painted})")
        if len(cells) != 10:
            fail(f"a track row has {len(cells)} cells, expected 10: {cells}")
        # the thermal column: yes/no, then fusion's confirmed/observed and the mean ratio
        if not re.fullmatch(r"(yes|no)( \d+/\d+)?( r\d+\.\d)?", cells[9]):
            fail(f"the thermal cell reads '{cells[9]}'")
        thermal = d.js("""return Array.from(document.querySelectorAll('#tracks-body tr td:last-child'))
                          .map((td) => td.textContent)""")
        if not any(re.fullmatch(r"yes \d+/\d+ r\d+\.\d", t) for t in thermal):
            fail(f"no track shows its thermal confirmation: {thermal}")
    finally:
        if d.session:
            try:
                d.call("DELETE", f"/session/{d.session}", timeout=10)
            except Exception:
                pass
        drv_proc.terminate()
        try:
            drv_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            drv_proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
