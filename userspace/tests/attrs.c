// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host test of dmsealctl's output of netlink attributes: no kernel needed,
 * the messages are built here with libnl as the kernel would send them.
 *
 *   attrs            run the checks, TAP on stdout
 *   attrs json-lines print `monitor --json` lines for hostile names (for an
 *                    outside JSON parser: tests/run.sh feeds them to python3)
 *
 * What is checked, for dm names chosen to forge output (spaces and
 * "reason=allowed", newlines, backslashes, quotes, control bytes, bytes that
 * are not UTF-8): a text event is one line with exactly the expected fields,
 * the name field unescapes to the exact name; the JSON event parses (strict,
 * UTF-8 validated) and gives the exact name back, or for a name that is not
 * UTF-8 a valid replacement plus the exact bytes in dev_name_hex.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "../dmsealctl.h"
#include "tap.h"

bool opt_json;
bool opt_verbose;
bool opt_debug;
const char *prog = "attrs";

struct msg {
	struct nl_msg *m;
	struct nlattr *tb[DMSEAL_A_MAX + 1];
};

/* A deny event as the kernel sends it, with @name as the device's name. */
static void deny_event(struct msg *x, const char *name, size_t len)
{
	struct nlmsghdr *h;
	char *nm = malloc(len + 1);

	memcpy(nm, name, len);
	nm[len] = '\0';
	x->m = nlmsg_alloc();
	h = nlmsg_put(x->m, 0, 0, 0x20, 0, 0);
	nla_put_u32(x->m, DMSEAL_A_DEV_MAJOR, 253);
	nla_put_u32(x->m, DMSEAL_A_DEV_MINOR, 7);
	nla_put_string(x->m, DMSEAL_A_DEV_NAME, nm);
	nla_put_string(x->m, DMSEAL_A_DEV_UUID, "");
	nla_put_string(x->m, DMSEAL_A_TARGET_TYPE, "crypt");
	nla_put_u64(x->m, DMSEAL_A_TARGET_START, 0);
	nla_put_u64(x->m, DMSEAL_A_TARGET_LEN, 8);
	nla_put_string(x->m, DMSEAL_A_REASON, "profile 'p': cipher_null is never allowed");
	nla_put_string(x->m, DMSEAL_A_OPENS, "254:32 254:48");
	nla_parse(x->tb, DMSEAL_A_MAX, nlmsg_attrdata(h, 0), nlmsg_attrlen(h, 0), NULL);
	free(nm);
}

static void msg_free(struct msg *x)
{
	nlmsg_free(x->m);
}

/* What print_event() writes, captured. */
static char *capture_event(struct msg *x, uint8_t cmd, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	int saved = dup(1);
	FILE *f = tmpfile();

	fflush(stdout);
	dup2(fileno(f), 1);
	opt_json = json;
	print_event(x->tb, cmd, NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	opt_json = false;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, len + 1);
	if (fread(buf, 1, len, f) != len)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Undo dms_escape()'s \xHH; returns the length. */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (s[i] == '\\' && i + 3 < n + 0 && s[i + 1] == 'x' &&
		    unhex(s[i + 2]) >= 0 && unhex(s[i + 3]) >= 0) {
			out[o++] = (char)(unhex(s[i + 2]) << 4 | unhex(s[i + 3]));
			i += 4;
		} else {
			out[o++] = s[i++];
		}
	}
	return o;
}

/*
 * Split a text event line into its fields: "EVENT k=v k=\"v v\" ...". A
 * quoted value runs to the next '"' (quotes inside are escaped). Returns
 * the number of fields, keys in keys[], the raw name value in *name.
 */
static int fields(const char *line, char keys[][32], int max, const char **name,
		  size_t *name_len)
{
	const char *p = strchr(line, ' ');
	int n = 0;

	while (p && *p == ' ' && n < max) {
		const char *k = p + 1, *eq = strchr(k, '='), *v, *e;

		if (!eq)
			return -1;
		snprintf(keys[n], 32, "%.*s", (int)(eq - k), k);
		v = eq + 1;
		if (*v == '"') {
			e = strchr(v + 1, '"');
			if (!e)
				return -1;
			e++;
		} else {
			e = v + strcspn(v, " ");
		}
		if (!strcmp(keys[n], "name")) {
			*name = v;
			*name_len = e - v;
		}
		n++;
		p = e;
	}
	return n;
}

