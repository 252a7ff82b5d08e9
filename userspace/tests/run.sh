#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Host tests of dmsealctl (`make -C userspace check`): everything that needs
# neither a kernel nor root. TAP on stdout, then one summary line
#   dmsealctl: N passed, N failed
# and a non-zero exit status if anything failed.
#
#  - the digest of policy-v1.json (the selftests' policy before the policy
#    language grew consumers, tag_sizes and integrity_key_size) is the one it
#    had then;
#  - the new fields parse, print in canonical form and round-trip, and the
#    mistakes are refused naming the JSON path;
#  - the plain binary carries no test hook, the test binary does;
#  - tests/sha256_test: the SHA-256 of the policy digest and the LUKS2
#    header checksum, against FIPS 180-4 and OpenSSL;
#  - tests/attrs: text and JSON output of hostile dm names (see attrs.c);
#  - tests/keysource_test: kbs:/// URIs, the CDH URL and the configuration
#    file, and key fetches from real HTTP servers on loopback (busybox httpd
#    as CDH, busybox nc as a CDH that never answers).

HERE=$(cd "$(dirname "$0")" && pwd)
U=$(dirname "$HERE")
TOP=$(dirname "$U")
CTL=$U/dmsealctl
POLICY=$HERE/policy-v1.json
# The digest policy-v1.json had before the new fields, computed on the
# unchanged tree (and by the dmsealctl of commit 01ccfba, before the core
# gained them): it must never move.
DIGEST_V1=248ee538c005cedf9a2ec06d0ca90920de3e77f7a0da34d044301dc6284b8e57
T=$(mktemp -d)
PIDS=
# the servers the key source tests start, each in its own process group
trap 'for p in $PIDS; do kill -- "-$p" 2>/dev/null; done; rm -rf "$T"' EXIT

n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
indent() { sed 's/^/#   /' "$@"; }

# json_error RC MORE: the last run (exit status $rc, $T/out, $T/err) failed
# with exit RC under --json: nothing on stdout, one versioned JSON error
# object on stderr whose code is RC; MORE is Python asserting more about it
# (o: the object, e: its "error")
json_error() {
	python3 -c '
import json, sys
rc, err, out = int(sys.argv[1]), open(sys.argv[2]).read(), open(sys.argv[3]).read()
lines = err.splitlines()
assert rc == int(sys.argv[4]) and out == "" and len(lines) == 1, (rc, err, out)
o = json.loads(lines[0])
assert o["dmsealctl_json"] == 1, o
e = o["error"]
assert e["code"] == rc, e
exec(sys.argv[5])
' "$rc" "$T/err" "$T/out" "$1" "$2"
}

# refused FILE PATTERN: policy digest FILE exits 1 with PATTERN on stderr
refused() {
	"$CTL" policy digest "$1" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q -- "$2" "$T/err"; then return 0; fi
	echo "# exit $rc, stderr:"; indent "$T/err"
	return 1
}

# --- digests: old policies keep their bytes ------------------------------------
D=$("$CTL" policy digest "$POLICY" 2>"$T/err")
check "policy digest policy-v1.json = $DIGEST_V1 (as before the new fields)" \
	[ "$D" = "$DIGEST_V1" ]
sed 's/"tag_size": 32,/"tag_sizes": [32],/' "$POLICY" >"$T/list.json"
check '"tag_sizes": [32] and "tag_size": 32 are the same policy (same digest)' \
	[ "$("$CTL" policy digest "$T/list.json" 2>&1)" = "$DIGEST_V1" ]
sed 's/"key_size": 96 }/"key_size": 96, "integrity_key_size": 0 }/; s/"other_targets": \["zero"\],/"other_targets": ["zero"], "consumers": [],/' \
	"$POLICY" >"$T/defaults.json"
check 'integrity_key_size 0 and "consumers": [] spelled out: same digest' \
	[ "$("$CTL" policy digest "$T/defaults.json" 2>&1)" = "$DIGEST_V1" ]
"$CTL" policy format "$POLICY" >"$T/fmt.json" 2>"$T/err"
check "policy format: canonical form has tag_sizes, consumers, integrity_key_size; no tag_size" \
	sh -c "grep -q '\"tag_sizes\": \[' '$T/fmt.json' && grep -q '\"consumers\": \[' '$T/fmt.json' &&
		grep -q '\"integrity_key_size\": 0' '$T/fmt.json' && ! grep -q '\"tag_size\"' '$T/fmt.json'"
check "policy format output digests to the same digest" \
	[ "$("$CTL" policy digest "$T/fmt.json" 2>&1)" = "$DIGEST_V1" ]

# --- duplicate keys: an error, wherever, however spelled ------------------------------
# json-c would keep the last; dmsealctl refuses the file and names the key's
# JSON path, where it is and where the first one was. Keys are compared
# decoded: "n\u0061me" is "name".
sed '0,/"version": 1,/s//"version": 1, "version": 1,/' "$POLICY" >"$T/dup-top.json"
check 'duplicate key at the top level: refused, path and line:col of both' \
	refused "$T/dup-top.json" 'dup-top.json:2:17: version: duplicate key (first at 2:3)'
sed '0,/"name": "ephemeral",/s//"name": "ephemeral", "name": "other",/' "$POLICY" >"$T/dup-prof.json"
check 'duplicate key inside a profile: refused as profiles[0].name' \
	refused "$T/dup-prof.json" ':7:28: profiles\[0\].name: duplicate key (first at 7:7)'
