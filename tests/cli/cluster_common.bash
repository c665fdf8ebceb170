# Shared set-up of the cluster tests (label nats), sourced after common.bash: the
# nats-server and start_server, a free port picker, the background processes killed on
# exit ($pids), and the small scene with the tracks that the single-process
# `voxtrack run` writes for it ($S, $TMP/run.jsonl), to compare against.

SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x $SERVER ]] || fail "nats-server is not installed (scripts/install-deps installs it)"

# A port nobody listens on now (the kernel's pick, then closed).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Every background process a test starts goes into $pids: all are killed on exit.
pids=()
kill_pids() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap kill_pids EXIT

# start_server NAME [PORT]: a JetStream server on PORT of 127.0.0.1 (default: a free one),
# storing in $TMP/NAME.store and appending its log to $TMP/NAME.server.log (so a restart on
# the same PORT keeps both); sets $port, $url and $server. Fails if it does not listen in 10 s.
start_server() {
    port=${2:-$(free_port)}
    url=nats://127.0.0.1:$port
    mkdir -p "$TMP/$1.store"
    "$SERVER" -js -a 127.0.0.1 -p "$port" -sd "$TMP/$1.store" >>"$TMP/$1.server.log" 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
        sleep 0.05
    done
    fail "$1: nats-server did not listen on $port: $(cat "$TMP/$1.server.log")"
}

S=$TMP/s
run "$VT" simulate --preset small --frames 24 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"
# The distributed mode has no thermal fusion yet (docs/FUSION.md): compare with a run without it.
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c.setdefault("pipeline", {})["fusion"] = {"enabled": False}; json.dump(c, open(sys.argv[2], "w"))' "$S/config.json" "$S/nofusion.json"
run "$VT" run "$S/nofusion.json" --tracks "$TMP/run.jsonl" --no-eval --quiet
[[ $rc == 0 ]] || fail "run exited $rc: $(cat "$TMP/err")"
[[ -s $TMP/run.jsonl ]] || fail "run wrote no tracks: the comparison would prove nothing"