static bool clean_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* a string literal and its length, NUL bytes and all */
#define N(s)	s, sizeof(s) - 1

static const struct {
	const char *what;
	const char *name;
	size_t len;
} names[] = {
	{ "plain name", N("dmst-plain") },
	{ "space and a forged field", N("x reason=allowed") },
	{ "newline and a forged line", N("x\npin name=forged reason=allowed") },
	{ "backslash", N("back\\slash\\x41") },
	{ "double quote", N("q\" reason=\"allowed") },
	{ "tab, CR, ESC, DEL", N("a\tb\rc\x1b[31md\x7f") },
	{ "valid UTF-8", N("caf\xc3\xa9-\xe2\x82\xac") },
	{ "not UTF-8 (0xff 0xfe)", N("dmst-\xff\xfe") },
	{ "truncated UTF-8 sequence", N("ab\xe2\x82") },
	{ "overlong and surrogate UTF-8", N("\xc0\xaf\xed\xa0\x80") },
	{ "empty", N("") },
};

static const char *const deny_keys[] = {
	"major", "minor", "name", "uuid", "target", "start", "length", "reason", "opens",
};

static void check_text(size_t i)
{
	struct msg x;
	char *out, keys[16][32], back[512];
	const char *nv = NULL;
	size_t nlen = 0, blen, k;
	int nf;
	bool ok;

	deny_event(&x, names[i].name, names[i].len);
	out = capture_event(&x, DMSEAL_CMD_EVENT_DENY, false);
	ok = strlen(out) > 0 && out[strlen(out) - 1] == '\n' &&
	     !strchr(out, '\n')[1];
	result(ok, "text: %s: exactly one line", names[i].what);
	if (ok)
		out[strlen(out) - 1] = '\0';
	result(clean_text(out), "text: %s: printable ASCII only", names[i].what);
	nf = fields(out, keys, 16, &nv, &nlen);
	ok = nf == (int)ARRAY_SIZE(deny_keys) && !strncmp(out, "deny ", 5);
	for (k = 0; ok && k < ARRAY_SIZE(deny_keys); k++)
		ok = !strcmp(keys[k], deny_keys[k]);
	result(ok, "text: %s: the fields are exactly those of the event (%d)",
	       names[i].what, nf);
	if (nv && nlen >= 2 && nv[0] == '"' && nv[nlen - 1] == '"') {
		nv++;
		nlen -= 2;
	}
	blen = nv ? unescape(nv, nlen, back) : 0;
	result(nv && blen == names[i].len && !memcmp(back, names[i].name, blen),
	       "text: %s: name field unescapes to the exact name", names[i].what);
	free(out);
	msg_free(&x);
}

static void check_json(size_t i)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL, *v;
	struct msg x;
	char *out;
	const char *s;
	bool ok, utf8 = utf8_valid(names[i].name, names[i].len);

	deny_event(&x, names[i].name, names[i].len);
	out = capture_event(&x, DMSEAL_CMD_EVENT_DENY, true);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, out, (int)strlen(out));
	ok = o && json_tokener_get_error(tok) == json_tokener_success &&
	     !strchr(out, '\n')[1];
	result(ok, "json: %s: one line of strict, UTF-8 valid JSON", names[i].what);
	ok = o && json_object_object_get_ex(o, "dev_name", &v) &&
	     json_object_object_get_ex(o, "dmsealctl_json", NULL) &&
	     json_object_object_get_ex(o, "dev_name", &v) &&
	     json_object_is_type(v, json_type_string);
	if (ok && utf8) {
		s = json_object_get_string(v);
		ok = (size_t)json_object_get_string_len(v) == names[i].len &&
		     !memcmp(s, names[i].name, names[i].len) &&
		     !json_object_object_get_ex(o, "dev_name_hex", NULL);
		result(ok, "json: %s: the exact name", names[i].what);
	} else if (ok) {
		char hex[64];

		hex_encode((const uint8_t *)names[i].name, names[i].len, hex);
		ok = json_object_object_get_ex(o, "dev_name_hex", &v) &&
		     !strcmp(json_object_get_string(v), hex);
		result(ok, "json: %s: name_hex holds the exact bytes", names[i].what);
	} else {
		result(false, "json: %s: a name", names[i].what);
	}
	json_object_put(o);
	json_tokener_free(tok);
	free(out);
	msg_free(&x);
}

