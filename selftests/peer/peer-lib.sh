# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# PEER_OUT and friends come from run-peer.sh; PEER_CASE_LOG is read by the
# generated units.
# shellcheck disable=SC2153,SC2034
# peer-lib.sh: sourced by every unit of the peer suite (after the upstream
# script's prelude, see split-cases.py). It turns each call of an upstream
# test function into one recorded case and captures, per case, what the
# kernel said (dmesg: dmseal deny lines, dm errors) and, when tracing is on
# (mode nodmseal), every table the case loaded.
#
# Environment (from run-peer.sh): PEER_DIR, PEER_OUT (per-unit result dir),
# PEER_UNIT (unit id, e.g. ic-013), PEER_UNIT_KIND (call|block|group),
# PEER_TRACE (non-empty: the dm_table_add_target kprobe event is on).
#
# Per case ID, in PEER_OUT: ID.name, ID.begin, ID.log (its output),
# ID.kmsg (kernel messages), ID.tables (traced table loads), ID.result
# ("RESULT RC SECONDS"). Kernel messages outside any case go to UNIT.unit.*.

__peer_now() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

# __peer_flush TARGET: move what the kernel logged (and traced) since the
# last flush into TARGET's files.
__peer_flush() {
	local to=$PEER_OUT/$1
	dmesg -c >>"$to.kmsg" 2>/dev/null
	if [ -n "${PEER_TRACE:-}" ]; then
		grep -v '^#' /sys/kernel/tracing/trace >>"$to.tables" 2>/dev/null
		: >/sys/kernel/tracing/trace
	fi
}

__peer_begin() { # ID NAME
	__peer_flush "${PEER_CUR:-$PEER_UNIT.unit}"
	PEER_PARENT=${PEER_CUR:-}
	PEER_CUR=$1
	printf '%s\n' "$2" >"$PEER_OUT/$1.name"
	__peer_now >"$PEER_OUT/$1.begin"
}

__peer_end() { # ID RC
	local id=$1 rc=$2 res t0 t1
	__peer_flush "$id"
	t1=$(__peer_now)
	read -r t0 <"$PEER_OUT/$id.begin"
	case $rc in
	0)
		# upstream prints [N/A] (or [RESET N/A]) for what it could not test
		if grep -q 'N/A\]' "$PEER_OUT/$id.log" 2>/dev/null; then res=NA; else res=PASS; fi
		;;
	77) res=NA ;; # upstream skip()
	*) res=FAIL ;;
	esac
	echo "$res $rc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
		>"$PEER_OUT/$id.result"
	PEER_CUR=$PEER_PARENT
	PEER_PARENT=
}

# __peer_name FUNC ARGS...: the case's display name (checksums dropped)
__peer_name() {
	local a out=
	for a in "$@"; do
		[[ $a =~ ^[0-9a-f]{64}$ ]] && continue
		out+="${out:+ }$a"
	done
	printf '%s' "${out:0:120}"
}

# Run one call of a test function as a case: in a subshell, so that the
# upstream fail() (cleanup; exit 100) ends this case only.
__peer_call() {
	local f=$1 id rc
	shift
	if [ "$PEER_UNIT_KIND" = call ] && [ -z "${PEER_CUR:-}" ]; then
		id=$PEER_UNIT
	else
		__peer_sub=$((${__peer_sub:-0} + 1))
		id=$PEER_UNIT.$__peer_sub
	fi
	__peer_begin "$id" "$(__peer_name "$f" "$@")"
	# An earlier case's fail() ran cleanup(), which deletes the image and
	# key files every case here relies on: make them again, so one failure
	# does not turn the cases after it into failures of their own.
	if [ -n "${KEY_FILE:-}" ] && [ ! -f "$KEY_FILE" ] && declare -F add_device >/dev/null; then
		echo "peer: files removed by an earlier fail(); add_device again" >"$PEER_OUT/$id.note"
		add_device >/dev/null 2>&1
	fi
	("__peer_orig_$f" "$@") >"$PEER_OUT/$id.log" 2>&1 </dev/null
	rc=$?
	__peer_end "$id" "$rc"
	return 0
}

# __peer_wrap FUNC...: rename each test function and put a recording
# wrapper in its place (the upstream text is not changed).
__peer_wrap() {
	local f
	for f in "$@"; do
		declare -F "$f" >/dev/null || continue
		eval "$(declare -f "$f" | sed "1s/^$f /__peer_orig_$f /")"
		eval "$f() { __peer_call $f \"\$@\"; }"
	done
}

# A block unit is itself a case (its title), run in a subshell.
__peer_block_begin() { # TITLE
	__peer_begin "$PEER_UNIT" "$1"
	PEER_CASE_LOG=$PEER_OUT/$PEER_UNIT.log
}

__peer_block_end() { # RC
	__peer_end "$PEER_UNIT" "$1"
}

__peer_unit_end() {
	declare -F cleanup >/dev/null && cleanup >/dev/null 2>&1
	__peer_flush "$PEER_UNIT.unit"
	: >"$PEER_OUT/$PEER_UNIT.done"
}
