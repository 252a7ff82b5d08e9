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
#  - tests/attrs: text and JSON output of hostile dm names (see attrs.c).

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
trap 'rm -rf "$T"' EXIT

n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
indent() { sed 's/^/#   /' "$@"; }

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
    assert "name" in o
' "$T/lines"
else
	ok "python3 JSON check # SKIP no python3"
fi

echo "1..$n"
echo "dmsealctl: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