sed '0,/"allow_discards": false,/s//"allow_discards": false, "allow_discards": true,/' "$POLICY" >"$T/dup-crypt.json"
check 'duplicate key inside crypt: refused as profiles[0].crypt.allow_discards' \
	refused "$T/dup-crypt.json" 'profiles\[0\].crypt.allow_discards: duplicate key'
sed '0,/"name": "ephemeral",/s//"name": "ephemeral", "n\\u0061me": "ephemeral",/' "$POLICY" >"$T/dup-esc.json"
check 'duplicate key spelled with an escape ("n\u0061me" after "name"): refused' \
	refused "$T/dup-esc.json" 'profiles\[0\].name: duplicate key'
printf '{"\\ud83d\\ude00": 1, "\360\237\230\200": 2, "version": 1}' >"$T/dup-pair.json"
check 'duplicate key, a surrogate pair escape and the same code point in UTF-8: refused' \
	refused "$T/dup-pair.json" 'duplicate key (first at 1:2)'
printf '{"version": 1, "v": {"version": 1, "a": [{"x": 1}, {"x": 1}]}, "s": "version"}' >"$T/nodup.json"
"$CTL" policy digest "$T/nodup.json" >"$T/out" 2>"$T/err"
check 'the same key in other objects, or as a string value, is no duplicate' \
	sh -c "! grep -q 'duplicate' '$T/err'"
"$CTL" --json policy digest "$T/dup-crypt.json" >"$T/out" 2>"$T/err"; rc=$?
check 'duplicate key with --json: exit 1, one JSON error object on stderr naming it' \
	json_error 1 '
assert e["kind"] == "failed", e
assert "profiles[0].crypt.allow_discards: duplicate key" in e["message"], e
'

# --- exit codes and --json errors (no dmseal module on this host) ----------------------
if [ ! -e /sys/module/dmseal ]; then
	"$CTL" status >"$T/out" 2>"$T/err"; rc=$?
	indent "$T/err"
	check 'status without the dmseal module: exit 8, one line naming dmseal and `modprobe dmseal`, nothing about dm_mod' \
		sh -c "[ $rc -eq 8 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'dmseal' '$T/err' &&
			grep -qF 'modprobe dmseal' '$T/err' && ! grep -q 'dm_mod' '$T/err' && [ ! -s '$T/out' ]"
	"$CTL" --json status >"$T/out" 2>"$T/err"; rc=$?
	check 'status --json without the module: exit 8, {"dmsealctl_json":1,"error":{"code":8,"kind":"no-module",...}} on stderr' \
		json_error 8 '
assert list(o) == ["dmsealctl_json", "error"], o
assert e["kind"] == "no-module" and "modprobe dmseal" in e["message"], e
assert e["messages"][0] == e["message"], e
'
fi
"$CTL" status --json --bogus >"$T/out" 2>"$T/err"; rc=$?
check 'a bad option with --json anywhere: exit 2, kind "usage", no usage text, stdout empty' \
	json_error 2 'assert e["kind"] == "usage", e'
"$CTL" pins --bogus >"$T/out" 2>"$T/err"; rc=$?
check 'a bad option without --json: exit 2 and the usage text' \
	sh -c "[ $rc -eq 2 ] && grep -q '^Usage:' '$T/err'"
check '--json --version: {"dmsealctl_json":1,"dmsealctl_version":...}' \
	sh -c "'$CTL' --json --version | grep -qE '^\{\"dmsealctl_json\":1,\"dmsealctl_version\":\"[0-9][0-9A-Za-z.+~-]*\"\}$'"
"$CTL" --json policy check "$POLICY" crypt "aes-cbc-essiv:sha256 :32:logon:x 0 /dev/vda 0" >"$T/out" 2>"$T/err"; rc=$?
check 'policy check --json: exit 3 (denied), schema 1, "accepted": false (a JSON boolean), a reason' \
	sh -c "[ $rc -eq 3 ] && grep -qE '^\{\"dmsealctl_json\":1,\"accepted\":false,\"reason\":\"[^\"]+\",' '$T/out'"
"$CTL" --json policy digest "$POLICY" >"$T/out"
check 'policy digest --json: {"dmsealctl_json":1,"digest":...}' \
	grep -qE "^\{\"dmsealctl_json\":1,\"digest\":\"$DIGEST_V1\"\}$" "$T/out"

# --- the new fields -------------------------------------------------------------------
sed 's/"other_targets": \["zero"\],/"other_targets": ["zero"], "consumers": ["linear", "cache"],/;
	0,/"tag_size": 32,/s//"tag_sizes": [64, 16, 32],/;
	0,/"key_size": 96 }/s//"key_size": 96, "integrity_key_size": 32 }/' "$POLICY" >"$T/new.json"
D2=$("$CTL" policy digest "$T/new.json" 2>"$T/err")
check "a policy with consumers, three tag sizes and an integrity_key_size is valid" \
	sh -c "echo '$D2' | grep -qE '^[0-9a-f]{64}$' && [ '$D2' != '$DIGEST_V1' ]"
