#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# scripts/version.sh: print dmseal's version, the one every part is built with
# (dmseal.ko's MODULE_VERSION and netlink status, dmsealctl --version).
#
#  - in a git checkout: `git describe --tags --dirty --always`; a tag vX.Y.Z
#    gives X.Y.Z, X.Y.Z-N-gSHA after it. With no tag reachable (git prints
#    a bare hash) the version is VERSION's content plus -gSHA[-dirty].
#  - anywhere else (a tarball, a dkms source tree): the VERSION file.
#
# VERSION is the only place the number is written down; a release bumps it,
# dkms.conf's PACKAGE_VERSION and CHANGELOG.md together and tags vX.Y.Z.
# Plain sh: the kernel build (kmod/Kbuild) and userspace/Makefile run it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
base=$(tr -d ' \t\n' <"$top/VERSION")
[ -n "$base" ] || { echo "version.sh: $top/VERSION is empty" >&2; exit 1; }

# Only the tree's own repository counts: a tarball unpacked inside some
# other git checkout must not take that checkout's hash. safe.directory:
# `sudo make install` in a checkout owned by someone else must still see the
# same version the build saw (git refuses foreign repositories otherwise).
if command -v git >/dev/null 2>&1 && [ -e "$top/.git" ] &&
	d=$(git -c safe.directory="$top" -C "$top" describe --tags --dirty --always 2>/dev/null); then
	case $d in
	v[0-9]*) echo "${d#v}" ;;
	[0-9]*.*) echo "$d" ;;
	*) echo "$base-g$d" ;;
	esac
else
	echo "$base"
fi
