#!/usr/bin/env bash
# scripts/intree-test.sh [WORKDIR]: the in-tree build, by hand (not part of
# `make check`: it takes some 5 to 10 minutes on 2 cores).
#
# Extracts Debian's linux-source-6.1 into WORKDIR (default a new directory
# in /tmp, removed afterwards unless given), applies
# scripts/gen-intree-patch.sh's patch, configures it like the 6.1 guest
# kernel (its headers' .config) with CONFIG_DM_SEAL=m, checks that Kconfig
# kept it and drops it without KPROBES, then `make modules_prepare` and
# `make drivers/md/dmseal/dmseal.ko`. Needs flex, bison and libelf-dev
# beyond scripts/deps.sh's packages. modpost warns about every symbol from
# vmlinux (no vmlinux was built): expected.
# Prints "intree: N passed, N failed".
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

LINUX_SOURCE=${LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
n=0 PASS=0 FAIL=0
ok() { n=$((n + 1)) PASS=$((PASS + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)) FAIL=$((FAIL + 1)); echo "not ok $n - $*"; }
finish() { echo "intree: $PASS passed, $FAIL failed"; ((FAIL == 0)); exit; }

W=${1:-}
if [[ -z $W ]]; then
	W=$(mktemp -d /tmp/dmseal-intree.XXXXXX)
	trap 'rm -rf "$W"' EXIT
fi
"$REPO/scripts/kernel.sh" 6.1 >/dev/null || { nok "scripts/kernel.sh 6.1"; finish; }
# shellcheck disable=SC1090,SC1091
. "$DMSEAL_CACHE/kernels/6.1/env"

mkdir -p "$W"
tar -xJf "$LINUX_SOURCE" -C "$W" || { nok "extract $LINUX_SOURCE"; finish; }
K=$(echo "$W"/linux-source-*)
if "$REPO/scripts/gen-intree-patch.sh" -o "$W/dmseal.patch" "$K" &&
	(cd "$K" && patch -p1 -s <"$W/dmseal.patch"); then
	ok "gen-intree-patch.sh's patch applies to $(basename "$K")"
else
	nok "gen-intree-patch.sh's patch applies"; finish
fi

cp "$KDIR/.config" "$W/no-kprobes.config"
"$K/scripts/config" --file "$W/no-kprobes.config" --module DM_SEAL --disable KPROBES
make -s -C "$K" KCONFIG_CONFIG="$W/no-kprobes.config" olddefconfig >/dev/null 2>&1
if grep -q '^CONFIG_DM_SEAL=' "$W/no-kprobes.config"; then
	nok "without KPROBES, Kconfig drops DM_SEAL"
else
	ok "without KPROBES, Kconfig drops DM_SEAL"
fi

cp "$KDIR/.config" "$K/.config"
"$K/scripts/config" --file "$K/.config" --module DM_SEAL
make -s -C "$K" olddefconfig >/dev/null 2>&1
if grep -qx 'CONFIG_DM_SEAL=m' "$K/.config"; then
	ok "the 6.1 guest's config keeps CONFIG_DM_SEAL=m"
else
	nok "the 6.1 guest's config keeps CONFIG_DM_SEAL=m"
fi
if make -C "$K" -j"$(nproc)" modules_prepare >"$W/prepare.log" 2>&1 &&
	make -C "$K" -j"$(nproc)" drivers/md/dmseal/dmseal.ko >"$W/build.log" 2>&1 &&
	[[ -f $K/drivers/md/dmseal/dmseal.ko ]]; then
	ok "make drivers/md/dmseal/dmseal.ko"
else
	tail -n 30 "$W/prepare.log" "$W/build.log" 2>/dev/null | sed 's/^/#   /' >&2
	nok "make drivers/md/dmseal/dmseal.ko"
fi
if grep -E '(warning|error):' "$W/build.log" | grep -v modpost >&2; then
	nok "no compiler warnings in drivers/md/dmseal"
else
	ok "no compiler warnings in drivers/md/dmseal"
fi
finish