"$CTL" policy format "$T/new.json" >"$T/new.fmt" 2>/dev/null
tr -d ' \n' <"$T/new.fmt" >"$T/new.flat"
check "format: consumers sorted, tag_sizes ascending, integrity_key_size kept" \
	sh -c "grep -q '\"consumers\":\[\"cache\",\"linear\"\]' '$T/new.flat' &&
		grep -q '\"tag_sizes\":\[16,32,64\]' '$T/new.flat' &&
		grep -q '\"integrity_key_size\":32' '$T/new.flat'"
check "format output round-trips to the same digest" \
	[ "$("$CTL" policy digest "$T/new.fmt" 2>&1)" = "$D2" ]

# --- mistakes, each named by its JSON path ------------------------------------------
sed '0,/"tag_size": 32,/s//"tag_size": 32, "tag_sizes": [32],/' "$POLICY" >"$T/b1.json"
check "tag_size and tag_sizes both: refused, naming profiles[0].integrity" \
	refused "$T/b1.json" 'profiles\[0\].integrity: give tag_sizes or tag_size, not both'
sed '0,/"tag_size": 32,/s///' "$POLICY" >"$T/b2.json"
check "neither tag_size nor tag_sizes: refused, naming profiles[0].integrity" \
	refused "$T/b2.json" 'profiles\[0\].integrity: tag_sizes: missing'
sed '0,/"tag_size": 32,/s//"tag_sizes": [],/' "$POLICY" >"$T/b3.json"
check "tag_sizes empty: refused" refused "$T/b3.json" 'tag_sizes: at least one'
sed '0,/"tag_size": 32,/s//"tag_sizes": [32, 1025],/' "$POLICY" >"$T/b4.json"
check "tag size 1025: refused at tag_sizes[1]" \
	refused "$T/b4.json" 'profiles\[0\].integrity.tag_sizes\[1\]: 1025 is out of range 1..1024'
sed '0,/"tag_size": 32,/s//"tag_sizes": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],/' "$POLICY" >"$T/b5.json"
check "17 tag sizes: refused (DMS_MAX_TAG_SIZES is 16)" \
	refused "$T/b5.json" 'tag_sizes: at most 16 entries'
sed '0,/"key_size": 96 }/s//"key_size": 96, "integrity_key_size": 96 }/' "$POLICY" >"$T/b6.json"
check "integrity_key_size not below key_size: refused at its path" \
	refused "$T/b6.json" 'ciphers\[0\].integrity_key_size: 96 must be smaller than key_size'
sed 's/"other_targets": \["zero"\],/"other_targets": ["zero"], "consumers": ["crypt"],/' "$POLICY" >"$T/b7.json"
check "consumers: crypt refused" refused "$T/b7.json" 'consumer 0 is crypt or integrity'
sed 's/"other_targets": \["zero"\],/"other_targets": ["zero"], "consumers": ["linear", "linear"],/' "$POLICY" >"$T/b8.json"
check "consumers: duplicate refused at consumers[1]" \
	refused "$T/b8.json" 'consumers\[1\]: "linear" is listed twice'
c=0 list=
while [ $c -lt 33 ]; do list="$list\"t$c\","; c=$((c + 1)); done
sed "s/\"other_targets\": \[\"zero\"\],/\"other_targets\": [\"zero\"], \"consumers\": [${list%,}],/" "$POLICY" >"$T/b9.json"
check "33 consumers: refused (DMS_MAX_CONSUMERS is 32)" \
	refused "$T/b9.json" 'consumers: at most 32 entries'
pfx=cryptsetup:
while [ ${#pfx} -lt 256 ]; do pfx="${pfx}a"; done
sed "0,/\"cryptsetup:\"/s//\"$pfx\"/" "$POLICY" >"$T/b10.json"
check "key_description_prefix of 256 characters: refused (255 is the limit)" \
	refused "$T/b10.json" 'key_description_prefix: string longer than 255'

# --- the installed binary has no test hook ------------------------------------------
check "the plain dmsealctl does not contain DMSEALCTL_TEST_FAIL_STEP" \
	sh -c "! grep -aq DMSEALCTL_TEST_FAIL_STEP '$CTL'"
check "... and dmsealctl-test does (so the check above can fail)" \
	grep -aq DMSEALCTL_TEST_FAIL_STEP "$U/dmsealctl-test"

# --- sha256.c: FIPS 180-4's examples, and OpenSSL's digest of every length -
"$U/tests/sha256_test" >"$T/sha" 2>&1
while read -r line; do
	case $line in
	"ok "*) ok "sha256: ${line#ok * - }" ;;
	"not ok "*) nok "sha256: ${line#not ok * - }" ;;
	esac
done <"$T/sha"
grep -q '^1\.\.[1-9]' "$T/sha" || nok "sha256_test ran to the end"

# --- output of hostile names: text and JSON ---------------------------------------
"$U/tests/attrs" >"$T/attrs" 2>&1
while read -r line; do
	case $line in
	"ok "*) ok "attrs: ${line#ok * - }" ;;
	"not ok "*) nok "attrs: ${line#not ok * - }" ;;
	esac
done <"$T/attrs"
grep -q '^1\.\.[1-9]' "$T/attrs" || nok "attrs ran to the end"
if command -v python3 >/dev/null 2>&1; then
	"$U/tests/attrs" json-lines >"$T/lines"
	check "python3 parses every monitor --json line of a hostile name (strict UTF-8)" \
		python3 -c '
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
assert len(lines) > 5
for l in lines:
    o = json.loads(l.decode("utf-8"))
    assert "dev_name" in o and o["dmsealctl_json"] == 1
