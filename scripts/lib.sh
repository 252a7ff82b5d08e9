# Shared settings for the dmseal build scripts (sourced, not executed).
# shellcheck shell=bash disable=SC2034 # variables for the sourcing scripts

# Repository root, whatever directory the caller runs from.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The cache outlives clones: kernels, the trixie chroot and kselftest headers
# are reused by every checkout on this machine.
DMSEAL_CACHE=${DMSEAL_CACHE:-$HOME/.cache/dmseal}
BUILD=${DMSEAL_BUILD:-$REPO/build}
MIRROR=${DMSEAL_MIRROR:-http://deb.debian.org/debian}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# check_kernel K: accept only the kernels we know how to fetch.
check_kernel() {
	case "${1:-}" in
	6.1 | 6.12) ;;
	*) die "unknown kernel '${1:-}' (expected 6.1 or 6.12)" ;;
	esac
}
