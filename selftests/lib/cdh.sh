# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh
# A stand-in for CoCo's Confidential Data Hub REST bridge, for the persistent
# volume tests (sourced; POSIX sh, the guest has busybox). dmsealctl gets a
# volume key from http://127.0.0.1:8006/cdh/resource/<repo>/<type>/<tag>.
#
#   cdh_start [PORT]             busybox httpd serving $CDH_ROOT on
#                                127.0.0.1:PORT (default 8006)
#   cdh_forbidden_start [PORT]   a server answering every request with
#                                "HTTP/1.1 403 Forbidden"
#   cdh_hang_start [PORT]        accepts connections and never answers (a
#                                client's timeout); on all addresses
#   cdh_stop                     stop every server started above
#   cdh_put REPO TYPE TAG FILE   serve FILE's bytes at /cdh/resource/REPO/TYPE/TAG
#                                (mode 0400; the bytes are never printed)
#   cdh_requests                 how many requests (connections) the servers
#                                logged to $CDH_LOG: take it before and after
#                                the step under test, or `: >"$CDH_LOG"`
#
# Every server logs to $CDH_LOG, one connection a line or two: httpd -vv
# writes "127.0.0.1:PORT: url:/cdh/resource/r/t/k" then
# "127.0.0.1:PORT: response:200" (the 403 server only the response line: it
# refuses before reading the request), the hung one "hang: connection".
# Defaults: CDH_ROOT=$T/cdh-root, CDH_LOG=$T/cdh.log ($T: the test's scratch
# directory; /tmp without one). The start functions wait until the port
# listens (without sending a request) and return 1 if it never does.

CDH_PIDS=

cdh_dirs() {
	: "${CDH_ROOT:=${T:-/tmp}/cdh-root}" "${CDH_LOG:=${T:-/tmp}/cdh.log}"
	mkdir -p "$CDH_ROOT"
	[ -f "$CDH_LOG" ] || : >"$CDH_LOG"
}

# cdh_wait_listen PORT PID: until something listens on PORT, IPv4 or (busybox
# nc binds *:PORT) IPv6, for at most 5 s, while PID lives
cdh_wait_listen() {
	hex=$(printf ':%04X ' "$1")
	i=0
	while [ $i -lt 50 ]; do
		kill -0 "$2" 2>/dev/null || break
		cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
			grep -q "$hex"'[0-9A-F]*:0000 0A' && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# cdh: nothing listens on port $1; log:" >&2
	sed 's/^/#   /' "$CDH_LOG" >&2
	return 1
}

cdh_start() {
	port=${1:-8006}
	cdh_dirs
	# -c /dev/null: no httpd.conf is read (allow everything)
	busybox httpd -f -vv -p "127.0.0.1:$port" -h "$CDH_ROOT" -c /dev/null \
		</dev/null 2>>"$CDH_LOG" >/dev/null &
	CDH_PIDS="$CDH_PIDS $!"
	cdh_wait_listen "$port" $!
}

cdh_forbidden_start() {
	port=${1:-8006}
	cdh_dirs
	d=$CDH_ROOT.403
	mkdir -p "$d"
	# D:* denies every client address: 403 before the request is read
	echo 'D:*' >"$d/httpd.conf"
	busybox httpd -f -vv -p "127.0.0.1:$port" -h "$d" -c "$d/httpd.conf" \
		</dev/null 2>>"$CDH_LOG" >/dev/null &
	CDH_PIDS="$CDH_PIDS $!"
	cdh_wait_listen "$port" $!
}

# busybox nc (no -k): -ll -e forks PROG for each connection; PROG logs it,
# never writes, and ends when the client closes.
cdh_hang_start() {
	port=${1:-8006}
	cdh_dirs
	# shellcheck disable=SC2016,SC2094 # $0: the per-connection shell's; nothing reads the log
	busybox nc -ll -p "$port" -e /bin/sh -c \
		'echo "hang: connection" >>"$0"; exec cat >/dev/null' "$CDH_LOG" \
		</dev/null >/dev/null 2>>"$CDH_LOG" &
	CDH_PIDS="$CDH_PIDS $!"
	cdh_wait_listen "$port" $!
}

cdh_stop() {
	for p in $CDH_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CDH_PIDS=
	return 0
}

cdh_put() {
	[ $# -eq 4 ] || { echo "usage: cdh_put REPO TYPE TAG FILE" >&2; return 2; }
	cdh_dirs
	d=$CDH_ROOT/cdh/resource/$1/$2
	mkdir -p "$d" || return 1
	rm -f "$d/$3"
	(umask 0377 && cp "$4" "$d/$3") && chmod 0400 "$d/$3"
}

cdh_requests() {
	cdh_dirs
	grep -cE ': response:|^hang: connection' "$CDH_LOG"
}
