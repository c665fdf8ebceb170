#!/usr/bin/env bash
# The dashboard in a real browser: `voxtrack demo --serve` runs the small
# scene while headless Chromium (driven through chromedriver by
# dashboard_check.py) opens the dashboard with ?token=: the track table must
# fill, the map must draw, state events must arrive, and the console must
# show no errors. The screenshot stays in the build folder
# (tests/dashboard.png) for people to look at.
set -euo pipefail
VT=$1
TMP=$2
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

for tool in chromium chromedriver python3; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps installs it)"
done

"$VT" demo --preset small --frames 3000 --quiet --serve 127.0.0.1:0 --token browser-token \
    --linger 60 >"$TMP/demo.out" 2>"$TMP/demo.err" &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true' EXIT

url=
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$TMP/demo.err" || true)
    [[ -n $url ]] && break
    kill -0 $demo 2>/dev/null || fail "the demo ended early: $(cat "$TMP/demo.err")"
    sleep 0.1
done
[[ -n $url ]] || fail "the demo printed no dashboard address: $(cat "$TMP/demo.err")"

shot=$(dirname "$TMP")/dashboard.png
python3 "$(dirname "$0")/dashboard_check.py" "$url" "$shot" browser-token ||
    fail "the dashboard check failed (screenshot: $shot)"
[[ -s $shot ]] || fail "no screenshot"
kill -0 $demo 2>/dev/null || fail "the demo died while the browser watched: $(cat "$TMP/demo.err")"
echo "ok (screenshot: $shot)"
