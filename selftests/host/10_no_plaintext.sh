#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Host side, after the guest powered off: the disk images the untrusted host
# holds must not contain the plaintext marker that dmsealctl_ephemeral.sh
# wrote through its encrypted volume (KTAP; exit 4 = skip).
#
# Env (from scripts/run-guest.sh): DMSEAL_DISKS_DIR, DMSEAL_KTAP.
set -u
MARKER=DMSEAL-PLAINTEXT-MARKER-0123456789
DDIR=${DMSEAL_DISKS_DIR:-}
KTAP=${DMSEAL_KTAP:-}

echo "TAP version 13"
if [[ -z $DDIR || ! -d $DDIR ]]; then
	echo "1..0 # SKIP no DMSEAL_DISKS_DIR"
	exit 4
fi
# Only meaningful if the guest test wrote the marker this run.
if [[ -z $KTAP || ! -f $KTAP ]] || ! grep -q "marker written: $MARKER" "$KTAP"; then
	echo "1..0 # SKIP dmsealctl_ephemeral.sh did not write the marker in this run"
	exit 4
fi
shopt -s nullglob
imgs=("$DDIR"/*.img)
echo "1..$((${#imgs[@]} + 1))"
n=0 fail=0
for img in "${imgs[@]}"; do
	n=$((n + 1))
	# -a: the images are binary; -F: a fixed string; -c counts lines
	c=$(LC_ALL=C grep -aFc "$MARKER" "$img" || true)
	if [[ $c == 0 ]]; then
		echo "ok $n - ${img##*/}: no plaintext marker"
	else
		echo "not ok $n - ${img##*/}: plaintext marker found ($c lines)"
		fail=1
	fi
done
# The volume's disk was really written (ciphertext is there, not an empty image).
n=$((n + 1))
vdb=$DDIR/vdb.img
if [[ -f $vdb ]] && [[ $(du -k "$vdb" | cut -f1) -gt 8192 ]]; then
	echo "ok $n - vdb.img holds data ($(du -h "$vdb" | cut -f1) allocated): the check saw ciphertext"
else
	echo "not ok $n - vdb.img is (nearly) empty: the ephemeral test wrote nothing"
	fail=1
fi
exit $fail
