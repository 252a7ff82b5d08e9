#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dmsealctl policy / status / pins / monitor, in the guest (KTAP).
#
# Sealing happens once per boot, so this test adapts: if nothing is sealed it
# first checks that `ephemeral setup` refuses cleanly (exit 4), then seals
# data/policy.json itself; if an earlier test sealed a policy, it checks
# against what is sealed instead (digests still have to agree).
# POSIX sh: the guest has busybox.

DIR=$(cd "$(dirname "$0")" && pwd)
POLICY=$DIR/data/policy.json
CTL=${DMSEALCTL:-dmsealctl}
T=${TMPDIR:-/tmp}/dmsealctl_policy.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

PLAN=17
# shellcheck source=lib/ktap.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/ktap.sh"
# shellcheck source=lib/state.sh
. "${DIR:-$(cd "$(dirname "$0")" && pwd)}/lib/state.sh"

if ! command -v "$CTL" >/dev/null 2>&1; then
	echo "# dmsealctl not installed"
	while [ $n -lt $PLAN ]; do skip "dmsealctl" "not installed"; done
	exit 4
fi

# 1-2: offline digest
"$CTL" policy digest "$POLICY" >"$T/digest" 2>"$T/err"; rc=$?
D=$(cat "$T/digest")
check "policy digest (offline) prints 64 hex digits" \
	sh -c "[ $rc -eq 0 ] && echo '$D' | grep -qE '^[0-9a-f]{64}$'"
"$CTL" --json policy digest "$POLICY" >"$T/digest.json"
check "policy digest --json matches" [ "$(json_get digest "$T/digest.json")" = "$D" ]
diag "offline digest $D"

# 3: status works and says whether something is sealed
"$CTL" --json status >"$T/status.json" 2>"$T/err"; rc=$?
check "status --json exits 0 and is one JSON object" \
	sh -c "[ $rc -eq 0 ] && grep -qE '^\{.*\}$' '$T/status.json'"
cat "$T/err"
sealed=$(json_get sealed "$T/status.json")
diag "status: $(cat "$T/status.json")"
# 3b: one version: the module's (netlink status) is dmsealctl's, both built
# from scripts/version.sh
kv=$(json_get version "$T/status.json")
cv=$("$CTL" --version | sed -n 's/^dmsealctl //p')
check "the module's version ($kv) is dmsealctl's ($cv)" sh -c "[ -n '$kv' ] && [ '$kv' = '$cv' ]"

# 4: before sealing, ephemeral setup must refuse with exit 4 and leave nothing
if [ "$sealed" = "false" ]; then
	snapshot "$T/before"
	"$CTL" ephemeral setup --device /dev/vdb --name unsealed --mount /mnt/unsealed \
		>"$T/out" 2>&1; rc=$?
	snapshot "$T/after"
	cat "$T/out" | sed 's/^/# /'
	check "ephemeral setup with no policy sealed: exit 4, nothing left" \
		sh -c "[ $rc -eq 4 ] && cmp -s '$T/before' '$T/after' && [ ! -e /mnt/unsealed ]"
else
	skip "ephemeral setup with no policy sealed" "sealed earlier in this boot; dmsealctl_unsealed.sh covers it"
fi

# 5: policy show before sealing says "not sealed" (exit 4)
if [ "$sealed" = "false" ]; then
	"$CTL" policy show >/dev/null 2>"$T/err"; rc=$?
	check "policy show with nothing sealed: exit 4" [ $rc -eq 4 ]
else
	skip "policy show with nothing sealed" "sealed earlier in this boot; dmsealctl_unsealed.sh covers it"
fi

# 6: load (seal), or adapt to an earlier seal
if [ "$sealed" = "false" ]; then
	"$CTL" --json policy load "$POLICY" >"$T/load.json" 2>"$T/err"; rc=$?
	sed 's/^/# /' "$T/err"
	check "policy load seals; reported digest = offline digest" \
		sh -c "[ $rc -eq 0 ] && [ \"\$(sed -n 's/.*\"digest\":\"\([0-9a-f]*\)\".*/\1/p' '$T/load.json')\" = '$D' ]"
	OURS=1
