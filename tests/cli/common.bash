# Helpers shared by the CLI tests (sourced, not a test itself: ctest runs *.sh only).
# Expects $TMP to be the test's scratch folder.

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs "$@", storing stdout, stderr and the exit status in $TMP/{out,err} and $rc.
run() {
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    # A crash or a sanitizer report is never the expected failure.
    if grep -Eq 'Sanitizer|runtime error:' "$TMP/err"; then
        fail "'$*' tripped a sanitizer: $(cat "$TMP/err")"
    fi
    [[ $rc -le 2 ]] || fail "'$*' exited $rc (crash?): $(cat "$TMP/err")"
}
