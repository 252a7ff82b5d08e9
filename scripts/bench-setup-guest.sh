#!/bin/sh
# In-guest setup-speed benchmark (`make bench`, one boot per disk size;
# installed as /bench-setup.sh). busybox sh.
#
# Pipelines, each run on its own never-used disk, interleaved (the order
# rotates by one each repetition):
#   dmsealctl     dmsealctl ephemeral setup -j (its defaults), governed by a
#                 sealed policy scoped to ds-*
#   cdh-nokdf     the CDH pipeline for a Kata encrypted emptyDir through the
#                 cryptsetup CLI, KDF forced to pbkdf2 with 1000 iterations
#   cdh-argon2id  the same with cryptsetup's default KDF (argon2id, as CDH)
#   nointeg       the no-KDF pipeline without --integrity (dm-crypt only)
#   raw           the same zeroing, mkfs and mount on the bare disk
#   wipe-full     dmsealctl ephemeral setup --wipe full: the wipe's rate
#                 against dd's write rate through the same stack
# After each setup but wipe-full: write a file (256 MiB, or half the free
# space if less) with conv=fsync, drop the caches, read it back cold.
#
# Environment: BENCH_SIZE (a label, e.g. 256M), BENCH_REPS (3), BENCH_PIPES
# (the pipelines, separated by commas or spaces; default all six).
# Output: one "run ..." line per run (key=value, seconds and MiB/s), "fail
# ..." for a pipeline that broke, then the summary that
# /bench-summary.awk prints; the exit status is 1 only if a pipeline broke,
# never because of a number.
set -u
SIZE=${BENCH_SIZE:-$(blockdev --getsize64 /dev/vda 2>/dev/null)}
REPS=${BENCH_REPS:-3}
PIPES=$(echo "${BENCH_PIPES:-dmsealctl cdh-nokdf cdh-argon2id nointeg raw wipe-full}" | tr ',' ' ')
TPUT_MIB=256
SCRATCH=/run/bench
HDRDIR=/run/confidential-containers/cdh/luks-headers
POLICY=$SCRATCH/policy.json
RUNS=$SCRATCH/runs
SUMMARY=/bench-summary.awk
FAILS=0
STEP_HOOK=''

# The clock: busybox ash's $EPOCHREALTIME (gettimeofday, microseconds) needs
# no fork; /proc/uptime (10 ms ticks) is the fallback. now() sets T.
if [ -n "${EPOCHREALTIME:-}" ]; then
	now() { T=$EPOCHREALTIME; }
	RES="1 us (\$EPOCHREALTIME of busybox sh, gettimeofday)"
else
	now() { read -r T _ </proc/uptime; }
	RES="10 ms (/proc/uptime)"
fi

mkdir -p "$SCRATCH" "$HDRDIR" /mnt
: >"$RUNS"

# --- steps ---------------------------------------------------------------------
# Each run collects "name:start:end" triples in STEPS; a step that fails
# sets FAILED (its name) and later steps of the run are skipped.
LOG=$SCRATCH/log
begin_run() {
	STEPS='' FAILED='' EXTRA=''
	: >"$LOG"
}
# step NAME CMD...: time CMD (output to LOG)
step() {
	[ -n "$FAILED" ] && return 1
	_n=$1
	shift
	now
	_s=$T
	"$@" >>"$LOG" 2>&1
	_rc=$?
	now
	STEPS="$STEPS $_n:$_s:$T"
	[ -n "$STEP_HOOK" ] && $STEP_HOOK "$_n"
	if [ $_rc -ne 0 ]; then
		FAILED="$_n (exit $_rc)"
		return 1
	fi
}
# durations: "name=seconds ..." and total= (first start to last end)
durations() {
	echo "$STEPS" | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, f, ":")
			if (i == 1) first = f[2]
			last = f[3]
			printf "%s=%.4f ", f[1], f[3] - f[2]
		}
		if (NF) printf "total=%.4f", last - first
	}'
}

