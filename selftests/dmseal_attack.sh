#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmseal_attack.sh: a hostile host against a sealed dmseal (KTAP).
#
# Each section takes one class of attack a host that steers the guest's
# storage requests can reach, and tries it the ways the review found and the
# other ways that reach the same effect:
#
#   layout    stretch a pinned target over its neighbours, merge, reorder,
#             append; resizing the last target is allowed
#   keys      the same key reference with other key bytes (another keyring,
#             another hex key, another dm-integrity MAC key)
#   live      pins follow what is live: a load that is cleared pins nothing,
#             a table that was built before a pin is judged by it
#   consumers cache, writecache, snapshot, mirror, raid1, era, thin, multipath,
#             linear, an integrity journal: nothing may copy a governed
#             volume to a device dmseal does not govern
#   switches  function tracing and kprobes cannot be switched off under it
#   names     device names cannot forge a log line or an event field
#   meaning   reloads from dm's own output, cryptsetup and integritysetup
#             resize pass; what the host's superblock says is checked
#   limits    dm's limits, not smaller ones (long parameters, tag sizes)
#
# Runs after dmseal_enforce.sh with data/policy.json sealed (seals it if
# nothing is; skips if another policy is, unless DMSEAL_TEST_POLICY names
# the policy to expect). Disks: /dev/vda and /dev/vdb, zeroed again at the
# end; every dm device is dmst-a-*, every key dmseal-test:*.
# POSIX sh: the guest has busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
TOOL=$DIR/dmseal_tool
T=${TMPDIR:-/tmp}/dmseal_attack.$$
VDA=/dev/vda
VDB=/dev/vdb
C='capi:authenc(hmac(sha256),xts(aes))-plain64'
ILEN=131072
CLEN=65536
KEY=:96:logon:dmseal-test:a1

PLAN=44
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"

KEYS=
cleanup() {
	monitor_stop
	for d in $(dmsetup ls 2>/dev/null | awk '/^dmst-a/ {print $1}'); do
		dmsetup resume "$d" >/dev/null 2>&1
	done
	# consumers first, then crypt, then integrity, then the host slices
	for pass in 1 2 3 4; do
		for d in $(dmsetup ls 2>/dev/null | awk '/^dmst-a/ {print $1}'); do
			dmsetup remove "$d" >/dev/null 2>&1
		done
	done
	cryptsetup close dmst-a-luks >/dev/null 2>&1
	for k in $KEYS; do
		keyctl unlink "$k" @u >/dev/null 2>&1
	done
	wipe_disks 8 $VDA $VDB
	rm -rf "$T"
}

only_in_test_guest "formats $VDA and $VDB"
mkdir -p "$T"
trap cleanup EXIT
for t in dmsetup cryptsetup integritysetup keyctl; do
	command -v $t >/dev/null 2>&1 || skip_rest "no $t"
done
[ -x "$TOOL" ] || skip_rest "no dmseal_tool"
[ -b $VDA ] && [ -b $VDB ] || skip_rest "no scratch disks"

"$TOOL" status >"$T/status" 2>&1 || { indent "$T/status"; skip_rest "dmseal is not loaded"; }
if grep -q '^sealed=0' "$T/status"; then
	diag "nothing sealed yet: sealing the test policy"
	seal_test_policy >"$T/out" 2>&1
	indent "$T/out"
	"$TOOL" status >"$T/status" 2>&1
fi
diag "$(cat "$T/status")"
if [ -z "${DMSEAL_TEST_POLICY:-}" ] &&
	! grep -q "digest=$("$TOOL" digest) " "$T/status"; then
	skip_rest "another policy is sealed"
fi
monitor_start

# zero what dm-integrity will format, and the superblocks of the slices
zero_at() { dd if=/dev/zero of="$1" bs=512 seek="$2" count=2048 conv=fsync 2>/dev/null; }
for s in 0 131072 196608 262144 393216; do zero_at $VDA $s; done
for s in 0 393216 458752; do zero_at $VDB $s; done

head -c 96 /dev/urandom >"$T/k1"
KEYS="$KEYS $(keyctl padd logon dmseal-test:a1 @u <"$T/k1")"
HEXA=$(hexbytes 64)
HEXB=$(hexbytes 64)
int_table() { echo "0 $1 integrity $2 $3 32 J 1 fix_padding"; }
crypt_table() { # START LEN INTDEV [IV_OFFSET]
	echo "$1 $2 crypt $C $KEY ${4:-0} /dev/mapper/$3 0 1 integrity:32:aead"
}

