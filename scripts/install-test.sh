#!/usr/bin/env bash
# scripts/install-test.sh: `make install` and `make uninstall` as a package
# build runs them, on a copy of the tree outside git (what a release tarball
# holds: the version comes from VERSION), against the 6.1 headers
# (scripts/kernel.sh 6.1's KVER and KDIR):
#  - make install DESTDIR=<staging> KERNELRELEASE=<6.1> KDIR=<headers> lays
#    out exactly the expected files (module, dmsealctl, man page, bash
#    completion, systemd units and udev rules if systemd/ and udev/ exist),
#    the module with 6.1's vermagic and the same version as dmsealctl
#    --version; no depmod output in a staging dir;
#  - make uninstall DESTDIR=<staging> removes every file again;
#  - into a DESTDIR that is a module root already (has modules.dep), depmod
#    runs, and uninstall takes the module out of modules.dep again;
#  - KERNEL_SRC alone (Yocto) finds the release; a KERNELRELEASE that is not
#    KDIR's is refused; PREFIX moves the userspace files;
#  - distribution flags: make -C userspace CPPFLAGS= CFLAGS='-O1 -g', and
#    CFLAGS='-O2 -D_FORTIFY_SOURCE=3' (no redefinition error under -Werror).
# TAP on stdout, then "install: N passed, N failed"; exit non-zero on a
# failure. About 1.5 minutes on 2 cores (three builds of dmsealctl, one of
# the module).
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

