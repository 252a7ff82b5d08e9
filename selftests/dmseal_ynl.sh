#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The netlink family through the kernel's own tooling (KTAP): a client made
# from Documentation/netlink/specs/dmseal.yaml by the kernel's ynl-gen-c and
# linked with its libynl (scripts/ynl-check.sh builds it on the host) talks
# to the module in this guest, and says what dmsealctl's own client says.

DIR=$(cd "$(dirname "$0")" && pwd)
CTL=${DMSEALCTL:-dmsealctl}
YNL=${DMSEAL_YNL_STATUS:-dmseal-ynl-status}
TOOL=${DMSEAL_TOOL:-$DIR/dmseal_tool}
T=${TMPDIR:-/tmp}/dmseal_ynl.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

PLAN=5
# shellcheck source=lib/ktap.sh
. "$DIR/lib/ktap.sh"
# shellcheck source=lib/dmst.sh
. "$DIR/lib/dmst.sh"

command -v "$YNL" >/dev/null 2>&1 || skip_rest "no YNL client in the image (scripts/ynl-check.sh did not build one)"
seal_fresh_boot || skip_rest "dmseal is not sealed with the test policy"

"$YNL" >"$T/ynl" 2>"$T/err"
rc=$?
indent "$T/ynl" "$T/err"
check "the YNL client's status request succeeds" [ $rc -eq 0 ]
"$CTL" --json status >"$T/st" 2>&1
jget() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" "$T/st" | head -n 1; }
yget() { tr ' ' '\n' <"$T/ynl" | sed -n "s/^$1=//p"; }
check "version: YNL $(yget version) = dmsealctl $(jget version)" \
	eval '[ -n "$(yget version)" ] && [ "$(yget version)" = "$(jget version)" ]'
check "sealed: 1 in both" eval '[ "$(yget sealed)" = 1 ] && [ "$(jget sealed)" = true ]'
check "digest: YNL's = dmsealctl's ($(jget digest))" \
	eval '[ -n "$(yget digest)" ] && [ "$(yget digest)" = "$(jget digest)" ]'
check "enforcing: 1 in both" eval '[ "$(yget enforcing)" = 1 ] && [ "$(jget enforcing)" = true ]'

ktap_done
