#!/usr/bin/env bash
# scripts/ynl-check.sh [--write]: the netlink spec through the kernel's own
# YNL tools, as shipped in linux-source-6.12 (tools/net/ynl).
#
#   schema     Documentation/netlink/specs/dmseal.yaml validates against the
#              kernel's Documentation/netlink/genetlink-c.yaml (jsonschema)
#   uapi       ynl-gen-c.py --mode uapi --header generates a header identical,
#              byte for byte, to include/uapi/linux/dmseal.h
#   user       ynl-gen-c.py --mode user generates the C user library
#              (header and source) and it compiles with -Werror against the
#              kernel's tools/net/ynl/lib/ynl.h
#   link       a program calling the generated dmseal_status() links with
#              the generated library and libynl (lib/ynl.c): the spec is
#              complete enough for a real client. It is kept as
#              build/ynl/dmseal-ynl-status; scripts/initramfs.sh puts it in
#              the guest, where selftests/dmseal_ynl.sh runs it against the
#              module and compares with dmsealctl status
#
# --write regenerates include/uapi/linux/dmseal.h from the spec (after
# editing the spec; never edit the header by hand).
#
# The YNL tools and schemas are extracted once from Debian trixie's
# linux-source-6.12 (downloaded inside the trixie chroot of scripts/kernel.sh)
# into $DMSEAL_CACHE/ynl, shared by every clone. Prints one line
#   ynl: N passed, N failed
# and exits non-zero if anything failed.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

WRITE=0
[[ ${1:-} == --write ]] && WRITE=1
YC=$DMSEAL_CACHE/ynl
PY=/usr/bin/python3	# Debian's, with python3-yaml and python3-jsonschema
SPEC=$REPO/Documentation/netlink/specs/dmseal.yaml
HDR=$REPO/include/uapi/linux/dmseal.h
PASS=0 FAIL=0
ok() { echo "ok - ynl $*"; PASS=$((PASS + 1)); }
notok() { echo "not ok - ynl $*"; FAIL=$((FAIL + 1)); }

fetch_ynl() {
	local root=$DMSEAL_CACHE/trixie-root dl=/tmp/dmseal-ynl.$$ tmp=$YC.tmp.$$ deb
	if [[ ! -x $root/usr/bin/apt-get ]]; then
		"$REPO/scripts/kernel.sh" 6.12 >/dev/null || return 1
	fi
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	log "downloading linux-source-6.12 inside the trixie chroot (150 MB, once)"
	get() { chroot "$root" sh -c "rm -rf $dl && mkdir -p $dl && cd $dl && apt-get -q download linux-source-6.12" >&2; }
	if ! get; then
		chroot "$root" apt-get update >&2 || log "apt-get update in chroot reported errors"
		get || return 1
	fi
	deb=$(echo "$root$dl"/linux-source-6.12_*.deb)
	[[ -f $deb ]] || return 1
	log "extracting tools/net/ynl and Documentation/netlink from $(basename "$deb")"
	rm -rf "$tmp" && mkdir -p "$tmp" || return 1
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-6.12.tar.xz' |
		tar -xJ -C "$tmp" --strip-components=1 --wildcards \
			'*/tools/net/ynl/*' '*/Documentation/netlink/*.yaml' || return 1
	basename "$deb" .deb >"$tmp/VERSION"
	rm -rf "${root:?}$dl"
	# another clone may have won the race: keep theirs
	if [[ -f $YC/tools/net/ynl/ynl-gen-c.py ]]; then rm -rf "$tmp"; else rm -rf "$YC" && mv "$tmp" "$YC"; fi
}

if [[ ! -f $YC/tools/net/ynl/ynl-gen-c.py || ! -f $YC/Documentation/netlink/genetlink-c.yaml ]]; then
	if ! fetch_ynl; then
		notok "fetch: could not get tools/net/ynl from linux-source-6.12"
		echo "ynl: $PASS passed, $FAIL failed"
		exit 1
	fi
fi
log "YNL tools from $(cat "$YC/VERSION" 2>/dev/null || echo "$YC")"
GEN=$YC/tools/net/ynl/ynl-gen-c.py

# ynl-gen-c.py names the spec by its path below the kernel root (the first
# directory up with a MAINTAINERS file) and finds the schema two levels up
# from the spec: stage the kernel's layout.
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/k/Documentation/netlink/specs" "$W/inc/linux" "$W/out"
: >"$W/k/MAINTAINERS"
cp "$YC"/Documentation/netlink/genetlink*.yaml "$W/k/Documentation/netlink/"
cp "$SPEC" "$W/k/Documentation/netlink/specs/dmseal.yaml"
KSPEC=$W/k/Documentation/netlink/specs/dmseal.yaml

