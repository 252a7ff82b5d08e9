#!/usr/bin/env bash
# scripts/build-module.sh 6.1|6.12
#
# Build dmseal.ko for one guest kernel into build/<K>/dmseal.ko. The sources
# (kmod/ and include/) are copied first, so kbuild's artifacts for one kernel
# never land in the source tree where they would confuse the other kernel's
# build. 6.1 builds on the host against linux-headers-<ver>; 6.12 builds
# inside the trixie chroot (its kbuild needs trixie's glibc and gcc-14).
# DMSEAL_SRC overrides the directory holding kmod/ and include/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

K=${1:-}
check_kernel "$K"
SRC=${DMSEAL_SRC:-$REPO}
ENVF=$DMSEAL_CACHE/kernels/$K/env
[[ -f $ENVF ]] || die "no $ENVF: run scripts/kernel.sh $K first"
# shellcheck disable=SC1090
. "$ENVF"
[[ -f $SRC/kmod/Makefile || -f $SRC/kmod/Kbuild ]] || die "$SRC/kmod has no Makefile/Kbuild"

OUT=$BUILD/$K
mkdir -p "$OUT"
# never let a stale module from an earlier build reach an initramfs
rm -f "$OUT/dmseal.ko"
JOBS=$(nproc)
# the one version (scripts/version.sh): the staged copy has no VERSION file
# and no git, so kbuild gets it on its command line
VER=$(sh "$SRC/scripts/version.sh" 2>/dev/null || "$REPO/scripts/version.sh")

# stage DIR: fresh copy of kmod/ and include/ (rsync-free: cp is always there)
stage() {
	rm -rf "$1"
	mkdir -p "$1"
	cp -a "$SRC/kmod" "$1/kmod"
	[[ -d $SRC/include ]] && cp -a "$SRC/include" "$1/include"
	# drop any kbuild leftovers someone produced in the source tree
	find "$1/kmod" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' \
		-o -name Module.symvers -o -name modules.order \) -delete
}

if [[ -z $CHROOT ]]; then
	stage "$OUT/src"
	make -C "$KDIR" M="$OUT/src/kmod" DMSEAL_VERSION="$VER" -j"$JOBS" modules
	ko=$OUT/src/kmod/dmseal.ko
else
	# The chroot is shared by every clone on the machine: each build stages
	# into a directory of its own, so two concurrent builds never overwrite
	# (or compile) each other's sources.
	mkdir -p "$CHROOT/build"
	STAGE=$(mktemp -d "$CHROOT/build/dmseal.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
	stage "$STAGE"
	chroot "$CHROOT" make -C "${KDIR#"$CHROOT"}" M="${STAGE#"$CHROOT"}/kmod" \
		DMSEAL_VERSION="$VER" -j"$JOBS" modules
	ko=$STAGE/kmod/dmseal.ko
fi
[[ -f $ko ]] || die "kbuild produced no dmseal.ko"
cp "$ko" "$OUT/dmseal.ko"
log "built $OUT/dmseal.ko $VER for $KVER"
