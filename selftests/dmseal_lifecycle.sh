#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmseal_lifecycle.sh: the module's own life against table loads and
# switches (KTAP). Runs while dmseal is still unsealed, before dmseal_netlink:
#
#  - function tracing cannot be switched off under dmseal
#    (kernel.ftrace_enabled=0 fails with EBUSY), and dmseal does not load
#    while it is off;
#  - unloading and loading dmseal while other tasks load tables never
#    crashes: unload waits for every wrapper that is running;
#  - a table whose build started before the seal is judged as unsealed as a
#    whole: a crypt target after the seal does not make its earlier targets
#    escape the policy (the build is held inside a snapshot constructor,
#    whose copy-on-write device is suspended, while the seal happens);
#  - a forced unload of a sealed dmseal (rmmod -f, the one switch left) is
#    reported as an enforcement event before dmseal goes, and a fresh
#    dmseal loads unsealed afterwards.
# It leaves dmseal unloaded, as dmseal_netlink expects to find it.
# Disks: /dev/vdb only (zeroed again at the end). POSIX sh: busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
TOOL=$DIR/dmseal_tool
T=${TMPDIR:-/tmp}/dmseal_lifecycle.$$
VDB=/dev/vdb
FTRACE=/proc/sys/kernel/ftrace_enabled
HEX64=

PLAN=11
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"

cleanup() {
	monitor_stop
	touch "$T/stop" 2>/dev/null
	[ -n "$BG" ] && wait "$BG" 2>/dev/null
	[ -f "$FTRACE" ] && echo 1 >"$FTRACE" 2>/dev/null
	dmsetup info dmst-lc-susp >/dev/null 2>&1 && dmsetup resume dmst-lc-susp >/dev/null 2>&1
	for d in dmst-lc-race dmst-lc-orig dmst-lc-susp dmst-lc-bg dmst-lc-lin; do
		remove "$d"
	done
	[ -b $VDB ] && dd if=/dev/zero of=$VDB bs=1M count=64 conv=fsync 2>/dev/null
	rm -rf "$T"
}

only_in_test_guest "loads and unloads dmseal"
mkdir -p "$T"
trap cleanup EXIT
[ -x "$TOOL" ] || skip_rest "no dmseal_tool"
[ -b $VDB ] || skip_rest "no $VDB"
HEX64=$(hexbytes 64)