if ! create dmst-a-int1 "$(int_table $ILEN $VDB 0)" >"$T/out" 2>&1 ||
	! create dmst-a-int2 "$(int_table 65536 $VDA 0)" >>"$T/out" 2>&1 ||
	! create dmst-a-cry "$(crypt_table 0 $CLEN dmst-a-int1)" >>"$T/out" 2>&1; then
	indent "$T/out"
	tail -n 5 "$T/events" | sed 's/^/#   event: /'
	skip_rest "the governed stack did not load"
fi
# host slices: devices dmseal does not govern
create dmst-a-h1 "0 65536 linear $VDB 393216" >/dev/null 2>&1
create dmst-a-h2 "0 32768 linear $VDB 458752" >/dev/null 2>&1

# --- layout ----------------------------------------------------------------------------------
{ echo "0 8 zero"; crypt_table 8 16384 dmst-a-int1; } >"$T/zc"
if create_file dmst-a-zero "$T/zc" >"$T/out" 2>&1; then
	expect_denied "layout: zero+crypt reloaded as one zero target over both: refused" \
		dmst-a-zero 'pinned layout' reload dmst-a-zero "0 16392 zero"
	expect_denied "layout: ... as one linear target to the host's disk: refused" \
		dmst-a-zero 'pinned layout' reload dmst-a-zero "0 16392 linear $VDB 393216"
	{ echo "0 16 zero"; crypt_table 16 16376 dmst-a-int1; } >"$T/zc2"
	expect_denied "layout: the zero target stretched, crypt moved behind it: refused" \
		dmst-a-zero 'pinned layout' sh -c "dmsetup load dmst-a-zero <'$T/zc2'"
else
	indent "$T/out"
	nok "layout: zero+crypt loads (stretch cases not run)"
	nok "layout: ... linear"
	nok "layout: ... stretched"
fi
remove dmst-a-zero

{ crypt_table 0 16384 dmst-a-int1; crypt_table 16384 16384 dmst-a-int2; } >"$T/two"
if create_file dmst-a-two "$T/two" >"$T/out" 2>&1; then
	expect_denied "layout: crypt1+crypt2 reloaded as crypt1 over both: refused" \
		dmst-a-two 'pinned layout' reload dmst-a-two "$(crypt_table 0 32768 dmst-a-int1)"
	{ crypt_table 0 16384 dmst-a-int2; crypt_table 16384 16384 dmst-a-int1; } >"$T/swap"
	expect_denied "layout: the two crypt targets swapped: refused" \
		dmst-a-two 'pinned' sh -c "dmsetup load dmst-a-two <'$T/swap'"
	{ cat "$T/two"; echo "32768 8 zero"; } >"$T/app"
	expect_denied "layout: a target appended after the last pinned one: refused" \
		dmst-a-two 'pinned layout' sh -c "dmsetup load dmst-a-two <'$T/app'"
	{ crypt_table 0 16384 dmst-a-int1; crypt_table 16384 32768 dmst-a-int2; } >"$T/grow"
	expect_loads "layout: the last target grown (online resize): accepted and live" \
		sh -c "dmsetup load dmst-a-two <'$T/grow' && dmsetup resume dmst-a-two &&
			[ \$(blockdev --getsz /dev/mapper/dmst-a-two) -eq 49152 ]"
	expect_loads "layout: ... and shrunk back: accepted" \
		sh -c "dmsetup load dmst-a-two <'$T/two' && dmsetup resume dmst-a-two"
else
	indent "$T/out"
	for i in 1 2 3 4 5; do nok "layout: crypt1+crypt2 did not load"; done
fi
remove dmst-a-two

# --- keys --------------------------------------------------------------------------------------
head -c 96 /dev/urandom >"$T/k2"
# in a session keyring of its own, the same description names other bytes
other_key_reload() { # KEYFILE
	keyctl session - sh -c "keyctl padd logon dmseal-test:a1 @s <'$1' >/dev/null &&
		dmsetup load dmst-a-cry --table '$(crypt_table 0 $CLEN dmst-a-int1)' &&
		dmsetup resume dmst-a-cry"
}
expect_denied "keys: same :96:logon:dmseal-test:a1, other key bytes (another keyring): refused" \
	dmst-a-cry 'key \(other key bytes\)' other_key_reload "$T/k2"
expect_loads "keys: same bytes under a new key object: accepted (bytes, not key ids)" \
	other_key_reload "$T/k1"
