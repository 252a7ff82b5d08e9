#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl persistent setup, second boot (KTAP): a fresh guest on the disks
# the first boot left (scripts/check.sh SECOND_BOOT_TESTS). The volume
# dmsealctl_persistent.sh created on /dev/vdd opens with the same KBS key,
# its data is there and reads back through the integrity layer, and nothing
# was reformatted.

DIR=$(cd "$(dirname "$0")" && pwd)
CTL=${DMSEALCTL:-dmsealctl}
TOOL=${DMSEAL_TOOL:-$DIR/dmseal_tool}
T=${TMPDIR:-/tmp}/dmsealctl_pvr.$$
mkdir -p "$T"

PLAN=6
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"
# shellcheck source=lib/cdh.sh
. "$DIR/lib/cdh.sh"
# shellcheck source=lib/pv.sh
. "$DIR/lib/pv.sh"

cleanup() {
	"$CTL" persistent teardown --name $PV_NAME >/dev/null 2>&1
	cdh_stop
	rm -rf "$T"
}
trap cleanup EXIT

only_in_test_guest "reopens /dev/vdd"
command -v "$CTL" >/dev/null 2>&1 || skip_rest "no dmsealctl"
[ -b $PV_DISK ] || skip_rest "no $PV_DISK"
check "a fresh boot: dmseal loaded and sealed with the test policy" seal_fresh_boot
pv_serve_keys || skip_rest "the CDH stand-in does not start"
cryptsetup luksDump $PV_DISK >"$T/dump" 2>&1
check_log "$T/dump" "the first boot's volume is on $PV_DISK (LUKS2, no keyslot)" \
	eval "grep -q '^Version:.*2' '$T/dump' && grep -A1 '^Keyslots:' '$T/dump' | grep -q '^Tokens:'"

"$CTL" --json persistent setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT \
	--key $PV_URI >"$T/out" 2>"$T/err"
rc=$?
indent "$T/err"
diag "$(cat "$T/out")"
check "reopen after a reboot with the KBS key: exit 0, not created" \
	eval "[ $rc -eq 0 ] && grep -q '\"created\": *false' '$T/out'"
check "the data written before the reboot is there, byte for byte" pv_data_ok $PV_MNT
# every block of every file read through dm-integrity: a mismatch is an EIO
find $PV_MNT -type f -exec cat {} + >/dev/null 2>"$T/rd"
dmsetup status ${PV_NAME}_dif >"$T/st" 2>&1
check_log "$T/st" "all of it reads back through the integrity layer (no mismatch, no EIO)" \
	eval "[ ! -s '$T/rd' ] && awk '{ exit (\$4 != 0) }' '$T/st'"
"$CTL" persistent teardown --name $PV_NAME >"$T/out" 2>&1
check_log "$T/out" "teardown: the volume stays on the disk for the next boot" \
	eval "gone $PV_NAME && cryptsetup isLuks $PV_DISK"

ktap_done
