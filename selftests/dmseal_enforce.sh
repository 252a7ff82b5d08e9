#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmseal_enforce.sh: what the sealed policy lets device-mapper load (KTAP).
#
# Runs after dmseal_netlink sealed data/policy.json (seals it itself if
# nothing is sealed yet; skips if another policy is). Disks: /dev/vda (the
# cryptsetup LUKS2 stack) and /dev/vdb (the dmsetup stack, and a scratch area
# at 128 MiB for tables that must never load); /dev/vdc is the dmsealctl
# tests'. Every dm device is named dmst-*, every key dmseal-test:*; all of
# them are gone when this test ends, and the first MiBs of vda and vdb are
# zeroed again.
#
# Allowed: LUKS2 + --integrity hmac-sha256 by cryptsetup (4 KiB sectors, the
# "ephemeral" profile) and a dm-integrity + dm-crypt stack built by dmsetup
# with a logon key "dmseal-test:k1" (the "plain" profile); identical reloads;
# linear devices outside any governed table.
# Denied, each checked by the command failing AND a dmseal "deny" event for
# that device (so a failure of dm itself does not pass for a denial), with
# the reason where the policy makes it unambiguous.
#
# Events come from `dmseal_tool monitor` (not ratelimited); if it cannot run,
# the kernel log line "dmseal: denied ... of NAME (M:m): REASON" is used.
# POSIX sh: the guest has busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
TOOL=$DIR/dmseal_tool
POLICY=$DIR/data/policy.json
T=${TMPDIR:-/tmp}/dmseal_enforce.$$
VDA=/dev/vda
VDB=/dev/vdb
# scratch sectors on vdb, past anything the dmsetup stack uses
SCRATCH=262144
C='capi:authenc(hmac(sha256),xts(aes))-plain64'
LUKS=dmst-luks
INT=dmst-int
CRY=dmst-crypt
INT_LEN=131072
CRY_LEN=65536
INT_TABLE="0 $INT_LEN integrity $VDB 0 32 J 1 fix_padding"
CRY_TABLE="0 $CRY_LEN crypt $C :96:logon:dmseal-test:k1 0 /dev/mapper/$INT 0 1 integrity:32:aead"

PLAN=48
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"

KEYS=
cleanup() {
	monitor_stop
	for d in dmst-null dmst-essiv dmst-short dmst-hex dmst-noint dmst-discard \
		dmst-intr dmst-inthash dmst-intlegacy dmst-onvdb dmst-onlin dmst-mix1 \
		dmst-mix2 dmst-zero dmst-zero3 dmst-lin dmst-lin2 $CRY $INT; do
		dmsetup info "$d" >/dev/null 2>&1 && dmsetup remove "$d" >/dev/null 2>&1
	done
	dmsetup info $LUKS >/dev/null 2>&1 && cryptsetup close $LUKS >/dev/null 2>&1
	dmsetup info ${LUKS}_dif >/dev/null 2>&1 && dmsetup remove ${LUKS}_dif >/dev/null 2>&1
	for k in $KEYS; do
		keyctl revoke "$k" >/dev/null 2>&1
		keyctl unlink "$k" @u >/dev/null 2>&1
	done
	wipe_disks 4 $VDA $VDB
	rm -rf "$T"
}

# This test formats disks: only in the dmseal test guest.
only_in_test_guest "formats $VDA and $VDB"
mkdir -p "$T"
trap cleanup EXIT
for t in dmsetup cryptsetup keyctl; do
	command -v $t >/dev/null 2>&1 || { diag "$t not installed"; skip_rest "no $t"; }
done
[ -x "$TOOL" ] || { diag "no $TOOL"; skip_rest "no dmseal_tool"; }
if [ ! -b $VDA ] || [ ! -b $VDB ]; then
	diag "no $VDA/$VDB"
	skip_rest "no scratch disks"
fi

