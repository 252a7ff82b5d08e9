#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# /peer/run-peer.sh: the guest side of `make check-peer` (scripts/check-peer.sh).
#
# Runs cryptsetup's own integrity tests (integrity-compat-test and
# luks2-integrity-test of the guest's cryptsetup version, cut into units by
# split-cases.py) one unit at a time, in one of three modes:
#   PEER_MODE=nodmseal  dmseal not loaded; every table load is traced
#   PEER_MODE=nothing   dmseal sealed with policy-nothing.json (a name_prefix
#                       scope no test device has: governs nothing)
#   PEER_MODE=all       dmseal sealed with the broad policy, scope "all":
#                       policy-broad.json if the module's format takes it,
#                       else policy-broad-v1.json (today's format)
# Other environment: PEER_START (first unit index, default 1), PEER_DEADLINE
# (guest uptime in seconds by which this boot must be done; a unit still
# running then is stopped and reported as "resume", to be run again in a
# fresh boot), PEER_UNIT_TIMEOUT (a unit running longer fails, default 240),
# PEER_ONLY (extended regex on unit ids: run only those; by hand).
#
# Everything the host needs is printed as lines starting "PEER " (the
# host's report.py reads only those); the rest is "# " diagnostics.
set -u
export PEER_DIR=/peer
export CRYPTSETUP_PATH=/usr/sbin
export PATH=/peer/bin:/usr/sbin:/usr/bin:/sbin:/bin
MODE=${PEER_MODE:-nodmseal}
START=${PEER_START:-1}
DEADLINE=${PEER_DEADLINE:-540}
UNIT_TIMEOUT=${PEER_UNIT_TIMEOUT:-240}
ONLY=${PEER_ONLY:-}
RES=/tmp/peer-results
WORK=/tmp/peer-work
MON_PID=

say() { echo "PEER $*"; }
diag() { echo "# $*"; }
uptime_s() {
	local up _
	read -r up _ </proc/uptime
	echo "${up%.*}"
}

# Test keys are throwaway, but tables are shown with hex runs masked anyway.
mask() { sed -E 's/[0-9a-fA-F]{32,}/<hex>/g'; }

setup_mode() {
	modprobe -a loop dm_mod dm_integrity dm_crypt dm_zero 2>&1 | sed 's/^/# /'
	[ -e /dev/loop-control ] || { say "error no /dev/loop-control (loop module)"; return 1; }
	case $MODE in
	nodmseal)
		if grep -q '^dmseal ' /proc/modules; then
			say "error dmseal is loaded in mode nodmseal"
			return 1
		fi
		grep -q " /sys/kernel/tracing tracefs " /proc/mounts ||
			mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
		local T=/sys/kernel/tracing
		# x86-64: type in %si, start %dx, len %cx, params %r8
		if echo 'p:peer/dmtab dm_table_add_target type=+0(%si):string start=%dx:u64 len=%cx:u64 params=+0(%r8):string' \
			>"$T/kprobe_events" 2>/dev/null &&
			echo 1 >"$T/events/peer/dmtab/enable" 2>/dev/null; then
			echo 4096 >"$T/buffer_size_kb" 2>/dev/null
			: >"$T/trace"
			export PEER_TRACE=1
			diag "tracing dm_table_add_target (kprobe event peer/dmtab)"
		else
			diag "no kprobe event on dm_table_add_target: tables not traced"
		fi
		;;
	nothing | all)
		modprobe dmseal || { say "error modprobe dmseal failed"; return 1; }
		local pol out
		if [ "$MODE" = nothing ]; then
			pol=$PEER_DIR/policy/policy-nothing.json
			out=$(dmsealctl policy load "$pol" 2>&1) || {
				say "error sealing $pol failed: $(echo "$out" | tr '\n' ' ')"
				return 1
			}
		else
			pol=$PEER_DIR/policy/policy-broad.json
			if ! out=$(dmsealctl policy load "$pol" 2>&1); then
				diag "$pol does not load (format not in this module yet):"
				echo "$out" | sed 's/^/#   /'
				pol=$PEER_DIR/policy/policy-broad-v1.json
				out=$(dmsealctl policy load "$pol" 2>&1) || {
					say "error sealing $pol failed: $(echo "$out" | tr '\n' ' ')"
					return 1
				}
			fi
		fi
		say "policy ${pol##*/} $(dmsealctl status 2>/dev/null | grep -i digest | head -n1 | tr -s ' ')"
		echo "$out" | sed 's/^/# /'
		dmsealctl monitor >/tmp/peer-events.log 2>&1 &
		MON_PID=$!
		;;
	*)
		say "error unknown PEER_MODE '$MODE'"
		return 1
		;;
	esac
	dmesg -c >/tmp/peer-boot.kmsg 2>/dev/null
	return 0
}

# show_case ID: the case's result line, deny reasons, tables, output
show_case() {
	local id=$1 r rc secs name
	if [ -f "$RES/$id.result" ]; then
		read -r r rc secs <"$RES/$id.result"
	else
		r=FAIL rc=killed secs='?'
	fi
	name=$(cat "$RES/$id.name" 2>/dev/null)
	say "case $id $r rc=$rc secs=$secs $name"
	[ -f "$RES/$id.note" ] && sed "s/^/PEER note $id /" "$RES/$id.note"
	if [ -f "$RES/$id.kmsg" ]; then
		grep -E 'dmseal: denied|callbacks suppressed' "$RES/$id.kmsg" | sed -E 's/^\[ *[0-9.]+\] //' |
			sed "s/^/PEER deny $id /"
		grep -vE 'dmseal: denied' "$RES/$id.kmsg" | sed -E 's/^\[ *[0-9.]+\] //' | mask |
			sed "s/^/# $id kmsg| /"
	fi
	if [ -f "$RES/$id.tables" ]; then
		sed -nE 's/.*type="([^"]*)" start=([0-9]+) len=([0-9]+) params="(.*)"$/\1 \2 \3 \4/p' \
			"$RES/$id.tables" | mask | sed "s/^/PEER table $id /"
	fi
	[ -f "$RES/$id.log" ] && mask <"$RES/$id.log" | sed "s/^/# $id | /"
}

