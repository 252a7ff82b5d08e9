#!/usr/bin/env bash
# scripts/initramfs.sh 6.1|6.12 [OUT]
#
# Assemble the test guest's initramfs (default build/<K>/initramfs.img, a
# zstd-compressed newc cpio): busybox-static plus the real tools the tests
# drive (kmod, cryptsetup, integritysetup, dmsetup, e2fsprogs, keyctl,
# setpriv) with their shared libraries and loader, and libgcc_s.so.1 (which
# glibc dlopens for pthread_exit); the part of the kernel's
# module tree the guest needs (every device-mapper target, md raid, loop,
# virtio, ext4, and ALL of crypto,
# which dm-crypt pulls in through request_module at table load); dmseal.ko as
# extra/dmseal.ko with a fresh depmod so `modprobe dmseal` works; dmsealctl
# (and dmsealctl-test, its fault-injecting test build) if built; the installed
# selftests in /selftests; /demo.sh; the benchmarks (/bench.sh,
# /bench-setup.sh and its /bench-summary.awk); and /init.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

K=${1:-}
check_kernel "$K"
ENVF=$DMSEAL_CACHE/kernels/$K/env
[[ -f $ENVF ]] || die "no $ENVF: run scripts/kernel.sh $K first"
# shellcheck disable=SC1090
. "$ENVF"
OUT=${2:-$BUILD/$K/initramfs.img}
ROOT=$BUILD/$K/initramfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/usr/{bin,sbin,lib,lib64} "$ROOT"/{dev,proc,sys,tmp,run,root,etc,mnt}
# merged /usr, like Debian: /sbin/modprobe (the kernel's modprobe path) and
# the loader path /lib64/ld-linux-x86-64.so.2 resolve through these links
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done

# --- tools and their libraries ---------------------------------------------
TOOLS=(kmod cryptsetup integritysetup dmsetup mke2fs mkfs.ext4 e2fsck debugfs
	keyctl setpriv blkid losetup)
