#!/usr/bin/env bash
# The man pages that the build makes with help2man (cmake/manpages.cmake) are in step
# with the command: one page for voxtrack and one for every command `voxtrack --help`
# lists, each naming exactly the options of that command's --help, each at the
# binary's version, each formatted by groff (as man(1) does) without a warning.
set -euo pipefail
VT=$1
TMP=$2
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$TMP" && mkdir -p "$TMP"
source "$HERE/common.bash"
MAN=$(dirname "$VT")/man
[[ -f $MAN/commands.txt ]] ||
    fail "no man pages in $MAN: is help2man installed (scripts/install-deps)? VT_MAN=OFF?"
command -v groff >/dev/null || fail "groff is needed (scripts/install-deps)"

commands=$("$VT" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && !/^  / {on = 0}')
[[ -n $commands ]] || fail "voxtrack --help lists no commands"
version=$("$VT" --version | awk '{print $2}')
options() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
n=0
for c in "" $commands; do
    page=$MAN/voxtrack${c:+-$c}.1.gz
    [[ -f $page ]] || fail "no man page for 'voxtrack $c' ($page): rebuild"
    # shellcheck disable=SC2086
    "$VT" $c --help | options >"$TMP/help"
    zcat "$page" | sed 's/\\-/-/g' | options >"$TMP/page"
    diff "$TMP/help" "$TMP/page" >"$TMP/diff" ||
        fail "voxtrack${c:+-$c}(1) and 'voxtrack $c --help' differ in options: $(cat "$TMP/diff")"
    zcat "$page" | grep -q "^\.TH .*\"voxtrack${c:+-$c} $version\"" ||
        fail "voxtrack${c:+-$c}(1) is not of version $version"
    # What man(1) runs, with every warning on: none may come.
    zcat "$page" | groff -man -Tutf8 -ww -z 2>"$TMP/err" || fail "groff cannot format $page"
    [[ ! -s $TMP/err ]] || fail "groff warns about $page: $(cat "$TMP/err")"
    zcat "$page" | grep -q '^\.SH SYNOPSIS' || fail "voxtrack${c:+-$c}(1) has no SYNOPSIS"
    n=$((n + 1))
done
echo "man_pages: $n pages in step with --help"