# --- the sealed policy ------------------------------------------------------------
"$TOOL" status >"$T/status" 2>&1 || { indent "$T/status"; skip_rest "dmseal is not loaded"; }
if grep -q '^sealed=0' "$T/status"; then
	diag "nothing sealed yet: sealing data/policy.json"
	if command -v dmsealctl >/dev/null 2>&1; then
		dmsealctl policy load "${DMSEAL_TEST_POLICY:-$POLICY}" >"$T/out" 2>&1
	else
		"$TOOL" seal >"$T/out" 2>&1
	fi
	indent "$T/out"
	"$TOOL" status >"$T/status" 2>&1
fi
diag "$(cat "$T/status")"
status_field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$T/status"; }
WANT=$("$TOOL" digest)
check "the sealed policy is data/policy.json (digest $WANT)" [ "$(status_field digest)" = "$WANT" ]
[ "$(status_field digest)" = "$WANT" ] || skip_rest "another policy is sealed"
DENIED0=$(status_field denied)
NDENY=0

# --- events -----------------------------------------------------------------------
monitor_start
# a device that should never have loaded must not linger for later cases
deny_case() {
	expect_denied "$@"
	case $2 in
	"$CRY" | "$INT") ;;
	*) gone "$2" || dmsetup remove "$2" >/dev/null 2>&1 ;;
	esac
}
# pin_is NAME TYPE PROFILE BACKING LEN: its pin line says so ("" = any profile)
pin_is() {
	l=$(pin_of "$1")
	if [ -z "$l" ]; then
		diag "  no pin for $1"
		return 1
	fi
	if echo "$l" | grep -q " type=$2 " && echo "$l" | grep -q " backing=$4 " &&
		echo "$l" | grep -q " start=0 len=$5 " &&
		{ [ -z "$3" ] || echo "$l" | grep -q " profile=$3 "; }; then
		return 0
	fi
	diag "  $1: want type=$2 profile=${3:-any} backing=$4 len=$5, got: $l"
	return 1
}
# data round trip: 1 MiB written, the first 64 KiB read back without the page cache
head -c 1048576 /dev/urandom >"$T/data"
head -c 65536 "$T/data" >"$T/data64"
write_data() { dd if="$T/data" of="$1" bs=65536 count=16 conv=fsync 2>"$T/dd"; }
read_back() {
	echo 3 >/proc/sys/vm/drop_caches
	dd if="$1" of="$T/back" bs=65536 count=1 2>"$T/dd" && cmp -s "$T/data64" "$T/back"
}
HEX32=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
HEX96=$(head -c 96 /dev/urandom | od -An -v -tx1 | tr -d ' \n')

# clean disks: vdb's first sector must be zero for dm-integrity to format it
dd if=/dev/zero of=$VDA bs=1M count=4 conv=fsync 2>/dev/null
dd if=/dev/zero of=$VDB bs=1M count=4 conv=fsync 2>/dev/null
dd if=/dev/zero of=$VDB bs=512 seek=$SCRATCH count=8192 conv=fsync 2>/dev/null

# --- cryptsetup LUKS2 + hmac-sha256 on vda -------------------------------------------
head -c 32 /dev/urandom >"$T/luks.key"
luks_format() { # SECTOR_SIZE
	cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 \
		--integrity hmac-sha256 --integrity-no-wipe --sector-size "$1" \
		--pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file "$T/luks.key" $VDA >"$T/out" 2>&1
}
luks_open() { cryptsetup open --key-file "$T/luks.key" $VDA $LUKS >"$T/out" 2>&1; }

# 512-byte sectors (cryptsetup's default on this disk): the profile wants 4096
if luks_format 512; then
	deny_case "cryptsetup open, 512-byte sectors: refused (ephemeral wants 4096)" \
		$LUKS 'sector size 512' luks_open
	pins
	check "  ... and cryptsetup left no device and no pin behind" \
		sh -c "! dmsetup ls | grep -q '$LUKS' && ! grep -q 'name=$LUKS' '$T/pins'"
	dmsetup info ${LUKS}_dif >/dev/null 2>&1 && dmsetup remove ${LUKS}_dif >/dev/null 2>&1
	dmsetup info $LUKS >/dev/null 2>&1 && dmsetup remove $LUKS >/dev/null 2>&1
else
	indent "$T/out"
	nok "cryptsetup luksFormat --sector-size 512"
	skip "  ... no device left" "format failed"
fi