# zero_sb DEV: what CDH does before mkfs on an unwiped integrity device: list
# the backup superblocks with a dry run (mkfs.ext4 -F -n DEV, CDH passes no
# other option) and zero 4 KiB with O_DIRECT at block 0 and at each: CDH's
# dd bs=4k count=1 seek=N. N counts filesystem blocks, which are 4 KiB on
# every 4096-byte-sector volume; only on the bare disk of a small size (raw
# at 256M) can mke2fs pick 1 KiB blocks, and there the same 4 KiB are zeroed
# at N KiB (bs=1k count=4 seek=N) instead of past the end of the disk.
# Parsed in the shell: no fork. Sets ZEROED and FSBLOCK.
zero_sb() {
	_dev=$1
	_out=$(mkfs.ext4 -F -n "$_dev" 2>&1) || { echo "$_out"; return 1; }
	case $_out in
	*"Superblock backups stored on blocks:"*"Creating filesystem with "*) ;;
	*"Creating filesystem with "*"Superblock backups stored on blocks:"*) ;;
	*) echo "$_out"; echo "no backup superblocks listed"; return 1 ;;
	esac
	_nums="0 ${_out#*Superblock backups stored on blocks:}"
	_bk=${_out#*Creating filesystem with }
	_bk=${_bk#* }
	_bk=${_bk%%k blocks*}
	case $_bk in 1 | 2 | 4) ;; *) echo "$_out"; echo "block size '$_bk'?"; return 1 ;; esac
	FSBLOCK=${_bk}k
	_old=$IFS
	IFS=', 	
'
	# shellcheck disable=SC2086 # split on IFS, on purpose
	set -- $_nums
	IFS=$_old
	ZEROED=0
	for _b; do
		case $_b in '' | *[!0-9]*) continue ;; esac
		dd if=/dev/zero of="$_dev" bs="$FSBLOCK" count=$((4 / _bk)) oflag=direct seek="$_b" 2>/dev/null || return 1
		ZEROED=$((ZEROED + 1))
	done
}
# CDH's real mkfs: device first, then -F and its mkfsOpts with
# lazy_itable_init=0 added
cdh_mkfs() {
	mkfs.ext4 "$1" -F -O ^has_journal -m 0 -i 163840 -I 128 -E lazy_itable_init=0
}
# cdh_prep NAME: the 4 KiB random key file and the header file pre-sized to
# 16 MiB (sparse, like set_len) on tmpfs
cdh_prep() {
	head -c 4096 /dev/urandom >"$SCRATCH/$1.key" &&
		rm -f "$HDRDIR/$1.header" &&
		truncate -s 16M "$HDRDIR/$1.header"
}
# integrity_mode NAME: the mode of the dm-integrity table under NAME
integrity_mode() {
	dmsetup table 2>/dev/null | awk -v n="$1" 'index($1, n) == 1 && $4 == "integrity" { print $8; exit }'
}

# pipe_cdh NAME KDF(nokdf|argon2id|nointeg)
pipe_cdh() {
	_name=$1
	_kdf=''
	[ "$2" = argon2id ] || _kdf='--pbkdf pbkdf2 --pbkdf-force-iterations 1000'
	_integ='--integrity hmac-sha256 --integrity-no-wipe --integrity-no-journal'
	[ "$2" = nointeg ] && _integ=''
	MAPPER=/dev/mapper/$_name MNT=/mnt/$_name
	step prep cdh_prep "$_name"
	# shellcheck disable=SC2086 # _integ and _kdf are lists of options
	step format cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 \
		--sector-size 4096 $_integ $_kdf \
		--header "$HDRDIR/$_name.header" --key-file "$SCRATCH/$_name.key" "$DEV"
	step open cryptsetup luksOpen --header "$HDRDIR/$_name.header" \
		--key-file "$SCRATCH/$_name.key" "$DEV" "$_name"
	step zero zero_sb "$MAPPER"
	step mkfs cdh_mkfs "$MAPPER"
	step mount mount_it "$MAPPER" "$MNT"
	[ -n "$FAILED" ] || EXTRA="zeroed=$ZEROED fsblock=$FSBLOCK mode=$(integrity_mode "$_name")"
	[ "$2" = nointeg ] && [ -z "$FAILED" ] && EXTRA="zeroed=$ZEROED fsblock=$FSBLOCK mode=none"
}
undo_cdh() {
	umount "/mnt/$1" 2>/dev/null
	[ -e "/dev/mapper/$1" ] && cryptsetup close "$1"
	rm -f "$HDRDIR/$1.header" "$SCRATCH/$1.key"
}
mount_it() { mkdir -p "$2" && mount -t ext4 "$1" "$2"; }

pipe_raw() {
	MAPPER=$DEV MNT=/mnt/$1
	step zero zero_sb "$DEV"
	step mkfs cdh_mkfs "$DEV"
	step mount mount_it "$DEV" "$MNT"
	[ -n "$FAILED" ] || EXTRA="zeroed=$ZEROED fsblock=$FSBLOCK mode=none"
}
undo_raw() { umount "/mnt/$1" 2>/dev/null; }

