#!/usr/bin/env bash
# The command line's help, version and usage errors: every --help exits 0 and
# prints usage on stdout; an unknown command or option exits 2 with a hint
# on stderr.
set -euo pipefail
VT=$1
TMP=$2
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

expect_rc() {
    local want=$1
    shift
    run "$@"
    [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$TMP/err")"
}

expect_rc 0 "$VT" --help
grep -q '^Usage: voxtrack' "$TMP/out" || fail "'voxtrack --help' prints no usage on stdout"
for c in project demo demo-project run simulate eval; do
    grep -qw "$c" "$TMP/out" || fail "'voxtrack --help' does not list '$c'"
done

for c in project demo demo-project run simulate eval; do
    expect_rc 0 "$VT" "$c" --help
    grep -q "^Usage: voxtrack $c" "$TMP/out" || fail "'voxtrack $c --help' prints no usage on stdout"
    [[ ! -s $TMP/err ]] || fail "'voxtrack $c --help' wrote to stderr: $(cat "$TMP/err")"
    expect_rc 0 "$VT" help "$c"
    grep -q "^Usage: voxtrack $c" "$TMP/out" || fail "'voxtrack help $c' prints no usage"
done

expect_rc 0 "$VT" --version
grep -Eq '^voxtrack [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out" ||
    fail "'voxtrack --version' printed '$(cat "$TMP/out")'"

expect_rc 2 "$VT"
grep -q 'Usage: voxtrack' "$TMP/err" || fail "'voxtrack' alone prints no usage on stderr"

expect_rc 2 "$VT" no-such-command
grep -q "unknown command 'no-such-command'" "$TMP/err" || fail "unknown command not named"
grep -q -- "--help" "$TMP/err" || fail "unknown command: no hint to --help"
[[ ! -s $TMP/out ]] || fail "unknown command wrote to stdout"

expect_rc 2 "$VT" --no-such-flag
expect_rc 2 "$VT" project --no-such-flag a b c
grep -q "voxtrack project: unknown option '--no-such-flag'" "$TMP/err" ||
    fail "unknown option not named: $(cat "$TMP/err")"
grep -q "voxtrack project --help" "$TMP/err" || fail "unknown option: no hint to --help"
expect_rc 2 "$VT" demo --no-such-flag
expect_rc 2 "$VT" demo --preset no-such-preset
grep -q "no-such-preset" "$TMP/err" || fail "unknown preset not named: $(cat "$TMP/err")"
expect_rc 2 "$VT" run
expect_rc 2 "$VT" demo --tracker best
expect_rc 2 "$VT" project only-one-argument
expect_rc 2 "$VT" project --grid-size abc a b c
grep -q -- "--grid-size: 'abc'" "$TMP/err" || fail "bad value not named: $(cat "$TMP/err")"
expect_rc 2 "$VT" project --center 1,2 a b c
grep -q -- "--center" "$TMP/err" || fail "bad --center not named: $(cat "$TMP/err")"
expect_rc 2 "$VT" project a b c --threads
grep -q -- "--threads needs a value" "$TMP/err" || fail "missing value not reported"
expect_rc 2 "$VT" demo-project --no-run
grep -q -- "--out" "$TMP/err" || fail "'demo-project --no-run' without --out: $(cat "$TMP/err")"

echo "ok"
