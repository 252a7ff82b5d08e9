#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl ephemeral setup/teardown in the guest (KTAP).
#
# Needs the "ephemeral" profile of data/policy.json sealed (seals it itself if
# nothing is sealed yet), /dev/vdb and /dev/vdc (256 MiB, scratch). Checks:
# data round trip, no plaintext on the raw disk, host tampering gives an I/O
# error (never wrong data), the key is nowhere to be read, every error path
# leaves nothing behind, a fresh setup makes old data unreadable, and reports
# setup times for --wipe none and --wipe full; --debug logs no key either.
# selftests/host/10_no_plaintext.sh later greps the disk images for MARKER.

DIR=$(cd "$(dirname "$0")" && pwd)
POLICY=$DIR/data/policy.json
CTL=${DMSEALCTL:-dmsealctl}
# the test build, with DMSEALCTL_TEST_FAIL_STEP (the installed one has none)
CTL_TEST=${DMSEALCTL_TEST:-dmsealctl-test}
MARKER=DMSEAL-PLAINTEXT-MARKER-0123456789
DISK=/dev/vdb
DISK2=/dev/vdc
NAME=dmst-eph
MNT=/mnt/dmst-eph
T=${TMPDIR:-/tmp}/dmsealctl_eph.$$
mkdir -p "$T"

