# SPDX-License-Identifier: GPL-2.0-only
# TAP helpers for the shell selftests (sourced; POSIX sh: the guest has
# busybox). A test sets PLAN, sources this file, then reports cases:
#   ok NAME / nok NAME / skip NAME WHY      one result each
#   check NAME CMD...                       ok if CMD succeeds, else not ok
#   check_log FILE NAME CMD...              check, showing FILE when CMD fails
#   diag TEXT / indent FILE...              diagnostics ("# " lines)
#   skip_rest WHY                           skip what is left of the plan, exit
#   json_get KEY FILE                       a string or number value of KEY
#                                           from dmsealctl's one-line JSON
# and ends with `ktap_done`, whose status says whether every case passed and
# the plan was met.

n=0
fails=0
json_get() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" "$2" | head -n 1; }
echo "TAP version 13"
echo "1..$PLAN"

ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}
diag() { echo "# $*"; }
indent() { sed 's/^/#   /' "$@"; }
check_log() {
	log=$1 name=$2
	shift 2
	if "$@"; then ok "$name"; else indent "$log"; nok "$name"; fi
}
skip_rest() {
	while [ "$n" -lt "$PLAN" ]; do skip "remaining cases" "$1"; done
	[ "$fails" -eq 0 ] || exit 1
	exit 4
}
ktap_done() {
	if [ "$n" -ne "$PLAN" ]; then
		diag "planned $PLAN cases, ran $n"
		fails=$((fails + 1))
	fi
	[ "$fails" -eq 0 ]
}
