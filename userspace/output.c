// SPDX-License-Identifier: GPL-2.0-only
/* dmsealctl: -j/--json output helpers (json-c does the escaping). */
#include <stdio.h>
#include <stdlib.h>

#include "dmsealctl.h"

void json_print(struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) :
			  JSON_C_TO_STRING_PLAIN;
	puts(json_object_to_json_string_ext(o, flags));
	fflush(stdout);
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
