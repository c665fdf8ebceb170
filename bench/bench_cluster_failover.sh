#!/usr/bin/env bash
# Coordinator takeover times of the distributed mode (docs/CLUSTER.md), over N kills:
# a nats-server on a free port, coordinator a (the leader) and b (the standby), a
# `kill -9` of a, and the time until b has taken the lease, from b's stderr line
# "took over ... after S s without renewal (at T)": kill -> takeover is T minus the
# kill's wall-clock time; S is how long b saw the lease unchanged. Prints every kill and
# the median and max of both. Needs a simulated scene's config.json (the coordinators
# load its rig); no frames are read.
#
#   bench/bench_cluster_failover.sh BUILD/voxtrack CONFIG [N]   (default N 10)
set -euo pipefail
VT=$1
CFG=$2
N=${3:-10}
SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.02; done
    echo "timeout waiting for '$2' in $1" >&2; exit 1
}
: >"$TMP/results"
for i in $(seq "$N"); do
    port=$(free_port)
    url=nats://127.0.0.1:$port
    mkdir -p "$TMP/store$i"
    "$SERVER" -js -a 127.0.0.1 -p "$port" -sd "$TMP/store$i" >/dev/null 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    "$VT" coordinator "$CFG" --nats "$url" --name a --tracks "$TMP/a.jsonl" --quiet \
        >/dev/null 2>"$TMP/a$i.err" &
    a=$!
    pids+=("$a")
    wait_for "$TMP/a$i.err" "coordinator a: leader"
    "$VT" coordinator "$CFG" --nats "$url" --name b --tracks "$TMP/b.jsonl" --quiet \
        >/dev/null 2>"$TMP/b$i.err" &
    b=$!
    pids+=("$b")
    sleep 0.7
    killed=$(date +%s.%N)
    kill -9 "$a"
    wait "$a" 2>/dev/null || true
    wait_for "$TMP/b$i.err" "took over"
    line=$(grep -o 'after [0-9.]* s without renewal (at [0-9.]*)' "$TMP/b$i.err")
    silent=$(echo "$line" | awk '{print $2}')
    at=$(echo "$line" | sed 's/.*(at \([0-9.]*\)).*/\1/')
    echo "$killed $at $silent" | awk '{printf "%.3f %.3f\n", $2 - $1, $3}' >>"$TMP/results"
    kill "$b" "$server"
    wait "$b" "$server" 2>/dev/null || true
done
python3 - "$TMP/results" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
for i, (k, s) in enumerate(rows, 1):
    print(f"kill {i:2d}: kill -> takeover {k:.3f} s, lease silent {s:.3f} s")
ks, ss = [r[0] for r in rows], [r[1] for r in rows]
print(f"n={len(rows)}  kill -> takeover: median {statistics.median(ks):.3f} s, max {max(ks):.3f} s;"
      f"  lease silent: median {statistics.median(ss):.3f} s, max {max(ss):.3f} s")
PY
