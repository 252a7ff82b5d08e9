#!/usr/bin/env bash
# scripts/bench-report.sh DIR...: the setup-speed benchmark's table across
# sizes, from the logs `make bench` leaves in build/bench/<size>/ (ktap.log:
# the guest's output; console.log: the kernel's; wall-seconds).
#
# Prints, per size, how the boot ended and the kernel's data-path error lines
# (INTEGRITY AEAD ERROR, I/O errors, EXT4-fs errors), then the combined
# tables of scripts/bench-summary.awk. A number never fails it: exit 1 only
# if a pipeline broke (a "fail" line) or a boot did not finish its runs.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

(($#)) || die "usage: $0 build/bench/<size>..."
broken=0 logs=()
echo
echo "== setup-speed benchmark: $# size(s) =="
for d in "$@"; do
	size=${d%/}
	size=${size##*/}
	k=$d/ktap.log c=$d/console.log
	wall=$(cat "$d/wall-seconds" 2>/dev/null || echo '?')
	if [[ ! -s $k ]]; then
		echo "$size: BROKEN: no output ($k)"
		broken=1
		continue
	fi
	logs+=("$k")
	nrun=$(grep -c '^run ' "$k")
	nfail=$(grep -c '^fail ' "$k")
	if grep -q '^# bench-setup: done' "$k"; then
		state="finished"
	else
		state="did NOT finish ($(grep '^# dmseal-init:' "$k" || echo 'no exit line: killed or crashed'))"
		broken=1
	fi
	aead=$(grep -c 'INTEGRITY AEAD ERROR' "$c" 2>/dev/null)
	ioerr=$(grep -cE 'I/O error' "$c" 2>/dev/null)
	ext4=$(grep -c 'EXT4-fs error' "$c" 2>/dev/null)
	oops=$(grep -cE 'Kernel panic|Oops|BUG:|Call Trace' "$c" 2>/dev/null)
	echo "$size: $state, $nrun runs, $nfail broken, ${wall} s wall;" \
		"console: ${aead:-0} INTEGRITY AEAD ERROR, ${ioerr:-0} I/O error, ${ext4:-0} EXT4-fs error, ${oops:-0} oops/BUG lines"
	if ((nfail)); then
		grep '^fail ' "$k" | sed 's/^/  /'
		broken=1
	fi
done
echo
if ((${#logs[@]})); then
	awk -f "$REPO/scripts/bench-summary.awk" -v mode=table "${logs[@]}"
fi
if ((broken)); then
	echo "bench: BROKEN: a pipeline failed or a boot did not finish (above); its numbers are not a result"
	exit 1
fi
