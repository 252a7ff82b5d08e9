#!/usr/bin/env bash
# scripts/check-peer.sh [KERNEL...]: what `make check-peer` runs.
#
# cryptsetup's own integrity tests (integrity-compat-test and
# luks2-integrity-test from the Debian source of the guest's cryptsetup), case
# by case, in a QEMU guest, three ways per kernel (default 6.1 6.12):
#   nodmseal  dmseal not loaded
#   nothing   dmseal sealed with a scope that governs nothing: results must
#             equal nodmseal case by case
#   all       dmseal governing every device under the broadest policy the
#             format allows (selftests/peer/policy-broad*.json): every
#             difference is listed with the dmseal deny reasons seen
# A mode runs in as many guest boots as it takes to stay inside the 600 s
# guest timeout: the guest stops before its deadline and says where to
# resume (run-peer.sh). PEER_MODES="nodmseal all" runs a subset of modes.
# Per kernel the verdict is selftests/peer/report.py's (build/peer/<K>/
# report.txt, results.tsv); the last lines are the totals and the wall time.
# Exit status non-zero if "nothing" differs from "nodmseal", a guest crashed
# or a build step failed.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
S=$REPO/scripts
((${#@})) || set -- 6.1 6.12
MODES=${PEER_MODES:-nodmseal nothing all}
PB=$BUILD/peer
T0=$SECONDS
FAIL=0
step() { printf '\n=== %s\n' "$*" >&2; }
failed() { log "FAILED: $*"; FAIL=$((FAIL + 1)); }
elapsed() { printf '%dm%02ds' $(((SECONDS - $1) / 60)) $(((SECONDS - $1) % 60)); }

step "deps"
"$S/deps.sh" >&2 || { failed "scripts/deps.sh"; exit 1; }
"$S/peer-deps.sh" || { failed "scripts/peer-deps.sh"; exit 1; }
step "host build"
make -s -C "$REPO" all >&2 || { failed "host build (make all)"; exit 1; }
for p in policy-nothing policy-broad-v1; do
	"$REPO/userspace/dmsealctl" policy digest "$REPO/selftests/peer/$p.json" >/dev/null ||
		failed "selftests/peer/$p.json does not parse"
done
python3 "$REPO/selftests/peer/check-policies.py" >&2 ||
	failed "policy-broad.json and policy-broad-v1.json are out of step"

# run_mode K MODE: boot until the guest says "done"
run_mode() {
	local k=$1 mode=$2 start=1 boot=0 log t rc last
	rm -f "$PB/$k/$mode".*.log "$PB/$k/$mode".*.console
	while :; do
		boot=$((boot + 1))
		if ((boot > 12)); then
			failed "$k $mode: more than 12 guest boots"
			return
		fi
		log=$PB/$k/$mode.$boot.log
		t=$SECONDS
		log "$k mode=$mode boot $boot from unit $start"
		DMSEAL_BUILD=$PB "$S/run-guest.sh" --kernel "$k" --initrd "$PB/$k/initramfs.img" \
			--cmd /peer/run-peer.sh --env "PEER_MODE=$mode" --env "PEER_START=$start" \
			--disks 1 --disk-size 16M --timeout 600 --no-judge 2>&1 |
			grep --line-buffered -E '^PEER (case|error|resume|done|policy)|run-guest.sh' >&2
		rc=${PIPESTATUS[0]}
		mv "$PB/$k/ktap.log" "$log"
		mv "$PB/$k/console.log" "$PB/$k/$mode.$boot.console"
		echo "$k $mode boot $boot: $((SECONDS - t)) s" >>"$PB/$k/times"
		if grep -qE 'Kernel panic|Oops|BUG:|Call Trace|general protection fault' "$PB/$k/$mode.$boot.console"; then
			failed "$k $mode boot $boot: kernel oops/BUG/panic (see $PB/$k/$mode.$boot.console)"
		fi
		if grep -q '^PEER error' "$log"; then
			failed "$k $mode: $(grep -m1 '^PEER error' "$log")"
			return
		fi
		grep -q '^PEER done' "$log" && return
		if grep -q '^PEER resume' "$log"; then
			start=$(sed -n 's/^PEER resume \([0-9]*\).*/\1/p' "$log" | tail -n1)
			continue
		fi
		# crash or timeout: go on after the unit that was running
		last=$(sed -n 's/^PEER unit \([0-9]*\) .*/\1/p' "$log" | tail -n1)
		failed "$k $mode boot $boot: guest ended without done/resume (exit $rc) after unit ${last:-none}"
		start=$((${last:-$((start - 1))} + 2))
	done
}

TOT=()
for k in "$@"; do
	step "kernel $k"
	tk=$SECONDS
	mkdir -p "$PB/$k"
	rm -f "$PB/$k/times" "$PB/$k/totals"
	if ! "$S/kernel.sh" "$k" >/dev/null; then failed "$k: kernel fetch"; continue; fi
	if ! "$S/build-module.sh" "$k" >"$PB/$k.module.log" 2>&1; then
		tail -n 30 "$PB/$k.module.log" >&2
		failed "$k: module build (log: $PB/$k.module.log)"
		continue
	fi
	if ! "$S/peer-initramfs.sh" "$k"; then failed "$k: peer initramfs"; continue; fi
	cp "$PB/units.list" "$PB/$k/units.list"
	for mode in $MODES; do
		step "kernel $k mode $mode"
		tm=$SECONDS
		run_mode "$k" "$mode"
		log "$k mode=$mode: $(elapsed "$tm")"
	done
	step "kernel $k report"
	if ! PEER_MODES=$MODES python3 "$REPO/selftests/peer/report.py" "$PB/$k" "$k"; then
		failed "$k: peer report (see $PB/$k/report.txt)"
	fi
	TOT+=("$(grep '^peer ' "$PB/$k/report.txt" 2>/dev/null) (kernel $k: $(elapsed "$tk"))")
done

printf '\n'
for t in "${TOT[@]}"; do printf '%s\n' "$t"; done
echo "check-peer: wall time $(elapsed "$T0"), $FAIL failure(s)"
((FAIL == 0))