check_log "$T/out" "cryptsetup luksFormat LUKS2, hmac-sha256 integrity, 4 KiB sectors" \
	luks_format 4096
if luks_open; then
	dmsetup table $LUKS >"$T/t_luks" 2>&1
	dmsetup table ${LUKS}_dif >"$T/t_dif" 2>&1
	indent "$T/t_luks" "$T/t_dif"
	check "cryptsetup open: accepted; crypt on integrity as the ephemeral profile says" \
		sh -c "grep -qF ' crypt $C :96:logon:cryptsetup:' '$T/t_luks' &&
			grep -q 'integrity:32:aead' '$T/t_luks' && grep -q 'sector_size:4096' '$T/t_luks' &&
			grep -q ' integrity .* 32 J .*block_size:4096' '$T/t_dif'"
else
	indent "$T/out"
	nok "cryptsetup open: accepted"
fi
# volume_rw DEV: 1 MiB written to the volume and read back intact
volume_rw() { [ -b "$1" ] && write_data "$1" && read_back "$1"; }
check_log "$T/dd" "LUKS volume: 1 MiB written, read back intact" volume_rw /dev/mapper/$LUKS

# --- the dmsetup stack on vdb: dm-integrity, dm-crypt with a logon key ---------------
KEYS="$KEYS $(head -c 96 /dev/urandom | keyctl padd logon dmseal-test:k1 @u)"
KEYS="$KEYS $(head -c 64 /dev/urandom | keyctl padd logon dmseal-test:k64 @u)"
diag "keys: $KEYS"
check_log "$T/out" "dmsetup: dm-integrity J fix_padding on $VDB accepted" \
	create $INT "$INT_TABLE"
check_log "$T/out" "dmsetup: dm-crypt authenc/xts, logon dmseal-test:k1, integrity:32:aead on it accepted" \
	create $CRY "$CRY_TABLE"
check_log "$T/dd" "dmsetup volume: 1 MiB written, read back intact" volume_rw /dev/mapper/$CRY

# --- pins ------------------------------------------------------------------------------
pins
indent "$T/pins"
"$TOOL" status >"$T/status" 2>&1
luks_pins_ok() {
	pin_is ${LUKS}_dif integrity "" "$(blkno $VDA)" "$(dmsetup table ${LUKS}_dif | cut -d' ' -f2)" &&
		pin_is $LUKS crypt ephemeral "$(devno ${LUKS}_dif)" "$(dmsetup table $LUKS | cut -d' ' -f2)"
}
plain_pins_ok() {
	pin_is $INT integrity "" "$(blkno $VDB)" $INT_LEN &&
		pin_is $CRY crypt plain "$(devno $INT)" $CRY_LEN
}
check "pins: LUKS stack pinned (integrity on vda, crypt on it, profile ephemeral)" luks_pins_ok
check "pins: dmsetup stack pinned (integrity on vdb, crypt on it, profile plain)" plain_pins_ok
check "pins: STATUS counts as many pins as the dump lists ($(grep -c '^pin ' "$T/pins"))" \
	[ "$(status_field pins)" = "$(grep -c '^pin ' "$T/pins")" ]
# unloading would drop every pin: with live pinned volumes it must fail
cp "$T/pins" "$T/pins.before"
rmmod dmseal >"$T/out" 2>&1; rc1=$?
modprobe -r dmseal >>"$T/out" 2>&1; rc2=$?
indent "$T/out"
pins
check "rmmod / modprobe -r with pinned live volumes refused; pins unchanged" \
	sh -c "[ $rc1 -ne 0 ] && [ $rc2 -ne 0 ] && grep -q '^dmseal ' /proc/modules &&
		cmp -s '$T/pins.before' '$T/pins'"

# --- denied: crypt parameters ------------------------------------------------------------
deny_case "cipher_null refused" dmst-null 'cipher_null' \
	create dmst-null "0 8 crypt cipher_null-ecb - 0 $VDB $SCRATCH"
deny_case "cipher not in any profile (aes-cbc-essiv:sha256) refused" dmst-essiv \
	"cipher 'aes-cbc-essiv:sha256'" \
	create dmst-essiv "0 8 crypt aes-cbc-essiv:sha256 $HEX32 0 $VDB $SCRATCH"