' "$T/lines"
else
	ok "python3 JSON check # SKIP no python3"
fi

# --- the key source (keysource.c) ----------------------------------------------------
KS=$U/tests/keysource_test
# relay NAME FILE: a TAP program's verdicts as ours
relay() {
	while read -r line; do
		case $line in
		"ok "*) ok "$1: ${line#ok * - }" ;;
		"not ok "*) nok "$1: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$2"
	grep -q '^1\.\.[1-9]' "$2" || nok "$1 ran to the end"
}
"$KS" uri >"$T/uri" 2>&1
relay "kbs URI" "$T/uri"
"$KS" url >"$T/url" 2>&1
relay "CDH URL" "$T/url"

# out_is WANT CMD...: CMD prints exactly WANT (stdout and stderr)
out_is() {
	want=$1; shift
	got=$("$@" 2>&1)
	[ "$got" = "$want" ] && return 0
	echo "# want: $want"; echo "# got:  $got"
	return 1
}
printf '# CDH on another loopback port\ncdh_url = http://127.0.0.1:9006/cdh/resource\n\n  timeout_ms=2500\nretries = 0\n\tbackoff_ms = 50\n' >"$T/good.conf"
check "config: comments, blank lines, spaces and tabs around '='" \
	out_is "cdh_url=http://127.0.0.1:9006/cdh/resource timeout_ms=2500 retries=0 backoff_ms=50 max_body=65536" \
	"$KS" config "$T/good.conf"
printf 'retries = 1\n# typo below\ncdh_uri = http://127.0.0.1:8006/cdh/resource\n' >"$T/unknown.conf"
check "config: an unknown key is refused with its line" \
	out_is "error: $T/unknown.conf:3: unknown key 'cdh_uri' (known: cdh_url, timeout_ms, retries, backoff_ms)" \
	"$KS" config "$T/unknown.conf"
printf 'retries = 1\ntimeout_ms = 10s\n' >"$T/badnum.conf"
check "config: a bad number is refused with its line" \
	out_is "error: $T/badnum.conf:2: timeout_ms: '10s' is not a number in 1..600000" \
	"$KS" config "$T/badnum.conf"
printf 'timeout_ms = 0\n' >"$T/zero.conf"
check "config: timeout_ms 0 (no timeout to libcurl) is refused" \
	out_is "error: $T/zero.conf:1: timeout_ms: '0' is not a number in 1..600000" \
	"$KS" config "$T/zero.conf"
printf 'retries = -1\n' >"$T/neg.conf"
check "config: a negative number is refused" \
	out_is "error: $T/neg.conf:1: retries: '-1' is not a number in 0..20" "$KS" config "$T/neg.conf"
printf 'cdh_url = http://10.0.0.1:8006/cdh/resource\n' >"$T/far.conf"
check "config: a cdh_url off loopback is refused with its line" \
	sh -c "'$KS' config '$T/far.conf' | grep -qF \"error: $T/far.conf:1: cdh_url: host '10.0.0.1' is not loopback\""
printf 'retries = 1\nretries = 2\n' >"$T/twice.conf"
check "config: a key given twice is refused" \
	out_is "error: $T/twice.conf:2: retries is given twice" "$KS" config "$T/twice.conf"
printf 'retries\n' >"$T/noeq.conf"
check "config: a line without '=' is refused" \
	out_is "error: $T/noeq.conf:1: expected 'key = value'" "$KS" config "$T/noeq.conf"
check "config: a missing file given explicitly is an error" \
	out_is "error: cannot open $T/nope.conf: No such file or directory" "$KS" config "$T/nope.conf"
if [ -e /etc/dmseal/dmsealctl.conf ]; then
	ok "config: a missing default file means the defaults # SKIP /etc/dmseal/dmsealctl.conf exists"
else
	check "config: a missing default file means the defaults" \
		out_is "cdh_url=http://127.0.0.1:8006/cdh/resource timeout_ms=10000 retries=3 backoff_ms=200 max_body=65536" \
		"$KS" config -
fi

# fetch ARGS...: one fetch; sets R (result), W (why), MS (elapsed), RSS, SHA
fetch() {
	"$KS" fetch "$@" >"$T/f.out" 2>&1
	cat "$T/f.out" >>"$T/fetches.out"
	R=$(sed -n 's/^result=\([^ ]*\).*/\1/p' "$T/f.out")
	MS=$(sed -n 's/.* elapsed_ms=\([0-9]*\).*/\1/p' "$T/f.out")
	RSS=$(sed -n 's/.* rss_growth_kb=\([0-9-]*\).*/\1/p' "$T/f.out")
	SHA=$(sed -n 's/.* sha256=\([0-9a-f-]*\).*/\1/p' "$T/f.out")
	W=$(sed -n 's/^why=//p' "$T/f.out")
}
# expect NAME: the verdict is the status of the test just before
expect() {
	if [ "$?" -eq 0 ]; then ok "$1"; else nok "$1"; indent "$T/f.out"; fi
}
has() { case $W in *"$1"*) return 0 ;; esac; return 1; }
# start CMD...: a server in its own process group, stopped on exit
start() {
	setsid "$@" >>"$T/servers.log" 2>&1 &
	PIDS="$PIDS $!"
}

