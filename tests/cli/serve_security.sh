#!/usr/bin/env bash
# `--serve` from the outside, on a running demo: /metrics passes
# `promtool check metrics`; with --token every route answers 401 without it;
# path traversal in its encoded forms and oversized headers are refused;
# only GET and HEAD; a short `wrk` with 200 connections does not crash the
# server; bad --serve/--token/--linger values are errors that name them.
set -euo pipefail
VT=$1
TMP=$2
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

for tool in curl promtool wrk; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps installs it)"
done

# ---- bad command lines ----
run "$VT" demo --preset small --frames 2 --quiet --serve 127.0.0.1:99999
[[ $rc == 1 ]] || fail "--serve with port 99999 exited $rc"
grep -q "127.0.0.1:99999" "$TMP/err" || fail "bad --serve not named: $(cat "$TMP/err")"
run "$VT" demo --preset small --frames 2 --quiet --token abc
[[ $rc != 0 ]] || fail "--token without --serve was accepted"
grep -q -- "--token needs --serve" "$TMP/err" || fail "--token alone: $(cat "$TMP/err")"
run "$VT" demo --preset small --frames 2 --quiet --serve 127.0.0.1:0 --linger -1
[[ $rc != 0 ]] || fail "--linger -1 was accepted"
grep -q -- "--linger" "$TMP/err" || fail "bad --linger not named: $(cat "$TMP/err")"

# ---- a running server ----
TOKEN=t0ken-for-tests
"$VT" demo --preset small --frames 100 --quiet --serve 127.0.0.1:0 --token $TOKEN --linger 60 \
    >"$TMP/demo.out" 2>"$TMP/demo.err" &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true' EXIT
base=
for _ in $(seq 100); do
    base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/demo.err" || true)
    [[ -n $base ]] && break
    kill -0 $demo 2>/dev/null || fail "the demo ended early: $(cat "$TMP/demo.err")"
    sleep 0.1
done
[[ -n $base ]] || fail "no dashboard address: $(cat "$TMP/demo.err")"
grep -q "still serving" "$TMP/demo.err" || sleep 2 # let the run finish its frame sets
AUTH="Authorization: Bearer $TOKEN"

status() { curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"; }

for p in / /app.js /style.css /api/tracks /api/cameras /api/health /api/alerts /metrics; do
    s=$(status "$base$p")
    [[ $s == 401 ]] || fail "$p without the token answered $s"
    s=$(status -H "Authorization: Bearer wrong" "$base$p")
    [[ $s == 401 ]] || fail "$p with a wrong token answered $s"
    s=$(status -H "$AUTH" "$base$p")
    [[ $s == 200 ]] || fail "$p with the token answered $s"
done
s=$(status --max-time 2 "$base/events")
[[ $s == 401 ]] || fail "/events without the token answered $s"

curl -sf -H "$AUTH" "$base/metrics" >"$TMP/metrics.txt" || fail "GET /metrics failed"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.txt" 2>&1 ||
    fail "promtool check metrics: $(cat "$TMP/promtool.txt")"
grep -q '^voxtrack_frame_sets_total [1-9]' "$TMP/metrics.txt" || fail "no frame sets counted"

for p in '/../etc/passwd' '/%2e%2e/etc/passwd' '/%2e%2e%2fetc%2fpasswd' '/..%2f..%2fetc/passwd' \
    '/%252e%252e/etc/passwd' '/%252e%252e%252fetc%252fpasswd' '/api/../metrics' '/.%2e/app.js' \
    '/app.js%00.html' '//etc/passwd' '/..%5c..%5cetc/passwd'; do
    s=$(status -H "$AUTH" "$base$p")
    [[ $s == 400 || $s == 404 ]] || fail "traversal '$p' answered $s"
done

big=$(head -c 65536 /dev/zero | tr '\0' a)
s=$(status -H "$AUTH" -H "X-Big: $big" "$base/api/tracks" || true)
[[ $s == 431 || $s == 413 || $s == 400 || $s == 000 ]] || fail "a 64 KiB header answered $s"
s=$(status -H "$AUTH" "$base/api/tracks?$(head -c 65536 /dev/zero | tr '\0' b)" || true)
[[ $s == 414 || $s == 431 || $s == 400 || $s == 000 ]] || fail "a 64 KiB URL answered $s"
for m in POST PUT DELETE OPTIONS; do
    s=$(status -X $m -H "$AUTH" "$base/api/tracks")
    [[ $s == 405 ]] || fail "$m answered $s"
done
curl -sI -H "$AUTH" "$base/api/tracks" >"$TMP/head.txt"
grep -qi "^Content-Security-Policy: default-src 'self'" "$TMP/head.txt" || fail "no CSP header"
grep -qi "^X-Content-Type-Options: nosniff" "$TMP/head.txt" || fail "no nosniff header"

# a short load: no crash, the server still answers
wrk -t2 -c200 -d2s -H "$AUTH" "$base/api/tracks" >"$TMP/wrk.txt" 2>&1 || fail "wrk: $(cat "$TMP/wrk.txt")"
kill -0 $demo 2>/dev/null || fail "the server died under wrk: $(cat "$TMP/demo.err")"
s=$(status -H "$AUTH" "$base/api/health")
[[ $s == 200 ]] || fail "after wrk /api/health answered $s"
if grep -Eq 'Sanitizer|runtime error:' "$TMP/demo.err"; then
    fail "sanitizer report: $(cat "$TMP/demo.err")"
fi
echo ok