else
	skip "policy load" "sealed by an earlier test"
	OURS=0
fi

# 7: status now reports sealed and the digest
"$CTL" --json status >"$T/status.json" 2>/dev/null
KD=$(json_get digest "$T/status.json")
diag "kernel digest $KD"
check "status: sealed, with a digest" \
	sh -c "grep -q '\"sealed\":true' '$T/status.json' && echo '$KD' | grep -qE '^[0-9a-f]{64}$'"

# 8: kernel digest equals the offline digest (when the policy is ours)
if [ "$OURS" = 1 ] || [ "$KD" = "$D" ]; then
	check "kernel digest = offline digest of data/policy.json" [ "$KD" = "$D" ]
else
	skip "kernel digest = offline digest" "an earlier test sealed another policy ($KD)"
fi

# 9-10: show round trip
"$CTL" policy show >"$T/shown.json" 2>"$T/err"; rc=$?
RD=$("$CTL" policy digest "$T/shown.json" 2>&1)
check "policy show > f; policy digest f = kernel digest" \
	sh -c "[ $rc -eq 0 ] && [ '$RD' = '$KD' ]"
"$CTL" --json policy show >"$T/shown2.json" 2>/dev/null
check "policy show --json carries the same digest" \
	grep -q "\"digest\":\"$KD\"" "$T/shown2.json"

# 11-12: a second load is refused (exit 3) with the kernel's reason
"$CTL" policy load "$POLICY" >"$T/out" 2>&1; rc=$?
sed 's/^/# /' "$T/out"
check "second load of the same policy refused (exit 3, message)" \
	sh -c "[ $rc -eq 3 ] && grep -q 'refused' '$T/out'"
sed 's/"name": "plain"/"name": "other"/' "$POLICY" >"$T/other.json"
"$CTL" policy load "$T/other.json" >"$T/out" 2>&1; rc=$?
"$CTL" --json status >"$T/status2.json" 2>/dev/null
check "load of a different policy refused; digest unchanged" \
	sh -c "[ $rc -eq 3 ] && [ \"\$(sed -n 's/.*\"digest\":\"\([0-9a-f]*\)\".*/\1/p' '$T/status2.json')\" = '$KD' ]"

# 13: pins --json is one object, schema 1, the pins in "targets"
"$CTL" --json pins >"$T/pins.json" 2>"$T/err"; rc=$?
check "pins --json exits 0 and is {\"dmsealctl_json\":1,\"targets\":[...]}" \
	sh -c "[ $rc -eq 0 ] && grep -qE '^\{\"dmsealctl_json\":1,\"targets\":\[.*\]\}$' '$T/pins.json'"
diag "pins: $(cat "$T/pins.json")"

# 14: monitor with a timeout returns 0
"$CTL" monitor --timeout 1 >"$T/mon" 2>"$T/err"; rc=$?
check "monitor --timeout 1 exits 0" [ $rc -eq 0 ]

# 15: an invalid policy file is refused offline (exit 1) with a JSON path
printf '{"version":1,"profiles":[{"name":"x","crypt":{"ciphers":[],"bogus":1}}]}' >"$T/bad.json"
"$CTL" policy load "$T/bad.json" >"$T/out" 2>&1; rc=$?
check "invalid policy file: exit 1 naming the JSON path" \
	sh -c "[ $rc -eq 1 ] && grep -q 'profiles\[0\].crypt' '$T/out'"

# 16: usage errors exit 2
"$CTL" policy >/dev/null 2>&1; r1=$?
"$CTL" nosuchcommand >/dev/null 2>&1; r2=$?
"$CTL" ephemeral setup --name x >/dev/null 2>&1; r3=$?
check "usage errors exit 2" [ "$r1$r2$r3" = "222" ]

ktap_done