if ! command -v busybox >/dev/null 2>&1 || ! command -v setsid >/dev/null 2>&1; then
	ok "key source fetches # SKIP no busybox or setsid (scripts/deps.sh)"
else
	D=$T/docroot/cdh/resource/default/key
	mkdir -p "$D" "$T/deny/cdh/resource/default/key" "$T/cgi/cgi-bin"
	# the keys are random and never printed: only their SHA-256 is compared
	head -c 96 /dev/urandom >"$D/vol1"
	head -c 16 /dev/urandom >"$D/short"
	head -c 10485760 /dev/zero >"$D/big"
	cp "$D/vol1" "$T/deny/cdh/resource/default/key/vol1"
	SHA_VOL1=$(sha256sum <"$D/vol1" | cut -d' ' -f1)
	od -An -v -tx1 "$D/vol1" | tr -d ' \n' >"$T/vol1.hex"
	echo 'D:*' >"$T/deny.conf"
	# CGI "CDH"s that count the requests they get: a 503 and a 404
	for st in "503 Service Unavailable" "404 Not Found"; do
		cat >"$T/cgi/cgi-bin/s${st%% *}" <<-EOF
		#!/bin/sh
		echo "\$PATH_INFO" >>"$T/hits.${st%% *}"
		printf 'HTTP/1.1 $st\r\nContent-Type: text/plain\r\n\r\nno\n'
		EOF
		chmod +x "$T/cgi/cgi-bin/s${st%% *}"
	done
	P_OK=$("$KS" free-port)
	start busybox httpd -f -p "127.0.0.1:$P_OK" -h "$T/docroot"
	P_DENY=$("$KS" free-port)
	start busybox httpd -f -p "127.0.0.1:$P_DENY" -h "$T/deny" -c "$T/deny.conf"
	P_CGI=$("$KS" free-port)
	start busybox httpd -f -p "127.0.0.1:$P_CGI" -h "$T/cgi"
	# accepts every connection, never answers (busybox nc binds all addresses)
	P_MUTE=$("$KS" free-port)
	start busybox nc -ll -p "$P_MUTE" -e sleep 20
	P_CLOSED=$("$KS" free-port)
	up=0
	for p in "$P_OK" "$P_DENY" "$P_CGI" "$P_MUTE"; do
		"$KS" wait-port "$p" && up=$((up + 1))
	done
	check "four servers listen (busybox httpd x3, busybox nc)" [ "$up" -eq 4 ]
	B=http://127.0.0.1:$P_OK/cdh/resource

	fetch -u "$B" kbs:///default/key/vol1 96
	[ "$R" = ok ] && [ "$SHA" = "$SHA_VOL1" ]
	expect "fetch: the key, exactly its 96 bytes (SHA-256 matches)"
	http_proxy=http://10.9.9.9:1 HTTP_PROXY=http://10.9.9.9:1 all_proxy=http://10.9.9.9:1 \
		ALL_PROXY=http://10.9.9.9:1 no_proxy='' fetch -u "$B" kbs:///default/key/vol1 96
	[ "$R" = ok ] && [ "$SHA" = "$SHA_VOL1" ]
	expect "fetch: http_proxy/all_proxy in the environment change nothing"
	fetch -u "http://localhost:$P_OK/cdh/resource/" kbs:///default/key/vol1 96
	[ "$R" = ok ] && [ "$SHA" = "$SHA_VOL1" ]
	expect "fetch: localhost and a base URL ending in '/'"
	fetch -u "$B" kbs:///default/key/nothing 96
	[ "$R" = not-found ] && has "resource kbs:///default/key/nothing not found (HTTP 404)" && has "(1 attempt "
	expect "fetch: 404 is not-found, one attempt"
	fetch -u "http://127.0.0.1:$P_CGI/cgi-bin/s404" -r 3 -b 10 kbs:///default/key/vol1 96
	[ "$R" = not-found ] && [ "$(wc -l <"$T/hits.404")" -eq 1 ]
	expect "fetch: a 404 is never retried (the server saw 1 request with retries=3)"
	fetch -u "http://127.0.0.1:$P_DENY/cdh/resource" -r 3 kbs:///default/key/vol1 96
	[ "$R" = forbidden ] && has "refused by CDH/KBS (HTTP 403): attestation or the KBS resource policy denies it" &&
		has "(1 attempt "
	expect "fetch: busybox httpd D:* answers 403: forbidden, not retried"
	fetch -u "$B" kbs:///default/key/short 96
	[ "$R" = wrong-length ] && has "resource kbs:///default/key/short is 16 bytes; the profile's volume key is 96 bytes"
	expect "fetch: a 16-byte resource for a 96-byte key is wrong-length"
	fetch -u "$B" kbs:///default/key/vol1 64
	[ "$R" = wrong-length ] && has "is 96 bytes; the profile's volume key is 64 bytes"
	expect "fetch: a 96-byte resource for a 64-byte key is wrong-length"
	fetch -u "$B" kbs:///default/key/big 96
	got=$(printf '%s\n' "$W" | sed -n 's/.*transfer stopped after \([0-9]*\) bytes.*/\1/p')
	[ "$R" = too-big ] && has "larger than the 65536-byte limit (max_body)" &&
		[ "${got:-99999999}" -lt 1048576 ] && [ "$RSS" -lt 4096 ]
	expect "fetch: 10 MiB body: too-big, stopped after ${got:-?} bytes, peak RSS +${RSS:-?} KiB"
	fetch -u "http://127.0.0.1:$P_OK/cdh" kbs:///resource/default/key 96
	[ "$R" = http-error ] && has "HTTP 302, a redirect (not followed)"
	expect "fetch: busybox's 302 for a directory is not followed"
	fetch -u "http://127.0.0.1:$P_CGI/cgi-bin/s503" -r 2 -b 50 kbs:///default/key/vol1 96
	[ "$R" = http-error ] && has "HTTP 503" && has "(3 attempts " && [ "$(wc -l <"$T/hits.503")" -eq 3 ]
	expect "fetch: 503 is retried: 3 attempts with retries=2, 3 requests seen"
	fetch -u "http://127.0.0.1:$P_CLOSED/cdh/resource" -r 2 -b 200 kbs:///default/key/vol1 96
	[ "$R" = unreachable ] && has "no CDH at http://127.0.0.1:$P_CLOSED (connection refused)" &&
		has "(3 attempts " && [ "$MS" -ge 600 ] && [ "$MS" -lt 3000 ]
	expect "fetch: closed port: unreachable after 3 attempts, ${MS:-?} ms (backoff 200+400)"
	fetch -u "http://127.0.0.1:$P_MUTE/cdh/resource" -t 500 -r 0 kbs:///default/key/vol1 96
	[ "$R" = timeout ] && has "within 500 ms" && [ "$MS" -ge 450 ] && [ "$MS" -lt 2000 ]
	expect "fetch: a server that never answers: timeout after ${MS:-?} ms (timeout_ms 500)"
	fetch -u "http://127.0.0.1:$P_MUTE/cdh/resource" -t 300 -r 1 -b 100 kbs:///default/key/vol1 96
	[ "$R" = timeout ] && has "(2 attempts " && [ "$MS" -ge 650 ]
	expect "fetch: a timeout is retried (2 attempts, ${MS:-?} ms)"
	fetch -u "$B" kbs://evil.example/default/key/vol1 96
	[ "$R" = bad-uri ] && has "authority 'evil.example' must be empty"
	expect "fetch: a URI with an authority is refused before any request"
	fetch -u "http://10.0.0.1:8006/cdh/resource" kbs:///default/key/vol1 96
	[ "$R" = config ] && has "host '10.0.0.1' is not loopback"
	expect "fetch: a CDH URL off loopback is refused before any request"
	check "no key byte in any output (the key's hex is nowhere)" \
		sh -c "! grep -qif '$T/vol1.hex' '$T/fetches.out'"
