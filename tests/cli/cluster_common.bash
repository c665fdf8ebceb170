# Shared set-up of the cluster tests (label nats), sourced after common.bash: the
# nats-server to start, a free port picker, and the small scene with the tracks that the
# single-process `voxtrack run` writes for it ($S, $TMP/run.jsonl), to compare against.

SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x $SERVER ]] || fail "nats-server is not installed (scripts/install-deps installs it)"

# A port nobody listens on now (the kernel's pick, then closed).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

S=$TMP/s
run "$VT" simulate --preset small --frames 24 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"
# The distributed mode has no thermal fusion yet (docs/FUSION.md): compare with a run without it.
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c.setdefault("pipeline", {})["fusion"] = {"enabled": False}; json.dump(c, open(sys.argv[2], "w"))' "$S/config.json" "$S/nofusion.json"
run "$VT" run "$S/nofusion.json" --tracks "$TMP/run.jsonl" --no-eval --quiet
[[ $rc == 0 ]] || fail "run exited $rc: $(cat "$TMP/err")"
[[ -s $TMP/run.jsonl ]] || fail "run wrote no tracks: the comparison would prove nothing"