n=0 PASS=0 FAIL=0
ok() { n=$((n + 1)) PASS=$((PASS + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)) FAIL=$((FAIL + 1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
show() { sed 's/^/#   /' "$1" >&2; }
done_() { echo "install: $PASS passed, $FAIL failed"; ((FAIL == 0)); exit; }

T=$(mktemp -d /tmp/dmseal-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
J=-j2

if ! "$REPO/scripts/kernel.sh" 6.1 >/dev/null; then
	nok "scripts/kernel.sh 6.1 (the headers to build against)"
	done_
fi
# shellcheck disable=SC1090,SC1091
. "$DMSEAL_CACHE/kernels/6.1/env"

# the tree as a tarball has it: the files git knows and the new ones, no
# .git, no build output
SRC=$T/src
mkdir -p "$SRC"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$REPO" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) |
		tar -xf - -C "$SRC"
else
	# not a checkout (a tarball already): everything but build output
	tar -C "$REPO" --exclude=./build --exclude='*.o' --exclude='*.ko' -cf - . |
		tar -xf - -C "$SRC"
	make -s -C "$SRC/userspace" clean >/dev/null 2>&1
fi
VER=$(tr -d ' \t\n' <"$SRC/VERSION")
check "the copy's version is VERSION ($VER)" [ "$("$SRC/scripts/version.sh")" = "$VER" ]

# list DIR: every file and link under DIR, relative, sorted
list() { (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

D=$T/root
units=()
for u in "$SRC"/systemd/*.service "$SRC"/systemd/*.target; do
	[[ -f $u ]] && units+=("usr/lib/systemd/system/${u##*/}")
done
for u in "$SRC"/udev/*.rules; do
	[[ -f $u ]] && units+=("usr/lib/udev/rules.d/${u##*/}")
done
printf '%s\n' "lib/modules/$KVER/extra/dmseal.ko" usr/sbin/dmsealctl \
	usr/share/man/man8/dmsealctl.8 usr/share/bash-completion/completions/dmsealctl \
	"${units[@]}" | LC_ALL=C sort >"$T/expected"

if make -C "$SRC" $J install DESTDIR="$D" KERNELRELEASE="$KVER" KDIR="$KDIR" >"$T/log" 2>&1; then
	ok "make install DESTDIR=... KERNELRELEASE=$KVER KDIR=$KDIR"
else
	show "$T/log"; nok "make install DESTDIR=... KERNELRELEASE=$KVER KDIR=$KDIR"
fi
list "$D" >"$T/got"
if diff -u "$T/expected" "$T/got" >"$T/diff"; then
	ok "installed exactly: $(paste -sd' ' "$T/expected")"
else
	show "$T/diff"; nok "installed exactly the expected files"
fi
check "no depmod output in a staging DESTDIR" grep -q 'note: no depmod' "$T/log"
ko=$D/lib/modules/$KVER/extra/dmseal.ko
vm=$(modinfo -F vermagic "$ko" 2>/dev/null)
check "dmseal.ko's vermagic '${vm%% *}' is $KVER" [ "${vm%% *}" = "$KVER" ]
mv=$(modinfo -F version "$ko" 2>/dev/null)
cv=$("$D/usr/sbin/dmsealctl" --version 2>/dev/null)
check "module version '$mv' = dmsealctl --version '$cv' = $VER" \
	[ "$mv" = "$VER" -a "$cv" = "dmsealctl $VER" ]
check "modes: dmseal.ko 0644, dmsealctl 0755" \
	[ "$(stat -c %a "$ko" "$D/usr/sbin/dmsealctl" 2>/dev/null | paste -sd' ')" = "644 755" ]

if make -C "$SRC" uninstall DESTDIR="$D" KERNELRELEASE="$KVER" KDIR="$KDIR" >"$T/log" 2>&1; then
	ok "make uninstall DESTDIR=..."
else
	show "$T/log"; nok "make uninstall DESTDIR=..."
fi
left=$(list "$D")
check "make uninstall removed every file${left:+ (left: $left)}" [ -z "$left" ]

# a root that has the kernel's modules already: depmod runs there
R=$T/fullroot
mkdir -p "$R/lib/modules/$KVER/kernel"
depmod -b "$R" "$KVER" 2>/dev/null
if make -C "$SRC" install-module DESTDIR="$R" KDIR="$KDIR" >"$T/log" 2>&1 &&
	grep -q '^extra/dmseal.ko:' "$R/lib/modules/$KVER/modules.dep"; then
	ok "into a module root, depmod -b runs: extra/dmseal.ko in modules.dep"
else
	show "$T/log"; nok "into a module root, depmod -b runs: extra/dmseal.ko in modules.dep"
fi
if make -C "$SRC" uninstall DESTDIR="$R" KDIR="$KDIR" >"$T/log" 2>&1 &&
	[[ ! -e $R/lib/modules/$KVER/extra/dmseal.ko ]] &&
	! grep -q dmseal "$R/lib/modules/$KVER/modules.dep"; then
	ok "uninstall from a module root: gone from disk and from modules.dep"
else
	show "$T/log"; nok "uninstall from a module root: gone from disk and from modules.dep"
fi

# Yocto's module.bbclass names the kernel tree KERNEL_SRC; the release
# follows from it
Y=$T/yocto
if make -C "$SRC" install-module DESTDIR="$Y" KERNEL_SRC="$KDIR" >"$T/log" 2>&1 &&
	[[ -f $Y/lib/modules/$KVER/extra/dmseal.ko ]]; then
	ok "KERNEL_SRC=$KDIR alone installs to lib/modules/$KVER"
else
	show "$T/log"; nok "KERNEL_SRC=$KDIR alone installs to lib/modules/$KVER"
fi
if make -C "$SRC" install-module DESTDIR="$T/wrong" KERNELRELEASE=0.0.0-wrong KDIR="$KDIR" \
	>"$T/log" 2>&1; then
	nok "a KERNELRELEASE that is not KDIR's is refused"
else
	check "a KERNELRELEASE that is not KDIR's is refused" \
		test ! -e "$T/wrong/lib/modules/0.0.0-wrong/extra/dmseal.ko"
fi
if make -C "$SRC" install-userspace install-units DESTDIR="$T/local" PREFIX=/usr/local \
	>"$T/log" 2>&1 && [[ -x $T/local/usr/local/sbin/dmsealctl &&
	-f $T/local/usr/local/share/man/man8/dmsealctl.8 ]]; then
	ok "PREFIX=/usr/local: dmsealctl in usr/local/sbin, its man page in usr/local/share/man"
else
	show "$T/log"; nok "PREFIX=/usr/local: dmsealctl in usr/local/sbin"
fi

# distribution flags on the command line
make -s -C "$SRC/userspace" clean >/dev/null 2>&1
if make -C "$SRC/userspace" $J CPPFLAGS= CFLAGS='-O1 -g' >"$T/log" 2>&1 &&
	"$SRC/userspace/dmsealctl" --version >/dev/null; then
	ok "make -C userspace CPPFLAGS= CFLAGS='-O1 -g' builds"
else
	show "$T/log"; nok "make -C userspace CPPFLAGS= CFLAGS='-O1 -g' builds"
fi
make -s -C "$SRC/userspace" clean >/dev/null 2>&1
if make -C "$SRC/userspace" $J CFLAGS='-O2 -D_FORTIFY_SOURCE=3' >"$T/log" 2>&1 &&
	! grep -q '_FORTIFY_SOURCE.*redefined' "$T/log" &&
	grep -q -- '-D_FORTIFY_SOURCE=3' "$T/log" && ! grep -q -- '-D_FORTIFY_SOURCE=2' "$T/log"; then
	ok "make -C userspace CFLAGS='-O2 -D_FORTIFY_SOURCE=3' builds, with level 3 only"
else
	show "$T/log"; nok "make -C userspace CFLAGS='-O2 -D_FORTIFY_SOURCE=3' builds, with level 3 only"
fi

done_