deny_case "key too short (:64:logon, the profile says 96) refused" dmst-short '64-byte key' \
	create dmst-short "0 $CRY_LEN crypt $C :64:logon:dmseal-test:k64 0 /dev/mapper/$INT 0 1 integrity:32:aead"
deny_case "inline hex key refused (logon only)" dmst-hex 'hex keys not allowed' \
	create dmst-hex "0 $CRY_LEN crypt $C $HEX96 0 /dev/mapper/$INT 0 1 integrity:32:aead"
# These two are shaped for the "ephemeral" profile (key cryptsetup:..., 4 KiB
# sectors) so that the one rule they break is the reason dmseal reports: with
# a dmseal-test: key the reason would be the ephemeral profile's key prefix.
deny_case "crypt without integrity:32:aead refused (integrity required)" dmst-noint \
	'integrity required' \
	create dmst-noint "0 $CRY_LEN crypt $C :96:logon:cryptsetup:dmst-noint 0 /dev/mapper/$INT 0 1 sector_size:4096"
deny_case "crypt with allow_discards refused" dmst-discard 'allow_discards' \
	create dmst-discard "0 $CRY_LEN crypt $C :96:logon:cryptsetup:dmst-discard 0 /dev/mapper/$INT 0 3 integrity:32:aead sector_size:4096 allow_discards"

# --- denied: integrity parameters (on the scratch area) ----------------------------------
deny_case "dm-integrity mode R refused" dmst-intr 'mode R' \
	create dmst-intr "0 8 integrity $VDB $SCRATCH 32 R 1 fix_padding"
deny_case "dm-integrity keyed internal_hash without fix_hmac refused" dmst-inthash 'fix_hmac' \
	create dmst-inthash "0 8 integrity $VDB $SCRATCH 32 J 2 fix_padding internal_hash:hmac(sha256):$HEX32"
deny_case "dm-integrity legacy_recalculate refused" dmst-intlegacy 'legacy_recalculate' \
	create dmst-intlegacy "0 8 integrity $VDB $SCRATCH 32 J 2 fix_padding legacy_recalculate"

# --- denied: the stack rule ----------------------------------------------------------------
deny_case "crypt straight on $VDB (no pinned dm-integrity below) refused" dmst-onvdb \
	'not a dm-integrity device' \
	create dmst-onvdb "0 8 crypt $C :96:logon:dmseal-test:k1 0 $VDB $SCRATCH 1 integrity:32:aead"
if create dmst-lin "0 8192 linear $VDB $SCRATCH"; then
	deny_case "crypt on a dm-linear device refused" dmst-onlin 'not a dm-integrity device' \
		create dmst-onlin "0 8 crypt $C :96:logon:dmseal-test:k1 0 /dev/mapper/dmst-lin 0 1 integrity:32:aead"
	dmsetup remove dmst-lin >/dev/null 2>&1
else
	indent "$T/out"
	nok "crypt on a dm-linear device refused (the linear device did not load)"
fi
printf '0 8 linear %s %s\n8 %s crypt %s :96:logon:dmseal-test:k1 0 /dev/mapper/%s 0 1 integrity:32:aead\n' \
	$VDB $SCRATCH $CRY_LEN "$C" $INT >"$T/mix1"
deny_case "a table mixing linear and crypt refused" dmst-mix1 'linear' \
	sh -c "dmsetup create dmst-mix1 <'$T/mix1'"
printf '0 %s crypt %s :96:logon:dmseal-test:k1 0 /dev/mapper/%s 0 1 integrity:32:aead\n%s 8 linear %s %s\n' \
	$CRY_LEN "$C" $INT $CRY_LEN $VDB $SCRATCH >"$T/mix2"
deny_case "a table mixing crypt and linear (crypt first) refused" dmst-mix2 'linear' \
	sh -c "dmsetup create dmst-mix2 <'$T/mix2'"
