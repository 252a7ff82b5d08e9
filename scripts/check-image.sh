#!/usr/bin/env bash
# scripts/check-image.sh: host tests of what a guest image installs
# (systemd/dmseal.service, modules-load.d/dmseal.conf, initramfs-tools/).
#
#   - systemd-analyze verify of dmseal.service (and a stub kata-agent.service)
#     in a scratch --root with stub binaries: no output at all; a broken copy
#     of the unit does produce output (the check can fail)
#   - the unit's required settings (ordering, oneshot, condition, install)
#   - `systemctl --root enable` makes kata-agent.service require it
#   - the unit's ExecStart logic run against a stub dmsealctl: unsealed ->
#     policy load; already sealed with this digest -> success, no load;
#     another policy sealed -> failure
#   - modules-load.d/dmseal.conf loads dmseal
#   - shellcheck of the initramfs-tools hook and init-top script
#   - the hook run with stubs of hook-functions (copy_exec, copy_file,
#     manual_add_modules) against a scratch DESTDIR: what it copies
#   - init-top with stubs of /scripts/functions: seals; on a failure panics
#     (default) or continues (DMSEAL_ON_FAILURE=continue)
# Prints "image: N passed, N failed"; exit status non-zero on a failure.
# shellcheck disable=SC2016 # the checks are eval'd single-quoted strings
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PASS=0 FAIL=0
ok() { echo "ok - $1"; PASS=$((PASS + 1)); }
nok() { echo "not ok - $1"; FAIL=$((FAIL + 1)); }
check() { local n=$1; shift; if "$@"; then ok "$n"; else nok "$n"; fi; }
W=$(mktemp -d "${TMPDIR:-/tmp}/dmseal-image.XXXXXX")
[[ -n ${KEEP_W:-} ]] || trap 'rm -rf "$W"' EXIT
UNIT=$REPO/systemd/dmseal.service

stub() { # stub PATH [BODY]: an executable shell script
	mkdir -p "${1%/*}"
	printf '#!/bin/sh\n%s\n' "${2:-exit 0}" >"$1"
	chmod +x "$1"
}