HEXTBL="0 8192 crypt aes-xts-plain64 $HEXA 0 $VDA 131072"
if create dmst-a-hex "$HEXTBL" >"$T/out" 2>&1; then
	expect_denied "keys: hex key volume reloaded with another hex key: refused" \
		dmst-a-hex 'key \(other key bytes\)' \
		reload dmst-a-hex "0 8192 crypt aes-xts-plain64 $HEXB 0 $VDA 131072"
	UPPER=$(echo "$HEXA" | tr 'a-f' 'A-F')
	expect_loads "keys: ... with the same key in capitals: accepted (the bytes)" \
		reload dmst-a-hex "0 8192 crypt aes-xts-plain64 $UPPER 0 $VDA 131072"
else
	indent "$T/out"
	nok "keys: hex key volume did not load"
	nok "keys: ... capitals"
fi
MACA=$(hexbytes 32)
MACB=$(hexbytes 32)
mac_table() { echo "0 8192 integrity $VDA 196608 32 J 3 fix_padding fix_hmac internal_hash:hmac(sha256):$1"; }
if create dmst-a-mac "$(mac_table "$MACA")" >"$T/out" 2>&1; then
	expect_denied "keys: dm-integrity reloaded with another internal_hash key: refused" \
		dmst-a-mac 'internal_hash key' reload dmst-a-mac "$(mac_table "$MACB")"
else
	indent "$T/out"
	nok "keys: dm-integrity with a keyed hash did not load"
fi
remove dmst-a-mac
remove dmst-a-hex

# --- live: what is pinned is what is live -------------------------------------------------------
dmsetup create dmst-a-clr --notable >/dev/null 2>&1
dmsetup load dmst-a-clr --table "$(crypt_table 0 8192 dmst-a-int1)" >"$T/out" 2>&1 &&
	dmsetup clear dmst-a-clr >>"$T/out" 2>&1
rc=$?
pins
check "live: a table loaded and then cleared pins nothing" \
	sh -c "[ $rc -eq 0 ] && ! grep -q ' name=dmst-a-clr ' '$T/pins'"
expect_loads "live: ... so another valid table goes live there, and is what is pinned" \
	sh -c "dmsetup load dmst-a-clr --table '$(crypt_table 0 8192 dmst-a-int1 8)' &&
		dmsetup resume dmst-a-clr && '$TOOL' pins | grep ' name=dmst-a-clr ' | grep -q 'iv_offset=8 '"
remove dmst-a-clr
dmsetup create dmst-a-fint --notable >/dev/null 2>&1
dmsetup load dmst-a-fint --table "$(int_table 8192 $VDA 262144)" >"$T/out" 2>&1 &&
	dmsetup clear dmst-a-fint >>"$T/out" 2>&1
mknodes dmst-a-fint
expect_denied "live: crypt on an integrity device whose table was only loaded, then cleared: refused" \
	dmst-a-onfint 'not a dm-integrity device governed' \
	create dmst-a-onfint "$(crypt_table 0 8 dmst-a-fint)"
remove dmst-a-onfint
remove dmst-a-fint

# --- consumers -----------------------------------------------------------------------------------
expect_loads "consumers: linear (listed) on the whole governed volume: accepted" \
	create dmst-a-lv "0 $CLEN linear /dev/mapper/dmst-a-cry 0"
pins
check "  ... and it is governed itself: pinned, opening the crypt volume" \
	sh -c "grep ' name=dmst-a-lv ' '$T/pins' | grep -q 'type=linear .*opens=$(devno dmst-a-cry) '"
expect_denied "consumers: ... reloaded to the host's disk: refused" dmst-a-lv 'pinned' \
	reload dmst-a-lv "0 $CLEN linear $VDB 393216"
expect_loads "consumers: linear on linear on the volume: accepted" \
	create dmst-a-lv2 "0 $CLEN linear /dev/mapper/dmst-a-lv 0"
remove dmst-a-lv2
remove dmst-a-lv
printf '0 8192 linear /dev/mapper/dmst-a-cry 0\n8192 8192 linear %s 393216\n' $VDB >"$T/span"
expect_denied "consumers: linear spanning the volume and the host's disk: refused" dmst-a-span \
	'which dmseal does not govern' create_file dmst-a-span "$T/span"
