#!/usr/bin/env bash
# scripts/dkms-test.sh [KERNEL...]: dmseal through dkms, as a user installs it.
#
# For each kernel (default 6.1 6.12; `make check` passes its KERNELS):
# `make dkms-source` into a temporary /usr/src, then dkms add, build,
# install, status and remove with every tree of dkms (--sourcetree,
# --dkmstree, --installtree) and its signing key in a temporary directory
# and --no-depmod, so neither /lib/modules, /var/lib/dkms nor /usr/src of
# the machine (or of the chroot) is touched. The module dkms built and
# installed must carry the kernel's vermagic and the VERSION it was built
# from.
#   6.1   this machine's dkms (Debian 12: 3.0.10), against the installed
#         linux-headers (scripts/kernel.sh 6.1's KDIR)
#   6.12  inside the trixie chroot (scripts/kernel.sh 6.12), with trixie's
#         own dkms (3.2), installed there with apt at first use
# TAP on stdout, then one line "dkms: N passed, N failed"; exit non-zero on
# any failure. About 1 minute per kernel on 2 cores.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
((${#@})) || set -- 6.1 6.12

n=0 PASS=0 FAIL=0
ok() { n=$((n + 1)) PASS=$((PASS + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)) FAIL=$((FAIL + 1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
# a command's output, indented, on stderr (what a failure looked like)
show() { sed 's/^/#   /' "$1" >&2; }

VER=$(tr -d ' \t\n' <"$REPO/VERSION")
confver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
check "dkms.conf PACKAGE_VERSION ($confver) is VERSION ($VER)" [ "$confver" = "$VER" ]

TMPS=()
cleanup() { local d; for d in "${TMPS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

# dkms_run K ROOT T KDIR KVER: the dkms life cycle for one kernel. ROOT is
# "" for this machine or the chroot; T is the scratch directory as seen from
# inside ROOT (a host path is "$ROOT$T").
dkms_run() {
	local k=$1 root=$2 t=$3 kdir=$4 kver=$5 ko vm mv log=$2$3/log
	local -a run=() base opts
	[[ -n $root ]] && run=(chroot "$root")
	# Signing (the kernels have CONFIG_MODULE_SIG): dkms makes a key at the
	# first build; keep it in T instead of /var/lib/dkms.
	run+=(env "mok_signing_key=$t/mok.key" "mok_certificate=$t/mok.pub" dkms)
	base=(-m dmseal -v "$VER" --sourcetree "$t/src" --dkmstree "$t/dkms"
		--installtree "$t/modules" --no-depmod)
	opts=("${base[@]}" -k "$kver" --kernelsourcedir "$kdir")

	# dkms wants its trees to exist, and the kernel's module directory
	mkdir -p "$root$t/dkms" "$root$t/modules/$kver"
	if ! make -s -C "$REPO" dkms-source DESTDIR="$root$t" DKMSDIR=/src/dmseal-"$VER" >"$log" 2>&1; then
		show "$log"; nok "$k: make dkms-source"; return
	fi
	ok "$k: make dkms-source"

	"${run[@]}" add "${opts[@]}" >"$log" 2>&1 &&
		"${run[@]}" status "${base[@]}" >>"$log" 2>&1
	check "$k: dkms add" grep -q "^dmseal/$VER: added" "$log" || show "$log"
	"${run[@]}" build "${opts[@]}" -j 2 >"$log" 2>&1
	ko=$(find "$root$t/dkms/dmseal/$VER/$kver" -name 'dmseal.ko*' 2>/dev/null | head -n1)
	if [[ -n $ko ]]; then
		ok "$k: dkms build"
	else
		show "$log"
		find "$root$t/dkms" -name make.log -exec sh -c 'tail -n 30 "$1" | sed "s/^/#   /" >&2' _ {} \;
		nok "$k: dkms build"
	fi

	"${run[@]}" install "${opts[@]}" >"$log" 2>&1
	ko=$(find "$root$t/modules/$kver" -name 'dmseal.ko*' 2>/dev/null | head -n1)
	if [[ -n $ko ]]; then
		ok "$k: dkms install (${ko#"$root$t/modules/"})"
		vm=$(modinfo -F vermagic "$ko" 2>/dev/null)
		check "$k: vermagic '$vm' is $kver's" [ "${vm%% *}" = "$kver" ]
		mv=$(modinfo -F version "$ko" 2>/dev/null)
		check "$k: module version '$mv' is $VER" [ "$mv" = "$VER" ]
	else
		show "$log"; nok "$k: dkms install"
	fi
	"${run[@]}" status "${opts[@]}" >"$log" 2>&1
	check "$k: dkms status says installed" grep -q "^dmseal/$VER, $kver, .*: installed" "$log" ||
		show "$log"

	"${run[@]}" remove "${base[@]}" --all >"$log" 2>&1
	check "$k: dkms remove leaves no module and no dkms tree entry" \
		test -z "$(find "$root$t/modules" "$root$t/dkms" -name 'dmseal*' 2>/dev/null)" || show "$log"
	# the real trees never saw it (whatever dkms's defaults are)
	check "$k: nothing in /var/lib/dkms, /usr/src, /lib/modules/$kver${root:+ of the chroot}" \
		test -z "$(find "$root/var/lib/dkms" "$root/usr/src" "$root/lib/modules/$kver" \
			-maxdepth 4 -name 'dmseal*' 2>/dev/null)"
}

for k in "$@"; do
	check_kernel "$k"
	if ! "$REPO/scripts/kernel.sh" "$k" >/dev/null; then
		nok "$k: scripts/kernel.sh $k"
		continue
	fi
	# shellcheck disable=SC1090 # sets KVER KDIR CHROOT
	. "$DMSEAL_CACHE/kernels/$k/env"
	# shellcheck disable=SC2153
	if [[ -z $CHROOT ]]; then
		if ! command -v dkms >/dev/null; then
			nok "$k: dkms is installed (scripts/deps.sh installs it)"
			continue
		fi
		t=$(mktemp -d /tmp/dmseal-dkms.XXXXXX)
		TMPS+=("$t")
		dkms_run "$k" "" "$t" "$KDIR" "$KVER"
	else
		# trixie's dkms in the chroot the 6.12 module is built in
		if ! chroot "$CHROOT" sh -c 'command -v dkms' >/dev/null; then
			log "installing dkms in $CHROOT (once)"
			chroot "$CHROOT" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends dkms >&2 ||
				{ chroot "$CHROOT" apt-get update >&2 &&
				  chroot "$CHROOT" env DEBIAN_FRONTEND=noninteractive \
					apt-get install -y --no-install-recommends dkms >&2; }
		fi
		if ! chroot "$CHROOT" sh -c 'command -v dkms' >/dev/null; then
			nok "$k: dkms is installed in the trixie chroot"
			continue
		fi
		mkdir -p "$CHROOT/build"
		t=$(mktemp -d "$CHROOT/build/dmseal-dkms.XXXXXX")
		TMPS+=("$t")
		dkms_run "$k" "$CHROOT" "${t#"$CHROOT"}" "${KDIR#"$CHROOT"}" "$KVER"
	fi
done

echo "dkms: $PASS passed, $FAIL failed"
((FAIL == 0))
