#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl ephemeral setup in a guest where udev runs (KTAP).
#
# The test guest has no udev; a guest image usually does. device-mapper's
# udev rules run blkid on a device as its table goes live, and libcryptsetup
# waits for udev before activation returns, so blkid reads the new volume
# before dmsealctl has written a block of it: a failed read and "INTEGRITY
# AEAD ERROR" in the kernel log. udev/56-dmseal.rules sets DM_NOSCAN on that
# one event for the volumes dmsealctl sets up (those with a header copy in
# /run/dmseal). Shown here with Debian's systemd-udevd and rules:
#  1. udevd runs (else every case skips: scripts/initramfs.sh fetches udev);
#  2. without the rule, setup makes the kernel log read errors (the window);
#  3. with it, setup logs none;
#  4. after mkfs, udev's inotify watch probes again: the volume has
#     ID_FS_TYPE=ext4 and its /dev/disk/by-uuid link;
#  5-6. the rule matches only dmsealctl's volumes: a device with a LUKS2-style
#     dm uuid is probed as it goes live, unless /run/dmseal has its header;
#  7. teardown, and udevd stops (the tests after this one run without it).
#
# Needs the "ephemeral" profile sealed and /dev/vdb (256 MiB scratch).

DIR=$(cd "$(dirname "$0")" && pwd)
CTL=${DMSEALCTL:-dmsealctl}
DISK=/dev/vdb
NAME=dmst-udev
MNT=/mnt/dmst-udev
UDEVD=/usr/lib/systemd/systemd-udevd
RULE=56-dmseal.rules
T=${TMPDIR:-/tmp}/dmsealctl_udev.$$
mkdir -p "$T"