remove dmst-a-span
CRY=/dev/mapper/dmst-a-cry
H1=/dev/mapper/dmst-a-h1
H2=/dev/mapper/dmst-a-h2
# consumer NAME MODULE TABLE: an unlisted type on the governed volume
consumer() {
	if ! modprobe "$2" >/dev/null 2>&1; then
		skip "consumers: $1 on the volume" "no $2 module"
		return
	fi
	expect_denied "consumers: $1 with the governed volume and the host's disk: refused" \
		dmst-a-c 'may not sit on governed device' create dmst-a-c "$3"
	remove dmst-a-c
}
consumer writecache dm-writecache "0 $CLEN writecache s $CRY $H1 4096 0"
consumer cache dm-cache "0 $CLEN cache $H2 $H1 $CRY 512 1 writethrough default 0"
consumer snapshot-origin dm-snapshot "0 $CLEN snapshot-origin $CRY"
consumer snapshot dm-snapshot "0 $CLEN snapshot $CRY $H1 P 8"
consumer mirror dm-mirror "0 32768 mirror core 1 1024 2 $H1 0 $CRY 0"
consumer raid1 dm-raid "0 32768 raid raid1 1 1024 2 - $H1 - $CRY"
consumer era dm-era "0 $CLEN era $H2 $CRY 8192"
consumer thin-pool dm-thin-pool "0 $CLEN thin-pool $H2 $CRY 128 0"
consumer multipath dm-multipath "0 32768 multipath 0 0 1 1 round-robin 0 2 1 $H1 1 $CRY 1"
expect_denied "consumers: dm-integrity on the volume with its journal on the host's disk: refused" \
	dmst-a-c 'meta_device not allowed|which dmseal does not govern' \
	create dmst-a-c "0 8192 integrity $CRY 0 32 J 2 meta_device:$H1 fix_padding"
remove dmst-a-c

# --- switches --------------------------------------------------------------------------------------
FT=/proc/sys/kernel/ftrace_enabled
if [ -w $FT ]; then
	echo 0 >$FT 2>"$T/err"
	rc=$?
	now=$(cat $FT)
	echo 1 >$FT 2>/dev/null
	indent "$T/err"
	check "switches: kernel.ftrace_enabled=0 refused while sealed (still $now)" \
		sh -c "[ $rc -ne 0 ] && [ '$now' = 1 ]"
else
	skip "switches: kernel.ftrace_enabled=0 refused" "no $FT"
fi
KP=/sys/kernel/debug/kprobes/enabled
if [ -w $KP ]; then
	echo 0 >$KP
	expect_denied "switches: with every kprobe switched off, a weak table is still refused" \
		dmst-a-null 'cipher_null' create dmst-a-null "0 8 crypt cipher_null-ecb - 0 $VDB 393216"
	echo 1 >$KP
else
	skip "switches: kprobes switched off" "no $KP"
fi
remove dmst-a-null
"$TOOL" status >"$T/status" 2>&1
check "switches: status says enforcing" grep -q ' enforcing=1 ' "$T/status"

# --- names -------------------------------------------------------------------------------------------
# the kernel log is rate-limited: let the burst above pass
sleep 5
FORGED=$(printf 'dmst-a-n\nforged reason=allowed')
m=$(events_mark)
dmesg -c >/dev/null 2>&1
dmsetup --manglename none create "$FORGED" --table "0 8 crypt cipher_null-ecb - 0 $VDB 393216" \
	>"$T/out" 2>&1
sleep 0.5
dmesg | grep 'dmseal: denied' >"$T/log"
indent "$T/log"
check "names: a name with a newline and ' reason=' stays one escaped field in the kernel log" \
	sh -c "grep -qF 'of dmst-a-n\\x0aforged\\x20reason=allowed (' '$T/log' &&
		! dmesg | grep -q '^forged'"
events_since "$m" >"$T/ev"
indent "$T/ev"
check "  ... and in an event line (one line, name escaped, the real reason)" \
	sh -c "[ \$(grep -c . '$T/ev') -eq 1 ] &&
		grep -qF 'name=dmst-a-n\\x0aforged\\x20reason=allowed reason=cipher_null' '$T/ev'"
dmsetup --manglename none remove "$FORGED" >/dev/null 2>&1

# --- meaning, not spelling ------------------------------------------------------------------------------
dmsetup table dmst-a-int1 >"$T/t_int" 2>&1
indent "$T/t_int"
expect_loads "meaning: dm-integrity reloaded from its own 'dmsetup table' output: accepted" \
	sh -c "dmsetup load dmst-a-int1 <'$T/t_int' && dmsetup resume dmst-a-int1"
expect_loads "meaning: dm-crypt with a performance option changed (refresh): accepted" \
	reload dmst-a-cry "0 $CLEN crypt $C $KEY 0 /dev/mapper/dmst-a-int1 0 2 integrity:32:aead same_cpu_crypt"