status_field() { "$TOOL" status 2>/dev/null | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# --- 1: loaded, unsealed, enforcing -------------------------------------------------
modprobe dmseal >"$T/out" 2>&1
"$TOOL" status >"$T/status" 2>&1
indent "$T/out" "$T/status"
if grep -q '^sealed=1' "$T/status"; then
	diag "a policy is already sealed: this test must run before dmseal_netlink"
	skip_rest "sealed"
fi
check "modprobe dmseal: unsealed, and enforcing (its ftrace hooks answer)" \
	sh -c "grep -q '^sealed=0' '$T/status' && [ '$(status_field enforcing)' = 1 ]"

# --- 2-3: function tracing cannot be switched off under it --------------------------
if [ -w "$FTRACE" ]; then
	echo 0 >"$FTRACE" 2>"$T/err"
	rc=$?
	now=$(cat "$FTRACE")
	indent "$T/err"
	check "kernel.ftrace_enabled=0 refused while dmseal is loaded (still $now)" \
		sh -c "[ $rc -ne 0 ] && [ '$now' = 1 ]"
	echo 1 >"$FTRACE" 2>/dev/null
	modprobe -r dmseal >"$T/out" 2>&1
	echo 0 >"$FTRACE" 2>>"$T/out"
	modprobe dmseal >>"$T/out" 2>&1
	rc=$?
	log=$(dmesg | grep 'dmseal: ' | tail -n 3)
	echo 1 >"$FTRACE"
	indent "$T/out"
	echo "$log" | sed 's/^/#   /'
	check "with function tracing off, dmseal refuses to load (and says why)" \
		sh -c "[ $rc -ne 0 ] && ! grep -q '^dmseal ' /proc/modules &&
			echo '$log' | grep -q 'ftrace_enabled=0'"
else
	skip "kernel.ftrace_enabled=0 refused while dmseal is loaded" "no $FTRACE"
	skip "with function tracing off, dmseal refuses to load" "no $FTRACE"
fi
modprobe dmseal >/dev/null 2>&1

# --- 4-5: unload and load while tables are loaded ------------------------------------
create dmst-lc-lin "0 8 linear $VDB 0" >/dev/null 2>&1
BG=
(
	i=0
	while [ ! -f "$T/stop" ]; do
		dmsetup create dmst-lc-bg --table "0 8 zero" >/dev/null 2>&1
		dmsetup remove dmst-lc-bg >/dev/null 2>&1
		dmsetup load dmst-lc-lin --table "0 8 linear $VDB $((i % 64))" >/dev/null 2>&1
		dmsetup resume dmst-lc-lin >/dev/null 2>&1
		i=$((i + 1))
		echo $i >"$T/bgcount"
	done
) &
BG=$!
fails=0
r=0
while [ $r -lt 6 ]; do
	rmmod dmseal >>"$T/cycle" 2>&1 || fails=$((fails + 1))
	modprobe dmseal >>"$T/cycle" 2>&1 || fails=$((fails + 1))
	r=$((r + 1))
done
touch "$T/stop"
wait $BG
bg=$(cat "$T/bgcount" 2>/dev/null || echo 0)
diag "$bg table loads ran meanwhile"
[ $fails -eq 0 ] || indent "$T/cycle"
check "6 unloads and loads of dmseal while tables load: all succeed" [ $fails -eq 0 ]
check "  ... and dmseal answers afterwards (and the loads went on: $bg)" \
	sh -c "[ '$(status_field enforcing)' = 1 ] && [ $bg -gt 0 ]"
remove dmst-lc-bg
remove dmst-lc-lin
rm -f "$T/stop"

# --- 6-8: a seal in the middle of a table build --------------------------------------
monitor_start
dd if=/dev/zero of=$VDB bs=1M count=64 conv=fsync 2>/dev/null
create dmst-lc-orig "0 8192 linear $VDB 0" >"$T/out" 2>&1 &&
	create dmst-lc-susp "0 8192 linear $VDB 8192" >>"$T/out" 2>&1 &&
	dmsetup suspend dmst-lc-susp >>"$T/out" 2>&1
rc=$?
indent "$T/out"
printf '0 8 linear %s 0\n8 8192 snapshot /dev/mapper/dmst-lc-orig /dev/mapper/dmst-lc-susp P 8\n8200 1024 crypt aes-xts-plain64 %s 0 %s 65536\n' \
	$VDB "$HEX64" $VDB >"$T/race"
m=$(events_mark)
if [ $rc -eq 0 ]; then
	( create_file dmst-lc-race "$T/race" >"$T/race.out" 2>&1; echo $? >"$T/race.rc" ) &
	RACE=$!
	# the build now waits in the snapshot constructor, reading its COW device
	sleep 2
	held=no
	[ -f "$T/race.rc" ] || held=yes
	seal_test_policy >"$T/seal" 2>&1
	src=$?
	dmsetup resume dmst-lc-susp >/dev/null 2>&1
	wait $RACE
	rrc=$(cat "$T/race.rc" 2>/dev/null || echo x)
	reasons=$(deny_reasons dmst-lc-race "$m")
	indent "$T/seal" "$T/race.out"
	echo "${reasons:-<no deny event>}" | sed 's/^/#   denied: /'
	check "the build was held in its snapshot target while the policy was sealed" \
		sh -c "[ $held = yes ] && [ $src -eq 0 ]"
	check "  ... its crypt target after the seal is judged with the table: refused, unsealed" \
		sh -c "[ '$rrc' != 0 ] && echo '$reasons' | grep -q 'no policy sealed yet'"
	pins
	check "  ... and nothing of it is live or pinned" \
		sh -c "! dmsetup table dmst-lc-race 2>/dev/null | grep -q . &&
			! grep -q 'name=dmst-lc-race ' '$T/pins'"
else
	nok "the build was held in its snapshot target (no devices)"
	nok "  ... refused"
	nok "  ... nothing pinned"
fi
remove dmst-lc-race
remove dmst-lc-orig
dmsetup resume dmst-lc-susp >/dev/null 2>&1
remove dmst-lc-susp

# --- 9-11: the forced unload of a sealed dmseal ---------------------------------------
if [ "$(status_field sealed)" != 1 ]; then
	seal_test_policy >"$T/seal" 2>&1 || indent "$T/seal"
fi
m=$(events_mark)
rmmod dmseal >"$T/out" 2>&1
rc1=$?
rmmod -f dmseal >>"$T/out" 2>&1
rc2=$?
sleep 0.5
indent "$T/out"
check "rmmod of a sealed dmseal refused; rmmod -f (the one switch left) removes it" \
	sh -c "[ $rc1 -ne 0 ] && [ $rc2 -eq 0 ] && ! grep -q '^dmseal ' /proc/modules"
ev=$(events_since "$m" | grep '^enforcement ')
echo "${ev:-<no enforcement event>}" | sed 's/^/#   event: /'
check "  ... and it said so first: an enforcement event with enforcing=0" \
	sh -c "echo '$ev' | grep -q 'enforcing=0'"
monitor_stop
modprobe dmseal >"$T/out" 2>&1
"$TOOL" status >>"$T/out" 2>&1
indent "$T/out"
check "  ... a dmseal loaded again starts unsealed, enforcing" \
	sh -c "grep -q '^sealed=0 .* enforcing=1 ' '$T/out'"
# dmseal_netlink loads it itself
modprobe -r dmseal >/dev/null 2>&1

ktap_done