force_cleanup() { # leftovers of a unit: report and remove
	local left
	left=$( (dmsetup ls 2>/dev/null | grep -v '^No devices found'; losetup -a 2>/dev/null) | tr '\n' ';')
	[ -z "$left" ] && return 0
	diag "leftovers after $1: $left"
	dmsetup remove_all --force >/dev/null 2>&1
	losetup -D >/dev/null 2>&1
}

# ---------------------------------------------------------------------------

echo "# peer: mode=$MODE kernel=$(uname -r) start=$START deadline=${DEADLINE}s unit_timeout=${UNIT_TIMEOUT}s"
setup_mode || {
	say "done error"
	exit 1
}
say "begin mode=$MODE kernel=$(uname -r) cryptsetup=$(cryptsetup --version | awk '{print $2}') start=$START"

mapfile -t UNITS <"$PEER_DIR/units/units.list"
last=${#UNITS[@]}
resume=
for line in "${UNITS[@]}"; do
	read -r idx uid kind title <<<"$line"
	((idx < START)) && continue
	[ -n "$ONLY" ] && ! [[ $uid =~ $ONLY ]] && continue
	now=$(uptime_s)
	left=$((DEADLINE - now))
	if ((left < 20)); then
		resume=$idx
		break
	fi
	t=$UNIT_TIMEOUT
	((left < t)) && t=$left
	tag=${uid%-*}
	rm -rf "$RES" "$WORK"
	mkdir -p "$RES" "$WORK"
	t0=$(uptime_s)
	(cd "$WORK" && PEER_OUT=$RES PEER_UNIT=$uid PEER_UNIT_KIND=$kind \
		timeout -k 10 "$t" bash "$PEER_DIR/units/$tag/${uid#*-}.sh") \
		>"$RES/$uid.unit.out" 2>&1 </dev/null
	rc=$?
	secs=$(($(uptime_s) - t0))
	if ((rc == 124 || rc == 137)) && ((t < UNIT_TIMEOUT)); then
		# stopped by this boot's deadline, not by its own timeout
		diag "unit $uid stopped at the deadline after ${secs}s; it runs again in the next boot"
		resume=$idx
		break
	fi
	say "unit $idx $uid $kind rc=$rc secs=$secs $title"
	((rc == 124 || rc == 137)) && say "note $uid unit timed out after ${t}s"
	# cases of this unit: the unit id itself and UNIT.N, in order
	ids=()
	[ -f "$RES/$uid.begin" ] && ids+=("$uid")
	for f in "$RES/$uid".*.begin; do
		[ -f "$f" ] || continue
		f=${f##*/}
		echo "${f%.begin}"
	done | sort -t. -k2 -n >"$RES/.ids"
	while read -r f; do ids+=("$f"); done <"$RES/.ids"
	if ((${#ids[@]} == 0)) && [ "$kind" != group ]; then
		# the unit ended before its case began (its setup failed or skipped)
		echo "unit setup ended the script" >"$RES/$uid.name"
		if ((rc == 77)); then echo "NA 77 $secs"; else echo "FAIL $rc $secs"; fi >"$RES/$uid.result"
		cp "$RES/$uid.unit.out" "$RES/$uid.log" 2>/dev/null
		ids=("$uid")
	elif ((${#ids[@]} == 0)); then
		say "note $uid no case ran in this group (its condition is false here)"
	fi
	if [ "$kind" = group ] && ((rc != 0 && rc != 124 && rc != 137)); then
		echo "group statements outside the calls" >"$RES/$uid.name"
		echo "FAIL $rc $secs" >"$RES/$uid.result"
		cp "$RES/$uid.unit.out" "$RES/$uid.log" 2>/dev/null
		ids=("$uid" "${ids[@]}")
	fi
	for id in "${ids[@]}"; do show_case "$id"; done
	if [ -s "$RES/$uid.unit.kmsg" ]; then
		grep -E 'dmseal: denied' "$RES/$uid.unit.kmsg" | sed -E 's/^\[ *[0-9.]+\] //' |
			sed "s/^/PEER deny $uid.setup /"
	fi
	[ -s "$RES/$uid.unit.out" ] && mask <"$RES/$uid.unit.out" | sed "s/^/# $uid unit| /"
	force_cleanup "$uid"
	[ -f "$RES/$uid.done" ] || diag "unit $uid did not reach its end (rc=$rc)"
done

if [ -n "$MON_PID" ]; then
	sleep 1
	kill "$MON_PID" 2>/dev/null
	say "events deny=$(grep -c '^deny' /tmp/peer-events.log) pin=$(grep -c '^pin' /tmp/peer-events.log) unpin=$(grep -c '^unpin' /tmp/peer-events.log)"
	dmsealctl status 2>&1 | sed 's/^/# status| /'
fi
if [ -n "$resume" ]; then
	say "resume $resume"
else
	say "done $last"
fi