fi

# --- policy check: dmsetup table lines, every profile's verdict and rule -------
# The table strings of ../shared/DESIGN.md (what cryptsetup 2.6.1 loads for
# `luksFormat --type luks2 --integrity hmac-sha256` + open, and a hand-made
# plain table), and what `dmsetup table` printed for that stack in the guest.
SP=$TOP/selftests/data/policy.json
EXD=$TOP/Documentation/dmseal/examples
UUID=5cf664e9-2f15-4d3b-a153-d9ef5bff8f42
L2_INT="/dev/vda 32768 32 J 3 block_size:512 fix_padding fix_hmac"
L2_CRYPT="capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:cryptsetup:$UUID-d0 0 /dev/mapper/c1_dif 0 1 integrity:32:aead"
HEX=$(printf '%0128d' 0 | tr 0 7)
PLAIN="aes-xts-plain64 $HEX 0 /dev/vda 0"
{
	echo "# dmsetup table, as it prints every device"
	echo "c1: 0 91184 crypt capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:cryptsetup:$UUID-d0 0 253:0 0 1 integrity:32:aead"
	echo "c1_dif: 0 91184 integrity 254:0 32768 32 J 6 journal_sectors:968 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding"
	echo ""
	echo "p: 0 8 crypt $PLAIN"
	echo "z: 0 8 zero"
} >"$T/table"
# pchk OUT ARGS...: policy check into $T/OUT, its exit status in $T/OUT.rc
pchk() { o=$1; shift; "$CTL" "$@" >"$T/$o" 2>"$T/$o.err"; echo $? >"$T/$o.rc"; }
rc_is() { [ "$(cat "$T/$1.rc")" = "$2" ] || { echo "# exit $(cat "$T/$1.rc"), not $2:"; indent "$T/$1" "$T/$1.err"; return 1; }; }

pchk c1 policy check "$SP" "0 91184 crypt $L2_CRYPT"
check "policy check: a whole table line (DESIGN.md's LUKS2 crypt) under the selftests' policy: denied, exit 3" \
	rc_is c1 3
check "policy check: every profile's verdict with its rule (sector size, cipher, key description)" \
	eval "grep -qx '  policy: denied: profile .ephemeral.: sector size 512 not allowed' '$T/c1' &&
		grep -qx '  profile ephemeral: denied: sector size 512 not allowed' '$T/c1' &&
		grep -qx '  profile hexkey: denied: cipher .capi:authenc(hmac(sha256),xts(aes))-plain64. with 96-byte key not allowed' '$T/c1' &&
		grep -qx '  profile persistent: denied: sector size 512 not allowed' '$T/c1' &&
		grep -qx \"  profile plain: denied: key description must start with 'dmseal-test:'\" '$T/c1' &&
		[ \$(grep -c '^  profile ' '$T/c1') -eq 4 ]"
