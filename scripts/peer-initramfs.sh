#!/usr/bin/env bash
# scripts/peer-initramfs.sh 6.1|6.12
#
# The peer suite's guest image, build/peer/<K>/initramfs.img: the normal test
# image (scripts/initramfs.sh, run with DMSEAL_BUILD=build/peer so that
# build/<K>/initramfs.img stays as it is) plus what cryptsetup's own test
# scripts need and busybox lacks:
#   /peer/bin        bash and the GNU coreutils, sed, grep, util-linux and
#                    xxd/hexdump tools the scripts call (first in the
#                    runner's PATH only; the rest of the image keeps busybox)
#   /usr/bin/bash    the same bash, for #!/bin/bash
#   libgcc_s.so.1    so glibc's pthread_exit works in cryptsetup
#   loop.ko          the scripts work on image files through loop devices
#   /peer/           run-peer.sh, peer-lib.sh, the policies, the unmodified
#                    upstream scripts and the units split-cases.py cut them into
# Needs scripts/peer-deps.sh (host tools, cryptsetup's source) and
# build/<K>/dmseal.ko (scripts/build-module.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

K=${1:-}
check_kernel "$K"
ENVF=$DMSEAL_CACHE/kernels/$K/env
[[ -f $ENVF ]] || die "no $ENVF: run scripts/kernel.sh $K first"
# shellcheck disable=SC1090
. "$ENVF"
PBUILD=$BUILD/peer
SRCDIR=$("$REPO/scripts/peer-deps.sh" --src-dir)
[[ -f $SRCDIR/tests/integrity-compat-test ]] || die "no cryptsetup tests in $SRCDIR: run scripts/peer-deps.sh"
[[ -f $BUILD/$K/dmseal.ko ]] || die "no $BUILD/$K/dmseal.ko: run scripts/build-module.sh $K"

# 1. the normal image, built into build/peer/<K>/
mkdir -p "$PBUILD/$K"
cp "$BUILD/$K/dmseal.ko" "$PBUILD/$K/dmseal.ko"
DMSEAL_BUILD=$PBUILD "$REPO/scripts/initramfs.sh" "$K" >&2
ROOT=$PBUILD/$K/initramfs
OUT=$PBUILD/$K/initramfs.img
[[ -d $ROOT/usr/bin ]] || die "initramfs.sh left no tree in $ROOT"

# 2. host tools (the same copy_libs as initramfs.sh)
SPATH=/usr/sbin:/usr/bin:/sbin:/bin
copy_libs() {
	local lib
	ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}' |
		while read -r lib; do
			[[ -e $ROOT$lib ]] || { mkdir -p "$ROOT${lib%/*}"; cp -L "$lib" "$ROOT$lib"; }
		done
}
PEER_TOOLS=(bash dd sha256sum cut sed grep head tail tr wc cat rm mkdir sync id
	sleep timeout basename dirname sort uniq date stat truncate ls cp mv touch
	seq readlink mktemp env xxd hexdump blockdev losetup wipefs fallocate)
mkdir -p "$ROOT/peer/bin"
for t in "${PEER_TOOLS[@]}"; do
	p=$(PATH=$SPATH command -v "$t") || die "$t not found on the host (scripts/peer-deps.sh installs it)"
	cp -L "$p" "$ROOT/peer/bin/$t"
	copy_libs "$p"
done
ln -sf /peer/bin/bash "$ROOT/usr/bin/bash"
gcc_s=$(ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64/ && !f {print $NF; f = 1}')
[[ -n $gcc_s ]] && cp -L "$gcc_s" "$ROOT/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"

# 3. the loop module (and whatever it depends on), then depmod again
SRCMOD=$MODROOT/lib/modules/$KVER
DSTMOD=$ROOT/usr/lib/modules/$KVER
(
	cd "$SRCMOD"
	want=$(ls kernel/drivers/block/loop.ko*)
	awk -F':' -v w="$want" '$1 == w { print $1; n = split($2, d, " "); for (i = 1; i <= n; i++) print d[i] }' \
		modules.dep | cpio -pdm --quiet "$DSTMOD"
	[[ -f $DSTMOD/$want ]] || exit 1
) || die "no loop module for $KVER"
depmod -b "$ROOT" "$KVER"

# 4. the suite: runner, library, policies, upstream scripts, units
P=$ROOT/peer
install -m 0755 "$REPO/selftests/peer/run-peer.sh" "$P/run-peer.sh"
install -m 0644 "$REPO/selftests/peer/peer-lib.sh" "$P/peer-lib.sh"
mkdir -p "$P/policy" "$P/upstream"
cp "$REPO"/selftests/peer/policy-*.json "$P/policy/"
cp "$SRCDIR/tests/integrity-compat-test" "$SRCDIR/tests/luks2-integrity-test" "$P/upstream/"
python3 "$REPO/selftests/peer/split-cases.py" "$P/units" \
	ic="$P/upstream/integrity-compat-test" l2="$P/upstream/luks2-integrity-test"
cp "$P/units/units.list" "$PBUILD/units.list"
for u in "$P"/units/*/[0-9]*.sh; do
	bash -n "$u" || die "split-cases.py wrote a unit bash cannot parse: $u"
done
# a new upstream version must not be split silently wrong
UPVER=$(dpkg-query -W -f='${Version}' cryptsetup-bin)
UPVER=${UPVER#*:}
UPVER=${UPVER%%-*}
n=$(wc -l <"$P/units/units.list")
want=$(awk -v v="$UPVER" '$1 == v { print $2 }' "$REPO/selftests/peer/expected-units")
if [[ -z $want ]]; then
	log "warning: no expected unit count for cryptsetup $UPVER in selftests/peer/expected-units: check $PBUILD/units.list"
elif ((n != want)); then
	die "split-cases.py cut cryptsetup $UPVER's scripts into $n units, expected $want (selftests/peer/expected-units)"
fi

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	zstd -q -T0 -3 -f -o "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "$OUT: $(du -h "$OUT" | cut -f1) (peer suite, $(wc -l <"$P/units/units.list") units, $KVER)"
