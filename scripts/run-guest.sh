#!/usr/bin/env bash
# scripts/run-guest.sh [options]: boot the test guest under QEMU and judge it.
#
#   --kernel 6.1|6.12     guest kernel (default 6.1; fetched by scripts/kernel.sh)
#   --initrd FILE         initramfs (default build/<K>/initramfs.img)
#   --cmd selftests|demo|PATH   what the guest's /init runs (default selftests)
#   --env NAME=VALUE      export to the guest command (repeatable)
#   --append "ARGS"       more kernel parameters (repeatable), e.g.
#                         "ima_policy=critical_data audit=1"
#   --disks N             fresh sparse raw disks vda, vdb, ... (default 4:
#                         vda-vdc scratch, vdd for the persistent tests)
#   --disk-size SIZE      size of each disk (default 256M)
#   --timeout SECONDS     kill the guest after this long (default 900)
#   --keep-disks DIR      create the disks in DIR and keep them
#   --reuse-disks DIR     attach the N images DIR/vda.img ... as they are (a
#                         second boot on the same disks): never created nor
#                         truncated, kept; an error if one is missing
#   --out DIR             console.log, ktap.log, host-ktap.log and result go
#                         here (default build/<K>)
#   --accel tcg|kvm       default tcg; kvm only when asked and /dev/kvm works
#   --no-judge            just run (demo): no KTAP counting, no host checks
#
# The guest's command output (ttyS1) streams live to this terminal and into
# build/<K>/ktap.log; the kernel console (ttyS0) goes to build/<K>/console.log.
# (--out moves both, and the result, to another directory.)
# Afterwards: KTAP counted (scripts/ktap-count.awk), console.log scanned for
# oops/BUG/panic/Call Trace, selftests/host/* run against the disks. The
# totals go to build/<K>/result ("PASS FAIL SKIP"); exit 1 on any failure.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

K=6.1 INITRD='' CMD=selftests DISKS=4 DISK_SIZE=256M TIMEOUT=900 KEEP='' REUSE='' OUT='' ACCEL=tcg JUDGE=1
GENV=() XAPPEND=()
while (($#)); do
	case $1 in
	--kernel) K=$2; shift ;;
	--initrd) INITRD=$2; shift ;;
	--cmd) CMD=$2; shift ;;
	--env) GENV+=("$2"); shift ;;
	--append) XAPPEND+=("$2"); shift ;;
	--disks) DISKS=$2; shift ;;
	--disk-size) DISK_SIZE=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--keep-disks) KEEP=$2; shift ;;
	--reuse-disks) REUSE=$2; shift ;;
	--out) OUT=$2; shift ;;
	--accel) ACCEL=$2; shift ;;
	--no-judge) JUDGE=0 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
check_kernel "$K"
ENVF=$DMSEAL_CACHE/kernels/$K/env
[[ -f $ENVF ]] || die "no $ENVF: run scripts/kernel.sh $K first"
# shellcheck disable=SC1090
. "$ENVF"
OUT=${OUT:-$BUILD/$K}
INITRD=${INITRD:-$BUILD/$K/initramfs.img}
[[ -f $INITRD ]] || die "no initramfs $INITRD: run scripts/initramfs.sh $K"
mkdir -p "$OUT"
CONSOLE=$OUT/console.log KTAP=$OUT/ktap.log RESULT=$OUT/result
rm -f "$CONSOLE" "$KTAP" "$RESULT"

case $ACCEL in
tcg) ACCEL_ARGS=(-accel tcg -cpu max) ;;
kvm)
	[[ -r /dev/kvm && -w /dev/kvm ]] || die "--accel kvm: /dev/kvm is not usable here"
	ACCEL_ARGS=(-accel kvm -cpu host)
	;;
*) die "--accel: tcg or kvm" ;;
esac

# Disks: fresh sparse images per run, attached as vda, vdb, ... (or, with
# --reuse-disks, the images an earlier run kept)
[[ -n $KEEP && -n $REUSE ]] && die "--keep-disks and --reuse-disks exclude each other"
if [[ -n $REUSE ]]; then
	DDIR=$REUSE
	KEEP=$REUSE
elif [[ -n $KEEP ]]; then
	DDIR=$KEEP
	mkdir -p "$DDIR"
else
	DDIR=$(mktemp -d "${TMPDIR:-/tmp}/dmseal-disks.XXXXXX")
