#!/usr/bin/env bash
# Install every Debian package that building and testing dmseal needs.
# Idempotent: asks dpkg-query first and only touches apt when something is
# missing, so a warm `make check` spends no time here.
set -euo pipefail

PKGS=(
	build-essential gcc make pkg-config python3 sparse
	linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static kmod cpio xz-utils zstd
	cryptsetup-bin dmsetup keyutils e2fsprogs
	libcryptsetup-dev libnl-3-dev libnl-genl-3-dev libkmod-dev
	libjson-c-dev libkeyutils-dev libssl-dev libcurl4-openssl-dev
	debootstrap dkms
	python3-yaml python3-jsonschema
	systemd shellcheck
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ "$st" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi

echo "deps: installing: ${missing[*]}"
SUDO=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "deps: need root or sudo" >&2; exit 1; }
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# A third-party source that cannot be reached makes `apt-get update` exit
# non-zero although Debian's own lists were refreshed; the install below is
# what decides success.
"${SUDO[@]}" apt-get update || echo "deps: apt-get update reported errors; continuing" >&2
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
