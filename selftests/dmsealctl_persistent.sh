#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl persistent setup/teardown, first boot (KTAP).
#
# Keys come from a real HTTP server at CDH's paths (lib/cdh.sh); the sealed
# test policy's "persistent" profile allows kbs:///dmseal-test/volumes/ and
# kbs:///dmseal-test/keys/disk-a only. Creates the volume the second boot
# (dmsealctl_persistent_reboot.sh) reopens on /dev/vdd, and attacks a scratch
# volume on /dev/vdc the way a hostile host edits a LUKS2 header.

DIR=$(cd "$(dirname "$0")" && pwd)
CTL=${DMSEALCTL:-dmsealctl}
CTL_TEST=${DMSEALCTL_TEST:-dmsealctl-test}
TOOL=${DMSEAL_TOOL:-$DIR/dmseal_tool}
EDIT=$DIR/luks2_edit
DISK2=/dev/vdc
NAME2=dmst-pv-scratch
MNT2=/mnt/dmst-pv-scratch
URI2=kbs:///dmseal-test/keys/disk-a
T=${TMPDIR:-/tmp}/dmsealctl_pv.$$
mkdir -p "$T"

PLAN=37
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/state.sh
. "$DIR/lib/state.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"
# shellcheck source=lib/cdh.sh
. "$DIR/lib/cdh.sh"
# shellcheck source=lib/pv.sh
. "$DIR/lib/pv.sh"

cleanup() {
	for v in $PV_NAME $NAME2 dmst-pv-plain; do
		"$CTL" persistent teardown --name "$v" >/dev/null 2>&1
		cryptsetup close "$v" >/dev/null 2>&1
	done
	cdh_stop
	monitor_stop
	rm -rf "$T"
}
trap cleanup EXIT

only_in_test_guest "formats /dev/vdc and /dev/vdd"
command -v "$CTL" >/dev/null 2>&1 || skip_rest "no dmsealctl"
[ -b $PV_DISK ] && [ -b $DISK2 ] || skip_rest "no $PV_DISK/$DISK2"
seal_fresh_boot || skip_rest "dmseal is not sealed with the test policy"
"$CTL" policy show >"$T/pol" 2>/dev/null
grep -q '"name": "persistent"' "$T/pol" || skip_rest "the sealed policy has no 'persistent' profile"
pv_serve_keys || skip_rest "the CDH stand-in does not start"
monitor_start
wipe_disks 4 $PV_DISK $DISK2

# pv_setup ARGS...: persistent setup, output in $T/out, exit status in $rc
pv_setup() {
	"$CTL" persistent setup "$@" >"$T/out" 2>&1
	rc=$?
}
# refused CODE REGEX NAME: the last setup exited CODE, said REGEX, and left
# nothing behind: state as in $T/before, the disk's first $SUM_MIB MiB as in
# $SUM0 (see before)
refused() {
	snapshot "$T/after"
	if [ $rc -eq "$1" ] && grep -Eq "$2" "$T/out" && cmp -s "$T/before" "$T/after" &&
		[ "$(disk_sum "$DEV" "$SUM_MIB")" = "$SUM0" ]; then
		ok "$3"
	else
		diag "exit $rc"
		indent "$T/out"
		diff "$T/before" "$T/after" | indent
		nok "$3"
	fi
}
# before DEV [MIB]: record what a refused setup must not change (MIB: how
# much of the disk's start, default 4)
before() {
	DEV=$1 SUM_MIB=${2:-4}
	snapshot "$T/before"
	SUM0=$(disk_sum "$DEV" "$SUM_MIB")
	REQ0=$(cdh_requests)
}
no_request() { [ "$(cdh_requests)" = "$REQ0" ]; }

# --- 1-3: refused before any request ------------------------------------------------
before $PV_DISK
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key kbs:///dmseal-test/volumes
refused 2 "needs three segments" "malformed URI: exit 2, named"
before $PV_DISK
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key kbs:///elsewhere/volumes/pv-1 --init
no_request || rc=99
refused 3 "no profile of the sealed policy allows the key kbs:///elsewhere" \
	"URI outside the profile's key_uris: exit 3, no request made, nothing written"
before $PV_DISK
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key $PV_URI
no_request || rc=99
refused 6 "holds no persistent volume.*reads as zeros.*--init" \
	"reopen of a blank disk: exit 6, never formatted, no request"

