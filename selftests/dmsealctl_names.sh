#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl and hostile dm device names (KTAP).
#
# Whoever loads a table picks the device's name and uuid: any byte but '/'
# (`dmsetup --manglename none` passes spaces, newlines, backslashes, quotes
# and bytes that are not UTF-8 as they are). dmsealctl's text output must
# not let such a name forge a field ("x reason=allowed") or a line (a
# newline, then a whole fake event): one event is one line, the name field
# shows \x20, \x0a, \x5c, ..., and --json gives the exact name back.
#
# Devices (all named dmst-*; gone when the test ends; vdc's first MiBs are
# zeroed again): three refused crypt tables (cipher_null) named with a
# space and "reason=allowed", a newline and a fake "pin ..." event, a
# backslash and a quote; one named with a byte 0xff; an accepted (pinned)
# dm-integrity device named with a space, a newline and a backslash, and a
# linear device on top of it named with a newline (an older module allows
# it, a module with the consumers rule refuses it: both are fine here).
# POSIX sh: the guest has busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
POLICY=$DIR/data/policy.json
CTL=${DMSEALCTL:-dmsealctl}
DISK=/dev/vdc
T=${TMPDIR:-/tmp}/dmsealctl_names.$$

N1=$(printf 'dmst-n1 reason=allowed')
U1=$(printf 'dmst-u1 reason=allowed')
N2=$(printf 'dmst-n2\npin name=forged reason=allowed')
N3='dmst-n3\back"q'
N4=$(printf 'dmst-n4\377')
P1=$(printf 'dmst-p1 x\ny\\z')
L1=$(printf 'dmst-l1\nx')
# how each name must read in a text line
E1='dmst-n1\x20reason=allowed'
EU1='dmst-u1\x20reason=allowed'
E2='dmst-n2\x0apin\x20name=forged\x20reason=allowed'
E3='dmst-n3\x5cback\x22q'
E4='dmst-n4\xff'
EP1='dmst-p1\x20x\x0ay\x5cz'
EL1='dmst-l1\x0ax'
NULL_TABLE="0 8 crypt cipher_null-ecb - 0 $DISK 0"

PLAN=17
# shellcheck source=lib/ktap.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/ktap.sh"

MON= MONJ=
dmx() { dmsetup --manglename none "$@"; }
cleanup() {
	[ -n "$MON" ] && kill "$MON" 2>/dev/null
	[ -n "$MONJ" ] && kill "$MONJ" 2>/dev/null
	for d in "$L1" "$P1" "$N1" "$N2" "$N3" "$N4"; do
		dmx info "$d" >/dev/null 2>&1 && dmx remove "$d" >/dev/null 2>&1
	done
	[ -b $DISK ] && dd if=/dev/zero of=$DISK bs=1M count=4 conv=fsync 2>/dev/null
	rm -rf "$T"
}

if [ "$(hostname)" != dmseal-guest ] && [ -z "${DMSEAL_SELFTEST_ANY_HOST:-}" ]; then
	diag "not the dmseal test guest: this test writes to $DISK"
	skip_rest "not in the test guest"
fi
mkdir -p "$T"
trap cleanup EXIT
command -v "$CTL" >/dev/null 2>&1 || { diag "dmsealctl not installed"; skip_rest "no dmsealctl"; }
command -v dmsetup >/dev/null 2>&1 || { diag "dmsetup not installed"; skip_rest "no dmsetup"; }
[ -b $DISK ] || { diag "no $DISK"; skip_rest "no scratch disk"; }

"$CTL" --json status >"$T/st" 2>"$T/err" || { indent "$T/err"; skip_rest "dmseal not available"; }
if grep -q '"sealed":false' "$T/st"; then
	"$CTL" policy load "$POLICY" >/dev/null 2>"$T/err" || { indent "$T/err"; skip_rest "cannot seal"; }
fi

# wait_for FILE TEXT: TEXT (fixed string) shows up in FILE within 5 s
wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		[ $i -ge 50 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}
# high_bytes FILE: the bytes >= 0x80 in FILE, as " ef bf bd ..."
high_bytes() { tr -d '\000-\177' <"$1" | od -An -tx1 | tr -s ' \n' '  '; }

# --- the monitors: text and JSON ------------------------------------------------
"$CTL" --verbose monitor >"$T/mon" 2>"$T/mon.err" &
MON=$!
"$CTL" --json --verbose monitor >"$T/monj" 2>"$T/monj.err" &
MONJ=$!
if wait_for "$T/mon.err" listening && wait_for "$T/monj.err" listening; then
	ok "monitor and monitor --json are listening"
else
	indent "$T/mon.err" "$T/monj.err"
	nok "monitor and monitor --json are listening"
	skip_rest "no event monitor"
fi

# --- refused tables under hostile names -------------------------------------------
dd if=/dev/zero of=$DISK bs=1M count=4 conv=fsync 2>/dev/null
r=0
dmx create "$N1" --uuid "$U1" --table "$NULL_TABLE" >"$T/out" 2>&1 && r=1
dmx create "$N2" --table "$NULL_TABLE" >>"$T/out" 2>&1 && r=1
dmx create "$N3" --table "$NULL_TABLE" >>"$T/out" 2>&1 && r=1
dmx create "$N4" --table "$NULL_TABLE" >>"$T/out" 2>&1 && r=1
check "four cipher_null tables under hostile names: all refused" [ $r -eq 0 ]
wait_for "$T/mon" "name=$E4" && wait_for "$T/monj" 'dmst-n4'
indent "$T/mon"

check "space + 'reason=allowed' in name and uuid: one deny line, name=$E1 uuid=$EU1" \
	sh -c "[ \$(grep -cF -- 'dmst-n1' '$T/mon') -eq 1 ] &&
		grep -F -- ' name=$E1 ' '$T/mon' | grep -qF -- ' uuid=$EU1 '"
check "no line carries a forged 'reason=allowed' field" \
	sh -c "! grep -qF -- ' reason=allowed' '$T/mon'"
check "newline + a fake pin event in the name: one deny line, name=$E2; no forged line" \
	sh -c "[ \$(grep -cF -- 'dmst-n2' '$T/mon') -eq 1 ] && grep -qF -- ' name=$E2 ' '$T/mon' &&
		! grep -q '^pin name=forged' '$T/mon'"
check "backslash and quote: one deny line, name=$E3" \
	sh -c "[ \$(grep -cF -- 'dmst-n3' '$T/mon') -eq 1 ] && grep -qF -- ' name=$E3 ' '$T/mon'"
check "byte 0xff: one deny line, name=$E4, and text output is ASCII only" \
	sh -c "[ \$(grep -cF -- 'dmst-n4' '$T/mon') -eq 1 ] && grep -qF -- ' name=$E4 ' '$T/mon' &&
		[ \$(tr -d '\040-\176\n' <'$T/mon' | wc -c) -eq 0 ]"

# --json: the exact names (json-c escapes \n, \\ and \")
check "monitor --json: the exact names of the space, newline and backslash devices" \
	sh -c "grep -qF -- '\"dev_name\":\"dmst-n1 reason=allowed\"' '$T/monj' &&
		grep -qF -- '\"dev_uuid\":\"dmst-u1 reason=allowed\"' '$T/monj' &&
		grep -qF -- '\"dev_name\":\"dmst-n2\\npin name=forged reason=allowed\"' '$T/monj' &&
		grep -qF -- '\"dev_name\":\"dmst-n3\\\\back\\\"q\"' '$T/monj'"
HB=$(high_bytes "$T/monj")
diag "bytes >= 0x80 in the JSON events:$HB"
check "monitor --json: a name that is not UTF-8 gives dev_name_hex; its only non-ASCII is U+FFFD" \
	sh -c "grep -qF -- '\"dev_name_hex\":\"646d73742d6e34ff\"' '$T/monj' &&
		echo '$HB' | grep -qE '^ *(ef bf bd *)+\$'"

# --- an accepted (pinned) device under a hostile name ---------------------------------
if dmx create "$P1" --table "0 8192 integrity $DISK 0 32 J 1 fix_padding" >"$T/out" 2>&1; then
	ok "dm-integrity device named with space, newline, backslash: loads (pinned)"
else
	indent "$T/out"
	nok "dm-integrity device named with space, newline, backslash: loads (pinned)"
fi
wait_for "$T/mon" "name=$EP1"
check "pin event: one line, name=$EP1" \
	sh -c "[ \$(grep -cF -- 'dmst-p1' '$T/mon') -eq 1 ] &&
		grep '^pin ' '$T/mon' | grep -qF -- ' name=$EP1 '"
"$CTL" pins >"$T/pins" 2>&1
"$CTL" --json pins >"$T/pins.json" 2>&1
indent "$T/pins"
NP=$(grep -o '"dev_major":' "$T/pins.json" | wc -l)
check "pins: one line per pin ($NP), each starting with major=; $EP1 on one of them" \
	sh -c "[ \$(wc -l <'$T/pins') -eq $NP ] && ! grep -qv '^major=' '$T/pins' &&
		[ \$(grep -cF -- ' name=$EP1 ' '$T/pins') -eq 1 ]"
check "pins --json: the exact name" \
	grep -qF -- '"dev_name":"dmst-p1 x\ny\\z"' "$T/pins.json"

# a linear device on top of it, named with a newline
MM=$(dmx info -c --noheadings -o major,minor "$P1" 2>/dev/null | tr -d ' ')
if dmx create "$L1" --table "0 8 linear $MM 0" >"$T/out" 2>&1; then
	diag "linear on the pinned device: allowed (no consumers rule in this module)"
else
	diag "linear on the pinned device: refused"
	wait_for "$T/mon" "name=$EL1"
fi
check "linear device named with a newline: at most one line names it, with name=$EL1" \
	sh -c "[ \$(grep -cF -- 'dmst-l1' '$T/mon') -le 1 ] &&
		{ ! grep -qF -- 'dmst-l1' '$T/mon' || grep -qF -- ' name=$EL1' '$T/mon'; }"
dmx info "$L1" >/dev/null 2>&1 && dmx remove "$L1" >/dev/null 2>&1
dmx remove "$P1" >"$T/out" 2>&1
wait_for "$T/mon" "unpin"
check "unpin event: one line, name=$EP1" \
	sh -c "grep '^unpin ' '$T/mon' | grep -qF -- ' name=$EP1 '"

# every line of the text monitor is EVENT key=value ..., nothing else
check "every monitor line is one well-formed event (EVENT key=value|key=\"...\" ...)" \
	sh -c "! grep -vE '^(deny|pin|unpin|seal|enforcement|unknown)( [a-z_]+=(\"[^\"]*\"|[^ \"]*))*\$' '$T/mon'"

# status: one key a line
"$CTL" status >"$T/status" 2>&1
indent "$T/status"
check "status: one 'key: value' per line" \
	sh -c "! grep -qvE '^[a-z_]+: +[^ ]' '$T/status'"

ktap_done
