#!/usr/bin/env bash
# bench/bench_monitor_http.sh - the dashboard's HTTP side under load, and what
# monitoring costs a run. Prints figures; never passes or fails.
#
#   bench/bench_monitor_http.sh BUILD_DIR [SECONDS]
#
# 1. `wrk -t2 -c200 -dSECONDS --latency` against /api/tracks of a running
#    `voxtrack demo --serve` (live frame sets, the small scene), twice; the
#    server's resident memory before, between and after (a leak would grow).
# 2. `voxtrack demo --preset small --frames 300 --json`, alternately without
#    and with --serve and an /events client attached, 3 runs each: frame
#    sets per second (processing only, and wall).
set -euo pipefail
BUILD=${1:?usage: bench_monitor_http.sh BUILD_DIR [SECONDS]}
SECS=${2:-5}
VT=$BUILD/voxtrack
TMP=$(mktemp -d)
trap 'kill $demo 2>/dev/null || true; rm -rf "$TMP"' EXIT

rss() { awk '/^VmRSS/ {print $2 " kB"}' /proc/"$1"/status; }

"$VT" demo --preset small --frames 100000 --quiet --serve 127.0.0.1:0 >/dev/null 2>"$TMP/err" &
demo=$!
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/err" || true)
    [[ -n $url ]] && break
    sleep 0.1
done
sleep 2
echo "== wrk against $url/api/tracks (live demo, small scene) =="
echo "RSS before: $(rss $demo)"
for round in 1 2; do
    wrk -t2 -c200 -d"${SECS}s" --latency "$url/api/tracks" | grep -E 'Latency|50%|90%|99%|Requests/sec|requests in|Socket errors|Non-2xx'
    echo "RSS after round $round: $(rss $demo)"
done
kill -0 $demo && echo "server alive after wrk"
kill $demo
wait $demo 2>/dev/null || true

echo "== overhead: demo --preset small --frames 300, without / with --serve + an /events client =="
for i in 1 2 3; do
    "$VT" demo --preset small --frames 300 --json --quiet >"$TMP/a.json" 2>/dev/null
    "$VT" demo --preset small --frames 300 --json --quiet --serve 127.0.0.1:0 >"$TMP/b.json" 2>"$TMP/b.err" &
    pid=$!
    for _ in $(seq 50); do
        u=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/b.err" || true)
        [[ -n $u ]] && break
        sleep 0.02
    done
    curl -sN "$u/events" >/dev/null 2>&1 &
    c=$!
    wait $pid
    kill $c 2>/dev/null || true
    python3 - "$TMP/a.json" "$TMP/b.json" <<'P'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"without: {a['sets_per_second']:.1f} sets/s (wall {a['wall_seconds']:.2f} s)   "
      f"with: {b['sets_per_second']:.1f} sets/s (wall {b['wall_seconds']:.2f} s)")
P
done