# --- 4-9: create ----------------------------------------------------------------------
KEYS0=$(grep -c 'cryptsetup:' /proc/keys)
"$CTL" --json persistent setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT \
	--key $PV_URI --init >"$T/init.json" 2>"$T/init.err"
rc=$?
indent "$T/init.err"
diag "$(cat "$T/init.json")"
check "--init on the blank $PV_DISK: exit 0, created, ext4 mounted" \
	eval "[ $rc -eq 0 ] && grep -q '\"created\": *true' '$T/init.json' && grep -q ' $PV_MNT ext4 ' /proc/mounts"
dmsetup table $PV_NAME >"$T/table" 2>&1
cryptsetup luksDump $PV_DISK >"$T/dump" 2>&1
check_log "$T/dump" "the volume: authenc(hmac(sha256),xts(aes)) over integrity, a LUKS2 header with no keyslot" \
	eval "grep -q 'capi:authenc(hmac(sha256),xts(aes))-plain64' '$T/table' &&
		grep -A1 '^Keyslots:' '$T/dump' | grep -q '^Tokens:'"
check "the volume key is in no keyring" eval "[ $(grep -c 'cryptsetup:' /proc/keys) -eq $KEYS0 ]"
HDRLEN=$(stat -c %s /run/dmseal/$PV_NAME.hdr 2>/dev/null || echo 0)
check "the header used is the in-memory copy of what went to the disk ($HDRLEN bytes)" \
	eval "[ $HDRLEN -gt 32768 ] && head -c $HDRLEN $PV_DISK | cmp -s - /run/dmseal/$PV_NAME.hdr"
pv_data $PV_MNT
"$CTL" persistent teardown --name $PV_NAME >"$T/out" 2>&1
check_log "$T/out" "teardown: unmounted, mapping and header copy gone" \
	eval "gone $PV_NAME && [ ! -e /run/dmseal/$PV_NAME.hdr ] && ! grep -q ' $PV_MNT ' /proc/mounts"
check "no plaintext of the volume on the raw disk" \
	eval "[ \$(strings -n 20 $PV_DISK | grep -c '$PV_MARKER') -eq 0 ]"

# --- 10-14: reopen; never format; wrong key -----------------------------------------
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key $PV_URI
check_log "$T/out" "reopen in the same boot: exit 0, the data is there" \
	eval "[ $rc -eq 0 ] && pv_data_ok $PV_MNT"
"$CTL" persistent teardown --name $PV_NAME >"$T/out" 2>&1
check_log "$T/out" "teardown after reopen" gone $PV_NAME
before $PV_DISK
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key $PV_URI --init
refused 6 "is not blank.*holds a LUKS2 header" "--init over a volume: exit 6, nothing written"
before $PV_DISK
WHOLE0=$(disk_sum $PV_DISK)
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key kbs:///dmseal-test/volumes/other
[ "$(disk_sum $PV_DISK)" = "$WHOLE0" ] || rc=98
refused 6 "does not open the volume" "wrong key: exit 6, the whole disk byte for byte unchanged"
pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key $PV_URI
check_log "$T/out" "the right key still opens it after the wrong one" \
	eval "[ $rc -eq 0 ] && pv_data_ok $PV_MNT"
"$CTL" persistent teardown --name $PV_NAME >/dev/null 2>&1

