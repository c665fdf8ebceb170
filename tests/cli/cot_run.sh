#!/usr/bin/env bash
# `voxtrack run --stream cot+udp://...`: the CoT events a real run sends, received by a
# Python UDP listener on 127.0.0.1, parsed with xml.etree and checked against the run's
# own tracks.jsonl through PROJ's cs2cs (tests/cli/cot_check.py): every event is a
# confirmed or coasting drone track of the run, at the WGS84 point of one of its ENU
# positions (1e-7 degrees, 1 mm), with a stable uid, the default type, wall-clock times
# and at most one event per track per second. Then the same over multicast 239.2.3.1 on
# the loopback interface; a rig without a geodetic origin and a bad URL are clear errors.
set -euo pipefail
VT=$1
TMP=$2
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$TMP" && mkdir -p "$TMP"
source "$HERE/common.bash"
# A failing check must not leave a listener behind.
trap 'touch "$TMP/stop"' EXIT
command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps)"
command -v cs2cs >/dev/null || fail "cs2cs is needed (proj-bin, scripts/install-deps)"

# listen GROUP_OR_EMPTY: a UDP listener on 127.0.0.1 (or joined to GROUP on lo); writes its
# port to $TMP/port, every datagram to $TMP/ev/N.xml, stops on $TMP/stop.
listen() {
    rm -rf "$TMP/ev" "$TMP/port" "$TMP/stop" && mkdir -p "$TMP/ev"
    python3 - "$TMP" "$1" <<'PY' &
import os, socket, struct, sys
tmp, group = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if group:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
else:
    s.bind(("127.0.0.1", 0))
s.settimeout(0.2)
open(tmp + "/port.tmp", "w").write(str(s.getsockname()[1]))
os.rename(tmp + "/port.tmp", tmp + "/port")
n = 0
while not os.path.exists(tmp + "/stop"):
    try:
        data = s.recv(65536)
    except socket.timeout:
        continue
    open(f"{tmp}/ev/{n}.xml", "wb").write(data)
    n += 1
PY
    LPID=$!
    for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
    [[ -s $TMP/port ]] || fail "the UDP listener did not start"
    PORT=$(cat "$TMP/port")
}
stop_listen() {
    sleep 0.3
    touch "$TMP/stop"
    wait "$LPID" || fail "the UDP listener failed"
}

# A small simulated scene; the preset has no geodetic origin, so one is added to its rig.
S=$TMP/scene
run "$VT" simulate --preset small --frames 48 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"
run "$VT" run "$S/config.json" --quiet --frames 3 --stream "cot+udp://127.0.0.1:6969"
[[ $rc != 0 ]] || fail "a CoT stream on a rig without origin was accepted"
grep -q "origin" "$TMP/err" || fail "the error does not say the origin is missing: $(cat "$TMP/err")"
python3 - "$S/rig.json" <<'PY'
import json, sys
rig = json.load(open(sys.argv[1]))
rig["origin"] = {"lat": 47.3769, "lon": 8.5417, "h": 408.0}
json.dump(rig, open(sys.argv[1], "w"), indent=1)
PY

listen ""
t0=$(date +%s.%N)
run "$VT" run "$S/config.json" --quiet --stream "cot+udp://127.0.0.1:$PORT"
t1=$(date +%s.%N)
[[ $rc == 0 ]] || fail "run --stream cot+udp failed: $(cat "$TMP/err")"
stop_listen
n=$(ls "$TMP/ev" | wc -l)
[[ $n -gt 0 ]] || fail "no CoT event arrived from run --stream cot+udp://127.0.0.1:$PORT"

python3 - "$HERE" "$TMP" "$t0" "$t1" <<'PY' || fail "CoT events of the run do not check out"
import collections, datetime, glob, json, math, re, sys
sys.path.insert(0, sys.argv[1])
import cot_check

tmp, t0, t1 = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
origin = [47.3769, 8.5417, 408.0]  # as added to rig.json above
rows = collections.defaultdict(list)
for line in open(tmp + "/scene/tracks.jsonl"):
    r = json.loads(line)
    rows[r["id"]].append(r)
events = []
for path in sorted(glob.glob(tmp + "/ev/*.xml")):
    for ev in cot_check.events_in(path):
        events.append((path, ev))
per_uid = collections.Counter()
prefix = None
checks = []  # (path, track id, point, candidate ENU positions)
for path, ev in events:
    uid = ev.get("uid")
    m = re.fullmatch(r"(voxtrack-[0-9a-f]{8}-)(\d+)", uid or "")
    assert m, f"{path}: uid {uid!r}"
    prefix = prefix or m.group(1)
    assert m.group(1) == prefix, f"{path}: uid {uid} has another origin hash than {prefix}"
    assert ev.get("type") == "a-u-A-M-H-Q" and ev.get("how") == "m-f", f"{path}: type/how"
    when = datetime.datetime.strptime(ev.get("time"), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert t0 - 1 <= when <= t1 + 1, f"{path}: time {ev.get('time')} is not the wall clock"
    per_uid[uid] += 1
    tid = int(m.group(2))
    cands = [r["pos"] for r in rows[tid]
             if r["status"] in ("confirmed", "coasting") and r["class"] == "drone"]
    assert cands, f"{path}: track {tid} is never a confirmed drone in tracks.jsonl"
    pt = ev.find("point")
    checks.append((path, tid, [float(pt.get(k)) for k in ("lat", "lon", "hae")], cands))
# Every candidate position through one cs2cs run.
geo = cot_check.enu_to_geodetic(origin, [c for chk in checks for c in chk[3]])
k = 0
for path, tid, got, cands in checks:
    mine, k = geo[k:k + len(cands)], k + len(cands)
    best = min(max(abs(g[0] - got[0]) / 1e-7, abs(g[1] - got[1]) / 1e-7,
                   abs(g[2] - got[2]) / 1e-3) for g in mine)
    assert best <= 1, f"{path}: point {got} is none of track {tid}'s positions (cs2cs)"
limit = math.ceil(t1 - t0) + 1
worst = max(per_uid.values())
assert worst <= limit, f"a track got {worst} events in {t1 - t0:.1f} s (rate limit 1/s)"
print(f"{len(events)} events of {len(per_uid)} tracks check out against cs2cs")
PY

# Multicast on the loopback interface (the TAK default group).
listen 239.2.3.1
run "$VT" run "$S/config.json" --quiet --frames 20 \
    --stream "cot+udp://239.2.3.1:$PORT?ttl=0&iface=127.0.0.1"
[[ $rc == 0 ]] || fail "run --stream cot+udp multicast failed: $(cat "$TMP/err")"
stop_listen
[[ $(ls "$TMP/ev" | wc -l) -gt 0 ]] || fail "no CoT event arrived on 239.2.3.1:$PORT over lo"

# A bad CoT URL is a clear error naming the port.
run "$VT" run "$S/config.json" --quiet --frames 3 --stream "cot+udp://127.0.0.1:99999"
[[ $rc != 0 ]] || fail "a bad CoT port was accepted"
grep -q "99999" "$TMP/err" || fail "the error does not name the port: $(cat "$TMP/err")"
echo "cot_run: ok"