SPATH=/usr/sbin:/usr/bin:/sbin:/bin
copy_libs() { # copy_libs BINARY: its shared libraries and the loader
	local lib
	ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}' |
		while read -r lib; do
			[[ -e $ROOT$lib ]] || { mkdir -p "$ROOT${lib%/*}"; cp -L "$lib" "$ROOT$lib"; }
		done
}
install_bin() { # install_bin PATH [DEST]: a dynamic binary at DEST (default: same path)
	local dest=${2:-$1}
	mkdir -p "$ROOT${dest%/*}"
	cp -L "$1" "$ROOT$dest"
	copy_libs "$1"
}
for t in "${TOOLS[@]}"; do
	p=$(PATH=$SPATH command -v "$t" || true)
	if [[ -z $p ]]; then
		log "warning: $t not found on the host; not in the initramfs"
		continue
	fi
	# keep the tool's place in the merged /usr layout
	case $p in /usr/*) d=$p ;; *) d=/usr$p ;; esac
	install_bin "$p" "$d"
done
# install_dlopened SONAME PACKAGE: a library that is dlopen()ed, so ldd of
# the binaries never lists it. The whole of ldconfig -p is read before
# awk picks the line: an awk that exits at its match closes the pipe while
# ldconfig may still be writing, and under pipefail ldconfig's SIGPIPE
# (141) failed this script now and then (always, on a host whose library
# cache is larger than the pipe's 64 KiB).
install_dlopened() {
	local cache path
	cache=$(ldconfig -p) || die "ldconfig -p failed"
	path=$(awk -v so="$1" '$1 == so && /x86-64/ && !p {print $NF; p = 1}' <<<"$cache")
	[[ -n $path && -e $path ]] || die "$1 not found on the host (package $2)"
	install_bin "$path"
}
# glibc dlopens libgcc_s.so.1 for pthread_exit/pthread_cancel (unwinding);
# ldd never lists it, and without it `cryptsetup luksFormat` with the default
# argon2id PBKDF aborts ("libgcc_s.so.1 must be installed for pthread_exit
# to work") when its worker threads end.
install_dlopened libgcc_s.so.1 libgcc-s1
# dmsealctl dlopens libcurl.so.4 for a key from CDH (persistent volumes);
# ldd of dmsealctl does not list it, so it and its libraries come here
install_dlopened libcurl.so.4 libcurl4
# kmod's real module tools: busybox's cannot load .ko.xz (6.12) nor follow
# the crypto API's request_module of aliases as reliably
for t in modprobe insmod rmmod lsmod depmod modinfo; do
	ln -sf ../bin/kmod "$ROOT/usr/sbin/$t"
done

# busybox applets for everything else (never over a real tool)
BB=$(PATH=$SPATH command -v busybox)
file "$BB" 2>/dev/null | grep -q 'statically linked' || log "warning: $BB is not static"
cp "$BB" "$ROOT/usr/bin/busybox"
while read -r a; do
	n=${a##*/}
	case $a in */sbin/*) d=usr/sbin ;; *) d=usr/bin ;; esac
	[[ -e $ROOT/usr/bin/$n || -e $ROOT/usr/sbin/$n || -L $ROOT/usr/sbin/$n ]] && continue
	ln -s /usr/bin/busybox "$ROOT/$d/$n"
done < <("$BB" --list-full)

# the client scripts/ynl-check.sh built from the spec with the kernel's YNL
# library, for selftests/dmseal_ynl.sh
if [[ -x $BUILD/ynl/dmseal-ynl-status ]]; then
	install_bin "$BUILD/ynl/dmseal-ynl-status" /usr/bin/dmseal-ynl-status
fi

# dmsealctl, when userspace/ built it
if [[ -x $REPO/userspace/dmsealctl ]]; then
	install_bin "$REPO/userspace/dmsealctl" /usr/sbin/dmsealctl
else
	log "note: userspace/dmsealctl not built; the guest has no dmsealctl"
fi
# and its test build (fault injection) for the selftests that inject faults
if [[ -x $REPO/userspace/dmsealctl-test ]]; then
	install_bin "$REPO/userspace/dmsealctl-test" /usr/sbin/dmsealctl-test
fi

# --- udev, for selftests/dmsealctl_udev.sh only --------------------------------
# The guest runs without udev (guest-init.sh); that one test starts
# systemd-udevd to show what a guest image with udev sees when a volume is
# set up, with and without udev/56-dmseal.rules. Debian's udev package is
# fetched (not installed) into the cache, like the kernels: systemd-udevd,
# libsystemd-shared, systemd's rules, plus device-mapper's rules from the
# host's dmsetup and ours. Without it that test skips.
UDEV_CACHE=$DMSEAL_CACHE/udev
udev_fetch() {
	[[ -f $UDEV_CACHE/ok ]] && return 0
	rm -rf "$UDEV_CACHE" && mkdir -p "$UDEV_CACHE/root" || return 1
	(cd "$UDEV_CACHE" && apt-get download udev libsystemd-shared >&2) || return 1
	for d in "$UDEV_CACHE"/*.deb; do dpkg-deb -x "$d" "$UDEV_CACHE/root" || return 1; done
	[[ -x $UDEV_CACHE/root/bin/udevadm ]] && touch "$UDEV_CACHE/ok"
}
if udev_fetch; then
	U=$UDEV_CACHE/root
	shared=$(find "$U" -name 'libsystemd-shared-*.so' | head -n 1)
	install -D -m 0755 "$U/bin/udevadm" "$ROOT/usr/bin/udevadm"
	mkdir -p "$ROOT/usr/lib/systemd"
	ln -sf /usr/bin/udevadm "$ROOT/usr/lib/systemd/systemd-udevd"
	install -D -m 0644 "$shared" "$ROOT/usr/lib/x86_64-linux-gnu/systemd/${shared##*/}"
	LD_LIBRARY_PATH=${shared%/*} copy_libs "$U/bin/udevadm"
	mkdir -p "$ROOT/usr/lib/udev/rules.d" "$ROOT/etc/udev/rules.d"
	cp "$U"/lib/udev/rules.d/*.rules "$ROOT/usr/lib/udev/rules.d/"
	for r in 55-dm 60-persistent-storage-dm 95-dm-notify; do
		cp "/lib/udev/rules.d/$r.rules" "$ROOT/usr/lib/udev/rules.d/" ||
			log "warning: /lib/udev/rules.d/$r.rules not on the host (package dmsetup)"
	done
	cp "$REPO"/udev/*.rules "$ROOT/usr/lib/udev/rules.d/"
else
	log "warning: Debian's udev package could not be fetched: the guest has no udev (dmsealctl_udev.sh skips)"
fi

# --- modules -----------------------------------------------------------------
SRCMOD=$MODROOT/lib/modules/$KVER
DSTMOD=$ROOT/usr/lib/modules/$KVER
mkdir -p "$DSTMOD"
(
	cd "$SRCMOD"
	{
		# shellcheck disable=SC2035
		# every device-mapper target (the consumer rules are tested on
		# cache, snapshot, mirror, raid ...), md's raid for dm-raid, loop
		ls -d kernel/drivers/md/dm-*.ko* kernel/drivers/md/persistent-data/*.ko* \
			kernel/drivers/md/raid*.ko* kernel/drivers/md/md-mod.ko* \
			kernel/drivers/block/loop.ko* \
			kernel/drivers/block/virtio_blk.ko* kernel/drivers/char/virtio_console.ko* \
			kernel/fs/mbcache.ko* 2>/dev/null || true
		for d in kernel/drivers/virtio kernel/fs/ext4 kernel/fs/jbd2 kernel/lib \
			kernel/crypto kernel/arch/x86/crypto kernel/security/keys; do
			if [[ -d $d ]]; then
				find "$d" -name '*.ko*' ! -name 'test_*' ! -name '*error-inject*'
			fi
		done
	} | sort -u >"$ROOT/.mods"
	# add every dependency (modules.dep lists paths relative to this dir)
	while :; do
		awk -F': ' 'NR==FNR{want[$1]=1; next} ($1 in want){print $1; n=split($2,d," "); for(i=1;i<=n;i++) print d[i]}' \
			"$ROOT/.mods" modules.dep | sort -u >"$ROOT/.mods.new"
		cat "$ROOT/.mods" >>"$ROOT/.mods.new"
		sort -u "$ROOT/.mods.new" -o "$ROOT/.mods.new"
		cmp -s "$ROOT/.mods" "$ROOT/.mods.new" && break
		mv "$ROOT/.mods.new" "$ROOT/.mods"
	done
	cpio -pdm --quiet "$DSTMOD" <"$ROOT/.mods"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[[ -f $f ]] && cp "$f" "$DSTMOD/"
	done
)
nmods=$(wc -l <"$ROOT/.mods")
rm -f "$ROOT"/.mods "$ROOT"/.mods.new
if [[ -f $BUILD/$K/dmseal.ko ]]; then
	mkdir -p "$DSTMOD/extra"
	cp "$BUILD/$K/dmseal.ko" "$DSTMOD/extra/dmseal.ko"
else
	log "warning: no $BUILD/$K/dmseal.ko; the guest has no dmseal module"
fi
depmod -b "$ROOT" "$KVER"

# --- selftests, demo, init ----------------------------------------------------
make -s -C "$REPO/selftests" install INSTALL_PATH="$ROOT/selftests" >&2
if [[ -f $REPO/selftests/demo.sh ]]; then
	cp "$REPO/selftests/demo.sh" "$ROOT/demo.sh"
else
	cp "$REPO/scripts/demo-guest.sh" "$ROOT/demo.sh"
fi
chmod +x "$ROOT/demo.sh"
install -m 0755 "$REPO/scripts/bench-guest.sh" "$ROOT/bench.sh"
install -m 0755 "$REPO/scripts/bench-setup-guest.sh" "$ROOT/bench-setup.sh"
install -m 0644 "$REPO/scripts/bench-summary.awk" "$ROOT/bench-summary.awk"
for f in "$ROOT"/selftests/*; do
	[[ -f $f && -x $f ]] && file "$f" | grep -q ELF && copy_libs "$f"
done
cp "$REPO/scripts/guest-init.sh" "$ROOT/init"
chmod 755 "$ROOT/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"
touch "$ROOT/etc/fstab"
# glibc resolves "localhost" from /etc/hosts (nss files is in libc.so.6 since 2.34)
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' >"$ROOT/etc/hosts"

mkdir -p "$(dirname "$OUT")"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	zstd -q -T0 -3 -f -o "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "$OUT: $(du -h "$OUT" | cut -f1) ($nmods kernel modules, $KVER)"