# pipe_dmsealctl NAME [--wipe full]: one timed step (the command's wall
# time); its JSON's own step times, total and volume size join the run line
pipe_dmsealctl() {
	_name=$1
	shift
	MAPPER=/dev/mapper/$_name MNT=/mnt/$_name
	step setup dmsealctl ephemeral setup -d "$DEV" -n "$_name" -m "$MNT" -j "$@"
	[ -n "$FAILED" ] && return 1
	EXTRA=$(grep '^{' "$LOG" | tail -n 1 | awk '
		function num(k,   r) {
			if (!match($0, "\"" k "\":[-0-9.eE+]+")) return ""
			r = substr($0, RSTART, RLENGTH)
			return substr(r, index(r, ":") + 1) + 0
		}
		{
			printf "json_total=%.4f", num("total_seconds")
			if (match($0, /"seconds":[{][^}]*[}]/)) $0 = substr($0, RSTART + 10, RLENGTH - 10)
			else $0 = ""
			n = split("policy header format activate wipe mkfs mount", k, " ")
			for (i = 1; i <= n; i++) printf " %s=%.4f", k[i], num(k[i])
		}')
	JSIZE=$(grep '^{' "$LOG" | tail -n 1 | sed -n 's/.*"size":\([0-9]*\)[,}].*/\1/p')
	EXTRA="$EXTRA bytes=$JSIZE mode=$(integrity_mode "$_name")"
}
undo_dmsealctl() {
	dmsealctl ephemeral teardown -n "$1" >>"$LOG" 2>&1
}

# tput MNT: write then cold-read a file; sets TPUT
tput() {
	_avail=$(df -P -k "$1" | awk 'NR == 2 { print $4 }')
	_mib=$TPUT_MIB _why=fixed
	if [ $((_avail / 2048)) -lt "$_mib" ]; then
		_mib=$((_avail / 2048)) _why=half-free
	fi
	sync
	now
	_s=$T
	dd if=/dev/zero of="$1/tput" bs=1M count="$_mib" conv=fsync 2>>"$LOG" || return 1
	now
	_w=$(echo "$_s $T" | awk -v m="$_mib" '{ printf "%.2f", m / ($2 - $1) }')
	sync
	echo 3 >/proc/sys/vm/drop_caches
	now
	_s=$T
	dd if="$1/tput" of=/dev/null bs=1M 2>>"$LOG" || return 1
	now
	_r=$(echo "$_s $T" | awk -v m="$_mib" '{ printf "%.2f", m / ($2 - $1) }')
	rm -f "$1/tput"
	TPUT="tput_mib=$_mib tput_size=$_why write=$_w read=$_r"
}

# wipe_dd NAME: after --wipe full, dd's write rate through the same stack
# (unmounted, the dm devices kept): min(512 MiB, the volume) with O_DIRECT
wipe_dd() {
	umount "/mnt/$1" || return 1
	_mib=$((JSIZE / 1048576))
	[ "$_mib" -gt 512 ] && _mib=512
	now
	_s=$T
	dd if=/dev/zero of="/dev/mapper/$1" bs=1M count="$_mib" oflag=direct 2>>"$LOG" || return 1
	now
	WIPE=$(echo "$_s $T $_mib $JSIZE $EXTRA" | awk '{
		dd = $3 / ($2 - $1)
		for (i = 5; i <= NF; i++) if ($i ~ /^wipe=/) w = substr($i, 6) + 0
		wr = w > 0 ? $4 / 1048576 / w : 0
		printf "wipe_rate=%.2f dd_mib=%d dd_rate=%.2f wipe_ratio=%.3f", wr, $3, dd, (dd > 0 ? wr / dd : 0)
	}')
}

