// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: escaping untrusted words for text that is read line by line.
 *
 * Whoever loads a table picks the device's name and uuid (any byte but '/')
 * and the target type string. Written raw into "key=value" output or a log
 * line, a name holding " reason=allowed" or a newline forges a field or a
 * whole line. Every byte that could do so is written as \xHH; everything
 * else stays as it was, so ordinary names read unchanged.
 */
#include "dmseal_core.h"

static bool needs_escape(unsigned char c, unsigned int flags)
{
	if (c == ' ')
		return flags & DMS_ESC_SPACE;
	return c < 0x20 || c > 0x7e || c == '\\' || c == '"';
}

size_t dms_escape(const char *in, size_t len, char *out, size_t cap,
		  unsigned int flags)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = in[i];
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
		size_t k = needs_escape(c, flags) ? 4 : 1;
		const char *src = k == 4 ? esc : &in[i];

		/* all of a \xHH or nothing of it: never half an escape */
		if (cap && n + k < cap)
			memcpy(out + n, src, k);
		else if (cap && n < cap)
			cap = n + 1;
		n += k;
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return n;
}