# "zero" is in the policy's other_targets: a governed table may hold it, in
# any position, and it is pinned with the rest; an unlisted type anywhere in
# the table, even behind a listed one, refuses the table.
ZCRY="$CRY_LEN crypt $C :96:logon:dmseal-test:k1 0 /dev/mapper/$INT 0 1 integrity:32:aead"
printf '0 8 zero\n8 %s\n' "$ZCRY" >"$T/zero1"
if dmsetup create dmst-zero <"$T/zero1" >"$T/out" 2>&1; then
	pins
	check "a table of zero (listed) then crypt loads; the zero target is pinned too" \
		grep -q "type=zero start=0 .* name=dmst-zero " "$T/pins"
	dmsetup load dmst-zero <"$T/zero1" >"$T/out" 2>&1; rc=$?
	indent "$T/out"
	check "  ... and its identical reload is accepted" [ $rc -eq 0 ]
	dmsetup clear dmst-zero >/dev/null 2>&1
	printf '0 8 error\n8 %s\n' "$ZCRY" >"$T/zero2"
	deny_case "  ... a reload swapping its zero target for error (unlisted) refused" dmst-zero \
		"'error' at sector 0" \
		sh -c "dmsetup load dmst-zero <'$T/zero2'"
	dmsetup remove dmst-zero >/dev/null 2>&1
else
	indent "$T/out"
	nok "a table of zero (listed) then crypt loads; the zero target is pinned too"
	nok "  ... and its identical reload is accepted"
	nok "  ... a reload swapping its zero target for error (unlisted) refused"
fi
printf '0 8 zero\n8 8 linear %s %s\n16 %s\n' $VDB $SCRATCH "$ZCRY" >"$T/zero3"
deny_case "zero (listed), linear (not), crypt: refused for the linear target" dmst-zero3 \
	"'linear' at sector 8" sh -c "dmsetup create dmst-zero3 <'$T/zero3'"

# --- denied: reloads of the live dmsetup volume ----------------------------------------------
dmsetup table --showkeys $CRY >"$T/live_before" 2>&1
load_clear() { # DEV TABLE
	dmsetup load "$1" --table "$2"
	r=$?
	# a reload that got through must not be resumed later by accident
	[ $r -eq 0 ] && dmsetup clear "$1" >/dev/null 2>&1
	return $r
}
# aes-xts with a hex key is what the "hexkey" profile allows: the pin refuses
deny_case "reload changing the cipher (to one another profile allows) refused" $CRY 'pinned cipher' \
	load_clear $CRY "0 $CRY_LEN crypt aes-xts-plain64 $(hexbytes 64) 0 /dev/mapper/$INT 0"
deny_case "reload changing the key reference refused" $CRY 'pinned key reference' \
	load_clear $CRY "0 $CRY_LEN crypt $C :96:logon:dmseal-test:k2 0 /dev/mapper/$INT 0 1 integrity:32:aead"
deny_case "reload changing the backing device (another pinned integrity device) refused" \
	$CRY 'pinned backing device' \
	load_clear $CRY "0 $CRY_LEN crypt $C :96:logon:dmseal-test:k1 0 /dev/mapper/${LUKS}_dif 0 1 integrity:32:aead"
deny_case "reload changing the offset refused" $CRY 'pinned offset' \
	load_clear $CRY "0 $CRY_LEN crypt $C :96:logon:dmseal-test:k1 0 /dev/mapper/$INT 8 1 integrity:32:aead"
deny_case "reload changing iv_offset refused" $CRY 'pinned iv_offset' \
	load_clear $CRY "0 $CRY_LEN crypt $C :96:logon:dmseal-test:k1 8 /dev/mapper/$INT 0 1 integrity:32:aead"
deny_case "reload swapping the crypt target for linear refused" $CRY 'linear' \
	load_clear $CRY "0 $CRY_LEN linear $VDB $SCRATCH"
deny_case "reload of the pinned dm-integrity device with mode D refused" $INT 'pinned mode' \
	load_clear $INT "0 $INT_LEN integrity $VDB 0 32 D 1 fix_padding"

