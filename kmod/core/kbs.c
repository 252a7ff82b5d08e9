// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: KBS resource URIs, the names of persistent volume keys.
 *
 * A policy profile lists the URIs (or prefixes) a volume key may come from;
 * dmsealctl refuses any other before it makes a request, so whoever steers
 * the request cannot point the guest at a key of its own choosing. The kernel
 * never fetches a key: it only validates the list when the policy is sealed,
 * so a sealed (and attested) policy never carries a list dmsealctl would
 * read differently.
 *
 * The grammar is deliberately narrower than CoCo's: the authority must be
 * empty (CDH ignores it and uses its own KBS), and segments have no escapes,
 * so a URI has exactly one spelling and prefix matching is byte matching.
 */
#include "dmseal_core.h"

static const char kbs_scheme[] = "kbs:///";

static bool seg_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int kbs_fail(struct dms_reason *why, const char *msg, size_t off)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg), "%s (at offset %zu)", msg, off);
	return -EINVAL;
}

static int kbs_fail_char(struct dms_reason *why, char c, size_t off)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg),
			 "character 0x%02x at offset %zu is not allowed (segments are [A-Za-z0-9._-])",
			 (unsigned int)(unsigned char)c, off);
	return -EINVAL;
}

/* One segment starting at s[off]; returns its length or a negative error. */
static int kbs_segment(const char *s, size_t off, struct dms_reason *why)
{
	size_t n = 0;

	while (s[off + n] && s[off + n] != '/') {
		if (!seg_char_ok(s[off + n]))
			return kbs_fail_char(why, s[off + n], off + n);
		if (++n >= DMS_KBS_SEGMENT_MAX)
			return kbs_fail(why, "segment is too long (max 127 bytes)", off);
	}
	if (!n)
		return kbs_fail(why, "empty segment", off);
	if (s[off] == '.' && (n == 1 || (n == 2 && s[off + 1] == '.')))
		return kbs_fail(why, "segment '.' or '..'", off);
	return (int)n;
}

int dms_kbs_uri_check(const char *uri, bool prefix, struct dms_reason *why)
{
	size_t len, off = sizeof(kbs_scheme) - 1;
	int seg, n;

	if (!uri)
		return kbs_fail(why, "no URI", 0);
	len = strnlen(uri, DMS_KEY_URI_MAX);
	if (len == DMS_KEY_URI_MAX)
		return kbs_fail(why, "URI is too long (max 255 bytes)", 0);
	if (strncmp(uri, kbs_scheme, off)) {
		if (!strncmp(uri, "kbs://", 6))
			return kbs_fail(why, "the authority must be empty: write kbs:///repository/type/tag",
					6);
		return kbs_fail(why, "not a KBS resource URI: it must start with kbs:///", 0);
	}
	for (seg = 0; seg < 3; seg++) {
		if (prefix && !uri[off])
			return 0;	/* "kbs:///", "kbs:///repo/", ... */
		n = kbs_segment(uri, off, why);
		if (n < 0)
			return n;
		off += n;
		if (seg < 2) {
			if (uri[off] != '/')
				return kbs_fail(why, "needs three segments: repository/type/tag",
						off);
			off++;
		}
	}
	if (uri[off])
		return kbs_fail(why, "more than three segments", off);
	return 0;
}

bool dms_key_uri_allowed(const struct dms_profile *pr, const char *uri)
{
	u32 i;

	if (dms_kbs_uri_check(uri, false, NULL))
		return false;
	for (i = 0; i < pr->n_key_uris && i < DMS_MAX_KEY_URIS; i++) {
		const char *p = pr->key_uris[i];
		size_t n = strnlen(p, DMS_KEY_URI_MAX);

		/* a prefix ends in '/'; anything else is one whole URI */
		if (n && p[n - 1] == '/' ? !strncmp(uri, p, n) : !strcmp(uri, p))
			return true;
	}
	return false;
}
