# dmseal: top-level build and test entry points.
#
#   make / make all    build the host parts: userspace/dmsealctl, selftests
#   make check         everything, ending in one line "N passed, N failed"
#                      (KERNEL=6.1 or KERNEL=6.12 for one guest kernel;
#                      SELFTEST_FAIL=1 to see a failing selftest fail it)
#   make check-peer    cryptsetup's own integrity tests, case by case, without
#                      dmseal, with dmseal governing nothing and governing all
#                      (scripts/check-peer.sh; KERNEL= as for check)
#   make lint          checkpatch --strict and sparse over the module
#   make bench         what dmseal costs, as ratios to a same-run baseline
#   make demo          boot a guest (KERNEL, default 6.1) running the demo
#   make clean
#
# The module only ever runs inside a QEMU guest booting a Debian kernel (this
# machine's own kernel cannot load it), so `check` is a pipeline of scripts
# in scripts/; the per-kernel steps are also targets here for working by hand
# (make kernel-6.12, module-6.12, initramfs-6.12, guest-6.12).
# Downloads (kernels, the trixie chroot for 6.12) live in DMSEAL_CACHE,
# default ~/.cache/dmseal, shared by every clone on the machine.

KERNELS ?= 6.1 6.12
ifneq ($(KERNEL),)
KERNELS := $(KERNEL)
endif
# `make demo` boots one kernel: the first asked for
DEMO_KERNEL := $(firstword $(KERNELS))
export SELFTEST_FAIL

all: userspace selftests

# userspace/ and tests/ are written in parallel by others: skip them, loudly,
# until their Makefiles exist.
userspace:
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace; \
	else echo "note: userspace/Makefile does not exist yet; dmsealctl not built"; fi

selftests:
	$(MAKE) -C selftests

unit:
	@if [ -f tests/Makefile ]; then $(MAKE) -C tests unit; \
	else echo "note: tests/Makefile does not exist yet; no unit tests"; fi

deps:
	scripts/deps.sh

lint:
	scripts/lint.sh

# the netlink spec through the kernel's YNL tools (also part of check)
ynl-check:
	scripts/ynl-check.sh

check:
	@scripts/check.sh $(KERNELS)

check-peer:
	@scripts/check-peer.sh $(KERNELS)

# Per-kernel steps (each one reuses the cache; see scripts/*.sh).
kernel-%:
	scripts/kernel.sh $*
module-%: kernel-%
	scripts/build-module.sh $*
initramfs-%: module-% all
	scripts/initramfs.sh $*
guest-%: initramfs-%
	scripts/run-guest.sh --kernel $* $(if $(SELFTEST_FAIL),--env SELFTEST_FAIL=$(SELFTEST_FAIL))

demo: deps initramfs-$(DEMO_KERNEL)
	rm -rf build/demo-disks
	scripts/run-guest.sh --kernel $(DEMO_KERNEL) --cmd demo --no-judge --disks 3 \
		--keep-disks build/demo-disks
	scripts/run-guest.sh --kernel $(DEMO_KERNEL) --cmd demo --no-judge \
		--disks 3 --reuse-disks build/demo-disks --env DEMO_PART=2
	rm -rf build/demo-disks

# Ratios against a baseline measured in the same run, never pass/fail times.
bench: initramfs-$(DEMO_KERNEL)
	$(MAKE) -s -C tests bench
	scripts/run-guest.sh --kernel $(DEMO_KERNEL) --cmd /bench.sh --no-judge --disks 2

clean:
	-$(MAKE) -C selftests clean
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	rm -rf build

.PHONY: all userspace selftests unit deps lint ynl-check check check-peer demo bench clean