# --- denied: key messages on the pinned crypt device (suspended, as dm-crypt wants) --------
if dmsetup suspend $CRY >"$T/out" 2>&1; then
	deny_case "message 'key set :96:logon:...' refused" $CRY 'key set' \
		dmsetup message $CRY 0 key set :96:logon:dmseal-test:k1
	deny_case "message 'key set <hex>' refused" $CRY 'key set' \
		dmsetup message $CRY 0 key set "$HEX96"
	deny_case "message 'key wipe' refused (allow_key_wipe false)" $CRY 'key wipe' \
		dmsetup message $CRY 0 key wipe
	dmsetup resume $CRY >"$T/out" 2>&1 || indent "$T/out"
else
	indent "$T/out"
	nok "message 'key set :96:logon:...' refused (cannot suspend $CRY)"
	nok "message 'key set <hex>' refused (cannot suspend $CRY)"
	nok "message 'key wipe' refused (cannot suspend $CRY)"
fi
dmsetup table --showkeys $CRY >"$T/live_after" 2>&1
if cmp -s "$T/live_before" "$T/live_after" && read_back /dev/mapper/$CRY; then
	ok "after all that, the live volume is unchanged and reads back intact"
else
	indent "$T/live_before" "$T/live_after"
	nok "after all that, the live volume is unchanged and reads back intact"
fi

# --- allowed reloads -------------------------------------------------------------------------
if dmsetup load $CRY --table "$CRY_TABLE" >"$T/out" 2>&1 && dmsetup resume $CRY >>"$T/out" 2>&1 &&
	read_back /dev/mapper/$CRY; then
	ok "identical reload (load + resume) accepted; data intact"
else
	indent "$T/out"
	nok "identical reload (load + resume) accepted; data intact"
fi
TBL=$(cat "$T/live_before")
if dmsetup load $CRY --table "$TBL" >"$T/out" 2>&1 && dmsetup resume $CRY >>"$T/out" 2>&1 &&
	read_back /dev/mapper/$CRY; then
	ok "reload of 'dmsetup table' output (backing as major:minor) accepted"
else
	diag "table: $TBL"
	indent "$T/out"
	nok "reload of 'dmsetup table' output (backing as major:minor) accepted"
fi
pins
check "reloads kept exactly one pin per target" \
	sh -c "[ \$(grep -c ' name=$CRY summary=' '$T/pins') -eq 1 ] && [ \$(grep -c ' name=$INT summary=' '$T/pins') -eq 1 ]"

# --- linear is fine outside governed tables -----------------------------------------------------
if create dmst-lin2 "0 8192 linear $VDB $SCRATCH" &&
	dmsetup load dmst-lin2 --table "0 4096 linear $VDA 0" >>"$T/out" 2>&1 &&
	dmsetup resume dmst-lin2 >>"$T/out" 2>&1; then
	pins
	check "a linear device loads and reloads freely, and is not pinned" \
		sh -c "! grep -q ' name=dmst-lin2 ' '$T/pins'"
else
	indent "$T/out"
	nok "a linear device loads and reloads freely, and is not pinned"
fi
dmsetup remove dmst-lin2 >/dev/null 2>&1

# --- removal drops pins ----------------------------------------------------------------------------
dmsetup remove $CRY >"$T/out" 2>&1 && dmsetup remove $INT >>"$T/out" 2>&1
rc=$?
pins
check "dmsetup remove: the dmsetup stack and its pins are gone" \
	sh -c "[ $rc -eq 0 ] && ! grep -q ' name=$CRY summary=' '$T/pins' && ! grep -q ' name=$INT summary=' '$T/pins'"
cryptsetup close $LUKS >"$T/out" 2>&1
rc=$?
pins
"$TOOL" status >"$T/status" 2>&1
check "cryptsetup close: the LUKS stack and its pins are gone" \
	sh -c "[ $rc -eq 0 ] && ! grep -q ' name=$LUKS' '$T/pins' && ! dmsetup ls | grep -q dmst-"
indent "$T/pins"
check "STATUS: pins = $(status_field pins) = pins listed, denied counter +$NDENY or more" \
	sh -c "[ '$(status_field pins)' = \$(grep -c '^pin ' '$T/pins') ] &&
		[ $(status_field denied) -ge $((DENIED0 + NDENY)) ]"
if [ -n "$MON" ] && grep -q '^error' "$T/events"; then
	diag "event monitor: $(grep '^error' "$T/events")"
fi

ktap_done