pchk i1 policy check "$SP" "0 91184 integrity $L2_INT"
check "policy check: DESIGN.md's integrity line: accepted by ephemeral, hexkey, plain; persistent names block size 512" \
	eval "rc_is i1 0 && grep -qx '  policy: accepted by profile ephemeral' '$T/i1' &&
		grep -qx '  profile hexkey: accepted' '$T/i1' && grep -qx '  profile plain: accepted' '$T/i1' &&
		grep -qx '  profile persistent: denied: block size 512 not allowed' '$T/i1'"
pchk t1 policy check --table "$T/table" "$EXD/luks2-hmac.json"
check "policy check --table FILE (luks2-hmac example): the cryptsetup stack accepted, plain and zero denied, exit 3" \
	eval "rc_is t1 3 && grep -qx 'target 1: c1: 0 91184 crypt' '$T/t1' &&
		grep -qx 'target 2: c1_dif: 0 91184 integrity' '$T/t1' &&
		[ \$(grep -c '^  policy: accepted by profile luks2-hmac' '$T/t1') -eq 2 ] &&
		grep -qx \"  profile luks2-hmac: denied: cipher 'aes-xts-plain64' with 64-byte key not allowed\" '$T/t1' &&
		grep -q '^  policy: denied: not in other_targets nor consumers' '$T/t1' &&
		grep -qx '4 targets: 2 accepted, 2 denied' '$T/t1'"
check "policy check: the hex key is never printed" eval "! grep -q '$HEX' '$T/t1' '$T/t1.err'"
head -n 3 "$T/table" | "$CTL" policy check --table - "$EXD/luks2-hmac.json" >"$T/t2" 2>&1
check "policy check --table - (stdin): the LUKS2 stack alone is accepted, exit 0" \
	eval "[ $? -eq 0 ] && grep -qx '2 targets: 2 accepted, 0 denied' '$T/t2'"
pchk t3 policy check --table "$T/table" "$SP"
check "policy check: other_targets (zero) accepted; hexkey accepts the plain table" \
	eval "grep -q '^  policy: accepted: listed in other_targets' '$T/t3' &&
		sed -n '/^target 3: p:/,/^target 4/p' '$T/t3' | grep -qx '  policy: accepted by profile hexkey'"
pchk j1 --json policy check --table "$T/table" "$SP"
if command -v python3 >/dev/null 2>&1; then
	check "policy check --json: a target per line, each with every profile's verdict and reason" \
		python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
t = o["targets"]
assert o["accepted"] is False and len(t) == 4, o
assert [x["target_type"] for x in t] == ["crypt", "integrity", "crypt", "zero"]
assert t[0]["dev_name"] == "c1" and t[0]["target_start"] == "0" and t[0]["target_len"] == "91184"
assert [p["name"] for p in t[0]["profiles"]] == ["ephemeral", "hexkey", "persistent", "plain"]
assert all("reason" in p for p in t[0]["profiles"] if not p["accepted"])
assert t[2]["profile"] == "hexkey" and t[3]["accepted"] is True and "rule" in t[3]
' "$T/j1"
fi
pchk o1 policy check "$SP" crypt "$PLAIN"
check "policy check FILE crypt PARAMS (the old form) still works: accepted by hexkey" \
	eval "rc_is o1 0 && grep -qx '  policy: accepted by profile hexkey' '$T/o1'"
pchk b1 policy check "$SP" "zero 0 8"
pchk b2 policy check --table "$T/none" "$SP"
printf 'c1: 0 8\n' >"$T/short"
pchk b3 policy check --table "$T/short" "$SP"
check "policy check: not a table line, a short line: exit 2; a missing table file: exit 1; nothing judged" \
	eval "rc_is b1 2 && rc_is b2 1 && rc_is b3 2 && grep -q 'not a table line' '$T/b1.err' && [ ! -s '$T/b3' ]"

# --- the readahead guard: mkfs + guard leave no unwritten block in reach ---
# (tests/ext4guard_test.c: a poisoned image, the host's mkfs.ext4 with
# dmsealctl's arguments, then safe = nothing with content zeroed, complete =
# nothing unwritten within 256 KiB after what mkfs wrote; e2fsck after)
G=$U/tests/ext4guard_test
if command -v mkfs.ext4 >/dev/null 2>&1 || [ -x /sbin/mkfs.ext4 ]; then
	# 2200 MiB at one inode per 4 KiB: the inode tables of a flex group
	# run on into the next group
	for cfg in "268435456 scratch 163840" "268435456 scratch 16384" \
		"1073741824 scratch 65536" "2306867200 scratch 163840" \
		"2306867200 scratch 4096" "1073741824 full 0" "2306867200 full 0"; do
		# shellcheck disable=SC2086 # the words of cfg are the arguments
		set -- $cfg
		"$G" "$T/g.img" "$@" >"$T/g.out" 2>&1; rc=$?
		PATH=$PATH:/sbin:/usr/sbin e2fsck -fn "$T/g.img" >>"$T/g.out" 2>&1; frc=$?
		if [ $rc -eq 0 ] && [ $frc -eq 0 ]; then
			ok "readahead guard, $2 layout, $(($1 >> 20)) MiB, inode ratio $3: $(head -n 1 "$T/g.out")"
		else
			indent "$T/g.out"
			nok "readahead guard, $2 layout, $(($1 >> 20)) MiB, inode ratio $3 (exit $rc, e2fsck $frc)"
		fi
		rm -f "$T/g.img"
	done
	# a 1 TiB sparse image, 8192 groups: the walk indexes each group's
	# metadata once (it was a pass over all groups per group)
	if "$G" "$T/g.img" 1099511627776 scratch 67108864 sparse >"$T/g.out" 2>&1; then
		ok "readahead guard, scratch layout, 1 TiB sparse image: $(head -n 1 "$T/g.out")"
	else
		indent "$T/g.out"
		nok "readahead guard, scratch layout, 1 TiB sparse image"
	fi
	rm -f "$T/g.img"