PLAN=7
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"
udev_stop() {
	udevadm control --exit >/dev/null 2>&1
	i=0
	while [ -e /run/udev/control ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
	rm -rf /run/udev /etc/udev/rules.d/$RULE
}
cleanup() {
	"$CTL" ephemeral teardown --name $NAME >/dev/null 2>&1
	for d in dmst-udev-lin1 dmst-udev-lin2; do dmsetup remove $d >/dev/null 2>&1; done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -f /run/dmseal/dmst-udev-lin2.hdr
	udev_stop
	rm -rf "$T"
}
trap cleanup EXIT

command -v "$CTL" >/dev/null 2>&1 || skip_rest "no dmsealctl"
[ -x $UDEVD ] || skip_rest "no systemd-udevd in this guest (scripts/initramfs.sh could not fetch Debian's udev)"
[ -b $DISK ] || skip_rest "no $DISK"
"$CTL" policy show >"$T/pol" 2>/dev/null || skip_rest "no policy sealed"
grep -q '"name": "ephemeral"' "$T/pol" || skip_rest "the sealed policy has no 'ephemeral' profile"

# the guest's init tells libdevmapper there is no udev; here there is
unset DM_DISABLE_UDEV
# setup NAME: ephemeral setup with udev running, then wait for udev
setup() {
	"$CTL" ephemeral setup --device $DISK --name $NAME --mount $MNT >"$T/out" 2>&1
	rc=$?
	udevadm settle --timeout=30
}

# --- 1: udevd ---------------------------------------------------------------------
mkdir -p /run/udev /etc/udev/rules.d
$UDEVD --daemon >"$T/udevd" 2>&1
udevadm control --ping --timeout=10 >/dev/null 2>&1
check_log "$T/udevd" "systemd-udevd runs, with device-mapper's rules and $RULE" \
	sh -c "[ -S /run/udev/control ] && [ -f /usr/lib/udev/rules.d/55-dm.rules ] &&
		[ -f /usr/lib/udev/rules.d/$RULE ]"
[ -S /run/udev/control ] || skip_rest "udevd did not start"

# --- 2: without the rule: the probe reads the volume before it is written ---------
ln -sf /dev/null /etc/udev/rules.d/$RULE
udevadm control --reload
E0=$(int_errors)
setup
E1=$(int_errors)
dmesg | grep -iE 'AEAD ERROR|I/O error' | tail -n 3 >"$T/k"
indent "$T/k"
check_log "$T/out" "without $RULE: udev's probe at activation reads unwritten blocks ($((E1 - E0)) kernel lines)" \
	sh -c "[ $rc -eq 0 ] && [ $E1 -gt $E0 ]"
"$CTL" ephemeral teardown --name $NAME >/dev/null 2>&1

# --- 3-4: with the rule ------------------------------------------------------------
rm -f /etc/udev/rules.d/$RULE
udevadm control --reload
E0=$(int_errors)
setup
E1=$(int_errors)
dmesg | tail -n 5 >"$T/k"
[ "$E1" -eq "$E0" ] || indent "$T/k"
check_log "$T/out" "with $RULE: setup, and no read error in the kernel log" \
	sh -c "[ $rc -eq 0 ] && [ $E1 -eq $E0 ]"
# the probe after mkfs comes from udev's inotify watch, which turns the
# close into a uevent of its own: it can be queued after settle returned
i=0
while udevadm settle --timeout=5 && udevadm info /dev/mapper/$NAME >"$T/info" 2>&1 &&
	! grep -q '^E: ID_FS_TYPE=ext4$' "$T/info" && [ $i -lt 20 ]; do
	usleep 250000
	i=$((i + 1))
done
FSUUID=$(sed -n 's/^E: ID_FS_UUID=//p' "$T/info")
check_log "$T/info" "after mkfs, udev probed the formatted volume: ext4, /dev/disk/by-uuid/$FSUUID" \
	sh -c "grep -q '^E: ID_FS_TYPE=ext4$' '$T/info' && [ -n '$FSUUID' ] &&
		[ -e /dev/disk/by-uuid/$FSUUID ]"

# --- 5-6: only dmsealctl's volumes -------------------------------------------------
# an ext4 image on a loop device, mapped by dmsetup under a dm uuid like
# libcryptsetup's: probed at activation unless /run/dmseal has its header
modprobe loop 2>/dev/null
truncate -s 8M "$T/fs.img"
mkfs.ext4 -q -F "$T/fs.img" >/dev/null 2>&1
LOOP=$(losetup -f) && losetup "$LOOP" "$T/fs.img" || LOOP=
[ -n "$LOOP" ] || diag "no loop device for $T/fs.img"
lin() { # lin NAME: a linear device over the loop device, live; its udev record
	echo "0 $((8 << 11)) linear $LOOP 0" |
		dmsetup create "$1" --uuid "CRYPT-LUKS2-00000000000000000000000000000000-$1" \
		>"$T/$1.info" 2>&1
	udevadm settle --timeout=30
	udevadm info "/dev/mapper/$1" >>"$T/$1.info" 2>&1
}
lin dmst-udev-lin1
check_log "$T/dmst-udev-lin1.info" "a LUKS2-style device dmsealctl did not set up is probed as it goes live" \
	sh -c "[ -n '$LOOP' ] && grep -q '^E: ID_FS_TYPE=ext4$' '$T/dmst-udev-lin1.info'"
mkdir -p /run/dmseal
: >/run/dmseal/dmst-udev-lin2.hdr
lin dmst-udev-lin2
check_log "$T/dmst-udev-lin2.info" "the same with a header copy in /run/dmseal: not probed (DM_NOSCAN=1)" \
	sh -c "[ -n '$LOOP' ] && grep -q '^E: DM_NOSCAN=1$' '$T/dmst-udev-lin2.info' &&
		! grep -q '^E: ID_FS_TYPE=' '$T/dmst-udev-lin2.info'"

# --- 7: teardown, udevd gone -------------------------------------------------------
"$CTL" ephemeral teardown --name $NAME >"$T/out" 2>&1
rc=$?
udev_stop
check_log "$T/out" "teardown with udev running; udevd stopped again" \
	sh -c "[ $rc -eq 0 ] && ! dmsetup info $NAME >/dev/null 2>&1 && [ ! -e /run/udev/control ]"

ktap_done
