#!/bin/sh
# In-guest benchmark (`make bench`): what dmseal adds to device-mapper table
# loads, as ratios against loads measured in the same boot. busybox sh;
# times from /proc/uptime (10 ms ticks) summed over many loads.
#
# The policy sealed here governs only devices named g-*, so one sealed module
# can load the same crypt table governed (parsed, checked, read back,
# pinned) and ungoverned (passed through, on an integrity device nobody
# governs), interleaved round by round: that ratio is the cost of the check
# itself, free of drift over the boot.
set -u
N=${BENCH_N:-48}
ROUNDS=4
KEYDESC=dmseal-test:bench
POLICY=/tmp/bench-policy.json

t() { cut -d' ' -f1 /proc/uptime; }
sub() { echo "$1 $2" | awk '{ printf "%.2f", $1 - $2 }'; }
add() { echo "$1 $2" | awk '{ printf "%.2f", $1 + $2 }'; }
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "n/a" }'; }
# cycles COUNT NAME TABLE: create and remove NAME COUNT times; prints seconds
cycles() {
	t0=$(t)
	i=0
	while [ "$i" -lt "$1" ]; do
		dmsetup create "$2" --table "$3" || { echo "bench: '$3' failed" >&2; exit 1; }
		dmsetup remove "$2"
		i=$((i + 1))
	done
	sub "$(t)" "$t0"
}

modprobe -a dm_mod dm_crypt dm_integrity || exit 1
head -c 96 /dev/urandom | keyctl padd logon "$KEYDESC" @u >/dev/null || exit 1
sz=$(blockdev --getsz /dev/vda)
INT="0 $((sz / 4)) integrity /dev/vda 0 32 J 1 fix_padding"
INT2="0 $((sz / 4)) integrity /dev/vda $((sz / 2)) 32 J 1 fix_padding"
LIN="0 $sz linear /dev/vdb 0"
# the integrity devices under the crypt loads stay up while they run: one
# governed (g-bint), one not (bint)
dmsetup create g-bint --table "$INT" || exit 1
isz=$(blockdev --getsz /dev/mapper/g-bint)
crypt_on() {
	echo "0 $isz crypt capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:$KEYDESC 0 /dev/mapper/$1 0 1 integrity:32:aead"
}
CRY=$(crypt_on g-bint)

echo "# $N create+remove cycles per case, kernel $(uname -r)"
# warm up: the first crypt load pulls in and self-tests the crypto modules
cycles 3 blin "$LIN" >/dev/null
cycles 3 bcry "$CRY" >/dev/null
base_lin=$(cycles "$N" blin "$LIN")
dmsetup remove g-bint

sed 's/"scope": *{[^}]*}/"scope": { "name_prefix": "g-" }/' \
	/selftests/data/policy.json >"$POLICY"
modprobe dmseal || exit 1
dmsealctl policy load "$POLICY" >/dev/null || exit 1
dmsetup create g-bint --table "$INT" || exit 1
dmsetup create bint --table "$INT2" || exit 1
seal_lin=$(cycles "$N" blin "$LIN")
ungov=0 gov=0 r=0
while [ $r -lt $ROUNDS ]; do
	ungov=$(add "$ungov" "$(cycles $((N / ROUNDS)) bcry "$(crypt_on bint)")")
	gov=$(add "$gov" "$(cycles $((N / ROUNDS)) g-cry "$CRY")")
	r=$((r + 1))
done
dmsetup remove g-bint
dmsetup remove bint

echo "bench: crypt load+remove, checked+pinned   $(ratio "$gov" "$ungov")x the same table ungoverned ($gov s vs $ungov s, interleaved)"
echo "bench: linear load+remove, dmseal loaded   $(ratio "$seal_lin" "$base_lin")x without dmseal ($seal_lin s vs $base_lin s)"
mod() { awk -v m="$1" '$1 == m { print $2 }' /proc/modules; }
echo "bench: module memory, dmseal vs dm_mod     $(ratio "$(mod dmseal)" "$(mod dm_mod)")x ($(mod dmseal) vs $(mod dm_mod) bytes)"
