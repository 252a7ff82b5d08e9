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
#   seal_fresh_boot                in a boot where no test ran yet (the second
#                                  boot): modprobe dmseal, seal as above, check
#                                  the digest; the first boot's sealed state
#   boot_state_put FILE / boot_state_get FILE
#                                  hand a small file (< 64 KiB) from the first
#                                  boot to the second: the last 64 KiB of
#                                  $DMST_STATE_DISK (default /dev/vdd)
#   boot_state_clear               zero that area
#   int_errors                     how many kernel log lines say a block was
#                                  read that nobody wrote (integrity/AEAD/I/O)
# Events come from `dmseal_tool monitor` (not ratelimited); if it cannot run,
# the kernel log line "dmseal: denied ... of NAME (M:m): REASON" is used.

MON=
NDENY=0

# kernel log lines that mean a block was read that nobody wrote
int_errors() { dmesg | grep -ciE 'integrity.*(error|checksum)|AEAD ERROR|Buffer I/O error|I/O error, dev'; }

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
	wipe_mib=$1 # not n: lib/ktap.sh counts cases in n
	shift
	for d in "$@"; do
		[ -b "$d" ] && dd if=/dev/zero of="$d" bs=1M count="$wipe_mib" conv=fsync 2>/dev/null
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

# seal_fresh_boot: what dmseal_netlink leaves in the first boot (module
# loaded, data/policy.json sealed), for a test that runs alone in a fresh
# boot. Returns 0 with the module sealed with the test policy (or already
# sealed with it), 1 with the reason on stderr.
seal_fresh_boot() {
	if [ ! -d /sys/module/dmseal ]; then
		modprobe dmseal || { echo "modprobe dmseal failed" >&2; return 1; }
	fi
	st=$("$TOOL" status) || return 1
	case $st in sealed=0*) seal_test_policy >&2 || return 1 ;; esac
	st=$("$TOOL" status) || return 1
	# with DMSEAL_TEST_POLICY the digest is that file's: not checked here
	[ -n "${DMSEAL_TEST_POLICY:-}" ] && case $st in sealed=1*) return 0 ;; esac
	want=$("$TOOL" digest) || return 1
	case $st in "sealed=1 digest=$want "*) return 0 ;; esac
	echo "dmseal: $st; expected sealed=1 digest=$want" >&2
	return 1
}

# check_sealed_fresh: seal_fresh_boot as a case, "dmseal is loaded and
# sealed" (the rest of the plan skipped without it); sets DIGEST to the sealed
# digest dmseal_tool reports
check_sealed_fresh() {
	seal_fresh_boot 2>"$T/err"
	rc=$?
	indent "$T/err"
	check "dmseal is loaded and sealed" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || skip_rest "dmseal not sealed"
	"$TOOL" status >"$T/status" 2>&1
	DIGEST=$(sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p' "$T/status")
}

# The boot state area: the last 64 KiB of $DMST_STATE_DISK, a header line
# "DMST-BOOT-STATE <bytes>" then the file. A volume that covers the whole
# disk overwrites it: put it there before, or read it back after, as fits.
boot_state_blk() { # the 64 KiB block index of the area
	echo $(($(blockdev --getsz "${DMST_STATE_DISK:-/dev/vdd}") / 128 - 1))
}
boot_state_put() {
	[ "$(wc -c <"$1")" -le 65000 ] || { echo "boot_state_put: $1 too big" >&2; return 1; }
	{ echo "DMST-BOOT-STATE $(wc -c <"$1")"; cat "$1"; } >"$1.hdr" &&
		dd if="$1.hdr" of="${DMST_STATE_DISK:-/dev/vdd}" bs=65536 count=1 \
			seek="$(boot_state_blk)" conv=sync,fsync 2>/dev/null
	r=$?
	rm -f "$1.hdr"
	return $r
}
# boot_state_get FILE: 1 (FILE empty) if the area holds no state
boot_state_get() {
	dd if="${DMST_STATE_DISK:-/dev/vdd}" of="$1.raw" bs=65536 count=1 \
		skip="$(boot_state_blk)" 2>/dev/null || return 1
	hdr=$(head -n 1 "$1.raw" | tr -d '\000')
	case $hdr in
	"DMST-BOOT-STATE "[0-9]*)
		tail -c +$((${#hdr} + 2)) "$1.raw" | head -c "${hdr#DMST-BOOT-STATE }" >"$1"
		rm -f "$1.raw"
		;;
	*) : >"$1"; rm -f "$1.raw"; return 1 ;;
	esac
}
boot_state_clear() {
	dd if=/dev/zero of="${DMST_STATE_DISK:-/dev/vdd}" bs=65536 count=1 \
		seek="$(boot_state_blk)" conv=fsync 2>/dev/null
}

# 32 and 64 random bytes as hex, for keys that must never be used for data
hexbytes() { head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }
