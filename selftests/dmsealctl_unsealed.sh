#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl before any policy is sealed (KTAP). Runs first in the guest,
# before dmseal_netlink seals the module: every command that needs the seal
# must refuse with exit 4 and leave nothing behind.
# POSIX sh: the guest has busybox.

CTL=${DMSEALCTL:-dmsealctl}
T=${TMPDIR:-/tmp}/dmsealctl_unsealed.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

PLAN=6
# shellcheck source=lib/ktap.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/ktap.sh"
# shellcheck source=lib/state.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/state.sh"

if ! command -v "$CTL" >/dev/null 2>&1; then
	echo "# dmsealctl not installed"
	exit 4
fi
if [ "$(hostname)" != dmseal-guest ] && [ -z "${DMSEAL_SELFTEST_ANY_HOST:-}" ]; then
	echo "# not the dmseal test guest: this test writes to /dev/vdc"
	exit 4
fi

# 1: status loads the module (libkmod) and reports it unsealed
"$CTL" --json status >"$T/st" 2>"$T/err"; rc=$?
indent "$T/st" "$T/err"
check "status --json: exit 0, sealed false" \
	sh -c "[ $rc -eq 0 ] && grep -q '\"sealed\":false' '$T/st'"
if ! grep -q '"sealed":false' "$T/st"; then
	echo "# a policy is already sealed: this test must run first"
	exit 4
fi

# 2-3: policy show has nothing to show (text, then --json)
"$CTL" policy show >"$T/out" 2>&1; rc=$?
indent "$T/out"
check "policy show: exit 4 with a message" sh -c "[ $rc -eq 4 ] && [ -s '$T/out' ]"
"$CTL" --json policy show >"$T/out" 2>"$T/err"; rc=$?
indent "$T/out" "$T/err"
check "policy show --json: exit 4, nothing on stdout, the error as JSON on stderr" \
	sh -c "[ $rc -eq 4 ] && [ ! -s '$T/out' ] &&
		grep -qE '^\{\"dmsealctl_json\":1,\"error\":\{\"code\":4,\"kind\":\"not-found\",\"message\":\"no policy is sealed\"' '$T/err'"

# 4-5: ephemeral setup refuses, names the reason, leaves nothing
snapshot "$T/before"
"$CTL" ephemeral setup --device /dev/vdc --name dmst-unsealed --mount /mnt/dmst-unsealed \
	>"$T/out" 2>&1; rc=$?
snapshot "$T/after"
indent "$T/out"
check "ephemeral setup with no policy sealed: exit 4" [ $rc -eq 4 ]
check "... and nothing left: no dm device, key, mount, header or mount point" \
	sh -c "cmp -s '$T/before' '$T/after' && [ ! -e /mnt/dmst-unsealed ]"

# 6: no pins
"$CTL" --json pins >"$T/pins" 2>&1; rc=$?
indent "$T/pins"
check "pins --json: no targets" \
	sh -c "[ $rc -eq 0 ] && grep -qx '{\"dmsealctl_json\":1,\"targets\":\[\]}' '$T/pins'"

ktap_done