# --- 15-21: the key source fails: exit 5, nothing left ------------------------------
printf 'cdh_url = http://127.0.0.1:8010/cdh/resource\ntimeout_ms = 1000\nretries = 0\n' >"$T/hang.conf"
cdh_hang_start 8010
cdh_forbidden_start 8011
for c in "down|--cdh-url http://127.0.0.1:8009/cdh/resource|$PV_URI|connection refused" \
	"timeout|--config $T/hang.conf|$PV_URI|no answer from CDH.*within 1000 ms" \
	"404|--cdh-url http://127.0.0.1:8006/cdh/resource|kbs:///dmseal-test/volumes/missing|404|not found" \
	"403|--cdh-url http://127.0.0.1:8011/cdh/resource|$PV_URI|403" \
	"short key|--profile persistent|kbs:///dmseal-test/volumes/short|16 bytes" \
	"10 MiB body|--profile persistent|kbs:///dmseal-test/volumes/big|65536"; do
	what=${c%%|*} rest=${c#*|}
	opt=${rest%%|*} rest=${rest#*|}
	uri=${rest%%|*} pat=${rest#*|}
	before $PV_DISK
	# shellcheck disable=SC2086 # opt is two words
	pv_setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key "$uri" $opt
	refused 5 "$pat" "key source fails ($what): exit 5, clear error, nothing left"
done
# A guest image without libcurl4: dmsealctl loads it only here, to fetch the
# key, so this is where its absence shows, as a key source failure that names
# the package. /dev/null over the library, in a mount namespace of its own.
CURLS=$(for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64; do
	[ -e "$d/libcurl.so.4" ] && readlink -f "$d/libcurl.so.4"; done | sort -u | tr '\n' ' ')
before $PV_DISK
unshare -m sh -c "mount --make-rprivate / 2>/dev/null
	for f in $CURLS; do mount --bind /dev/null \"\$f\" || exit 97; done
	exec '$CTL' persistent setup --device $PV_DISK --name $PV_NAME --mount $PV_MNT --key $PV_URI" \
	>"$T/out" 2>&1
rc=$?
[ -n "$CURLS" ] || rc=96
no_request || rc=99
refused 5 "cannot load libcurl.so.4 \\(package libcurl4\\)" \
	"no libcurl in the image: exit 5, names the package, no request, nothing left"

# --- 22-24: a CDH SecureMount request -------------------------------------------------
cat >"$T/req.json" <<EOT
{"volume_type": "BlockDevice", "flags": [], "mount_point": "$PV_MNT",
 "options": {"devicePath": "$PV_DISK", "sourceType": "encrypted", "key": "$PV_URI",
  "encryptionType": "luks2", "dataIntegrity": "true", "mapperName": "$PV_NAME",
  "targetType": "fileSystem", "filesystemType": "ext4"}}
EOT
pv_setup --request "$T/req.json"
check_log "$T/out" "a CDH SecureMount request (sourceType encrypted) opens the volume" \
	eval "[ $rc -eq 0 ] && pv_data_ok $PV_MNT"
"$CTL" persistent teardown --name $PV_NAME >/dev/null 2>&1
# deviceId (MAJ:MIN, as the agent knows the hot-plugged disk) wins over devicePath
sed "s|\"devicePath\": \"$PV_DISK\"|\"devicePath\": \"/dev/null\", \"deviceId\": \"$(blkno $PV_DISK)\"|" \
	"$T/req.json" >"$T/req-id.json"
pv_setup --request "$T/req-id.json"
check_log "$T/out" "a request naming the disk by deviceId $(blkno $PV_DISK) opens it" \
	eval "[ $rc -eq 0 ] && pv_data_ok $PV_MNT"
"$CTL" persistent teardown --name $PV_NAME >/dev/null 2>&1
sed 's/"targetType"/"volumeMode": "x", "targetType"/' "$T/req.json" >"$T/bad.json"
before $PV_DISK
pv_setup --request "$T/bad.json"
refused 2 "volumeMode: unknown option" "a request with an unknown option: exit 2, the option named"
sed 's/"encrypted"/"empty"/' "$T/req.json" >"$T/empty.json"
before $PV_DISK
pv_setup --request "$T/empty.json"
refused 6 "is not blank" "a request for a new volume over an existing one: exit 6, nothing written"

# --- 25-34: a hostile host edits the header ----------------------------------------
pv_setup --device $DISK2 --name $NAME2 --mount $MNT2 --key $URI2 --init
check_log "$T/out" "scratch volume on $DISK2 (kbs:///dmseal-test/keys/disk-a)" \
	eval "[ $rc -eq 0 ] && pv_data $MNT2"
"$CTL" persistent teardown --name $NAME2 >/dev/null 2>&1
dd if=$DISK2 of="$T/hdr.orig" bs=1M count=1 2>/dev/null
restore() { dd if="$T/hdr.orig" of=$DISK2 bs=1M count=1 conv=fsync 2>/dev/null; }
# edit_case WHAT OLD NEW REGEX KERNEL: the edited header is refused by
# dmsealctl; KERNEL=1: plain `cryptsetup open` of it is refused at table load
edit_case() {
	restore
	if ! "$EDIT" $DISK2 "$2" "$3" >"$T/out" 2>&1; then
		indent "$T/out"
		nok "host edit ($1): refused by dmsealctl"
		[ "$5" = 0 ] || nok "host edit ($1): refused by the kernel"
		return
	fi
	before $DISK2
	pv_setup --device $DISK2 --name $NAME2 --mount $MNT2 --key $URI2
	refused 3 "does not conform to profile 'persistent'.*$4" "host edit ($1): refused by dmsealctl, nothing written"
	case $5 in
	1)
		expect_denied "host edit ($1): plain cryptsetup open refused by dmseal at table load" \
			dmst-pv-plain "" cryptsetup open --key-size 768 --volume-key-file "$T/keys/disk-a" \
			$DISK2 dmst-pv-plain
		;;
	2)
		# the table cryptsetup builds from this header cannot load at all
		# (dm-integrity's own superblock check, or dmseal): either way the
		# kernel refuses it and nothing is mapped
		m=$(events_mark)
		cryptsetup open --key-size 768 --volume-key-file "$T/keys/disk-a" $DISK2 dmst-pv-plain \
			>"$T/out" 2>&1
		rc=$?
		indent "$T/out"
		deny_reasons dmst-pv-plain "$m" | sed 's/^/#   denied: /'
		check "host edit ($1): plain cryptsetup open refused by the kernel at table load" \
			eval "[ $rc -ne 0 ] && [ ! -e /dev/mapper/dmst-pv-plain ] && ! dmsetup info dmst-pv-plain >/dev/null 2>&1"
		;;
	*) return ;;
	esac
	cryptsetup close dmst-pv-plain >/dev/null 2>&1
}
edit_case "segment cipher cipher_null-ecb" '"encryption":"aes-xts-plain64"' \
	'"encryption":"cipher_null-ecb"' "segment cipher" 1