else
	ok "readahead guard # SKIP no mkfs.ext4 on this host"
fi

# --- luks2check: the one header shape a persistent volume may have ---------
# a header as `persistent --init` writes it (without integrity: formatting
# dm-integrity needs a kernel), edited the way a hostile host would with the
# guest's own tool (selftests/luks2_edit), checked by luks2check.c
L2=$U/tests/luks2check_test
if cc -O2 -o "$T/luks2_edit" "$TOP/selftests/luks2_edit.c" -lcrypto 2>"$T/cc.err" &&
	"$L2" make "$T/h0" 2>/dev/null; then
	l2() { # l2 NAME OLD NEW PATTERN [INTEGRITY SECTOR]: edited, then refused
		cp "$T/h0" "$T/h1"
		if [ -n "$2" ] && ! "$T/luks2_edit" "$T/h1" "$2" "$3" >"$T/l2.err" 2>&1; then
			indent "$T/l2.err"
			nok "$1"
			return
		fi
		"$L2" check "$T/h1" "${5:-}" "${6:-4096}" >"$T/l2.out"
		if grep -q -- "$4" "$T/l2.out"; then ok "$1"; else indent "$T/l2.out"; nok "$1"; fi
	}
	l2 "luks2check: the header --init writes passes (36864 bytes of metadata)" "" "" "^ok .* 36864$"
	l2 "luks2check: the profile wants integrity, the header has none" "" "" \
		"segment has no integrity; the profile requires hmac(sha256)" "hmac(sha256)"
	l2 "luks2check: another sector size than the profile's" "" "" \
		"segment sector size is 4096; the profile gives 512" "" 512
	l2 "luks2check: segment cipher edited to cipher_null-ecb" '"aes-xts-plain64"' '"cipher_null-ecb"' \
		'segment cipher is "cipher_null-ecb"'
	l2 "luks2check: a keyslot added" '"keyslots":{}' '"keyslots":{"0":{}}' "the header has keyslots"
	l2 "luks2check: a token added" '"tokens":{}' '"tokens":{"0":{}}' "the header has tokens"
	l2 "luks2check: digest iterations raised" '"iterations":1000' '"iterations":4000000000' \
		"4000000000 PBKDF2 iterations"
	l2 "luks2check: data moved to offset 0" '"offset":"1048576"' '"offset":"0"' \
		"segment 0 starts at 0"
	l2 "luks2check: an unknown segment field" '"iv_tweak":"0"' '"iv_tweak":"0","flags":["x"]' \
		'has "flags", which dmsealctl never writes'
	l2 "luks2check: config requirements" '"keyslots_size":"4096"' \
		'"keyslots_size":"4096","requirements":{"mandatory":["online-reencrypt"]}' \
		'config has "requirements"'
	l2 "luks2check: a second digest" '"digests":{' \
		'"digests":{"1":{"type":"pbkdf2","keyslots":[],"segments":["0"],"hash":"sha256","iterations":1000,"salt":"","digest":""},' \
		"exactly one digest"
	cp "$T/h0" "$T/h1"
	printf 'X' | dd of="$T/h1" bs=1 seek=5000 conv=notrunc 2>/dev/null
	"$L2" check "$T/h1" "" 4096 >"$T/l2.out"
	check "luks2check: one JSON byte changed, checksum not fixed: refused" \
		grep -q "primary header: checksum mismatch" "$T/l2.out"
	cp "$T/h0" "$T/h1"
	dd if="$T/h1" of="$T/p" bs=16384 count=1 2>/dev/null
	"$T/luks2_edit" "$T/h1" '"iterations":1000' '"iterations":1001' >/dev/null 2>&1
	dd if="$T/p" of="$T/h1" bs=16384 count=1 conv=notrunc 2>/dev/null
	"$L2" check "$T/h1" "" 4096 >"$T/l2.out"
	check "luks2check: the secondary copy edited (its checksum fixed): the copies differ" \
		grep -q "the two header copies differ" "$T/l2.out"
	head -c 1048576 /dev/zero >"$T/h1"
	"$L2" check "$T/h1" "" 4096 >"$T/l2.out"
	check "luks2check: zeros: refused (bad magic)" grep -q "primary LUKS2 header: bad magic" "$T/l2.out"
else
	indent "$T/cc.err"
	nok "luks2check: cannot build luks2_edit or make a LUKS2 header on this host"
fi

echo "1..$n"
echo "dmsealctl: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
