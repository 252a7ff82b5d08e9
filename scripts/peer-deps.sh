#!/usr/bin/env bash
# scripts/peer-deps.sh [--src-dir]: what the peer suite (make check-peer)
# needs beyond scripts/deps.sh. Idempotent; a warm run touches no network.
#
# 1. Debian packages whose binaries go into the peer image: xxd, hexdump
#    (bsdextrautils), dpkg-source (dpkg-dev), and the essential bash,
#    coreutils, util-linux, sed, grep, asked for by name all the same.
# 2. The Debian source package of the cryptsetup the guest runs (the host's
#    installed cryptsetup-bin version: initramfs.sh copies the host's
#    binaries), unpacked into $DMSEAL_CACHE/peer/cryptsetup_<version>/. It is
#    fetched with apt-get source through a private deb-src list and private
#    apt state under $DMSEAL_CACHE/peer/apt, so the machine's own apt
#    configuration and caches are never changed.
# --src-dir prints that directory (after making sure it is there).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PKGS=(xxd bsdextrautils dpkg-dev bash coreutils util-linux sed grep cryptsetup-bin python3)
missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ "$st" == ii* ]] || missing+=("$p")
done
SUDO=()
((EUID == 0)) || SUDO=(sudo)
if ((${#missing[@]})); then
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${SUDO[@]}" apt-get update >&2 || log "apt-get update reported errors; continuing"
	"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

VER=$(dpkg-query -W -f='${Version}' cryptsetup-bin)
UPVER=${VER#*:}
UPVER=${UPVER%-*}
PC=$DMSEAL_CACHE/peer
SRCDIR=$PC/cryptsetup-${VER#*:}
if [[ ! -f $SRCDIR/tests/integrity-compat-test ]]; then
	# shellcheck disable=SC1091
	SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	A=$PC/apt
	mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$PC/dl"
	KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
	opt=""
	[[ -f $KEYRING ]] && opt="[signed-by=$KEYRING] "
	echo "deb-src ${opt}$MIRROR $SUITE main" >"$A/sources.list"
	APT=(apt-get -q -o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache" -o APT::Sandbox::User=root)
	log "fetching the source of cryptsetup $VER ($SUITE) into $PC"
	"${APT[@]}" update >&2
	(cd "$PC/dl" && "${APT[@]}" source --download-only "cryptsetup=$VER" >&2) ||
		die "apt-get source cryptsetup=$VER failed (the mirror may have moved on: upgrade cryptsetup-bin)"
	rm -rf "$SRCDIR.tmp"
	dpkg-source --no-copy -x "$PC/dl/cryptsetup_${VER#*:}.dsc" "$SRCDIR.tmp" >&2
	[[ -f $SRCDIR.tmp/tests/integrity-compat-test ]] || die "no tests/integrity-compat-test in cryptsetup $VER"
	rm -rf "$SRCDIR"
	mv "$SRCDIR.tmp" "$SRCDIR"
	log "cryptsetup $UPVER tests in $SRCDIR"
fi
if [[ ${1:-} == --src-dir ]]; then
	echo "$SRCDIR"
else
	log "peer deps present; cryptsetup $VER source in $SRCDIR"
fi
