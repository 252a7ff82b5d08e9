#!/bin/sh
# /init of the dmseal test guest (busybox sh; installed by scripts/initramfs.sh).
#
# Kernel command line (prefix dmseal_guest., not dmseal.: the kernel would
# hand dmseal.* to the dmseal module as module parameters):
#   dmseal_guest.run=selftests   run /selftests/run_kselftest.sh (nested KTAP)
#   dmseal_guest.run=demo        run /demo.sh
#   dmseal_guest.run=/some/path  run that script
#   dmseal_guest.env.NAME=VALUE  export NAME=VALUE to the command (e.g. SELFTEST_FAIL=1)
# The command's stdout/stderr go to ttyS1, which the host streams; kernel
# messages stay on ttyS0 (the console log) and never interleave with KTAP.
# Whatever happens, the guest powers off so QEMU exits.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb
# no udev in the guest: libdevmapper creates the /dev/mapper nodes itself
export DM_DISABLE_UDEV=1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mapper
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
[ -d /sys/kernel/debug ] && mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -d /sys/kernel/security ] && mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mkdir -p /run/cryptsetup /run/lock
hostname dmseal-guest
# loopback only (no network device): the CDH stand-in serves 127.0.0.1:8006
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

run=selftests
# shellcheck disable=SC2013 # the cmdline is one line of words
for w in $(cat /proc/cmdline); do
	case $w in
	dmseal_guest.run=*) run=${w#dmseal_guest.run=} ;;
	dmseal_guest.env.*=*) export "${w#dmseal_guest.env.}" ;;
	esac
done

out=/dev/ttyS1
[ -c $out ] || out=/dev/console
stty -F $out raw -echo 2>/dev/null

# The virtio disks are modules: load them before any test looks for /dev/vd*.
modprobe -a virtio_pci virtio_blk 2>/dev/null
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ] && grep -q virtio /proc/modules; do
	sleep 0.1
	i=$((i + 1))
done

case $run in
selftests) cmd=/selftests/run_kselftest.sh ;;
demo) cmd=/demo.sh ;;
*) cmd=$run ;;
esac

if [ -x "$cmd" ]; then
	(cd /tmp && "$cmd") >$out 2>&1 </dev/null
	rc=$?
elif [ -f "$cmd" ]; then
	(cd /tmp && sh "$cmd") >$out 2>&1 </dev/null
	rc=$?
else
	echo "# dmseal-init: no such command: $cmd" >$out
	rc=127
fi
echo "# dmseal-init: $cmd exited with $rc" >$out

sync
poweroff -f