PLAN=25
# shellcheck source=lib/ktap.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/ktap.sh"
# count the marker in a device or file without building giant "lines"
# (a sparse disk has no newlines, so grep on it would buffer one huge line):
# strings(1) cuts the printable runs out first, and is fast under TCG
count_marker() { strings -n 30 "$1" 2>/dev/null | grep -c "$MARKER"; }
# shellcheck source=lib/state.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/state.sh"
# uptime in centiseconds (busybox date has no %N)
now_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
cleanup() {
	for v in $NAME $NAME-2 $NAME-w $NAME-d; do
		"$CTL" ephemeral teardown --name "$v" >/dev/null 2>&1
	done
	dmsetup remove dmst-small >/dev/null 2>&1
	dmsetup remove dmst-slice >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

command -v "$CTL" >/dev/null 2>&1 || { diag "dmsealctl not installed"; skip_rest "no dmsealctl"; }
[ -b $DISK ] && [ -b $DISK2 ] || { diag "no $DISK/$DISK2"; skip_rest "no scratch disks"; }

# --- 1: the no-policy case (only possible if nothing is sealed yet) ---------
"$CTL" --json status >"$T/st" 2>"$T/err" || { indent "$T/err"; skip_rest "dmseal not available"; }
if grep -q '"sealed":false' "$T/st"; then
	snapshot "$T/b"
	"$CTL" ephemeral setup --device $DISK --name $NAME --mount $MNT >"$T/out" 2>&1; rc=$?
	snapshot "$T/a"
	indent "$T/out"
	check "setup with no policy sealed: exit 4, nothing left" \
		sh -c "[ $rc -eq 4 ] && cmp -s '$T/b' '$T/a'"
	"$CTL" policy load "$POLICY" >/dev/null 2>"$T/err" || { indent "$T/err"; skip_rest "cannot seal"; }
else
	skip "setup with no policy sealed" "sealed earlier in this boot; dmsealctl_unsealed.sh covers it"
fi
"$CTL" policy show >"$T/pol" 2>/dev/null
grep -q '"name": "ephemeral"' "$T/pol" || skip_rest "the sealed policy has no 'ephemeral' profile"

# --- 2-6: setup, table shape, key hygiene ------------------------------------
KEYS0=$(grep -c 'cryptsetup:' /proc/keys)
"$CTL" --json --verbose ephemeral setup --device $DISK --name $NAME --mount $MNT \
	>"$T/setup.json" 2>"$T/setup.err"; rc=$?
indent "$T/setup.err"
diag "$(cat "$T/setup.json")"
if [ $rc -ne 0 ]; then
	nok "setup on $DISK (exit $rc)"
	skip_rest "setup failed"
fi
grep " $MNT " /proc/mounts >"$T/mnt"
check "setup on $DISK: ext4 mounted nodev,nosuid" \
	sh -c "grep -q ' ext4 ' '$T/mnt' && grep -q nodev '$T/mnt' && grep -q nosuid '$T/mnt'"
dmsetup table $NAME >"$T/table" 2>&1
dmsetup table ${NAME}_dif >"$T/table_dif" 2>&1
indent "$T/table" "$T/table_dif"
check "crypt table: authenc hmac(sha256) xts, logon key, integrity:32:aead, 4 KiB sectors" \
	sh -c "grep -q 'capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:cryptsetup:' '$T/table' &&
		grep -q 'integrity:32:aead' '$T/table' && grep -q 'sector_size:4096' '$T/table' &&
		grep -q ' integrity ' '$T/table_dif'"
# The key: not in the table (keyring reference), not left in any keyring,
# not in the header (no keyslot), not in our output (no long hex at all
# besides the policy digest).
PD=$(json_get digest "$T/setup.json")
# long_hex [FILE...]: runs of 48+ hex digits other than the policy digest
long_hex() { cat "$@" | grep -oE '[0-9a-fA-F]{48,}' | grep -vc "^$PD\$"; }
LONGHEX=$(long_hex "$T/setup.json" "$T/setup.err")
check "no key material in the helper's output" [ "$LONGHEX" -eq 0 ]
KEYS1=$(grep -c 'cryptsetup:' /proc/keys)
keyctl show @s >"$T/keys" 2>&1
keyctl show @u >>"$T/keys" 2>&1
check "volume key not left in any keyring (/proc/keys, keyctl show)" \
	sh -c "[ $KEYS1 -eq $KEYS0 ] && ! grep -q 'cryptsetup:' '$T/keys'"
cryptsetup luksDump /run/dmseal/$NAME.hdr >"$T/dump" 2>&1
sed -n '/^Keyslots:/,/^Tokens:/p' "$T/dump" >"$T/slots"
check "detached header on tmpfs has no keyslot (key unrecoverable)" \
	sh -c "grep -q 'Version:.*2' '$T/dump' && [ \$(wc -l <'$T/slots') -le 2 ] &&
		! grep -qE '^ +[0-9]+: luks2' '$T/slots'"

# --- 7-9: data round trip, no plaintext on the raw disk -------------------------
i=0
while [ $i -lt 64 ]; do echo "$MARKER small file line $i"; i=$((i + 1)); done >"$T/small"
cp "$T/small" $MNT/small1 && cp "$T/small" $MNT/small2
# big file: 24 MiB of marker lines, written after the small ones
awk -v m="$MARKER" 'BEGIN { for (i = 0; i < 570000; i++) printf "%s %08d\n", m, i }' >$MNT/big
sync
SUM=$(md5sum <$MNT/big)
echo 3 >/proc/sys/vm/drop_caches
check "files read back intact after sync and drop_caches" \
	sh -c "cmp -s '$T/small' $MNT/small1 && [ \"\$(md5sum <$MNT/big)\" = '$SUM' ]"
diag "marker written: $MARKER"
c=$(count_marker $DISK)
check "raw $DISK holds no plaintext marker (count = $c)" [ "$c" -eq 0 ]
c=$(count_marker $MNT/big)
check "the same count finds it in the file (the raw check is meaningful: $c)" [ "$c" -gt 0 ]

# --- 10-12: host tampering below the integrity layer -> EIO, never wrong data ----
bmap() { debugfs -R "bmap /big $1" /dev/mapper/$NAME 2>/dev/null | tail -n 1; }
FIRST=$(bmap 0)
BLKS=$(( $(stat -c %s $MNT/big) / 4096 ))
K=$((BLKS / 2))
P=$(bmap $K)
PA=$(bmap $((K - 512)))
PB=$(bmap $((K + 512)))
# where dm-integrity put that block on the raw disk: superblock (8 sectors),
# journal, then per interleave area of IL sectors a tag area of IL/128
# sectors (32-byte tags per 4 KiB block) in front of the data
JS=$(sed -n 's/.*journal_sectors:\([0-9]*\).*/\1/p' "$T/table_dif")
IL=$(sed -n 's/.*interleave_sectors:\([0-9]*\).*/\1/p' "$T/table_dif")
diag "big file: block $K of $BLKS at fs block $P (-512: $PA, +512: $PB); journal_sectors=$JS interleave_sectors=$IL"
if [ -n "$P" ] && [ -n "$JS" ] && [ -n "$IL" ] && [ "$PA" = $((P - 512)) ] && [ "$PB" = $((P + 512)) ]; then
	S=$((P * 8))
	# a 4 MiB contiguous run around S: an estimate off by less than 2 MiB still hits it
	PHYS=$((8 + JS + (S / IL + 1) * (IL / 128) + S))
	diag "tampering 4 KiB at sector $PHYS of $DISK"
	dd if=/dev/urandom of=$DISK bs=512 count=8 seek=$PHYS conv=notrunc,fsync 2>/dev/null
	sync
	echo 3 >/proc/sys/vm/drop_caches
	cat $MNT/big >"$T/bigcopy" 2>"$T/readerr"; rc=$?
	indent "$T/readerr"
	check "reading the tampered file fails with an I/O error" \
		sh -c "[ $rc -ne 0 ] && grep -qiE 'I/O error|Input/output error' '$T/readerr'"
	# every complete line returned is exactly the line written there
	SZ=$(stat -c %s "$T/bigcopy")
	check "no silent wrong data: the $SZ bytes read before the error are correct" \
		awk -v m="$MARKER" 'NR > 1 { if (p1 != m || p2 != sprintf("%08d", NR - 2)) bad = 1 }
			{ p1 = $1; p2 = $2 } END { exit bad }' "$T/bigcopy"
	check "other files still readable and intact" \
		sh -c "cmp -s '$T/small' $MNT/small1 && cmp -s '$T/small' $MNT/small2"
else
	skip "tamper: I/O error" "no contiguous 4 MiB run in the big file, or no table"
	skip "tamper: no silent wrong data" "big file not contiguous"
	skip "tamper: other files readable" "big file not contiguous"
fi

# --- 13-15: teardown, fresh setup on the same disk, old data unreadable --------
"$CTL" ephemeral teardown --name $NAME >"$T/out" 2>&1; rc=$?
indent "$T/out"
check "teardown: exit 0; no dm device, header, mount or key left" \
	sh -c "[ $rc -eq 0 ] && ! dmsetup ls | grep -q '$NAME' && [ ! -e /run/dmseal/$NAME.hdr ] &&
		! grep -q ' $MNT ' /proc/mounts && [ \$(grep -c cryptsetup: /proc/keys) -eq $KEYS0 ]"
"$CTL" ephemeral setup --device $DISK --name $NAME --mount $MNT >"$T/out" 2>&1; rc=$?
indent "$T/out"
check "setup again on the same disk works (empty filesystem)" \
	sh -c "[ $rc -eq 0 ] && [ ! -e $MNT/small1 ] && [ ! -e $MNT/big ]"
if [ -n "$P" ]; then
	# the old file's blocks, read through the new key: an integrity error
	dd if=/dev/mapper/$NAME of="$T/old" bs=4096 skip=$P count=1 2>/dev/null; rc=$?
	check "old data unreadable with the fresh key (read of an old block fails)" \
		sh -c "[ $rc -ne 0 ] || ! grep -q '$MARKER' '$T/old'"
else
	skip "old data unreadable" "no block map"
fi

# --- 16-21: error paths leave nothing behind ------------------------------------
snapshot "$T/b"
"$CTL" ephemeral setup --device $DISK2 --name $NAME --mount $MNT-x >"$T/out" 2>&1; rc=$?
snapshot "$T/a"
indent "$T/out"
check "same name twice: exit 1, says so, nothing changed" \
	sh -c "[ $rc -eq 1 ] && grep -q 'already exists' '$T/out' && cmp -s '$T/b' '$T/a'"
"$CTL" ephemeral teardown --name $NAME >/dev/null 2>&1

snapshot "$T/b"
"$CTL" ephemeral setup --device $DISK2 --name $NAME-2 --mount $MNT-2 --profile nosuch >"$T/out" 2>&1; rc=$?
snapshot "$T/a"
indent "$T/out"
check "unknown profile: exit 2, lists the profiles, nothing left" \
	sh -c "[ $rc -eq 2 ] && grep -q 'ephemeral' '$T/out' && cmp -s '$T/b' '$T/a'"

"$CTL" ephemeral setup --device /dev/vdz --name $NAME-2 --mount $MNT-2 >"$T/out" 2>&1; rc=$?
snapshot "$T/a"
check "missing device: exit 4, nothing left" sh -c "[ $rc -eq 4 ] && cmp -s '$T/b' '$T/a'"

if dmsetup create dmst-small --table "0 2048 linear $DISK2 0" >/dev/null 2>&1; then
	[ -b /dev/mapper/dmst-small ] || dmsetup mknodes >/dev/null 2>&1
	snapshot "$T/b"
	"$CTL" ephemeral setup --device /dev/mapper/dmst-small --name $NAME-2 --mount $MNT-2 >"$T/out" 2>&1; rc=$?
	snapshot "$T/a"
	indent "$T/out"
	check "too-small device (1 MiB): exit 1, nothing left" \
		sh -c "[ $rc -eq 1 ] && grep -q 'too small' '$T/out' && cmp -s '$T/b' '$T/a'"
	dmsetup remove dmst-small >/dev/null 2>&1
else
	skip "too-small device" "cannot create a linear device"
fi

# the "plain" profile names keys "dmseal-test:...", which LUKS2 cannot produce
snapshot "$T/b"
"$CTL" ephemeral setup --device $DISK2 --name $NAME-2 --mount $MNT-2 --profile plain >"$T/out" 2>&1; rc=$?
snapshot "$T/a"
indent "$T/out"
check "profile whose key naming libcryptsetup cannot meet: exit 1, nothing left" \
	sh -c "[ $rc -eq 1 ] && cmp -s '$T/b' '$T/a'"

# failures after activation and after mount roll everything back (the
# faults are injected by the test build, dmsealctl-test)
if command -v "$CTL_TEST" >/dev/null 2>&1; then
	okr=0
	for step in format activate wipe mkfs mount; do
		snapshot "$T/b"
		DMSEALCTL_TEST_FAIL_STEP=$step "$CTL_TEST" ephemeral setup --device $DISK2 \
			--name $NAME-2 --mount $MNT-2 >"$T/out" 2>&1; rc=$?
		snapshot "$T/a"
		if [ $rc -eq 1 ] && grep -q "failed at step '$step'" "$T/out" && cmp -s "$T/b" "$T/a"; then
			okr=$((okr + 1))
		else
			diag "injected failure at $step: exit $rc"
			indent "$T/out"
			diff "$T/b" "$T/a" | indent
		fi
	done
	check "injected failure at format/activate/wipe/mkfs/mount: rolled back each time" [ $okr -eq 5 ]
else
	skip "injected failures roll back" "no $CTL_TEST (the test build) installed"
fi

# --- 22-24: wipe=none vs wipe=full timing, on a 64 MiB slice of vdc -------------
if dmsetup create dmst-slice --table "0 131072 linear $DISK2 0" >/dev/null 2>&1; then
	[ -b /dev/mapper/dmst-slice ] || dmsetup mknodes >/dev/null 2>&1
	t0=$(now_cs)
	"$CTL" --json ephemeral setup --device /dev/mapper/dmst-slice --name $NAME-w --mount $MNT-w \
		--wipe none >"$T/w1" 2>&1; r1=$?
	t1=$(now_cs)
	"$CTL" ephemeral teardown --name $NAME-w >/dev/null 2>&1
	"$CTL" --json ephemeral setup --device /dev/mapper/dmst-slice --name $NAME-w --mount $MNT-w \
		--wipe full >"$T/w2" 2>&1; r2=$?
	t2=$(now_cs)
	echo "# setup time wipe=none: $(( (t1 - t0) / 100 )).$(printf %02d $(( (t1 - t0) % 100 ))) s (64 MiB)"
	echo "# setup time wipe=full: $(( (t2 - t1) / 100 )).$(printf %02d $(( (t2 - t1) % 100 ))) s (64 MiB)"
	check "setup --wipe none on a 64 MiB device" [ $r1 -eq 0 ]
	check "setup --wipe full on a 64 MiB device" [ $r2 -eq 0 ]
	# after a full wipe every sector has a valid tag: the whole volume reads
	dd if=/dev/mapper/$NAME-w of=/dev/null bs=1M 2>"$T/dd"; rc=$?
	check "after --wipe full the whole volume reads without error" [ $rc -eq 0 ]
	[ $r1 -eq 0 ] && [ $r2 -eq 0 ] || { indent "$T/w1"; indent "$T/w2"; }
	"$CTL" ephemeral teardown --name $NAME-w >/dev/null 2>&1
	dmsetup remove dmst-slice >/dev/null 2>&1
else
	skip "setup --wipe none timing" "cannot create a linear device"
	skip "setup --wipe full timing" "cannot create a linear device"
	skip "full-wipe readability" "cannot create a linear device"
fi

# --- 25: --debug: libcryptsetup's log, time-stamped, still no key -------------------
"$CTL" --debug ephemeral setup --device $DISK2 --name $NAME-d --mount $MNT-d \
	>"$T/dbg.out" 2>"$T/dbg.err"; rc=$?
"$CTL" ephemeral teardown --name $NAME-d >/dev/null 2>&1
# the header checksums libcryptsetup logs are hashes of the keyslot-free
# header, not of any key; nothing else of 48+ hex digits may appear
DBGHEX=$(grep -v 'Checksum:' "$T/dbg.err" | long_hex)
diag "--debug: exit $rc, $(wc -l <"$T/dbg.err") lines on stderr, $DBGHEX long hex runs"
check "--debug: libcryptsetup's debug log with time stamps, and no key material" \
	sh -c "[ $rc -eq 0 ] && grep -qE '^\[ *[0-9]+\.[0-9]{4}\] dmsealctl: libcryptsetup: ' '$T/dbg.err' &&
		grep -q 'step format' '$T/dbg.err' && [ $DBGHEX -eq 0 ]"

ktap_done
