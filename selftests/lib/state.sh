# SPDX-License-Identifier: GPL-2.0-only
# snapshot FILE: the guest state a refused or rolled-back dmsealctl run must
# leave untouched (dm devices, volume keys, mounts, headers, mount points).
# Sourced by the shell selftests; POSIX sh.
snapshot() {
	{
		dmsetup ls 2>/dev/null | sort
		echo "keys: $(grep -c 'cryptsetup:' /proc/keys 2>/dev/null)"
		grep ' /mnt/' /proc/mounts
		ls /run/dmseal 2>/dev/null
		ls -d /mnt/* 2>/dev/null
	} >"$1"
}
