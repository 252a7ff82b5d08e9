// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: -j/--json output helpers, and safe text for message lines.
 *
 * Strings that come from outside (dm device names and uuids are chosen by
 * whoever loads a table: any byte but '/') must neither forge a line or a
 * field of text output nor break JSON. json-c escapes quotes, backslashes
 * and control bytes, but copies bytes >= 0x80 as they are: a name that is
 * not valid UTF-8 would make the whole output invalid JSON. Such a string is
 * written with U+FFFD for each byte that is not part of a valid sequence,
 * and its exact bytes are given in hex next to it ("KEY_hex").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmsealctl.h"

void json_print(struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) :
			  JSON_C_TO_STRING_PLAIN;
	puts(json_object_to_json_string_ext(o, flags));
	fflush(stdout);
}

/* A command's JSON output object: "dmsealctl_json" (the schema version) first. */
struct json_object *json_out_new(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "dmsealctl_json",
			       json_object_new_int(DMSEALCTL_JSON_VERSION));
	return o;
}

struct json_object *json_hex(const uint8_t *buf, size_t len)
{
	char *s = malloc(2 * len + 1);
	struct json_object *o;

	if (!s)
		return NULL;
	hex_encode(buf, len, s);
	o = json_object_new_string(s);
	free(s);
	return o;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if there is none.
 */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (len < n)
		return 0;
	/* the second byte's range rules out overlongs, surrogates, > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/*
 * o[key] = the string s[0..len): exact when it is valid UTF-8 (which every
 * JSON parser reads back byte for byte); otherwise U+FFFD for each stray
 * byte, plus o[key + "_hex"] holding the exact bytes.
 */
/* A JSON string of s[0..len): U+FFFD for each byte outside valid UTF-8. */
static struct json_object *json_string_utf8(const char *s, size_t len)
{
	static const char repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char *u = (const unsigned char *)s;
	struct json_object *o;
	size_t i = 0, n = 0, k;
	char *lossy;

	if (utf8_valid(s, len))
		return json_object_new_string_len(s, (int)len);
	lossy = malloc(3 * len + 1);
	if (!lossy)
		return NULL;
	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (k) {
			memcpy(lossy + n, s + i, k);
			n += k;
			i += k;
		} else {
			memcpy(lossy + n, repl, 3);
			n += 3;
			i++;
		}
	}
	o = json_object_new_string_len(lossy, (int)n);
	free(lossy);
	return o;
}

/* For an array element: valid JSON always, exact when valid UTF-8. */
struct json_object *json_string_safe(const char *s)
{
	return json_string_utf8(s, strlen(s));
}

void json_add_bytes(struct json_object *o, const char *key, const char *s,
		    size_t len)
{
	char *hex, hkey[64];

	json_object_object_add(o, key, json_string_utf8(s, len));
	if (utf8_valid(s, len))
		return;
	hex = malloc(2 * len + 1);
	if (!hex)
		return;
	hex_encode((const uint8_t *)s, len, hex);
	snprintf(hkey, sizeof(hkey), "%s_hex", key);
	json_object_object_add(o, hkey, json_object_new_string(hex));
	free(hex);
}

void json_add_str(struct json_object *o, const char *key, const char *s)
{
	json_add_bytes(o, key, s, strlen(s));
}

/*
 * Untrusted text (a path from the command line, a kernel reason) for a
 * message line: control bytes, non-ASCII, quotes and backslashes as \xHH,
 * spaces kept. The result lives until the fourth call after this one
 * (of shown() or shown_word()).
 */
static const char *shown_flags(const char *s, unsigned int flags)
{
	static char bufs[4][4 * 1024 + 1];
	static unsigned int k;
	char *b = bufs[k++ % 4];

	if (!s)
		return "(null)";
	dms_escape(s, strlen(s), b, sizeof(bufs[0]), flags);
	return b;
}

const char *shown(const char *s)
{
	return shown_flags(s, 0);
}

/* The same for a single word (a dm name): its spaces are escaped too. */
const char *shown_word(const char *s)
{
	return shown_flags(s, DMS_ESC_SPACE);
}
