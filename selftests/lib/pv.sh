# SPDX-License-Identifier: GPL-2.0-only
# What the two persistent-volume selftests share (sourced after lib/ktap.sh
# and lib/cdh.sh; POSIX sh). The KBS "holds" fixed test keys: both boots
# derive the same bytes from a name, so nothing but the disk carries state
# from the first boot to the second.
#
#   pv_key NAME FILE        96 key bytes for NAME (never printed)
#   pv_serve_keys           start the CDH stand-in with the test resources
#   pv_data DIR             write the reference files into DIR
#   pv_data_ok DIR          DIR holds exactly the reference files
#   disk_sum DEV [MIB]      sha256 of DEV (or of its first MIB MiB)

PV_DISK=/dev/vdd
PV_NAME=dmst-pv
PV_MNT=/mnt/dmst-pv
PV_URI=kbs:///dmseal-test/volumes/pv-1
PV_MARKER=DMSEAL-PERSISTENT-PLAINTEXT-MARKER-42

pv_key() {
	{ printf '%s/1' "$1" | sha512sum; printf '%s/2' "$1" | sha512sum; } |
		cut -c1-96 | tr -d '\n' | busybox xxd -r -p >"$2"
}

pv_serve_keys() {
	mkdir -p "$T/keys"
	pv_key pv-1 "$T/keys/pv-1"
	pv_key other "$T/keys/other"
	pv_key disk-a "$T/keys/disk-a"
	head -c 16 "$T/keys/pv-1" >"$T/keys/short"
	dd if=/dev/zero of="$T/keys/big" bs=1M count=10 2>/dev/null
	for k in pv-1 other short big; do cdh_put dmseal-test volumes "$k" "$T/keys/$k"; done
	cdh_put dmseal-test keys disk-a "$T/keys/disk-a"
	cdh_put elsewhere volumes pv-1 "$T/keys/pv-1"
	cdh_start
}

pv_data() {
	seq 1 200000 >"$1/numbers" &&
		echo "$PV_MARKER" >"$1/marker" &&
		mkdir -p "$1/dir" && seq 7 7 70000 >"$1/dir/sevens" && sync
}

pv_data_ok() {
	[ "$(seq 1 200000 | sha256sum)" = "$(sha256sum <"$1/numbers")" ] &&
		[ "$(cat "$1/marker")" = "$PV_MARKER" ] &&
		[ "$(seq 7 7 70000 | sha256sum)" = "$(sha256sum <"$1/dir/sevens")" ]
}

disk_sum() {
	if [ -n "${2:-}" ]; then
		dd if="$1" bs=1M count="$2" 2>/dev/null | sha256sum | cut -d' ' -f1
	else
		sha256sum <"$1" | cut -d' ' -f1
	fi
}
