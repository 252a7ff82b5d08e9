#!/bin/sh
# What exists today, shown inside the guest (`make demo`). Placeholder: it
# grows with the module and dmsealctl. busybox sh; output goes to the host.
set -u
step() { printf '\n== %s\n' "$*"; }

step "kernel"
uname -r

step "modprobe dmseal"
if modprobe dmseal; then
	grep -E '^(dmseal|dm_mod) ' /proc/modules
else
	echo "modprobe dmseal failed"
fi

step "status"
if command -v dmsealctl >/dev/null 2>&1; then
	dmsealctl status
else
	echo "(no dmsealctl in this build yet)"
	for t in /selftests/nl_status /selftests/status; do
		[ -x "$t" ] && { "$t"; break; }
	done
fi

step "kernel log (dmseal)"
dmesg | grep -i dmseal | grep -v "ommand line" || echo "(no dmseal lines)"
