// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target for the table parsers, summaries, pins and evaluation.
 *
 * Input: first byte selects crypt (even) or integrity (odd); the rest is the
 * params string, passed with its exact length and no NUL terminator so ASan
 * catches any read past it. Checks: no crash, the input is never modified,
 * summaries are NUL-terminated, agree with their return value, and never
 * contain a 32-character window of a hex key that appears nowhere else in
 * the input.
 */
#include <stdlib.h>
#include <string.h>
#include "dmseal_core.h"

struct dms_policy *sample_policy(void);

static struct dms_crypt c1, c2;
static struct dms_integrity t1, t2;
static char sum[DMS_SUMMARY_MAX];
static char small[7];

static void check_summary(size_t n)
{
	if (strlen(sum) != (n < sizeof(sum) ? n : sizeof(sum) - 1))
		abort();
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool is_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r' || c == 0xa0;
}

/* Count occurrences of needle (len n) in hay (len h). */
static int count(const char *hay, size_t h, const char *needle, size_t n)
{
	int k = 0;
	size_t i;

	for (i = 0; i + n <= h; i++)
		if (!memcmp(hay + i, needle, n))
			k++;
	return k;
}

/* The second token of a crypt table is the key: no hex key in a summary. */
static void check_no_key(const char *s, size_t len)
{
	size_t i = 0, start, klen, w;
	int tok = 0;

	for (;;) {
		while (i < len && is_sep(s[i]))
			i++;
		if (i >= len)
			return;
		start = i;
		while (i < len && !is_sep(s[i]))
			i++;
		if (++tok == 2)
			break;
	}
	klen = i - start;
	/* A keyring reference is not secret: its description is shown. */
	if (s[start] == ':')
		return;
	for (w = 0; w + 32 <= klen; w++) {
		size_t j;

		for (j = 0; j < 32 && is_hex(s[start + w + j]); j++)
			;
		if (j < 32)
			continue;
		/* Also elsewhere in the input: then it is not (only) the key. */
		if (count(s, len, s + start + w, 32) > 1)
			continue;
		if (count(sum, strlen(sum), s + start + w, 32))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dms_reason why;
	char *s, *copy;
	size_t len, n;

	if (!size)
		return 0;
	why.msg[0] = '\0';
	len = size - 1;
	s = malloc(len ? len : 1);
	copy = malloc(len ? len : 1);
	memcpy(s, data + 1, len);
	memcpy(copy, s, len);
	len = strnlen(s, len);	/* what the kernel would see */
	if (data[0] & 1) {
		if (!dms_parse_integrity(s, size - 1, &t1, &why)) {
			n = dms_integrity_summary(&t1, sum, sizeof(sum));
			check_summary(n);
			if (dms_integrity_summary(&t1, small, sizeof(small)) != n)
				abort();
			/* a target equals itself once its devices are numbers */
			if (t1.dev.resolved &&
			    (!(t1.flags & DMS_INT_META_DEVICE) || t1.meta_dev.resolved) &&
			    dms_cmp_integrity(&t1, &t1, DMS_CMP_EFFECTIVE, &why))
				abort();
			if (dms_parse_integrity(sum, strlen(sum), &t2, &why) == 0)
				dms_cmp_integrity(&t1, &t2, 0, &why);
			dms_check_integrity(sample_policy(), &t1, &why);
		}
	} else {
		if (!dms_parse_crypt(s, size - 1, &c1, &why)) {
			n = dms_crypt_summary(&c1, sum, sizeof(sum));
			check_summary(n);
			check_no_key(s, len);
			if (dms_crypt_summary(&c1, small, sizeof(small)) != n)
				abort();
			if (c1.dev.resolved &&
			    dms_cmp_crypt(&c1, &c1, DMS_CMP_EFFECTIVE, &why))
				abort();
			/* the key span points at the key, and only with a hex key */
			if ((c1.key_form == DMS_KEY_HEX) != !!c1.key_hex.len ||
			    c1.key_hex.off + (size_t)c1.key_hex.len > len)
				abort();
			if (!dms_parse_crypt(sum, strlen(sum), &c2, &why))
				dms_cmp_crypt(&c1, &c2, 0, &why);
			dms_check_crypt(sample_policy(), &c1, &why);
			snprintf(sum, sizeof(sum), "%s", why.msg);
			check_no_key(s, len);
		} else {
			/* A refusal reason must not carry the key either. */
			snprintf(sum, sizeof(sum), "%s", why.msg);
			check_no_key(s, len);
		}
	}
	if (strnlen(why.msg, sizeof(why.msg)) == sizeof(why.msg))
		abort();
	if (memcmp(s, copy, size - 1))
		abort();
	free(s);
	free(copy);
	return 0;
}
