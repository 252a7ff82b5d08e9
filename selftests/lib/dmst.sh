# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the shell selftests that load dm tables under dmseal (sourced
# after lib/ktap.sh; POSIX sh, the guest has busybox). The sourcing test sets
# T (its scratch directory) and TOOL (dmseal_tool) first.
#
#   monitor_start / monitor_stop   the event stream, into $T/events
#   expect_denied NAME DEV REGEX CMD...
#                                  CMD fails and dmseal sent a deny event for
#                                  DEV whose reason matches REGEX
#   expect_loads NAME CMD...       CMD succeeds (output shown if not)
#   create NAME TABLE, reload DEV TABLE, gone NAME, devno NAME, blkno DEV
#   pins / pin_of NAME             dmseal_tool pins into $T/pins
#   seal_test_policy               seal data/policy.json, or $DMSEAL_TEST_POLICY
#                                  with dmsealctl
# Events come from `dmseal_tool monitor` (not ratelimited); if it cannot run,
# the kernel log line "dmseal: denied ... of NAME (M:m): REASON" is used.

MON=
NDENY=0

# only_in_test_guest WHAT: these tests format disks and load modules; only
# in the guest `make check` boots (its /init sets the hostname), unless
# DMSEAL_SELFTEST_ANY_HOST is set. Skips the rest of the plan otherwise.
only_in_test_guest() {
	[ "$(hostname)" = dmseal-guest ] || [ -n "${DMSEAL_SELFTEST_ANY_HOST:-}" ] && return 0
	diag "not the dmseal test guest (hostname $(hostname)): this test $1"
	skip_rest "not in the test guest"
}

# wipe_disks MIB DEV...: zero the first MIB MiB of each disk that exists
wipe_disks() {
	n=$1
	shift
	for d in "$@"; do
		[ -b "$d" ] && dd if=/dev/zero of="$d" bs=1M count="$n" conv=fsync 2>/dev/null
	done
}

monitor_start() {
	"$TOOL" monitor 1800 >"$T/events" 2>&1 &
	MON=$!
	i=0
	while ! grep -q '^ready' "$T/events" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^ready' "$T/events" && return 0
	indent "$T/events"
	diag "no event monitor: falling back to the (ratelimited) kernel log"
	kill "$MON" 2>/dev/null
	MON=
}

monitor_stop() {
	[ -n "$MON" ] && kill "$MON" 2>/dev/null
	MON=
}

# where the next denial will show up
events_mark() {
	if [ -n "$MON" ]; then wc -l <"$T/events"; else dmesg | wc -l; fi
}

# deny_reasons DEV MARK: the reasons of the denials of DEV after MARK, one a
# line (nothing if none came within 3 s). DEV is as dmseal_tool prints it:
# names that need it are \xHH-escaped.
deny_reasons() {
	i=0
	while :; do
		if [ -n "$MON" ]; then
			r=$(tail -n +$(($2 + 1)) "$T/events" | grep -F " name=$1 reason=" |
				grep '^deny ' | sed 's/.* reason=//')
		else
			r=$(dmesg | tail -n +$(($2 + 1)) | grep -F " of $1 (" |
				grep 'dmseal: denied ' | sed 's/.*): //')
		fi
		[ -n "$r" ] && { echo "$r"; return; }
		[ $i -ge 30 ] && return
		sleep 0.1
		i=$((i + 1))
	done
}

# events_since MARK: the event lines after MARK
events_since() { tail -n +$(($1 + 1)) "$T/events"; }

expect_denied() {
	name=$1 dev=$2 re=$3
	shift 3
	m=$(events_mark)
	"$@" >"$T/out" 2>&1
	rc=$?
	reasons=$(deny_reasons "$dev" "$m")
	NDENY=$((NDENY + 1))
	if [ $rc -ne 0 ] && [ -n "$reasons" ] &&
		{ [ -z "$re" ] || echo "$reasons" | grep -qE -- "$re"; }; then
		ok "$name"
		echo "$reasons" | sed 's/^/#   denied: /'
	else
		nok "$name"
		diag "  command exit $rc; expected a dmseal denial of $dev matching /$re/; got:"
		echo "${reasons:-<no deny event>}" | sed 's/^/#   denied: /'
		indent "$T/out"
	fi
}

expect_loads() {
	name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		ok "$name"
	else
		indent "$T/out"
		[ -n "$MON" ] && tail -n 3 "$T/events" | sed 's/^/#   event: /'
		nok "$name"
	fi
}

# a dm device's "major:minor"
devno() { dmsetup info -c --noheadings -o major,minor "$1" 2>/dev/null | tr -d ' '; }
blkno() { cat "/sys/class/block/${1#/dev/}/dev"; }
mknodes() { [ -b "/dev/mapper/$1" ] || dmsetup mknodes "$1" >/dev/null 2>&1; }
# create NAME TABLE: dmsetup create, its output in $T/out
create() { dmsetup create "$1" --table "$2" >"$T/out" 2>&1 && mknodes "$1"; }
# create_file NAME FILE: dmsetup create with a table of several lines
create_file() { dmsetup create "$1" <"$2" >"$T/out" 2>&1 && mknodes "$1"; }
gone() { ! dmsetup info "$1" >/dev/null 2>&1; }
# reload DEV TABLE: load and resume; what got through is live
reload() { dmsetup load "$1" --table "$2" && dmsetup resume "$1"; }
remove() { dmsetup info "$1" >/dev/null 2>&1 && dmsetup remove "$1" >/dev/null 2>&1; }
pins() { "$TOOL" pins >"$T/pins" 2>&1; }
pin_of() { grep -F " name=$1 summary=" "$T/pins"; }

seal_test_policy() {
	if [ -n "${DMSEAL_TEST_POLICY:-}" ]; then
		dmsealctl policy load "$DMSEAL_TEST_POLICY"
	else
		"$TOOL" seal
	fi
}

# 32 and 64 random bytes as hex, for keys that must never be used for data
hexbytes() { head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }
