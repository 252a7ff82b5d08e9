#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmseal_audit.sh: the seal and every denial reach the audit subsystem (KTAP).
#
# dmseal sends AUDIT_DM_CTRL (1338) records, the type device-mapper's own
# dm-audit uses when a target's constructor fails:
#   module=dmseal op=dmseal-seal <task> digest=<hex> profiles=N res=1
#   module=dmseal op=dmseal-deny <task> dev=M:m name=.. target=.. start=N
#       rule=.. profile=.. res=0
# name, target, rule and profile as audit_log_untrustedstring() writes them:
# "quoted" when plain, hex when they hold a space, a quote or a control byte.
# Without auditd, a kernel booted with audit=1 prints each record
# ("audit: type=1338 audit(...): ...") to its log; this test reads them
# there. It loads refused tables only (cipher_null, an inline hex key, a
# hostile name), on /dev/vdc, which they never reach. Skips without audit=1
# (the second boot of scripts/check.sh has it). Runs alone in a fresh boot
# too (seals data/policy.json itself). POSIX sh: the guest has busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
TOOL=${DMSEAL_TOOL:-$DIR/dmseal_tool}
DISK=/dev/vdc
T=${TMPDIR:-/tmp}/dmseal_audit.$$
N1=dmst-au1
N2=dmst-au2
N3='dmst-au3 rule="allowed" target=linear'

PLAN=11
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"

dmx() { dmsetup --manglename none "$@"; }
cleanup() {
	for d in "$N1" "$N2" "$N3"; do
		dmx info "$d" >/dev/null 2>&1 && dmx remove "$d" >/dev/null 2>&1
	done
	rm -rf "$T"
}
mkdir -p "$T"
trap cleanup EXIT

only_in_test_guest "loads and seals dmseal"
[ -x "$TOOL" ] || skip_rest "no dmseal_tool"
command -v dmsetup >/dev/null 2>&1 || skip_rest "no dmsetup"
[ -b $DISK ] || skip_rest "no $DISK"
check_sealed_fresh

if ! grep -qE '(^| )audit=(1|on)( |$)' /proc/cmdline; then
	diag "cmdline: $(cat /proc/cmdline)"
	skip_rest "audit is off (boot with audit=1)"
fi

