#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl persistent volumes after a reboot (KTAP). PLACEHOLDER until the
# real test is written: it only checks the test bed. Runs alone in a second
# boot on the first boot's disks (selftests/Makefile: SECOND_BOOT_TESTS;
# scripts/check.sh boots it with KSFT_ONLY=dmsealctl_persistent_reboot.sh),
# after dmsealctl_persistent.sh ran in the first. dmseal is not loaded when it
# starts: seal_fresh_boot gives it the first boot's sealed state. Disk:
# /dev/vdd. POSIX sh: busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
DISK=/dev/vdd
TOOL=$DIR/dmseal_tool
T=${TMPDIR:-/tmp}/dmsealctl_persistent_reboot.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

PLAN=3
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"
only_in_test_guest "writes to $DISK"
[ -b $DISK ] || { diag "no $DISK"; skip_rest "no persistent disk"; }

# 1: the same seal as the first boot's
sealed() { seal_fresh_boot 2>"$T/err"; }
check_log "$T/err" "fresh boot: dmseal loaded and sealed with the test policy" sealed
diag "$("$TOOL" status 2>&1 | cut -d' ' -f1-2)"

# 2: the disks are the first boot's: its state is on vdd, and this is another boot
if boot_state_get "$T/state"; then
	diag "state: $(cat "$T/state")"
	now=$(cat /proc/sys/kernel/random/boot_id)
	check "first boot's state read back from $DISK (another boot: $now)" \
		sh -c "grep -q '^boot1 ' '$T/state' && ! grep -q '$now' '$T/state'"
else
	nok "first boot's state read back from $DISK: none there (was this boot on the first boot's disks?)"
fi
boot_state_clear

skip "placeholder" "persistent tests not written yet"
ktap_done
