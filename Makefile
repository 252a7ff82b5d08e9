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
#   make bench         what dmseal costs, as ratios to a same-run baseline:
#                      table loads, then setup speed against the CDH pipeline
#                      (BENCH_SIZES="256M 1G 4G", BENCH_REPS=3, BENCH_PIPES)
#   make demo          boot a guest (KERNEL, default 6.1) running the demo
#   make clean
#
# Installing (see README.md, "Install"):
#   make modules       build kmod/dmseal.ko against KDIR
#   make install       dmseal.ko, dmsealctl, its man page and bash completion,
#                      systemd/*.service|*.target if systemd/ exists, and
#                      udev/*.rules (UDEVRULESDIR, default $(PREFIX)/lib/udev/rules.d)
#   make uninstall     remove exactly those files again
#   make dkms-source   copy what dkms builds from to $(DESTDIR)/usr/src/dmseal-<VERSION>
#   make version       print the version everything is built with
# honouring DESTDIR, PREFIX (/usr), KERNELRELEASE, KDIR and KERNEL_SRC
# (Yocto's name for KDIR). KDIR defaults to /lib/modules/$(KERNELRELEASE)/build;
# KERNELRELEASE to the release KDIR was configured for (UTS_RELEASE), else
# the running kernel's. depmod runs when installing into the live system, or
# into a DESTDIR that already has modules.dep for the release (a full root);
# a staging DESTDIR, as a package build uses, gets none: the package's
# postinst runs depmod on the target (DEPMOD=: skips it always).
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

# --- the version and installation -------------------------------------------

ifeq ($(origin DMSEAL_VERSION),undefined)
DMSEAL_VERSION := $(shell scripts/version.sh)
endif
# the number alone (dkms package version, /usr/src/dmseal-<it>)
PACKAGE_VERSION := $(shell tr -d ' \t\n' <VERSION)

PREFIX ?= /usr
MODDIR ?= /lib/modules
UNITDIR ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
DKMSDIR ?= /usr/src/dmseal-$(PACKAGE_VERSION)
DEPMOD ?= depmod
ifneq ($(KERNEL_SRC),)
KDIR ?= $(KERNEL_SRC)
endif
# the release the headers in KDIR were configured for
kdir-release = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
ifeq ($(KERNELRELEASE),)
ifneq ($(KDIR),)
KERNELRELEASE := $(kdir-release)
endif
endif
ifeq ($(KERNELRELEASE),)
KERNELRELEASE := $(shell uname -r)
endif
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
# KERNELRELEASE is kbuild's own variable: never hand ours to the kernel's
# Makefile through the command line.
MAKEOVERRIDES := $(filter-out KERNELRELEASE=%,$(MAKEOVERRIDES))