# records: the dmseal audit records in the kernel log after line $1
records() { dmesg | tail -n +$(($1 + 1)) | grep 'audit: type=1338 .* module=dmseal '; }
# wait_records MARK N: N records after MARK within 5 s (kauditd is async)
wait_records() {
	i=0
	while [ "$(records "$1" | wc -l)" -lt "$2" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	records "$1"
}
# field NAME LINE: the value of " NAME=" (values never hold a space)
field() { echo "$2" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
# untrusted NAME LINE: the string, as audit_log_untrustedstring encoded it
untrusted() {
	v=$(field "$1" "$2")
	# shellcheck disable=SC2059 # the format is the escaped bytes
	case $v in
	\"*\") v=${v#\"}; echo "${v%\"}" ;;
	*) printf "$(echo "$v" | sed 's/\(..\)/\\x\1/g')"; echo ;;
	esac
}
DMMAJ=$(sed -n 's/^ *\([0-9]*\) device-mapper$/\1/p' /proc/devices)

# --- the seal ------------------------------------------------------------------
wait_records 0 1 | grep ' op=dmseal-seal ' >"$T/seal"
indent "$T/seal"
check "one seal record: op=dmseal-seal digest=<the sealed digest> res=1" \
	sh -c "[ \$(wc -l <'$T/seal') -eq 1 ] && grep -q ' digest=$DIGEST profiles=[0-9]* res=1' '$T/seal'"

# kauditd prints through printk_ratelimit() (10 in 5 s, shared): one
# line per dmseal record, which is not tied to the syscall (no SYSCALL or
# PROCTITLE record follows it), so the few here fit.

# --- a weak table ------------------------------------------------------------------
m=$(dmesg | wc -l)
dmx create $N1 --table "0 8 crypt cipher_null-ecb - 0 $DISK 0" >"$T/out" 2>&1
rc=$?
R=$(wait_records "$m" 1 | grep ' op=dmseal-deny ')
diag "$R"
one_record() { [ $rc -ne 0 ] && [ "$(echo "$R" | grep -c .)" -eq 1 ]; }
check "cipher_null refused (dmsetup exit $rc) with one deny record" one_record
names_it() {
	[ "$(untrusted name "$R")" = $N1 ] && [ "$(untrusted target "$R")" = crypt ] &&
		field dev "$R" | grep -qE "^$DMMAJ:[0-9]+\$" &&
		[ "$(field res "$R")" = 0 ] && echo "$R" | grep -q ' module=dmseal op=dmseal-deny '
}
check "the record names the device (name, dev=$DMMAJ:N), the target and res=0" names_it
RULE=$(untrusted rule "$R")
diag "rule: $RULE"
rule_says() { echo "$RULE" | grep -q "$1"; }
check "its rule is the reason (cipher_null)" rule_says cipher_null

# --- an inline hex key: never in the record ------------------------------------------------
KEY=$(hexbytes 32)
# the key text as audit would hex-encode it, and the prefixes of both
# (PROCTITLE, had dmseal tied its record to the syscall, would show the
# first 128 bytes of dmsetup's command line: a prefix of the key)
KEYX=$(printf %s "$KEY" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
KEYP=$(echo "$KEY" | cut -c1-12)
KEYXP=$(echo "$KEYX" | cut -c1-24)
m=$(dmesg | wc -l)
dmx create $N2 --table "0 8 crypt aes-cbc-essiv:sha256 $KEY 0 $DISK 0" >"$T/out" 2>&1
rc=$?
R=$(wait_records "$m" 1 | grep ' op=dmseal-deny ')
diag "$R"
key_refused() { one_record && [ "$(untrusted name "$R")" = $N2 ]; }
check "a table with an inline hex key refused with one deny record naming it" key_refused
dmesg | tail -n +$((m + 1)) >"$T/klog"
no_key() { ! grep -qiF -e "$KEY" -e "$KEYX" -e "$KEYP" -e "$KEYXP" "$T/klog"; }
check_log "$T/klog" "no trace of the key, nor of its first 6 bytes, in the kernel log (as is or hex-encoded)" no_key
no_syscall() { ! grep -qE 'audit: type=(1300|1327) ' "$T/klog"; }
check_log "$T/klog" "the denial drags no SYSCALL or PROCTITLE record (the command line) along" no_syscall

# --- a hostile name stays one field ----------------------------------------------------------
m=$(dmesg | wc -l)
dmx create "$N3" --table "0 8 crypt cipher_null-ecb - 0 $DISK 0" >"$T/out" 2>&1
rc=$?
R=$(wait_records "$m" 1 | grep ' op=dmseal-deny ')
diag "$R"
hostile_hex() {
	one_record && [ "$(untrusted name "$R")" = "$N3" ] &&
		field name "$R" | grep -qE '^[0-9A-F]+$'
}
check "a name with a space, quotes and 'rule=\"allowed\"': refused, hex-encoded, exact" hostile_hex
count() { echo "$R" | grep -o " $1=" | wc -l; }
one_each() {
	[ "$(count name)" -eq 1 ] && [ "$(count target)" -eq 1 ] && [ "$(count rule)" -eq 1 ] &&
		! echo "$R" | grep -q 'allowed' && [ "$(untrusted target "$R")" = crypt ]
}
check "one name=, one target=, one rule= field; none forged" one_each

# every value is "quoted" without a space, or bare
check "every dmseal record is key=value tokens only" \
	eval '! records 0 | sed "s/.*audit([0-9.:]*): //" |
		grep -qvE "^([a-z_]+=(\"[^\" ]*\"|[^\" ]+))( [a-z_]+=(\"[^\" ]*\"|[^\" ]+))*\$"'

ktap_done
