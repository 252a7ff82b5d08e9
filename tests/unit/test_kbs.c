// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* KBS resource URIs: the grammar, policy prefixes, and what a profile allows. */
#include "check.h"

static void uri_ok(const char *file, int line, const char *s, bool prefix)
{
	struct dms_reason why = { "" };

	if (dms_kbs_uri_check(s, prefix, &why))
		test_fail(file, line, "'%s' (prefix %d) refused: %s", s, prefix,
			  why.msg);
}

static void uri_bad(const char *file, int line, const char *s, bool prefix,
		    const char *want)
{
	struct dms_reason why = { "" };

	if (!dms_kbs_uri_check(s, prefix, &why))
		test_fail(file, line, "'%s' (prefix %d) accepted", s, prefix);
	else if (!strstr(why.msg, want))
		test_fail(file, line, "'%s': reason '%s' lacks '%s'", s, why.msg,
			  want);
}

#define OK(s, p)	uri_ok(__FILE__, __LINE__, s, p)
#define BAD(s, p, w)	uri_bad(__FILE__, __LINE__, s, p, w)

TEST(kbs_uri_grammar)
{
	static char longseg[300];

	OK("kbs:///default/key/volume-1", false);
	OK("kbs:///a.b/C_d/e-f.0", false);
	OK("kbs:///", true);
	OK("kbs:///tenant/", true);
	OK("kbs:///tenant/volumes/", true);
	OK("kbs:///tenant/volumes/v1", true);
	BAD("kbs:///", false, "empty segment");
	BAD("kbs:///tenant/", false, "empty segment");
	BAD("kbs:///tenant", true, "three segments");
	BAD("kbs:///tenant/volumes", true, "three segments");
	BAD("kbs://kbs.example:8080/a/b/c", false, "authority must be empty");
	BAD("https://127.0.0.1/a/b/c", false, "must start with kbs:///");
	BAD("KBS:///a/b/c", false, "must start with kbs:///");
	BAD("kbs:///a/b/c/d", false, "more than three");
	BAD("kbs:///a//c", false, "empty segment");
	BAD("kbs:///a/../c", false, "'..'");
	BAD("kbs:///./b/c", false, "'.'");
	BAD("kbs:///a/b/%2e%2e", false, "0x25");
	BAD("kbs:///a/b/c?x=1", false, "0x3f");
	BAD("kbs:///a/b/c#f", false, "0x23");
	BAD("kbs:///a/b/c d", false, "0x20");
	BAD("kbs:///a/b/c\n", false, "0x0a");
	BAD("kbs:///a/b/\xc3\xa9", false, "0xc3");
	BAD("", false, "must start with kbs:///");
	BAD(NULL, false, "no URI");
	memcpy(longseg, "kbs:///a/b/", 11);
	memset(longseg + 11, 'x', 200);
	BAD(longseg, false, "too long");
	memset(longseg + 11, 'x', 260);
	BAD(longseg, false, "URI is too long");
}

TEST(kbs_uri_allowed)
{
	static struct dms_profile pr;

	memset(&pr, 0, sizeof(pr));
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///a/b/c"));
	strcpy(pr.key_uris[0], "kbs:///tenant/volumes/");
	strcpy(pr.key_uris[1], "kbs:///other/key/one");
	pr.n_key_uris = 2;
	CHECK(dms_key_uri_allowed(&pr, "kbs:///tenant/volumes/v1"));
	CHECK(dms_key_uri_allowed(&pr, "kbs:///other/key/one"));
	/* a whole URI is not a prefix, and a prefix ends at a '/' */
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///other/key/one2"));
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///tenant/volumes2/v1"));
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///tenant/other/v1"));
	/* only valid URIs match, whatever the prefix */
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///tenant/volumes/../x"));
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///tenant/volumes/v1/x"));
	CHECK(!dms_key_uri_allowed(&pr, "kbs:///tenant/volumes/"));
	strcpy(pr.key_uris[0], "kbs:///");
	CHECK(dms_key_uri_allowed(&pr, "kbs:///any/thing/at-all"));
}

TEST(kbs_uri_policy_codec)
{
	static struct dms_policy p, q;
	static u8 a[16384], b[16384];
	struct dms_reason why = { "" };
	size_t n;

	p = *sample_policy();
	strcpy(p.profiles[0].key_uris[0], "kbs:///tenant/volumes/");
	strcpy(p.profiles[0].key_uris[1], "kbs:///a/b/c");
	p.profiles[0].n_key_uris = 2;
	dms_policy_normalize(&p);
	CHECK_STR(p.profiles[0].key_uris[0], "kbs:///a/b/c");
	CHECK_EQ(dms_policy_validate(&p, &why), 0);
	n = dms_policy_encode(&p, a, sizeof(a));
	CHECK(n > 0 && n <= sizeof(a));
	CHECK_EQ(dms_policy_decode(a, n, &q, &why), 0);
	CHECK_EQ(q.profiles[0].n_key_uris, 2);
	CHECK_STR(q.profiles[0].key_uris[1], "kbs:///tenant/volumes/");
	CHECK_EQ(dms_policy_encode(&q, b, sizeof(b)), n);
	CHECK(!memcmp(a, b, n));
	/* the digest changes with the list: it is part of what is attested */
	n = dms_policy_encode(sample_policy(), b, sizeof(b));
	CHECK(memcmp(a, b, n));

	strcpy(p.profiles[0].key_uris[1], "kbs:///tenant/volumes");
	CHECK_EQ(dms_policy_validate(&p, &why), -EINVAL);
	CHECK(strstr(why.msg, "key_uri 1: needs three segments") != NULL);
	strcpy(p.profiles[0].key_uris[1], "kbs:///a/b/c");
	CHECK_EQ(dms_policy_validate(&p, &why), -EINVAL);
	CHECK(strstr(why.msg, "key_uri 1 is a duplicate") != NULL);
}
