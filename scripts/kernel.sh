#!/usr/bin/env bash
# scripts/kernel.sh 6.1|6.12
#
# Fetch the Debian kernel image a guest boots, unpack it into the cache (never
# into this machine's /boot) and generate modules.dep for it. Writes
# $DMSEAL_CACHE/kernels/<K>/env, which the Makefile and the other scripts
# source:
#   KVER     kernel release, e.g. 6.1.0-56-amd64
#   VMLINUZ  kernel image to boot
#   MODROOT  base dir with lib/modules/$KVER (the depmod -b / modprobe -d dir)
#   KDIR     kbuild headers dir (a host path; inside CHROOT for 6.12)
#   CHROOT   empty for 6.1; the trixie chroot that must run kbuild for 6.12
# A cached kernel is reused: a second run only prints the env file.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

K=${1:-}
check_kernel "$K"
KCACHE=$DMSEAL_CACHE/kernels/$K
ENVF=$KCACHE/env

if [[ -f $ENVF ]]; then
	# shellcheck disable=SC1090
	. "$ENVF"
	if [[ -f $VMLINUZ && -f $MODROOT/lib/modules/$KVER/modules.dep && -d $KDIR ]]; then
		cat "$ENVF"
		exit 0
	fi
	log "cached kernel $K incomplete; fetching again"
fi
mkdir -p "$KCACHE"

# headers_ver ROOT: release of the image that matches the installed
# linux-headers-amd64 metapackage (its dependency names the real package).
headers_ver() {
	local dep
	# shellcheck disable=SC2016 # ${Depends} is dpkg-query's, not ours
	dep=$("$@" dpkg-query -W -f='${Depends}' linux-headers-amd64) ||
		die "linux-headers-amd64 is not installed${1:+ in the chroot}"
	dep=${dep%% *}
	dep=${dep%%,*}
	echo "${dep#linux-headers-}"
}

# ensure_chroot: the trixie chroot that builds modules for 6.12 (its kbuild
# needs trixie's glibc and gcc-14). Built under a .tmp name and renamed only
# on success, so an interrupted debootstrap never leaves a half chroot.
ensure_chroot() {
	local root=$1
	[[ -x $root/usr/bin/gcc && -d $root/usr/src ]] && return 0
	log "creating trixie chroot in $root (about 2 minutes)"
	rm -rf "$root.tmp"
	debootstrap --variant=minbase \
		--include=gcc,make,libc6-dev,linux-headers-amd64,xz-utils,kmod \
		trixie "$root.tmp" "$MIRROR" >&2
	rm -rf "$root"
	mv "$root.tmp" "$root"
}

cached_deb() { # the downloaded image package of $KVER, if any
	local d
	for d in "$KCACHE"/linux-image-"$KVER"_*.deb; do
		[[ -f $d ]] && { echo "$d"; return 0; }
	done
	return 0
}

unpack() { # unpack DEB DIR: into DIR.tmp, then rename
	rm -rf "$2.tmp" "$2"
	dpkg -x "$1" "$2.tmp"
	mv "$2.tmp" "$2"
}

case $K in
6.1)
	KVER=$(headers_ver)
	KDIR=/usr/src/linux-headers-$KVER
	CHROOT=
	[[ -d $KDIR ]] || die "$KDIR missing (run scripts/deps.sh)"
	deb=$(cached_deb)
	if [[ -z $deb ]]; then
		log "downloading linux-image-$KVER"
		(cd "$KCACHE" && apt-get download "linux-image-$KVER" >&2)
		deb=$(cached_deb)
	fi
	unpack "$deb" "$KCACHE/root"
	MODROOT=$KCACHE/root
	VMLINUZ=$KCACHE/root/boot/vmlinuz-$KVER
	;;
6.12)
	CHROOT=$DMSEAL_CACHE/trixie-root
	ensure_chroot "$CHROOT"
	cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
	KVER=$(headers_ver chroot "$CHROOT")
	deb=$(cached_deb)
	if [[ -z $deb ]]; then
		log "downloading linux-image-$KVER inside the chroot"
		chroot "$CHROOT" apt-get update >&2 || log "apt-get update in chroot reported errors"
		dl() { chroot "$CHROOT" sh -c "mkdir -p /tmp/dl && cd /tmp/dl && apt-get download linux-image-$1" >&2; }
		if ! dl "$KVER"; then
			# The mirror moved on to a newer point release: follow it with the
			# headers too, so image and headers keep matching.
			log "linux-image-$KVER gone from the mirror; upgrading the chroot's headers"
			DEBIAN_FRONTEND=noninteractive chroot "$CHROOT" \
				apt-get install -y --no-install-recommends linux-headers-amd64 >&2
			KVER=$(headers_ver chroot "$CHROOT")
			dl "$KVER"
		fi
		mv "$CHROOT"/tmp/dl/linux-image-"$KVER"_*.deb "$KCACHE/"
		deb=$(cached_deb)
	fi
	KDIR=$CHROOT/usr/src/linux-headers-$KVER
	unpack "$deb" "$KCACHE/root"
	# merged /usr: the modules live in usr/lib/modules
	if [[ -d $KCACHE/root/usr/lib/modules/$KVER ]]; then
		MODROOT=$KCACHE/root/usr
	else
		MODROOT=$KCACHE/root
	fi
	VMLINUZ=$KCACHE/root/boot/vmlinuz-$KVER
	;;
esac

[[ -f $VMLINUZ ]] || die "no kernel image at $VMLINUZ"
depmod -b "$MODROOT" "$KVER"
cat >"$ENVF.tmp" <<EOT
KVER=$KVER
VMLINUZ=$VMLINUZ
MODROOT=$MODROOT
KDIR=$KDIR
CHROOT=$CHROOT
EOT
mv "$ENVF.tmp" "$ENVF"
cat "$ENVF"