# --- one run -------------------------------------------------------------------
# kernel messages that mean the data path broke, counted per run (dmesg -c:
# the console log on the host keeps them all anyway)
KERR_RE='INTEGRITY AEAD ERROR|I/O error|EXT4-fs error|Buffer I/O|integrity.*[Cc]hecksum|device-mapper:.*error'
run_one() { # run_one REP PIPE DEV
	rep=$1 pipe=$2 DEV=$3
	name=b$rep-$pipe
	case $pipe in dmsealctl | wipe-full) name=ds-$rep-$pipe ;; esac
	begin_run
	TPUT='' WIPE=''
	case $pipe in
	dmsealctl) pipe_dmsealctl "$name" ;;
	wipe-full) pipe_dmsealctl "$name" --wipe full ;;
	cdh-nokdf) pipe_cdh "$name" nokdf ;;
	cdh-argon2id) pipe_cdh "$name" argon2id ;;
	nointeg) pipe_cdh "$name" nointeg ;;
	raw) pipe_raw "$name" ;;
	esac
	times=$(durations)
	if [ -z "$FAILED" ]; then
		if [ "$pipe" = wipe-full ]; then
			wipe_dd "$name" || FAILED="dd after wipe"
		else
			tput "$MNT" || FAILED="throughput"
		fi
	fi
	case $pipe in
	dmsealctl | wipe-full) undo_dmsealctl "$name" || [ -n "$FAILED" ] || FAILED="teardown" ;;
	raw) undo_raw "$name" ;;
	*) undo_cdh "$name" ;;
	esac
	kerr=$(dmesg -c 2>/dev/null | grep -E "$KERR_RE")
	nkerr=0
	[ -n "$kerr" ] && nkerr=$(echo "$kerr" | wc -l)
	if [ -n "$FAILED" ]; then
		FAILS=$((FAILS + 1))
		echo "fail size=$SIZE rep=$rep pipe=$pipe disk=${DEV#/dev/} step=$FAILED $times"
		tail -n 20 "$LOG" | sed 's/^/#   /'
	else
		echo "run size=$SIZE rep=$rep pipe=$pipe disk=${DEV#/dev/} $times $EXTRA $TPUT $WIPE kerr=$nkerr" |
			tr -s ' ' | tee -a "$RUNS"
	fi
	[ -n "$kerr" ] && echo "$kerr" | head -n 5 | sed 's/^/# kernel: /'
	return 0
}

# --- main ----------------------------------------------------------------------
# shellcheck disable=SC2086 # a list of words
set -- $PIPES
NP=$#
# the disks, vda, vdb, ... in order: each run takes the next one
set -- /dev/vd?
DISKS=$#
[ -b "$1" ] || DISKS=0
echo "# bench-setup: size $SIZE, $REPS repetitions of: $PIPES"
echo "# timer resolution: $RES; kernel $(uname -r); $(nproc) CPUs"
if [ "$DISKS" -lt $((NP * REPS)) ]; then
	echo "fail size=$SIZE step=disks: need $((NP * REPS)) fresh disks, have $DISKS"
	exit 1
fi
modprobe -a dm_mod dm_crypt dm_integrity loop || exit 1
sed 's/"scope": *{[^}]*}/"scope": { "name_prefix": "ds-" }/' \
	/selftests/data/policy.json >"$POLICY"
modprobe dmseal || { echo "fail size=$SIZE step=modprobe dmseal"; exit 1; }
dmsealctl policy load "$POLICY" >/dev/null || { echo "fail size=$SIZE step=policy load"; exit 1; }

# Warm-up, untimed, on a loop device over tmpfs: the first crypt and
# integrity tables load and self-test their crypto modules, the first mount
# loads ext4. No disk of the runs is touched. It also says which of CDH's
# steps the kernel logs data-path errors in (STEP_HOOK: after each step).
truncate -s 256M "$SCRATCH/warm.img"
WL=$(losetup -f 2>"$LOG") && losetup "$WL" "$SCRATCH/warm.img" 2>>"$LOG" || WL=''
if [ -n "$WL" ]; then
	begin_run
	dmesg -c >/dev/null 2>&1
	STEP_HOOK=warm_hook
	warm_hook() {
		_k=$(dmesg -c 2>/dev/null | grep -cE "$KERR_RE")
		[ "$_k" -gt 0 ] && echo "# warm-up (cdh-nokdf on $WL): $_k kernel error lines during step $1"
	}
	DEV=$WL
	pipe_cdh warm nokdf
	STEP_HOOK=''
	undo_cdh warm
	[ -n "$FAILED" ] && { echo "# warm-up failed at $FAILED:"; sed 's/^/#   /' "$LOG"; }
	losetup -d "$WL"
else
	echo "# warm-up skipped: no loop device:"
	sed 's/^/#   /' "$LOG"
fi
rm -f "$SCRATCH/warm.img"
dmesg -c >/dev/null 2>&1

rep=1
while [ "$rep" -le "$REPS" ]; do
	# this repetition's order: PIPES rotated left by rep-1
	order=$(echo "$PIPES" | awk -v r="$rep" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
	echo "# repetition $rep: $order"
	for p in $order; do
		run_one "$rep" "$p" "$1"
		shift
	done
	rep=$((rep + 1))
done

echo "# summary (size $SIZE; medians over $REPS repetitions; timer $RES)"
awk -f "$SUMMARY" -v mode=size "$RUNS"
if [ "$FAILS" -gt 0 ]; then
	echo "# bench-setup: $FAILS runs broke (fail lines above): this bench is broken, not slow"
	exit 1
fi
echo "# bench-setup: done"
