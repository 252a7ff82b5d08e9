#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl ephemeral setup: the fast layout is first-read safe (KTAP).
#
# With no full wipe, a block of the volume that was never written through
# dm-integrity has no valid tag: reading it is an I/O error. So the volume
# dmsealctl makes must never read a block before writing it, and the cuts
# that make setup fast (no backup superblocks, no resize inode, one-section
# integrity journal, the inode ratio) must not change that. Proved here with
# what a pod does: four writers at once on two vCPUs, a cold read of every
# file, and a full offline e2fsck, with no integrity error in the kernel log.
# Also: --inode-ratio sets the inode count, and bad values change nothing.
#
# Needs the "ephemeral" profile sealed (dmsealctl_ephemeral.sh runs first)
# and /dev/vdb (256 MiB scratch; earlier tests' data on it only makes any
# read of a block we did not write fail the louder).

DIR=$(cd "$(dirname "$0")" && pwd)
CTL=${DMSEALCTL:-dmsealctl}
DISK=/dev/vdb
NAME=dmst-fr
MNT=/mnt/dmst-fr
T=${TMPDIR:-/tmp}/dmsealctl_fr.$$
WRITERS=4
mkdir -p "$T"

PLAN=9
# shellcheck source=lib/ktap.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/ktap.sh"
# shellcheck source=lib/state.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/state.sh"
# shellcheck source=lib/dmst.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/dmst.sh"
cleanup() {
	"$CTL" ephemeral teardown --name $NAME >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

command -v "$CTL" >/dev/null 2>&1 || skip_rest "no dmsealctl"
[ -b $DISK ] || skip_rest "no $DISK"
"$CTL" policy show >"$T/pol" 2>/dev/null || skip_rest "no policy sealed"
grep -q '"name": "ephemeral"' "$T/pol" || skip_rest "the sealed policy has no 'ephemeral' profile"

# --- 1: bad --inode-ratio values: exit 2, named, nothing created ------------------
bad=0
for v in 100 4095 67108865 99999999999999999999 abc -4096 '' 16k; do
	snapshot "$T/b"
	"$CTL" ephemeral setup --device $DISK --name $NAME --mount $MNT --inode-ratio "$v" \
		>"$T/out" 2>&1; rc=$?
	snapshot "$T/a"
	if [ $rc -ne 2 ] || ! grep -q -- '--inode-ratio' "$T/out" || ! cmp -s "$T/b" "$T/a"; then
		diag "--inode-ratio '$v': exit $rc"
		indent "$T/out"
		bad=$((bad + 1))
	fi
done
check "--inode-ratio out of 4096..67108864 or not a number: exit 2, named, nothing changed" \
	[ $bad -eq 0 ]

# --- 2-3: the default layout -------------------------------------------------------
E0=$(int_errors)
"$CTL" --json ephemeral setup --device $DISK --name $NAME --mount $MNT >"$T/setup.json" \
	2>"$T/setup.err"; rc=$?
[ $rc -eq 0 ] || { indent "$T/setup.err"; skip_rest "setup failed (exit $rc)"; }
SIZE=$(json_get size "$T/setup.json")
RATIO=$(json_get inode_ratio "$T/setup.json")
INODES=$(df -i $MNT | awk 'NR == 2 { print $2 }')
WANT=$((SIZE / 163840))
diag "volume $SIZE bytes, inode_ratio $RATIO, $INODES inodes (size/ratio: $WANT)"
# mke2fs rounds the count up to fill whole inode-table blocks in every group
check "default: one inode per 163840 bytes (Kata's ratio), reported in JSON" \
	sh -c "[ '$RATIO' = 163840 ] && [ $INODES -ge $WANT ] && [ $INODES -le $((WANT + WANT / 4 + 512)) ]"
debugfs -R stats /dev/mapper/$NAME 2>/dev/null | grep -i 'features' >"$T/feat"
dmsetup table ${NAME}_dif >"$T/dif" 2>/dev/null
indent "$T/feat" "$T/dif"
check "scratch layout: no journal, no resize inode, no backup superblocks; one-section integrity journal" \
	sh -c "grep -q sparse_super2 '$T/feat' && ! grep -qE 'has_journal|resize_inode' '$T/feat' &&
		[ \$(sed -n 's/.*journal_sectors:\([0-9]*\).*/\1/p' '$T/dif') -le 2048 ]"

# --- 4-6: four writers at once, then a cold read of everything ---------------------
head -c 1048576 /dev/urandom >"$T/src"
writer() { # writer ID: 64 files of 4 KiB..256 KiB, then one 8 MiB file
	mkdir -p "$MNT/w$1" || return 1
	i=0
	while [ $i -lt 64 ]; do
		head -c $(( (i * 37 % 64 + 1) * 4096 )) "$T/src" >"$MNT/w$1/f$i" || return 1
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 8 ]; do cat "$T/src"; i=$((i + 1)); done >"$MNT/w$1/big" || return 1
}
pids=''
w=0
while [ $w -lt $WRITERS ]; do
	writer $w >"$T/w$w.err" 2>&1 &
	pids="$pids $!"
	w=$((w + 1))
