#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmseal_ima.sh: the sealed policy is in the IMA measurement list (KTAP).
#
# When a policy is sealed, dmseal measures its canonical encoding as IMA
# critical data (label "dmseal", event "dmseal-policy-hash", hash=true, the
# way SELinux measures its policy). With IMA's default sha256 the entry's
# buffer field is then the dmseal digest itself:
#   10 <template hash> ima-buf sha256:<sha256(buffer)> dmseal-policy-hash <digest>
# This test finds that entry in ascii_runtime_measurements and compares it
# with the digest `dmsealctl status` reports. It needs a kernel booted with
# an IMA policy that measures critical data (ima_policy=critical_data: the
# second boot of scripts/check.sh); without one it skips.
# Runs alone in a fresh boot too (seals data/policy.json itself).
# POSIX sh: the guest has busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
TOOL=${DMSEAL_TOOL:-$DIR/dmseal_tool}
CTL=${DMSEALCTL:-dmsealctl}
IMA=/sys/kernel/security/ima
T=${TMPDIR:-/tmp}/dmseal_ima.$$
EVENT=dmseal-policy-hash

PLAN=7
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"

mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

only_in_test_guest "loads and seals dmseal"
[ -x "$TOOL" ] || skip_rest "no dmseal_tool"
check_sealed_fresh
diag "sealed digest $DIGEST"

if [ ! -d $IMA ] && [ -d /sys/kernel/security ]; then
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
fi
[ -r $IMA/ascii_runtime_measurements ] ||
	skip_rest "no IMA measurement list ($IMA: CONFIG_IMA off or securityfs missing)"
grep " $EVENT " $IMA/ascii_runtime_measurements >"$T/entry"
# Without a policy that measures critical data there is nothing to find.
if [ ! -s "$T/entry" ] && ! grep -qE '(^| )ima_policy=([^ ]*[|])?critical_data' /proc/cmdline; then
	diag "IMA entries: $(wc -l <$IMA/ascii_runtime_measurements); cmdline: $(cat /proc/cmdline)"
	skip_rest "the IMA policy does not measure critical data (boot with ima_policy=critical_data)"
fi

indent "$T/entry"
check "exactly one $EVENT entry in the IMA measurement list" \
	[ "$(wc -l <"$T/entry")" -eq 1 ]
# PCR template-hash template d-ng event-name buffer
read -r PCR _ TEMPLATE DNG_FIELD _ BUF _ <"$T/entry"
in_pcr10() { [ "$PCR" = 10 ] && [ "$TEMPLATE" = ima-buf ]; }
check "it is an ima-buf entry in PCR 10 (CONFIG_IMA_MEASURE_PCR_IDX)" in_pcr10
check "its buffer is the sealed digest (dmseal_tool status)" [ "$BUF" = "$DIGEST" ]

"$CTL" status >"$T/ctl" 2>&1
CTLD=$(sed -n 's/^digest: *\([0-9a-f]*\).*/\1/p' "$T/ctl")
ctl_agrees() { [ -n "$CTLD" ] && [ "$BUF" = "$CTLD" ]; }
if command -v "$CTL" >/dev/null 2>&1; then
	check_log "$T/ctl" "its buffer is the digest dmsealctl status reports" ctl_agrees
else
	skip "its buffer is the digest dmsealctl status reports" "no dmsealctl"
fi

# d-ng is IMA's hash of the buffer: sha256 over the 32 digest bytes.
# shellcheck disable=SC2059 # the format is the escaped bytes
hexbin() { printf "$(echo "$1" | sed 's/\(..\)/\\x\1/g')"; }
DNG=$(hexbin "$BUF" | sha256sum | cut -d' ' -f1)
check "its d-ng field is sha256:<sha256 of the buffer> ($DNG)" [ "$DNG_FIELD" = "sha256:$DNG" ]

dmesg | grep 'dmseal: policy measured by IMA' >"$T/klog"
check_log "$T/klog" "the kernel log says the policy was measured" [ -s "$T/klog" ]

ktap_done
