#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl ephemeral setup against a hostile environment (KTAP).
#
#  - The installed dmsealctl has no fault-injection hook: the selftests'
#    DMSEALCTL_TEST_FAIL_STEP lives in dmsealctl-test only.
#  - The disk is the one that was checked: --device is a /dev/disk/by-id
#    style link that gets re-pointed at another disk (the decoy) as soon as
#    setup has checked it and written its header. Setup must stop with a
#    clear error (exit 1), undo everything, and never write to the decoy.
#  - Key material cannot leave the process: with memory that cannot be
#    locked (no CAP_IPC_LOCK, RLIMIT_MEMLOCK 0) setup refuses before making
#    anything unless --allow-unlocked-memory; while it runs, its whole
#    memory is locked (VmLck) and a crash dumps no core (a core would hold
#    the volume key). A stand-in mkfs.ext4 looks at setup's memory and then
#    kills it with SIGABRT, mid-setup, to see both.
#
# Disks: /dev/vdb and /dev/vdc (scratch, 256 MiB). POSIX sh: busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
POLICY=$DIR/data/policy.json
CTL=${DMSEALCTL:-dmsealctl}
DISK=/dev/vdb
DECOY=/dev/vdc
NAME=dmst-hard
MNT=/mnt/dmst-hard
LINK=/dev/disk/by-id/dmst-hard-disk
MKFS=/usr/sbin/mkfs.ext4
T=${TMPDIR:-/tmp}/dmsealctl_hardening.$$

PLAN=9
# shellcheck source=lib/ktap.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/ktap.sh"
# shellcheck source=lib/state.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/state.sh"

CORE_PATTERN=
cleanup() {
	[ -f "$MKFS.dmst-real" ] && mv -f "$MKFS.dmst-real" "$MKFS"
	[ -n "$CORE_PATTERN" ] && echo "$CORE_PATTERN" >/proc/sys/kernel/core_pattern
	"$CTL" ephemeral teardown --name $NAME >/dev/null 2>&1
	rm -f "$LINK"
	for d in $DISK $DECOY; do
		[ -b $d ] && dd if=/dev/zero of=$d bs=1M count=4 conv=fsync 2>/dev/null
	done
	rm -rf "$T"
}

if [ "$(hostname)" != dmseal-guest ] && [ -z "${DMSEAL_SELFTEST_ANY_HOST:-}" ]; then
	diag "not the dmseal test guest: this test formats $DISK and $DECOY"
	skip_rest "not in the test guest"
fi
mkdir -p "$T"
trap cleanup EXIT
command -v "$CTL" >/dev/null 2>&1 || { diag "dmsealctl not installed"; skip_rest "no dmsealctl"; }
[ -b $DISK ] && [ -b $DECOY ] || { diag "no $DISK/$DECOY"; skip_rest "no scratch disks"; }
"$CTL" --json status >"$T/st" 2>"$T/err" || { indent "$T/err"; skip_rest "dmseal not available"; }
if grep -q '"sealed":false' "$T/st"; then
	"$CTL" policy load "$POLICY" >/dev/null 2>"$T/err" || { indent "$T/err"; skip_rest "cannot seal"; }
fi
"$CTL" policy show >"$T/pol" 2>/dev/null
grep -q '"name": "ephemeral"' "$T/pol" || skip_rest "the sealed policy has no 'ephemeral' profile"

# md5 of the first 16 MiB of a disk
sum16() { dd if="$1" bs=1M count=16 2>/dev/null | md5sum | cut -d' ' -f1; }
teardown() { "$CTL" ephemeral teardown --name $NAME >"$T/td" 2>&1; }

# --- 1-2: no test hook in the installed binary ------------------------------------
BIN=$(command -v "$CTL")
c=$(strings "$BIN" | grep -c DMSEALCTL_TEST_FAIL_STEP)
check "the installed $BIN holds no DMSEALCTL_TEST_FAIL_STEP (found $c)" [ "$c" -eq 0 ]
DMSEALCTL_TEST_FAIL_STEP=format "$CTL" ephemeral setup --device $DECOY --name $NAME \
	--mount $MNT >"$T/out" 2>&1; rc=$?
indent "$T/out"
check "DMSEALCTL_TEST_FAIL_STEP=format means nothing to it: setup works (exit $rc)" [ $rc -eq 0 ]
teardown

# --- 3-4: --device re-pointed at another disk during setup -----------------------------
dd if=/dev/zero of=$DISK bs=1M count=16 conv=fsync 2>/dev/null
dd if=/dev/zero of=$DECOY bs=1M count=16 conv=fsync 2>/dev/null
# the decoy is not blank beyond its first sector (dm-integrity would format a
# blank superblock): a pattern every MiB, so any write shows
i=1
while [ $i -lt 16 ]; do
	printf 'DMST-DECOY-%02d' $i | dd of=$DECOY bs=1M seek=$i conv=notrunc,fsync 2>/dev/null
	i=$((i + 1))
