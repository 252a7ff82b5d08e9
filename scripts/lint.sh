#!/usr/bin/env bash
# scripts/lint.sh: the module's style gates, as a reviewer would run them.
#
#   checkpatch.pl --strict on every kmod/ source (taken from Debian's
#   linux-source-6.1 at first use and kept in the cache, never committed)
#   sparse (C=2) over a build against the 6.1 headers
#
# Prints one "lint: N passed, N failed" line and exits non-zero on findings.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

LINUX_SOURCE=${LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
CP=$DMSEAL_CACHE/checkpatch
PASS=0 FAIL=0

if [[ ! -x $CP/scripts/checkpatch.pl ]]; then
	[[ -f $LINUX_SOURCE ]] || die "no $LINUX_SOURCE: run scripts/deps.sh"
	log "extracting checkpatch.pl from $LINUX_SOURCE"
	rm -rf "$CP.tmp" && mkdir -p "$CP.tmp"
	tar -xJf "$LINUX_SOURCE" -C "$CP.tmp" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' || die "extracting checkpatch failed"
	rm -rf "$CP" && mv "$CP.tmp" "$CP"
fi

# checkpatch: one verdict per file. --no-tree: we are not a kernel tree.
# C99 comments and SPDX in core/ are fine (shared with userspace), but the
# rules are the kernel's, unchanged.
for f in "$REPO"/kmod/*.[chS] "$REPO"/kmod/core/*.[ch] "$REPO"/include/uapi/linux/dmseal.h; do
	out=$("$CP/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES -f "$f" 2>&1)
	if grep -qE '(ERROR|WARNING|CHECK):' <<<"$out"; then
		printf '%s\n' "$out" | grep -E '(ERROR|WARNING|CHECK):' >&2
		echo "not ok - checkpatch ${f#"$REPO"/}"
		FAIL=$((FAIL + 1))
	else
		echo "ok - checkpatch ${f#"$REPO"/}"
		PASS=$((PASS + 1))
	fi
done

# sparse: the kernel's own C=2 run over a staged copy (build-module.sh's
# layout), so the tree stays free of kbuild output.
ENVF=$DMSEAL_CACHE/kernels/6.1/env
if [[ -f $ENVF ]] && command -v sparse >/dev/null; then
	# shellcheck disable=SC1090
	. "$ENVF"
	S=$BUILD/sparse
	rm -rf "$S" && mkdir -p "$S"
	cp -a "$REPO/kmod" "$REPO/include" "$S/"
	out=$(make -C "$KDIR" M="$S/kmod" C=2 -j"$(nproc)" modules 2>&1)
	rc=$?
	findings=$(grep -E '^/.*: (warning|error):' <<<"$out")
	if ((rc)) || [[ -n $findings ]]; then
		printf '%s\n' "${findings:-$out}" >&2
		echo "not ok - sparse"
		FAIL=$((FAIL + 1))
	else
		echo "ok - sparse"
		PASS=$((PASS + 1))
	fi
else
	die "sparse or the 6.1 kernel headers are missing: run scripts/deps.sh and scripts/kernel.sh 6.1"
fi

echo "lint: $PASS passed, $FAIL failed"
((FAIL == 0))