# cryptsetup's own resize of a LUKS2 volume. cryptsetup 2.6 resizes no
# volume with integrity tags ("Unsupported parameters"), whatever dmseal
# says; this one keeps its key in the table (--disable-keyring), the
# "hexkey" profile
create dmst-a-lluks "0 131072 linear $VDA 262144" >/dev/null 2>&1
head -c 32 /dev/urandom >"$T/luks.key"
if cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 --key-size 512 \
	--pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$T/luks.key" /dev/mapper/dmst-a-lluks >"$T/out" 2>&1 &&
	cryptsetup open --disable-keyring --key-file "$T/luks.key" /dev/mapper/dmst-a-lluks \
		dmst-a-luks >>"$T/out" 2>&1; then
	s0=$(blockdev --getsz /dev/mapper/dmst-a-luks)
	expect_loads "meaning: cryptsetup resize (shrink) of an admitted LUKS2 volume" \
		sh -c "cryptsetup resize --disable-keyring --key-file '$T/luks.key' --size 16384 dmst-a-luks &&
			[ \$(blockdev --getsz /dev/mapper/dmst-a-luks) -eq 16384 ]"
	expect_loads "meaning: cryptsetup resize (grow back to $s0 sectors)" \
		sh -c "cryptsetup resize --disable-keyring --key-file '$T/luks.key' dmst-a-luks &&
			[ \$(blockdev --getsz /dev/mapper/dmst-a-luks) -eq $s0 ]"
	cryptsetup close dmst-a-luks >/dev/null 2>&1
else
	indent "$T/out"
	nok "meaning: cryptsetup luksFormat/open (resize not run)"
	nok "meaning: cryptsetup resize (grow)"
fi
remove dmst-a-lluks
create dmst-a-lis "0 32768 linear $VDA 393216" >/dev/null 2>&1
if integritysetup format -q --integrity crc32c --tag-size 4 \
	/dev/mapper/dmst-a-lis >"$T/out" 2>&1 &&
	integritysetup open --integrity crc32c /dev/mapper/dmst-a-lis dmst-a-is >>"$T/out" 2>&1; then
	expect_loads "meaning: integritysetup resize of the admitted standalone device (tag size 4)" \
		sh -c "integritysetup resize --size 8192 dmst-a-is &&
			[ \$(blockdev --getsz /dev/mapper/dmst-a-is) -eq 8192 ]"
	dmsetup table dmst-a-is >"$T/t_is"
	indent "$T/t_is"
	integritysetup close dmst-a-is >/dev/null 2>&1
else
	indent "$T/out"
	nok "meaning: integritysetup format/open (resize not run)"
fi
# the host marks its superblock "recalculating": tags would be made, not checked
if dmsetup table dmst-a-is >/dev/null 2>&1; then integritysetup close dmst-a-is; fi
RCTBL="0 8192 integrity /dev/mapper/dmst-a-lis 0 4 J 3 fix_padding fix_hmac internal_hash:crc32c"
if [ -f "$T/t_is" ] && create dmst-a-rc "$RCTBL" >"$T/out" 2>&1; then
	remove dmst-a-rc
	# superblock flags at byte 24: SB_FLAG_RECALCULATING is 0x2
	f=$(dd if=/dev/mapper/dmst-a-lis bs=1 skip=24 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "\\$(printf '%03o' $((f | 2)))" |
		dd of=/dev/mapper/dmst-a-lis bs=1 seek=24 count=1 conv=notrunc,fsync 2>/dev/null
	expect_denied "meaning: a superblock the host marked recalculating is refused as built" \
		dmst-a-rc 'recalculate not allowed' create dmst-a-rc "$RCTBL"
else
	indent "$T/out"
	nok "meaning: recalculating superblock (standalone device did not load)"
fi
remove dmst-a-rc
remove dmst-a-lis

# --- limits ----------------------------------------------------------------------------------------------
BIGKEY=$(hexbytes 4096)
expect_loads "limits: dm-integrity with a 4096-byte hmac key (params of 8 KiB): accepted" \
	create dmst-a-big "0 8192 integrity $VDB 458752 32 J 3 fix_padding fix_hmac internal_hash:hmac(sha256):$BIGKEY"
remove dmst-a-big

pins
"$TOOL" status >"$T/status" 2>&1
check "after all that: the governed stack is live, one pin set each, counts agree" \
	sh -c "grep -q ' name=dmst-a-cry ' '$T/pins' && grep -q ' name=dmst-a-int1 ' '$T/pins' &&
		[ \$(grep -c '^pin ' '$T/pins') = \$(sed -n 's/.* pins=\([0-9]*\).*/\1/p' '$T/status') ]"
if [ -n "$MON" ] && grep -q '^error' "$T/events"; then
	diag "event monitor: $(grep '^error' "$T/events")"
fi

ktap_done