done
DECOY_SUM=$(sum16 $DECOY)
mkdir -p "$(dirname $LINK)"
ln -sfn $DISK "$LINK"
snapshot "$T/b"
"$CTL" --verbose ephemeral setup --device "$LINK" --name $NAME --mount $MNT >"$T/out" 2>&1 &
SP=$!
# the moment the header exists, setup has checked the disk: re-point the link
while [ ! -e /run/dmseal/$NAME.hdr ] && kill -0 $SP 2>/dev/null; do :; done
ln -sfn $DECOY "$LINK"
wait $SP; rc=$?
snapshot "$T/a"
indent "$T/out"
check "link re-pointed during setup: exit 1, 'changed' named, all undone" \
	sh -c "[ $rc -eq 1 ] && grep -q 'changed while in use' '$T/out' && cmp -s '$T/b' '$T/a'"
[ $rc -eq 0 ] && teardown
check "the decoy disk the link was re-pointed to is untouched" [ "$(sum16 $DECOY)" = "$DECOY_SUM" ]
rm -f "$LINK"

# --- 5-6: memory that cannot be locked -------------------------------------------------
# util-linux setpriv by its path (busybox sh prefers its own applet, which
# cannot drop a capability from the bounding set)
SETPRIV=/usr/bin/setpriv
NOLOCK="$SETPRIV --inh-caps=-ipc_lock --bounding-set=-ipc_lock"
if ! $NOLOCK true >/dev/null 2>&1; then
	diag "no util-linux setpriv at $SETPRIV: cannot drop CAP_IPC_LOCK"
	skip "memory that cannot be locked" "no $SETPRIV"
	skip "... with --allow-unlocked-memory" "no $SETPRIV"
else
	snapshot "$T/b"
	(ulimit -l 0 && $NOLOCK "$CTL" ephemeral setup --device $DECOY --name $NAME --mount $MNT) \
		>"$T/out" 2>&1; rc=$?
	snapshot "$T/a"
	indent "$T/out"
	check "no CAP_IPC_LOCK, RLIMIT_MEMLOCK 0: refused before anything (exit 1, mlockall named)" \
		sh -c "[ $rc -eq 1 ] && grep -q 'mlockall' '$T/out' && ! grep -q 'rolled back' '$T/out' &&
			cmp -s '$T/b' '$T/a'"
	(ulimit -l 0 && $NOLOCK "$CTL" ephemeral setup --allow-unlocked-memory --device $DECOY \
		--name $NAME --mount $MNT) >"$T/out" 2>&1; rc=$?
	indent "$T/out"
	check "... with --allow-unlocked-memory: it warns and works" \
		sh -c "[ $rc -eq 0 ] && grep -q 'warning: cannot lock memory' '$T/out'"
	teardown
fi

# --- 7-9: setup's memory, seen from a stand-in mkfs that then kills it -------------------
mkdir -p "$T/cores"
CORE_PATTERN=$(cat /proc/sys/kernel/core_pattern)
echo "$T/cores/core.%p" >/proc/sys/kernel/core_pattern
mv "$MKFS" "$MKFS.dmst-real"
cat >"$MKFS" <<EOF
#!/bin/sh
grep -E '^(VmLck|VmRSS):' /proc/\$PPID/status >"$T/mem"
kill -ABRT \$PPID
exit 1
EOF
chmod 755 "$MKFS"
(ulimit -c unlimited && "$CTL" ephemeral setup --device $DECOY --name $NAME --mount $MNT) \
	>"$T/out" 2>&1; rc=$?
mv -f "$MKFS.dmst-real" "$MKFS"
echo "$CORE_PATTERN" >/proc/sys/kernel/core_pattern
CORE_PATTERN=
indent "$T/out" "$T/mem"
LCK=$(sed -n 's/^VmLck:[^0-9]*\([0-9]*\).*/\1/p' "$T/mem")
RSS=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "$T/mem")
diag "setup killed by the stand-in mkfs: exit $rc; VmLck ${LCK:-?} kB, VmRSS ${RSS:-?} kB"
# mlockall locks every mapping (MCL_ONFAULT: each page as it is touched):
# what is resident is locked
check "during setup its whole memory is locked (VmLck ${LCK:-?} kB, VmRSS ${RSS:-?} kB)" \
	sh -c "[ -n '$LCK' ] && [ -n '$RSS' ] && [ '$LCK' -gt 0 ] &&
		[ \$((${LCK:-0} * 10)) -ge \$((${RSS:-0} * 9)) ]"
ls -l "$T/cores" | indent
check "killed with SIGABRT mid-setup (exit $rc): no core dump" \
	sh -c "[ $rc -ne 0 ] && [ -z \"\$(ls '$T/cores')\" ]"
teardown; rc=$?
indent "$T/td"
check "teardown removes what the killed setup left (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && ! dmsetup ls | grep -q $NAME && [ ! -e /run/dmseal/$NAME.hdr ]"

ktap_done