static void status_line(const char *key, const char *text, bool sentence, void *arg)
{
	FILE *f = arg;

	(void)sentence;
	fprintf(f, "%s: %s\n", key, text);
}

static void check_enforcement(void)
{
	struct msg x;
	struct nlmsghdr *h;
	char *out, *buf = NULL;
	size_t len = 0;
	FILE *f;

	x.m = nlmsg_alloc();
	h = nlmsg_put(x.m, 0, 0, 0x20, 0, 0);
	nla_put_u8(x.m, DMSEAL_A_ENFORCING, 0);
	nla_put_string(x.m, DMSEAL_A_ENFORCEMENT, "kprobe on dm_table_add_target gone\nsealed=1");
	nla_parse(x.tb, DMSEAL_A_MAX, nlmsg_attrdata(h, 0), nlmsg_attrlen(h, 0), NULL);
	out = capture_event(&x, DMSEAL_CMD_EVENT_ENFORCEMENT, false);
	result(!strcmp(out, "enforcement enforcing=no enforcement=\"kprobe on dm_table_add_target gone\\x0asealed=1\"\n"),
	       "text: enforcement event, one line: %s", shown(out));
	free(out);
	out = capture_event(&x, DMSEAL_CMD_EVENT_ENFORCEMENT, true);
	result(!strcmp(out, "{\"dmsealctl_json\":1,\"event\":\"enforcement\",\"enforcing\":false,\"enforcement\":\"kprobe on dm_table_add_target gone\\nsealed=1\"}\n"),
	       "json: enforcement event: %s", shown(out));
	free(out);
	f = open_memstream(&buf, &len);
	dnl_attrs_each(x.tb, status_line, f);
	fclose(f);
	result(!strcmp(buf, "enforcing: no\nenforcement: kprobe on dm_table_add_target gone\\x0asealed=1\n"),
	       "status lines: enforcing and enforcement, one line each");
	free(buf);
	msg_free(&x);

	/* an event this dmsealctl does not know, from a newer kernel */
	x.m = nlmsg_alloc();
	h = nlmsg_put(x.m, 0, 0, 0x20, 0, 0);
	nla_put_string(x.m, DMSEAL_A_DEV_NAME, "n m");
	nla_parse(x.tb, DMSEAL_A_MAX, nlmsg_attrdata(h, 0), nlmsg_attrlen(h, 0), NULL);
	out = capture_event(&x, 200, false);
	result(!strcmp(out, "unknown cmd=200 name=n\\x20m\n"), "text: unknown event: %s",
	       shown(out));
	free(out);
	msg_free(&x);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc == 2 && !strcmp(argv[1], "json-lines")) {
		for (i = 0; i < ARRAY_SIZE(names); i++) {
			struct msg x;
			char *out;

			deny_event(&x, names[i].name, names[i].len);
			out = capture_event(&x, DMSEAL_CMD_EVENT_DENY, true);
			fputs(out, stdout);
			free(out);
			msg_free(&x);
		}
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		check_text(i);
		check_json(i);
	}
	check_enforcement();
	result(!strcmp(shown("/dev/disk/by-id/x\ny"), "/dev/disk/by-id/x\\x0ay"),
	       "shown(): a path with a newline stays one line");
	result(!strcmp(shown_word("a b"), "a\\x20b"), "shown_word(): spaces escaped");
	return tap_done();
}