done
werr=0
for p in $pids; do wait "$p" || werr=$((werr + 1)); done
sync
[ $werr -eq 0 ] || indent "$T"/w*.err
check "$WRITERS parallel writers: every write succeeds" [ $werr -eq 0 ]

echo 3 >/proc/sys/vm/drop_caches
rerr=0
w=0
while [ $w -lt $WRITERS ]; do
	i=0
	while [ $i -lt 64 ]; do
		head -c $(( (i * 37 % 64 + 1) * 4096 )) "$T/src" | cmp -s - "$MNT/w$w/f$i" ||
			{ diag "w$w/f$i differs or is unreadable"; rerr=$((rerr + 1)); }
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 8 ]; do cat "$T/src"; i=$((i + 1)); done | cmp -s - "$MNT/w$w/big" ||
		{ diag "w$w/big differs or is unreadable"; rerr=$((rerr + 1)); }
	w=$((w + 1))
done
check "cold read of all $((WRITERS * 65)) files: every byte as written" [ $rerr -eq 0 ]
# the directory tree and the free space, read cold as well
echo 3 >/proc/sys/vm/drop_caches
check "cold walk of the tree and statfs: no error" \
	sh -c "ls -laR $MNT >/dev/null && df $MNT >/dev/null"

# --- 7-8: offline check of every metadata block, and the kernel log -------------
umount $MNT
# blkid probes both ends of the device as udev would; e2fsck reads every
# metadata block, buffered, so the kernel reads ahead past each
blkid /dev/mapper/$NAME >"$T/fsck" 2>&1
e2fsck -fn /dev/mapper/$NAME >>"$T/fsck" 2>&1; rc=$?
check_log "$T/fsck" "blkid, then e2fsck -fn: clean (exit $rc)" [ $rc -eq 0 ]
E1=$(int_errors)
[ "$E1" -eq "$E0" ] || dmesg | grep -iE 'integrity|I/O error' | tail -n 20 | indent
check "no integrity or I/O error in the kernel log ($((E1 - E0)) new)" [ "$E1" -eq "$E0" ]
"$CTL" ephemeral teardown --name $NAME >/dev/null 2>&1

# --- 9: a denser --inode-ratio: more inodes, still clean ------------------------------
"$CTL" --json ephemeral setup --device $DISK --name $NAME --mount $MNT --inode-ratio 16384 \
	>"$T/setup2.json" 2>"$T/setup2.err"; rc=$?
INODES2=$(df -i $MNT 2>/dev/null | awk 'NR == 2 { print $2 }')
ls -laR $MNT >/dev/null 2>&1
umount $MNT 2>/dev/null
blkid /dev/mapper/$NAME >/dev/null 2>&1
e2fsck -fn /dev/mapper/$NAME >"$T/fsck2" 2>&1; rc2=$?
E2=$(int_errors)
diag "--inode-ratio 16384: exit $rc, $INODES2 inodes, e2fsck exit $rc2, $((E2 - E1)) new kernel errors"
indent "$T/setup2.err"
check_log "$T/fsck2" "--inode-ratio 16384: about 10x the inodes, e2fsck clean, no new kernel error" \
	sh -c "[ $rc -eq 0 ] && [ '$(json_get inode_ratio "$T/setup2.json")' = 16384 ] &&
		[ ${INODES2:-0} -ge $((INODES * 8)) ] && [ $rc2 -eq 0 ] && [ $E2 -eq $E1 ]"

ktap_done
