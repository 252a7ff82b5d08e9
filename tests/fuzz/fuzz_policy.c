// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target for the policy codec: a decode that succeeds must be the
 * canonical encoding, i.e. encode(decode(x)) == x, and the decoded policy
 * must validate. The input is copied to an exact-size heap buffer so ASan
 * catches any read past its end.
 */
#include <stdlib.h>
#include <string.h>
#include "dmseal_core.h"

static struct dms_policy p;
static u8 out[65536];

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dms_reason why;
	u8 *buf = malloc(size ? size : 1);
	size_t n;

	memcpy(buf, data, size);
	why.msg[0] = '\0';
	if (!dms_policy_decode(buf, size, &p, &why)) {
		n = dms_policy_encode(&p, out, sizeof(out));
		if (n != size || memcmp(out, data, size))
			abort();
		if (dms_policy_validate(&p, &why))
			abort();
	} else if (!why.msg[0] ||
		   strnlen(why.msg, sizeof(why.msg)) == sizeof(why.msg)) {
		abort();
	}
	if (memcmp(buf, data, size))
		abort();
	free(buf);
	return 0;
}