edit_case "integrity removed" \
	',"integrity":{"type":"hmac(sha256)","journal_encryption":"none","journal_integrity":"none"}' \
	'' "no integrity" 1
edit_case "sector size 512" '"sector_size":4096' '"sector_size":512' "sector size" 2
edit_case "PBKDF2 iterations 4000000000" '"iterations":1000' '"iterations":4000000000' "iterations" 0
restore
# the keyslot variant of the 2025 attack: a keyslot with a null cipher that
# would make an attacker's volume key valid
edit_case "a keyslot with cipher_null added" '"keyslots":{}' \
	'"keyslots":{"0":{"type":"luks2","key_size":96,"af":{"type":"luks1","stripes":4000,"hash":"sha256"},"area":{"type":"raw","offset":"32768","size":"4096","encryption":"cipher_null-ecb","key_size":0},"kdf":{"type":"pbkdf2","hash":"sha256","iterations":1000,"salt":""}}}' \
	"has keyslots" 0
diag "a keyslot is invisible at table load: the kernel cannot tell a passphrase-unlocked key"
diag "from the KBS key (Documentation/dmseal/persistent.rst); dmsealctl never reads keyslots"
restore

# --- 35-36: check, then use: the disk changes after dmsealctl read it ------------
DMSEALCTL_TEST_RUN_AT=checked \
DMSEALCTL_TEST_RUN_CMD="$EDIT $DISK2 '\"encryption\":\"aes-xts-plain64\"' '\"encryption\":\"cipher_null-ecb\"'" \
	"$CTL_TEST" persistent setup --device $DISK2 --name $NAME2 --mount $MNT2 --key $URI2 >"$T/out" 2>&1
rc=$?
dmsetup table $NAME2 >"$T/table" 2>&1
check_log "$T/out" "header edited on disk after the check: what was checked is what is activated" \
	eval "[ $rc -eq 0 ] && grep -q 'capi:authenc' '$T/table' && ! grep -q null '$T/table' && pv_data_ok $MNT2"
"$CTL" persistent teardown --name $NAME2 >/dev/null 2>&1
pv_setup --device $DISK2 --name $NAME2 --mount $MNT2 --key $URI2
check_log "$T/out" "the edit is on the disk, and the next setup refuses it" \
	eval "[ $rc -eq 3 ] && grep -q 'cipher_null' '$T/out'"
restore

# --- 37: a failed --init leaves the disk blank again ------------------------------
wipe_disks 4 $DISK2
before $DISK2 2
DMSEALCTL_TEST_FAIL_STEP=mkfs "$CTL_TEST" persistent setup --device $DISK2 --name $NAME2 \
	--mount $MNT2 --key $URI2 --init >"$T/out" 2>&1
rc=$?
refused 1 "injected|mkfs" "--init failing at mkfs: rolled back, the disk blank again"

ktap_done
