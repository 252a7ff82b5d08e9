#!/bin/sh
# The dmseal story, inside the guest (`make demo`): a host-provided disk
# becomes an encrypted, integrity-protected scratch volume under a sealed
# policy, and a weakened table is refused with the reason.
# busybox sh; output goes to the host terminal.
set -u
POLICY=/selftests/data/policy.json
DISK=/dev/vda
WEAK_DISK=/dev/vdb
step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# persistent volumes: a CDH stand-in serving the demo key (the KBS "holds"
# it: both boots derive the same bytes), on the host's disk $PV_DISK
T=/tmp/demo
mkdir -p $T
. /selftests/lib/cdh.sh
. /selftests/lib/pv.sh
PV_DISK=/dev/vdc
serve_key() {
	pv_key demo-volume $T/key
	cdh_put dmseal-test volumes db-0 $T/key
	cdh_start
}

if [ "${DEMO_PART:-1}" = 2 ]; then
	step "9. a new boot on the same disks: the persistent volume is still there"
	modprobe dmseal && dmsealctl policy load "$POLICY" >/dev/null || exit 1
	run dmsealctl status
	serve_key
	run dmsealctl persistent setup --device $PV_DISK --name db-0 --mount /mnt/db \
		--key kbs:///dmseal-test/volumes/db-0
	run cat /mnt/db/hello.txt
	run dmsealctl persistent teardown --name db-0
	exit 0
fi

step "1. the guest kernel loads dmseal (nothing sealed yet: crypt/integrity refused)"
uname -r
run modprobe dmseal || exit 1
run dmsealctl status

step "2. seal the storage policy (its digest is what a CoCo guest attests)"
run dmsealctl policy digest "$POLICY"
run dmsealctl policy load "$POLICY"
run dmsealctl status
echo "# a second load fails whatever it contains:"
run dmsealctl policy load "$POLICY"
echo "(exit $?)"

# events as they happen, printed at the end
dmsealctl monitor >/tmp/events 2>&1 &
mon=$!
sleep 0.3

step "3. an ephemeral volume on the host's disk $DISK, key made in the guest"
run dmsealctl ephemeral setup --device "$DISK" --name scratch --mount /mnt/scratch
run dmsetup table
echo "# the volume key was a logon key (never readable by userspace); once"
echo "# dm-crypt held it, dmsealctl dropped it: keys named cryptsetup: left:"
grep -c 'cryptsetup:' /proc/keys

step "4. write, sync, drop caches, read back"
echo "hello from a confidential pod $(date +%s)" >/mnt/scratch/hello.txt
run sync
echo 3 >/proc/sys/vm/drop_caches
run cat /mnt/scratch/hello.txt
run df -h /mnt/scratch

step "5. the host tries to make the guest load weak tables: refused"
key=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
sz=$(blockdev --getsz "$WEAK_DISK")
echo "# plain aes-cbc with an inline hex key, no integrity:"
printf '$ dmsetup create weak --table "0 %s crypt aes-cbc-essiv:sha256 <hex key> 0 %s 0"\n' "$sz" "$WEAK_DISK"
dmsetup create weak --table "0 $sz crypt aes-cbc-essiv:sha256 $key 0 $WEAK_DISK 0"
echo "(exit $?)"
echo "# cipher_null:"
dmsetup create weak2 --table "0 $sz crypt cipher_null-ecb - 0 $WEAK_DISK 0"
echo "(exit $?)"
echo "# reload the live volume with allow_discards (leaks the layout):"
live=$(dmsetup table scratch)
run dmsetup load scratch --table "$(echo "$live" |
	sed 's/ 2 integrity:/ 3 allow_discards integrity:/')"
echo "(exit $?)"
echo "# swap the live volume for a plaintext linear mapping:"
run dmsetup load scratch --table "0 $(blockdev --getsz /dev/mapper/scratch) linear $WEAK_DISK 0"
echo "(exit $?)"
echo "# drop the key of the live volume by target message:"
run dmsetup message scratch 0 key wipe
echo "(exit $?)"
dmsetup remove weak weak2 2>/dev/null
echo "# the kernel says why (never the key):"
dmesg | grep 'dmseal: denied' | sed 's/^\[[^]]*\] //'

step "6. status and pins"
run dmsealctl status
run dmsealctl pins

step "7. teardown: the key goes with the device"
run dmsealctl ephemeral teardown --name scratch
run dmsealctl pins --json

sleep 0.3
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null
step "8. a persistent volume on $PV_DISK, its key from the KBS (through CDH)"
serve_key
echo "# a key URI the sealed policy does not list is refused before any request:"
run dmsealctl persistent setup --device $PV_DISK --name db-0 --mount /mnt/db \
	--key kbs:///host-chosen/keys/known-to-the-host --init
echo "(exit $?)"
run dmsealctl persistent setup --device $PV_DISK --name db-0 --mount /mnt/db \
	--key kbs:///dmseal-test/volumes/db-0 --init
echo "kept across reboots" >/mnt/db/hello.txt
run dmsealctl persistent teardown --name db-0
echo "# the LUKS2 header on the disk: no keyslots, the KBS key is the only way in"
cryptsetup luksDump $PV_DISK | sed -n '/^Data segments/,/^Digests/p'
echo "# the host edits the header between boots (segment cipher -> cipher_null):"
dd if=$PV_DISK of=$T/hdr bs=1M count=1 2>/dev/null
run /selftests/luks2_edit $PV_DISK '"encryption":"aes-xts-plain64"' '"encryption":"cipher_null-ecb"'
run dmsealctl persistent setup --device $PV_DISK --name db-0 --mount /mnt/db \
	--key kbs:///dmseal-test/volumes/db-0
echo "(exit $?: refused by dmsealctl's check, nothing written)"
pv_key demo-volume $T/key.bin
run cryptsetup open --key-size 768 --volume-key-file $T/key.bin $PV_DISK db-0
echo "(exit $?: plain cryptsetup open, refused by the kernel at table load)"
dmesg | grep 'dmseal: denied' | tail -n 1 | sed 's/^\[[^]]*\] //'
echo "# the header is put back; the next boot reopens the volume"
dd if=$T/hdr of=$PV_DISK bs=1M count=1 conv=fsync 2>/dev/null
cdh_stop

step "events seen by 'dmsealctl monitor'"
cat /tmp/events