fi
QPID='' TPID=''
cleanup() {
	[[ -n $QPID ]] && kill "$QPID" 2>/dev/null
	[[ -n $TPID ]] && kill "$TPID" 2>/dev/null
	[[ -z $KEEP ]] && rm -rf "$DDIR"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
DRIVES=()
LETTERS=abcdefghijklmnopqrstuvwxyz
((DISKS <= 26)) || die "--disks: at most 26"
for ((i = 0; i < DISKS; i++)); do
	img=$DDIR/vd${LETTERS:i:1}.img
	if [[ -n $REUSE ]]; then
		[[ -f $img ]] || die "--reuse-disks: no $img (did the first boot keep its disks?)"
	else
		rm -f "$img"
		truncate -s "$DISK_SIZE" "$img"
	fi
	DRIVES+=(-drive "file=$img,if=virtio,format=raw,cache=unsafe")
done

# panic=-1 + -no-reboot: a panic ends QEMU at once; oops=panic turns any oops
# into one, so a crashing module never leaves a hung guest behind.
# no_timer_check (Kata passes it too): on a loaded host, TCG can miss the
# early IO-APIC timer check and the kernel panics with "IO-APIC + timer
# doesn't work" before /init.
APPEND="console=ttyS0 panic=-1 oops=panic no_timer_check loglevel=6 dmseal_guest.run=$CMD"
for e in "${GENV[@]}"; do APPEND+=" dmseal_guest.env.$e"; done
for a in "${XAPPEND[@]}"; do APPEND+=" $a"; done

# boot: one QEMU run; rc is its exit status
boot() {
	: >"$KTAP"
	log "booting $KVER ($ACCEL) with $CMD${REUSE:+ on the disks of $REUSE}${XAPPEND[*]:+ (${XAPPEND[*]})}; console: $CONSOLE"
	start=$SECONDS
	timeout -s KILL "$TIMEOUT" qemu-system-x86_64 "${ACCEL_ARGS[@]}" -smp 2 -m 1536M \
		-display none -no-reboot -nodefaults \
		-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" \
		-serial "file:$CONSOLE" -serial "file:$KTAP" "${DRIVES[@]}" </dev/null &
	QPID=$!
	tail -n +1 -f --pid="$QPID" "$KTAP" &
	TPID=$!
	rc=0
	wait "$QPID" || rc=$?
	QPID=
	wait "$TPID" 2>/dev/null || true
	TPID=
	log "guest ran $((SECONDS - start)) s (qemu exit $rc)"
}

# The kernel died while booting, before /init said a word and before any
# module was loaded: nothing of ours had run. Under TCG with two vCPUs this
# happens now and then (a stray int3 from the kernel's own boot-time code
# patching, seen once in some forty boots). One more boot, never more; the
# first console is kept next to the second.
died_booting() {
	[[ ! -s $KTAP ]] && grep -qE 'Kernel panic|Oops|BUG:' "$CONSOLE" &&
		! grep -E 'Modules linked in:' "$CONSOLE" | grep -qvE 'Modules linked in:[[:space:]]*$'
}

boot
if died_booting; then
	mv "$CONSOLE" "${CONSOLE%.log}.boot-crash.log"
	log "the kernel died booting, before /init and before any module was loaded" \
		"(${CONSOLE%.log}.boot-crash.log): booting once more"
	boot
fi
((JUDGE)) || exit "$rc"

fail=0
if ((rc == 137)); then
	log "FAIL: guest killed after ${TIMEOUT}s timeout"
	fail=1
elif ((rc != 0)); then
	log "FAIL: qemu exited with $rc"
	fail=1
fi
if grep -qE 'Kernel panic|Oops|BUG:|Call Trace|general protection fault' "$CONSOLE"; then
	log "FAIL: kernel oops/BUG/panic/Call Trace in $CONSOLE"
	fail=1
fi
read -r pass kfail skip < <(awk -f "$REPO/scripts/ktap-count.awk" "$KTAP")
fail=$((fail + kfail))

# Host-side checks, after the guest is gone, counted the same way (nested).
mapfile -t HOSTS < <(find "$REPO/selftests/host" -maxdepth 1 -type f -perm -u+x 2>/dev/null | LC_ALL=C sort)
if ((${#HOSTS[@]})); then
	HKTAP=$OUT/host-ktap.log
	{
		echo "KTAP version 1"
		echo "1..${#HOSTS[@]}"
		n=0
		for h in "${HOSTS[@]}"; do
			n=$((n + 1))
			echo "# host: ${h##*/}"
			hrc=0
			DMSEAL_DISKS_DIR=$DDIR DMSEAL_KTAP=$KTAP DMSEAL_KERNEL=$K \
				"$h" 2>&1 | sed 's/^/  /' || hrc=$?
			[[ ${PIPESTATUS[0]} == 0 ]] || hrc=${PIPESTATUS[0]}
			if ((hrc == 0)); then echo "ok $n ${h##*/}"
			elif ((hrc == 4)); then echo "ok $n ${h##*/} # SKIP"
			else echo "not ok $n ${h##*/} # exit=$hrc"; fi
		done
	} | tee "$HKTAP"
	read -r hp hf hs < <(awk -f "$REPO/scripts/ktap-count.awk" "$HKTAP")
	pass=$((pass + hp)) fail=$((fail + hf)) skip=$((skip + hs))
fi

echo "$pass $fail $skip" >"$RESULT"
if ((fail)); then
	log "FAIL ($K): $pass passed, $fail failed, $skip skipped; last 50 console lines:"
	tail -n 50 "$CONSOLE" | sed 's/^/  console| /' >&2
	exit 1
fi
log "PASS ($K): $pass passed, 0 failed, $skip skipped"