MODULE_DEST := $(DESTDIR)$(MODDIR)/$(KERNELRELEASE)/extra
UNITS := $(wildcard systemd/*.service systemd/*.target)
UDEV_RULES := $(wildcard udev/*.rules)
# what dkms needs to build the module, and nothing else
DKMS_FILES := dkms.conf VERSION COPYING LICENSES/MIT LICENSES/Linux-syscall-note \
	scripts/version.sh kmod/Kbuild kmod/Makefile \
	$(wildcard kmod/*.[chS] kmod/core/*.[ch]) include/uapi/linux/dmseal.h

version:
	@echo $(DMSEAL_VERSION)

modules:
	@test -d $(KDIR) || { echo "no kernel build tree $(KDIR): set KDIR (or KERNEL_SRC)" >&2; exit 1; }
	$(MAKE) -C kmod KDIR=$(KDIR) DMSEAL_VERSION=$(DMSEAL_VERSION) modules

# depmod for the live system, or a DESTDIR that is a whole root already
define run-depmod
	@if [ -z "$(DESTDIR)" ] || [ -f "$(DESTDIR)$(MODDIR)/$(KERNELRELEASE)/modules.dep" ]; then \
		echo "$(DEPMOD) -a $(if $(DESTDIR),-b $(DESTDIR) )$(KERNELRELEASE)"; \
		$(DEPMOD) -a $(if $(DESTDIR),-b $(DESTDIR)) $(KERNELRELEASE); \
	else \
		echo "note: no depmod: $(DESTDIR) holds no modules.dep for $(KERNELRELEASE) (a staging dir)"; \
	fi
endef

install: install-module install-userspace install-units

install-module: modules
	@kr='$(kdir-release)'; if [ -n "$$kr" ] && [ "$$kr" != '$(KERNELRELEASE)' ]; then \
		echo "KERNELRELEASE=$(KERNELRELEASE) but $(KDIR) is $$kr" >&2; exit 1; fi
	install -D -m 0644 kmod/dmseal.ko $(MODULE_DEST)/dmseal.ko
	$(run-depmod)

install-userspace:
	$(MAKE) -C userspace install PREFIX=$(PREFIX)

install-units:
ifneq ($(UNITS),)
	install -D -m 0644 -t $(DESTDIR)$(UNITDIR) $(UNITS)
endif
ifneq ($(UDEV_RULES),)
	install -D -m 0644 -t $(DESTDIR)$(UDEVRULESDIR) $(UDEV_RULES)
endif

uninstall:
	rm -f $(MODULE_DEST)/dmseal.ko
	-rmdir $(MODULE_DEST) 2>/dev/null
	$(run-depmod)
	$(MAKE) -C userspace uninstall PREFIX=$(PREFIX)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	rm -f $(addprefix $(DESTDIR)$(UDEVRULESDIR)/,$(notdir $(UDEV_RULES)))

dkms-source:
	@v=$$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf); \
	if [ "$$v" != '$(PACKAGE_VERSION)' ]; then \
		echo "dkms.conf says PACKAGE_VERSION=$$v, VERSION says $(PACKAGE_VERSION)" >&2; exit 1; fi
	rm -rf $(DESTDIR)$(DKMSDIR)
	mkdir -p $(DESTDIR)$(DKMSDIR)
	tar -cf - $(DKMS_FILES) | tar -xf - -C $(DESTDIR)$(DKMSDIR)

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
# First the table-load overhead (one boot), then the setup-speed benchmark:
# one boot per size in BENCH_SIZES, each running BENCH_PIPES (all six by
# default) BENCH_REPS times, interleaved, on pipes x reps fresh disks
# (scripts/bench-setup-guest.sh; Documentation/dmseal/benchmark.rst). The
# logs go to build/bench/<size>/; scripts/bench-report.sh prints the table
# across sizes and fails only if a pipeline broke or a boot did not finish.
BENCH_SIZES ?= 256M 1G 4G
BENCH_REPS ?= 3
BENCH_PIPES ?= dmsealctl cdh-nokdf cdh-argon2id nointeg raw wipe-full
# per boot, in seconds: argon2id alone takes about a minute a run under TCG
BENCH_TIMEOUT ?= 5400
bench-comma := ,
bench-empty :=
bench-space := $(bench-empty) $(bench-empty)
bench: initramfs-$(DEMO_KERNEL)
	$(MAKE) -s -C tests bench
	scripts/run-guest.sh --kernel $(DEMO_KERNEL) --cmd /bench.sh --no-judge --disks 2
	@rc=0; for s in $(BENCH_SIZES); do \
		rm -rf build/bench/$$s; t0=$$(date +%s); \
		scripts/run-guest.sh --kernel $(DEMO_KERNEL) --cmd /bench-setup.sh --no-judge \
			--disks $$(( $(words $(BENCH_PIPES)) * $(BENCH_REPS) )) --disk-size $$s \
			--timeout $(BENCH_TIMEOUT) --out build/bench/$$s --env BENCH_SIZE=$$s \
			--env BENCH_REPS=$(BENCH_REPS) \
			--env BENCH_PIPES=$(subst $(bench-space),$(bench-comma),$(strip $(BENCH_PIPES))) || rc=1; \
		mkdir -p build/bench/$$s; echo $$(( $$(date +%s) - t0 )) >build/bench/$$s/wall-seconds; \
	done; \
	scripts/bench-report.sh $(addprefix build/bench/,$(BENCH_SIZES)) || rc=1; \
	exit $$rc

clean:
	-$(MAKE) -C selftests clean
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	rm -rf build

.PHONY: all userspace selftests unit deps lint ynl-check check check-peer demo bench clean \
	version modules install install-module install-userspace install-units uninstall \
	dkms-source
