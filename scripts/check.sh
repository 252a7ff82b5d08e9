#!/usr/bin/env bash
# scripts/check.sh [KERNEL...]: what `make check` runs.
#
# deps -> host build (userspace, selftests) -> host unit tests -> dmsealctl
# host tests -> ynl (scripts/ynl-check.sh) -> guest image integration
# (scripts/check-image.sh: the systemd unit, the initramfs-tools hook) -> lint
# -> make install/uninstall (scripts/install-test.sh) -> dkms for each kernel
# (scripts/dkms-test.sh) -> for each kernel (default 6.1 6.12): fetch kernel,
# build dmseal.ko, initramfs, boot the guest with the selftests (4 disks,
# kept in build/<K>/disks), then boot it a second time on the same disks
# running only selftests/Makefile's SECOND_BOOT_TESTS (persistent volumes
# across a reboot; IMA and audit, with the kernel parameters
# SECOND_BOOT_APPEND), then once per example policy of
# Documentation/dmseal/examples running EXAMPLE_TESTS with
# DMSEAL_EXAMPLE=<name> (3 fresh 40 MiB disks; logs in
# build/<K>/examples/<name>/); every boot counts. A failing step does not stop the other
# kernels; it counts as one failure. Ends with
# exactly one summary line
#   N passed, N failed[, N skipped]
# and exits non-zero if anything failed. SELFTEST_FAIL=1 in the environment
# makes guest_env fail on purpose (proves failures reach this line).
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
S=$REPO/scripts
((${#@})) || set -- 6.1 6.12

PASS=0 FAIL=0 SKIP=0
# tee_err: stdin to stdout and to our own stderr. Not `tee /dev/stderr`:
# that opens the file again, so with make check >log 2>&1 it truncated the
# log (O_TRUNC) or, appending, had its lines overwritten by ours.
tee_err() {
	local l
	while IFS= read -r l || [[ -n $l ]]; do
		printf '%s\n' "$l"
		printf '%s\n' "$l" >&2
	done
}
step() { printf '\n=== %s\n' "$*" >&2; }
failed() { log "FAILED: $*"; FAIL=$((FAIL + 1)); }

step "deps"
"$S/deps.sh" || { failed "scripts/deps.sh"; echo "$PASS passed, $FAIL failed"; exit 1; }

step "host build"
make -s -C "$REPO" all || failed "host build (make all)"

step "host unit tests"
if [[ -f $REPO/tests/Makefile ]]; then
	out=$(make -C "$REPO/tests" unit 2>&1 | tee_err)
	line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
	if [[ -n $line ]]; then
		read -r p f s < <(sed -E 's/^unit: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<<"$line")
		PASS=$((PASS + p)) FAIL=$((FAIL + f)) SKIP=$((SKIP + ${s:-0}))
	else
		failed "make -C tests unit printed no 'unit: N passed, N failed' line"
	fi
else
	log "note: tests/Makefile does not exist yet; no host unit tests run"
fi

step "dmsealctl host tests"
if [[ -f $REPO/userspace/tests/run.sh ]]; then
	out=$(make -s -C "$REPO/userspace" check 2>&1 | tee_err)
	line=$(grep -E '^dmsealctl: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
	if [[ -n $line ]]; then
		read -r p f < <(sed -E 's/^dmsealctl: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$line")
		PASS=$((PASS + p)) FAIL=$((FAIL + f))
	else
		failed "make -C userspace check printed no 'dmsealctl: N passed, N failed' line"
	fi
fi

# counted NAME CMD...: run a step that ends in "NAME: N passed, N failed"
# and add its numbers (a step that prints no such line is one failure)
counted() {
	local name=$1 out line p f
	shift
	out=$("$@" 2>&1 | tee_err)
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" <<<"$out" | tail -n1)
	if [[ -n $line ]]; then
		read -r p f < <(sed -E "s/^$name: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/" <<<"$line")
		PASS=$((PASS + p)) FAIL=$((FAIL + f))
	else
		failed "${1##*/} printed no '$name: N passed, N failed' line"
	fi
}

step "ynl (the spec through the kernel's YNL tools)"
counted ynl "$S/ynl-check.sh"

step "guest image integration (systemd unit, initramfs-tools hook)"
counted image "$S/check-image.sh"

step "lint (checkpatch --strict, sparse)"
if ! "$S/kernel.sh" 6.1 >/dev/null; then
	failed "6.1 kernel fetch (lint builds against its headers)"
else
	counted lint "$S/lint.sh"
fi


step "make install / uninstall (staging DESTDIR, distribution flags)"
counted install "$S/install-test.sh"

step "dkms (kernels: $*)"
counted dkms "$S/dkms-test.sh" "$@"

GUEST_ENV=()
[[ -n ${SELFTEST_FAIL:-} ]] && GUEST_ENV=(--env "SELFTEST_FAIL=$SELFTEST_FAIL")
# the selftests of the second boot, the one list in selftests/Makefile
SECOND=$(make -s --no-print-directory -C "$REPO/selftests" print-second-boot-tests) ||
	failed "selftests/Makefile: print-second-boot-tests"
read -r -a SECOND <<<"$SECOND"
SECOND_APPEND=$(make -s --no-print-directory -C "$REPO/selftests" print-second-boot-append) ||
	failed "selftests/Makefile: print-second-boot-append"
# the example policies (Documentation/dmseal/examples) and their test
EXAMPLES=$(make -s --no-print-directory -C "$REPO/selftests" print-examples) ||
	failed "selftests/Makefile: print-examples"
read -r -a EXAMPLES <<<"$EXAMPLES"
EXAMPLE_TESTS=$(make -s --no-print-directory -C "$REPO/selftests" print-example-tests) ||
	failed "selftests/Makefile: print-example-tests"
EXAMPLE_TESTS=${EXAMPLE_TESTS// /,}
# add_result FILE WHAT: add a guest run's "PASS FAIL SKIP" to the totals
add_result() {
	if [[ -f $1 ]]; then
		read -r p f s <"$1"
		PASS=$((PASS + p)) FAIL=$((FAIL + f)) SKIP=$((SKIP + s))
	else
		failed "$2 produced no result"
	fi
}
for k in "$@"; do
	step "kernel $k"
	rm -f "$BUILD/$k/result"
	if ! "$S/kernel.sh" "$k" >/dev/null; then failed "$k: kernel fetch"; continue; fi
	if ! "$S/build-module.sh" "$k" >"$BUILD/$k.module.log" 2>&1; then
		tail -n 30 "$BUILD/$k.module.log" >&2
		failed "$k: module build (log: build/$k.module.log)"
		continue
	fi
	if ! "$S/initramfs.sh" "$k"; then failed "$k: initramfs"; continue; fi
	disks=$BUILD/$k/disks boot2=$BUILD/$k/boot2
	rm -rf "$disks" "$boot2/result"
	t0=$SECONDS
	"$S/run-guest.sh" --kernel "$k" --cmd selftests --keep-disks "$disks" "${GUEST_ENV[@]}"
	add_result "$BUILD/$k/result" "$k: guest run"
	log "$k: first boot took $((SECONDS - t0)) s"
	if ((${#SECOND[@]})); then
		step "kernel $k: second boot on the same disks (${SECOND[*]})"
		only=$(IFS=,; echo "${SECOND[*]}")
		if [[ -f $disks/vda.img && -f $disks/vdd.img ]]; then
			t0=$SECONDS
			"$S/run-guest.sh" --kernel "$k" --cmd selftests --reuse-disks "$disks" \
				--out "$boot2" --env "KSFT_ONLY=$only" --append "$SECOND_APPEND" \
				"${GUEST_ENV[@]}"
			add_result "$boot2/result" "$k: second boot"
			log "$k: second boot took $((SECONDS - t0)) s"
		else
			failed "$k: second boot: the first boot left no disks in $disks, so $only cannot run"
		fi
	fi
	rm -rf "$disks"
	# one short boot per example policy (a policy seals once per boot):
	# selftests/Makefile's EXAMPLE_TESTS with DMSEAL_EXAMPLE=<name>
	for ex in "${EXAMPLES[@]}"; do
		step "kernel $k: example policy $ex ($EXAMPLE_TESTS)"
		exout=$BUILD/$k/examples/$ex
		rm -rf "$exout"
		t0=$SECONDS
		"$S/run-guest.sh" --kernel "$k" --cmd selftests --disks 3 --disk-size 40M \
			--timeout 600 --out "$exout" --env "KSFT_ONLY=$EXAMPLE_TESTS" \
			--env "DMSEAL_EXAMPLE=$ex" "${GUEST_ENV[@]}"
		add_result "$exout/result" "$k: example $ex"
		log "$k: example $ex took $((SECONDS - t0)) s"
	done
done

printf '\n'
if ((SKIP)); then
	echo "$PASS passed, $FAIL failed, $SKIP skipped"
else
	echo "$PASS passed, $FAIL failed"
fi
((FAIL == 0))