# schema: explicitly, so a failure says what is wrong (ynl-gen-c.py
# validates too, but buries it in a traceback)
if out=$("$PY" - "$KSPEC" "$YC/Documentation/netlink/genetlink-c.yaml" 2>&1 <<'EOF'
import sys, yaml, jsonschema
spec = yaml.safe_load(open(sys.argv[1]))
if spec.get('protocol') != 'genetlink-c':
    sys.exit('protocol is %r, not genetlink-c' % spec.get('protocol'))
jsonschema.validate(spec, yaml.safe_load(open(sys.argv[2])))
EOF
); then
	ok "schema: dmseal.yaml validates against genetlink-c.yaml"
else
	printf '%s\n' "$out" | tail -n 15 >&2
	notok "schema: dmseal.yaml against genetlink-c.yaml"
fi

gen() { # gen MODE header|source OUT
	"$PY" "$GEN" --mode "$1" "--$2" --spec "$KSPEC" -o "$3" >"$W/gen.log" 2>&1 ||
		{ tail -n 15 "$W/gen.log" >&2; return 1; }
	# ynl-gen-c.py exits 0 after printing a license complaint
	if grep -q 'License must be' "$W/gen.log"; then cat "$W/gen.log" >&2; return 1; fi
}

if gen uapi header "$W/inc/linux/dmseal.h"; then
	if ((WRITE)); then
		cp "$W/inc/linux/dmseal.h" "$HDR"
		log "wrote ${HDR#"$REPO"/}"
	fi
	if diff -u "$HDR" "$W/inc/linux/dmseal.h" >&2; then
		ok "uapi: generated header identical to include/uapi/linux/dmseal.h"
	else
		notok "uapi: include/uapi/linux/dmseal.h differs from the generated one (scripts/ynl-check.sh --write)"
	fi
else
	notok "uapi: ynl-gen-c.py --mode uapi --header failed"
fi

# -Werror for what is generated from our spec; libynl (lib/ynl.c) is the
# kernel's and gets its own warnings as they are
LFLAGS=(-std=gnu11 -O2 -I"$W/inc" -I"$W/out" -I"$YC/tools/net/ynl/lib")
CFLAGS=("${LFLAGS[@]}" -Wall -Wextra -Wno-unused-parameter -Werror)
if gen user header "$W/out/dmseal-user.h" && gen user source "$W/out/dmseal-user.c" &&
	gcc "${CFLAGS[@]}" -c "$W/out/dmseal-user.c" -o "$W/out/dmseal-user.o" >&2; then
	ok "user: generated C library ($(wc -l <"$W/out/dmseal-user.c") lines) compiles with -Werror"
	cat >"$W/out/main.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <ynl.h>
#include "dmseal-user.h"

int main(void)
{
	struct ynl_error yerr;
	struct ynl_sock *ys = ynl_sock_create(&ynl_dmseal_family, &yerr);
	struct dmseal_status_rsp *st;

	if (!ys) {
		fprintf(stderr, "%s\n", yerr.msg);
		return 1;
	}
	st = dmseal_status(ys);
	if (st) {
		const unsigned char *d = st->digest;
		unsigned int i;

		printf("version=%s sealed=%u enforcing=%u pins=%u digest=",
		       st->_present.version_len ? st->version : "?", st->sealed,
		       st->enforcing, st->pins);
		for (i = 0; d && i < st->_present.digest_len; i++)
			printf("%02x", d[i]);
		printf("\n");
		dmseal_status_rsp_free(st);
	} else {
		fprintf(stderr, "status: %s\n", ys->err.msg);
	}
	ynl_sock_destroy(ys);
	return !st;
}
EOF
	if gcc "${LFLAGS[@]}" -w -c "$YC/tools/net/ynl/lib/ynl.c" -o "$W/out/ynl.o" >&2 &&
		gcc "${CFLAGS[@]}" "$W/out/main.c" "$W/out/dmseal-user.o" "$W/out/ynl.o" \
			-o "$W/out/dmseal-ynl-status" >&2; then
		ok "link: a dmseal_status() client links with libynl"
		mkdir -p "$BUILD/ynl"
		cp "$W/out/dmseal-ynl-status" "$BUILD/ynl/dmseal-ynl-status"
	else
		notok "link: a dmseal_status() client does not link with libynl"
	fi
else
	rm -f "$BUILD/ynl/dmseal-ynl-status"
	notok "user: ynl-gen-c.py --mode user, or compiling its output, failed"
	notok "link: skipped, no user library"
fi

echo "ynl: $PASS passed, $FAIL failed"
((FAIL == 0))
