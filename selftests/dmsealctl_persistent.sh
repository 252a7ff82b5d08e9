#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl persistent volumes, first boot (KTAP). PLACEHOLDER until the real
# test is written: it only checks the test bed. Disk: /dev/vdd (256 MiB,
# reserved for the persistent tests; no other test touches it). Its
# counterpart dmsealctl_persistent_reboot.sh runs in a second boot on the same
# disks (selftests/Makefile: SECOND_BOOT_TESTS; scripts/check.sh).
# POSIX sh: busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
DISK=/dev/vdd
T=${TMPDIR:-/tmp}/dmsealctl_persistent.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

PLAN=3
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"
only_in_test_guest "writes to $DISK"
[ -b $DISK ] || { diag "no $DISK"; skip_rest "no persistent disk"; }

# 1: nothing wrote to vdd before this test (its first MiB is still zero)
nz=$(dd if=$DISK bs=1M count=1 2>/dev/null | tr -d '\000' | wc -c)
check "$DISK: $(($(blockdev --getsz $DISK) / 2048)) MiB, first MiB untouched" [ "$nz" -eq 0 ]

# 2: hand a state file to the second boot (the reboot test checks it)
echo "boot1 $(cat /proc/sys/kernel/random/boot_id)" >"$T/state"
check "boot state for the second boot written to $DISK's last 64 KiB" boot_state_put "$T/state"
diag "state: $(cat "$T/state")"

skip "placeholder" "persistent tests not written yet"
ktap_done