# --- systemd ----------------------------------------------------------------
if command -v systemd-analyze >/dev/null && command -v systemctl >/dev/null; then
	R=$W/root
	mkdir -p "$R/etc/systemd/system" "$R/usr/lib/systemd/system"
	# the targets the unit names, from the host's systemd
	cp /usr/lib/systemd/system/*.target "$R/usr/lib/systemd/system/" 2>/dev/null ||
		cp /lib/systemd/system/*.target "$R/usr/lib/systemd/system/"
	cp "$UNIT" "$R/etc/systemd/system/"
	printf '[Unit]\nDescription=stub kata-agent\n[Service]\nExecStart=/usr/bin/kata-agent\n' \
		>"$R/etc/systemd/system/kata-agent.service"
	for b in /sbin/modprobe /bin/sh /usr/sbin/dmsealctl /usr/bin/kata-agent; do stub "$R$b"; done
	out=$(systemd-analyze verify --man=no --root="$R" dmseal.service kata-agent.service 2>&1)
	rc=$?
	[[ -n $out ]] && printf '%s\n' "$out" | sed 's/^/#   /'
	check "systemd-analyze verify dmseal.service: exit 0, no output" test "$rc" = 0 -a -z "$out"
	sed 's/^Type=oneshot/Type=oneshto/; s/^Before=local/Befor=local/' "$UNIT" \
		>"$R/etc/systemd/system/broken.service"
	out=$(systemd-analyze verify --man=no --root="$R" broken.service 2>&1)
	check "systemd-analyze verify reports a broken copy (the check can fail)" \
		grep -q "Unknown key 'Befor'" <<<"$out"
	rm -f "$R/etc/systemd/system/broken.service"

	# the settings the unit must have, as systemd reads them (last wins;
	# Before= accumulates)
	val() { sed -n "s/^$1=//p" "$UNIT" | tr '\n' ' '; }
	has() { # has KEY WORD...: each WORD is in KEY's values
		local k=$1 v w
		v=" $(val "$k") "
		shift
		for w in "$@"; do [[ $v == *" $w "* ]] || { echo "# $k lacks $w" >&2; return 1; }; done
	}
	check "unit: DefaultDependencies=no" has DefaultDependencies no
	check "unit: Before=local-fs-pre.target cryptsetup-pre.target kata-agent.service" \
		has Before local-fs-pre.target cryptsetup-pre.target kata-agent.service
	check "unit: Wants=local-fs-pre.target, After=systemd-modules-load.service" \
		eval 'has Wants local-fs-pre.target && has After systemd-modules-load.service'
	check "unit: nothing orders it after local storage or the agent" \
		eval '! grep -Eq "^(After|Requires|Requisite|BindsTo)=.*(local-fs|kata-agent|cryptsetup|remote-fs|network)" "$UNIT"'
	check "unit: ConditionPathExists=/etc/dmseal/policy.json" has ConditionPathExists /etc/dmseal/policy.json
	check "unit: Type=oneshot, RemainAfterExit=yes" eval 'has Type oneshot && has RemainAfterExit yes'
	check "unit: loads dmseal and seals with dmsealctl policy load" \
		eval 'grep -q "^ExecStart=/sbin/modprobe dmseal$" "$UNIT" &&
			grep -q "^ExecStart=.*dmsealctl policy load \"\$\$p\"" "$UNIT"'
	check "unit: [Install] RequiredBy=kata-agent.service" has RequiredBy kata-agent.service
	out=$(systemctl --root="$R" enable dmseal.service 2>&1)
	check "systemctl --root enable: kata-agent.service requires it, sysinit wants it" \
		test -L "$R/etc/systemd/system/kata-agent.service.requires/dmseal.service" -a \
		-L "$R/etc/systemd/system/sysinit.target.wants/dmseal.service"

	# the ExecStart shell logic against a stub dmsealctl ($$ -> $, %% -> %)
	script=$(sed -n "s/^ExecStart=\/bin\/sh -c '\(.*\)'$/\1/p" "$UNIT" |
		sed 's/\$\$/$/g; s/%%/%/g' | sed "s#/usr/sbin/dmsealctl#$W/dmsealctl#g; s#/etc/dmseal/policy.json#$W/policy.json#g")
	echo '{}' >"$W/policy.json"
	# the stub: `policy digest FILE` prints abc123; `policy show` prints the
	# sealed policy ($W/state) or fails (exit 4) when there is none; `policy
	# digest -` hashes it (abc123 for "same", fff for "other"); `policy load`
	# records the call
	stub "$W/dmsealctl" 'd=$(dirname "$0")
case "$1 $2 $3" in
"policy digest -") case $(cat) in same) echo abc123 ;; other) echo fff ;; *) exit 1 ;; esac ;;
"policy digest "*) echo abc123 ;;
"policy show "*) [ -s "$d/state" ] || exit 4; cat "$d/state" ;;
"policy load "*) echo "load $3" >>"$d/calls" ;;
*) exit 2 ;;
esac'
	runexec() { rm -f "$W/calls"; printf '%s' "$1" >"$W/state"; sh -c "$script" >/dev/null 2>&1; }
	check "ExecStart: unsealed -> dmsealctl policy load FILE" \
		eval 'runexec "" && grep -qx "load $W/policy.json" "$W/calls"'
	check "ExecStart: sealed with the same digest (initramfs) -> success, no second load" \
		eval 'runexec same && [ ! -e "$W/calls" ]'
	check "ExecStart: another policy sealed -> failure" \
		eval '! runexec other && [ ! -e "$W/calls" ]'
else
	nok "systemd-analyze/systemctl not installed (scripts/deps.sh installs systemd)"
fi
check "modules-load.d/dmseal.conf loads dmseal" \
	eval '[ "$(grep -v "^#" "$REPO/modules-load.d/dmseal.conf" | grep -v "^$")" = dmseal ]'

# --- initramfs-tools ----------------------------------------------------------
HOOK=$REPO/initramfs-tools/hooks/dmseal
TOP=$REPO/initramfs-tools/scripts/init-top/dmseal
if command -v shellcheck >/dev/null; then
	check "shellcheck initramfs-tools/hooks/dmseal scripts/init-top/dmseal" \
		shellcheck -s sh "$HOOK" "$TOP"
else
	nok "shellcheck not installed (scripts/deps.sh installs it)"
fi
check "hook and init-top answer prereqs" \
	eval '[ -z "$(sh "$HOOK" prereqs)" ] && [ -z "$(sh "$TOP" prereqs)" ]'

# The hook with a stub hook-functions (initramfs-tools-core is not needed):
# each helper logs its call; DESTDIR is a scratch directory.
H=$W/hook
mkdir -p "$H/dest" "$H/bin" "$H/etc"
cat >"$H/hook-functions" <<'EOF'
copy_exec() { echo "copy_exec $*" >>"$CALLS"; mkdir -p "$DESTDIR$2"; cp "$1" "$DESTDIR$2/"; }
copy_file() { echo "copy_file $*" >>"$CALLS"; mkdir -p "$DESTDIR${3%/*}"; cp "$2" "$DESTDIR$3"; }
manual_add_modules() { echo "manual_add_modules $*" >>"$CALLS"; }
EOF
stub "$H/bin/dmsealctl" '[ "$1 $2" = "policy digest" ] && grep -q version "$3"'
echo '{"version": 1}' >"$H/etc/policy.json"
echo 'not json' >"$H/etc/bad.json"
sed "s#/usr/share/initramfs-tools/hook-functions#$H/hook-functions#" "$HOOK" >"$H/hook.sh"
runhook() { # runhook CONF: run the hook with that initramfs.conf
	rm -rf "$H/dest" "$H/calls"
	mkdir -p "$H/dest"
	printf '%s\n' "$1" >"$H/conf"
	PATH=$H/bin:$PATH DESTDIR=$H/dest CALLS=$H/calls DMSEAL_CONF=$H/conf \
		sh "$H/hook.sh" >"$H/out" 2>&1
}
check "hook: copies dmsealctl, the policy, dmseal and the dm/crypto modules" \
	eval 'runhook "DMSEAL_POLICY=$H/etc/policy.json" &&
		grep -qx "copy_exec $H/bin/dmsealctl /usr/sbin" "$H/calls" &&
		grep -qx "copy_file policy $H/etc/policy.json /etc/dmseal/policy.json" "$H/calls" &&
		grep -qx "manual_add_modules dmseal" "$H/calls" &&
		grep -q "^manual_add_modules dm_mod dm_crypt dm_integrity" "$H/calls" &&
		grep -q "^manual_add_modules xts authenc hmac sha256" "$H/calls" &&
		cmp -s "$H/etc/policy.json" "$H/dest/etc/dmseal/policy.json" &&
		[ -x "$H/dest/usr/sbin/dmsealctl" ] &&
		grep -qx DMSEAL_ON_FAILURE=panic "$H/dest/conf/conf.d/dmseal"'
check "hook: DMSEAL_ON_FAILURE=continue is written for init-top" \
	eval 'runhook "DMSEAL_POLICY=$H/etc/policy.json
DMSEAL_ON_FAILURE=continue" && grep -qx DMSEAL_ON_FAILURE=continue "$H/dest/conf/conf.d/dmseal"'
check "hook: no policy file -> nothing copied, exit 0" \
	eval 'runhook "DMSEAL_POLICY=$H/etc/none.json" && [ ! -e "$H/calls" ]'
check "hook: an invalid policy or knob fails update-initramfs" \
	eval '! runhook "DMSEAL_POLICY=$H/etc/bad.json" && ! runhook "DMSEAL_POLICY=$H/etc/policy.json
DMSEAL_ON_FAILURE=maybe"'

# init-top with stubs: /scripts/functions' log_*/panic, modprobe, dmsealctl
I=$W/top
mkdir -p "$I/bin" "$I/conf"
cat >"$I/functions" <<'EOF'
log_begin_msg() { echo "begin $*" >>"$CALLS"; }
log_end_msg() { echo "end" >>"$CALLS"; }
log_failure_msg() { echo "failure $*" >>"$CALLS"; }
panic() { echo "panic $*" >>"$CALLS"; exit 1; }
EOF
echo '{}' >"$I/policy.json"
sed "s#/scripts/functions#$I/functions#g; s#/conf/conf.d/dmseal#$I/conf/dmseal#g;
	s#/etc/dmseal/policy.json#$I/policy.json#g; s#/usr/sbin/dmsealctl#$I/bin/dmsealctl#g" \
	"$TOP" >"$I/top.sh"
