#!/bin/sh
# run_tests.sh [PROG...]: a small run_kselftest.sh for the dmseal guest.
#
# Runs each test program (default: those listed in kselftest-list.txt next
# to it, in Makefile order; KSFT_DIR overrides the directory) and prints nested KTAP:
#   KTAP version 1
#   1..M
#     <the program's own output, indented two spaces>
#   ok|not ok N name [# SKIP]
# Exit code 4 (KSFT_SKIP) reports a skip; a program killed by the per-program
# timeout (settings: timeout=) reports "not ok ... # TIMEOUT".
# POSIX sh on purpose: the guest has busybox only.

dir=$(cd "${KSFT_DIR:-$(dirname "$0")}" && pwd)
cd "$dir" || exit 1

timeout=300
if [ -f settings ]; then
	t=$(sed -n 's/^timeout=//p' settings)
	[ -n "$t" ] && timeout=$t
fi

# KSFT_ONLY="prog,prog" runs just those (for working on one test; commas,
# since the guest's kernel command line splits on spaces)
if [ $# -eq 0 ] && [ -n "${KSFT_ONLY:-}" ]; then
	# shellcheck disable=SC2046
	set -- $(echo "$KSFT_ONLY" | tr ',' ' ')
fi
if [ $# -eq 0 ] && [ -f kselftest-list.txt ]; then
	# shellcheck disable=SC2046
	set -- $(cat kselftest-list.txt)
fi

echo "KTAP version 1"
echo "1..$#"
n=0
failed=0
rcf=${TMPDIR:-/tmp}/run_tests.rc.$$
for prog in "$@"; do
	n=$((n + 1))
	name=${prog##*/}
	echo "# selftests: dmseal: $name"
	if [ ! -x "./$prog" ] && [ ! -x "$prog" ]; then
		echo "not ok $n $name # not executable"
		failed=$((failed + 1))
		continue
	fi
	case $prog in /*) path=$prog ;; *) path=./$prog ;; esac
	# The subshell records the exit status; sed indents (nested KTAP).
	{
		timeout "$timeout" "$path" </dev/null 2>&1
		echo $? >"$rcf"
	} | sed 's/^/  /'
	rc=$(cat "$rcf" 2>/dev/null || echo 1)
	case $rc in
	0) echo "ok $n $name" ;;
	4) echo "ok $n $name # SKIP" ;;
	124 | 137 | 143)
		echo "not ok $n $name # TIMEOUT ${timeout}s (exit $rc)"
		failed=$((failed + 1))
		;;
	*)
		echo "not ok $n $name # exit=$rc"
		failed=$((failed + 1))
		;;
	esac
done
rm -f "$rcf"
[ "$failed" -eq 0 ]