runtop() { # runtop MODPROBE_RC LOAD_RC [CONF]
	rm -f "$I/calls"
	stub "$I/bin/modprobe" "echo \"modprobe \$*\" >>$I/calls; exit $1"
	stub "$I/bin/dmsealctl" "echo \"dmsealctl \$*\" >>$I/calls; exit $2"
	printf '%s\n' "${3:-}" >"$I/conf/dmseal"
	PATH=$I/bin:$PATH CALLS=$I/calls sh "$I/top.sh" >/dev/null 2>&1
}
check "init-top: modprobe dmseal, dmsealctl policy load, no panic" \
	eval 'runtop 0 0 && grep -qx "modprobe dmseal" "$I/calls" &&
		grep -qx "dmsealctl policy load $I/policy.json" "$I/calls" && ! grep -q ^panic "$I/calls"'
check "init-top: a refused policy panics (default)" \
	eval 'runtop 0 3; grep -q "^panic dmseal: dmsealctl policy load failed" "$I/calls"'
check "init-top: no module panics, no load attempted" \
	eval 'runtop 1 0; grep -q "^panic dmseal: modprobe" "$I/calls" && ! grep -q ^dmsealctl "$I/calls"'
check "init-top: DMSEAL_ON_FAILURE=continue logs the failure and boots on" \
	eval 'runtop 0 3 DMSEAL_ON_FAILURE=continue && grep -q "^failure dmseal:" "$I/calls" &&
		! grep -q ^panic "$I/calls"'
check "init-top: no policy in the initramfs -> does nothing" \
	eval 'mv "$I/policy.json" "$I/p.json"; runtop 0 0; rc=$?; mv "$I/p.json" "$I/policy.json";
		[ $rc -eq 0 ] && [ ! -e "$I/calls" ]'

echo "image: $PASS passed, $FAIL failed"
((FAIL == 0))
