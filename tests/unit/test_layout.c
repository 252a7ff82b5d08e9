// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Host tests for whole-table rules (layout.c), escaping (escape.c) and the
 * policy additions they rely on: consumers, tag size lists, the stack rule.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include "check.h"

#define DEV(ma, mi) (((u32)(ma) << 20) | (mi))

#define C96 "capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:dmseal-test:k1 "

static struct dms_crypt crypt_a, crypt_b;
static struct dms_integrity int_a;

static void other(struct dms_tdesc *t, const char *type, u64 start, u64 len,
		  u8 digest, const u32 *devs, u32 n_devs)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "%s", type);
	t->start = start;
	t->len = len;
	t->kind = DMS_KIND_OTHER;
	memset(t->digest, digest, sizeof(t->digest));
	t->devs = devs;
	t->n_devs = n_devs;
}

static void crypt_t(struct dms_tdesc *t, u64 start, u64 len,
		    const struct dms_crypt *c, const u32 *devs)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->type, "crypt");
	t->start = start;
	t->len = len;
	t->kind = DMS_KIND_CRYPT;
	t->crypt = c;
	t->devs = devs;
	t->n_devs = 1;
}

static void fingerprint(struct dms_crypt *c, u8 v)
{
	memset(c->key_fp.mac, v, DMS_FP_LEN);
	c->key_fp.set = true;
}

static const u32 dev_i1[] = { DEV(254, 0) };
static const u32 dev_i2[] = { DEV(254, 1) };
static const u32 dev_vdb[] = { DEV(252, 16) };

/* [0,8) zero + [8,N) crypt: the shape of the stretch attack. */
TEST(table_cmp_stretch)
{
	struct dms_tdesc have[2], want[2];
	struct dms_reason why;

	CHECK_EQ(parse_c(C96 "0 254:0 0 1 integrity:32:aead", &crypt_a, &why), 0);
	fingerprint(&crypt_a, 7);
	other(&have[0], "zero", 0, 8, 0, NULL, 0);
	crypt_t(&have[1], 8, 1000, &crypt_a, dev_i1);
	memcpy(want, have, sizeof(have));
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), 0);
	/* the zero target swallows the crypt volume */
	other(&want[0], "zero", 0, 1008, 0, NULL, 0);
	CHECK_EQ(dms_cmp_table(have, 2, want, 1, &why), -EPERM);
	CHECK_HAS(why.msg, "pinned layout has 2 target(s), the new table 1");
	/* same count, first target longer and the second moved */
	want[1] = have[1];
	want[1].start = 1008;
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), -EPERM);
	CHECK_HAS(why.msg, "target 0 ('zero' at sector 0): length changed");
	/* the last target may grow or shrink (online resize) */
	memcpy(want, have, sizeof(have));
	want[1].len = 5000;
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), 0);
	want[1].len = 10;
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), 0);
	want[1].len = 0;
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), -EPERM);
	/* one more target after the last pinned one */
	memcpy(want, have, sizeof(have));
	CHECK_EQ(dms_cmp_table(have, 1, want, 2, &why), -EPERM);
}

/* [0,A) crypt1 + [A,B) crypt2 reloaded as [0,B) crypt1 moves data. */
TEST(table_cmp_merge_and_swap)
{
	struct dms_tdesc have[2], want[2];
	struct dms_reason why;

	CHECK_EQ(parse_c(C96 "0 254:0 0 1 integrity:32:aead", &crypt_a, &why), 0);
	CHECK_EQ(parse_c(C96 "0 254:1 0 1 integrity:32:aead", &crypt_b, &why), 0);
	fingerprint(&crypt_a, 1);
	fingerprint(&crypt_b, 2);
	crypt_t(&have[0], 0, 100, &crypt_a, dev_i1);
	crypt_t(&have[1], 100, 100, &crypt_b, dev_i2);
	crypt_t(&want[0], 0, 200, &crypt_a, dev_i1);
	CHECK_EQ(dms_cmp_table(have, 2, want, 1, &why), -EPERM);
	/* swapped order: types and lengths agree, parameters do not */
	crypt_t(&want[0], 0, 100, &crypt_b, dev_i2);
	crypt_t(&want[1], 100, 100, &crypt_a, dev_i1);
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), -EPERM);
	CHECK_HAS(why.msg, "target 0 ('crypt' at sector 0): pinned key (other key bytes) changed");
	/* same parameters, another key */
	crypt_b = crypt_a;
	fingerprint(&crypt_b, 9);
	crypt_t(&want[0], 0, 100, &crypt_b, dev_i1);
	want[1] = have[1];
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), -EPERM);
	CHECK_HAS(why.msg, "pinned key (other key bytes) changed");
	/* a key never captured is no key */
	crypt_b.key_fp.set = false;
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), -EPERM);
	/* a type swap */
	other(&want[1], "linear", 100, 100, 0, dev_vdb, 1);
	crypt_t(&want[0], 0, 100, &crypt_a, dev_i1);
	CHECK_EQ(dms_cmp_table(have, 2, want, 2, &why), -EPERM);
	CHECK_HAS(why.msg, "replaced by another target type");
}

TEST(table_cmp_other_types)
{
	struct dms_tdesc have[1], want[1];
	struct dms_reason why;
	static const u32 d2[] = { DEV(254, 0), DEV(252, 16) };

	other(&have[0], "linear", 0, 64, 3, dev_i1, 1);
	other(&want[0], "linear", 0, 64, 3, dev_i1, 1);
	CHECK_EQ(dms_cmp_table(have, 1, want, 1, &why), 0);
	want[0].digest[5] ^= 1;
	CHECK_EQ(dms_cmp_table(have, 1, want, 1, &why), -EPERM);
	CHECK_HAS(why.msg, "parameters changed");
	other(&want[0], "linear", 0, 64, 3, d2, 2);
	CHECK_EQ(dms_cmp_table(have, 1, want, 1, &why), -EPERM);
	CHECK_HAS(why.msg, "opens other devices");
}

/* --- whole-table policy rules ---------------------------------------------- */

static bool governed_254(u32 dev, void *arg)
{
	(void)arg;
	return (dev >> 20) == 254;
}

static struct dms_policy *consumer_policy(void)
{
	struct dms_policy *p = sample_policy();

	p->n_consumers = 1;
	strcpy(p->consumers[0], "linear");
	p->n_other_targets = 1;
	strcpy(p->other_targets[0], "zero");
	return p;
}

TEST(table_rules_consumers)
{
	struct dms_policy *p = consumer_policy();
	struct dms_tdesc t[2];
	struct dms_reason why;
	bool gov;

	/* a linear device on the host's disk: not governed, no rule applies */
	other(&t[0], "linear", 0, 8, 0, dev_vdb, 1);
	CHECK_EQ(dms_check_table(p, t, 1, false, true, governed_254, NULL, &gov, &why), 0);
	CHECK(!gov);
	/* on a governed device: a listed consumer, itself governed */
	other(&t[0], "linear", 0, 8, 0, dev_i1, 1);
	CHECK_EQ(dms_check_table(p, t, 1, false, false, governed_254, NULL, &gov, &why), 0);
	CHECK(gov);
	/* an unlisted type on a governed device */
	other(&t[0], "cache", 0, 8, 0, dev_i1, 1);
	CHECK_EQ(dms_check_table(p, t, 1, false, false, governed_254, NULL, &gov, &why),
		 -EACCES);
	CHECK_HAS(why.msg, "target type 'cache' at sector 0 may not sit on governed device 254:0");
	/* a listed consumer spanning a governed device and the host's disk */
	other(&t[0], "linear", 0, 8, 0, dev_i1, 1);
	other(&t[1], "linear", 8, 8, 0, dev_vdb, 1);
	CHECK_EQ(dms_check_table(p, t, 2, false, false, governed_254, NULL, &gov, &why),
		 -EACCES);
	CHECK_HAS(why.msg, "'linear' at sector 8 opens 252:16, which dmseal does not govern");
	/* zero on a pinned device is an other_target */
	other(&t[0], "zero", 0, 8, 0, NULL, 0);
	CHECK_EQ(dms_check_table(p, t, 1, true, false, governed_254, NULL, &gov, &why), 0);
	other(&t[0], "error", 0, 8, 0, NULL, 0);
	CHECK_EQ(dms_check_table(p, t, 1, true, false, governed_254, NULL, &gov, &why),
		 -EACCES);
	CHECK_HAS(why.msg, "'error' at sector 0 is not allowed on a governed device");
	/* a target with two devices, the second governed (a cache's origin) */
	{
		static const u32 d[] = { DEV(252, 16), DEV(254, 3) };

		other(&t[0], "writecache", 0, 8, 0, d, 2);
		CHECK_EQ(dms_check_table(p, t, 1, false, false, governed_254, NULL,
					 &gov, &why), -EACCES);
		CHECK(gov);
	}
}

TEST(table_rules_governed_tables)
{
	struct dms_policy *p = consumer_policy();
	struct dms_tdesc t[2];
	struct dms_reason why;
	bool gov;

	CHECK_EQ(parse_c(C96 "0 254:0 0 1 integrity:32:aead", &crypt_a, &why), 0);
	/* crypt on a governed integrity device, in scope */
	crypt_t(&t[0], 0, 64, &crypt_a, dev_i1);
	CHECK_EQ(dms_check_table(p, t, 1, false, true, governed_254, NULL, &gov, &why), 0);
	CHECK(gov);
	/* ... with an unlisted type beside it */
	crypt_t(&t[1], 64, 8, &crypt_a, dev_i1);
	other(&t[1], "error", 64, 8, 0, NULL, 0);
	CHECK_EQ(dms_check_table(p, t, 2, false, true, governed_254, NULL, &gov, &why),
		 -EACCES);
	/* out of scope and on no governed device: not governed */
	crypt_t(&t[0], 0, 64, &crypt_a, dev_vdb);
	CHECK_EQ(dms_check_table(p, t, 2, false, false, governed_254, NULL, &gov, &why), 0);
	CHECK(!gov);
	/* an integrity target on a governed volume with its metadata outside */
	{
		static const u32 d[] = { DEV(254, 0), DEV(252, 16) };

		memset(&t[0], 0, sizeof(t[0]));
		strcpy(t[0].type, "integrity");
		t[0].kind = DMS_KIND_INTEGRITY;
		t[0].integrity = &int_a;
		t[0].len = 8;
		t[0].devs = d;
		t[0].n_devs = 2;
		CHECK_EQ(dms_check_table(p, t, 1, false, true, governed_254, NULL,
					 &gov, &why), -EACCES);
		CHECK_HAS(why.msg, "opens 252:16");
	}
}

TEST(stack_rule)
{
	struct dms_reason why;

	CHECK_EQ(parse_c(C96 "0 254:0 0 1 integrity:32:aead", &crypt_a, &why), 0);
	CHECK_EQ(parse_i("252:16 0 32 J 1 fix_padding", &int_a, &why), 0);
	CHECK_EQ(dms_check_stack(&crypt_a, &int_a, &why), 0);
	CHECK_EQ(dms_check_stack(&crypt_a, NULL, &why), -EACCES);
	CHECK_HAS(why.msg, "backing device 254:0 is not a dm-integrity device governed by dmseal");
	int_a.tag_size = 16;
	CHECK_EQ(dms_check_stack(&crypt_a, &int_a, &why), -EACCES);
	CHECK_HAS(why.msg, "tag size 16 != crypt integrity bytes 32");
}

/* --- policy additions ------------------------------------------------------- */

TEST(eval_tag_size_list)
{
	struct dms_policy *p = sample_policy();
	struct dms_integrity t;
	struct dms_reason why;

	p->profiles[0].n_tag_sizes = 3;
	p->profiles[0].tag_sizes[0] = 4;
	p->profiles[0].tag_sizes[1] = 8;
	p->profiles[0].tag_sizes[2] = 32;
	CHECK_EQ(dms_policy_validate(p, &why), 0);
	CHECK_EQ(parse_i("/dev/vda 0 8 J 2 fix_padding fix_hmac", &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), 0);
	CHECK_EQ(parse_i("/dev/vda 0 16 J 2 fix_padding fix_hmac", &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), -EACCES);
}

TEST(eval_fix_padding_and_meta_device)
{
	struct dms_policy *p = sample_policy();
	struct dms_integrity t;
	struct dms_reason why;

	p->profiles[0].int_allow |= DMS_INT_META_DEVICE;
	CHECK_EQ(parse_i("/dev/vda 0 32 J 0", &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), -EACCES);
	CHECK_HAS(why.msg, "fix_padding required");
	/* separate metadata: nothing to pad, and dm-integrity says nothing of it */
	CHECK_EQ(parse_i("/dev/vda 0 32 J 1 meta_device:8:32", &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), 0);
}

TEST(eval_discards_keyed_and_iks)
{
	struct dms_policy *p = sample_policy();
	struct dms_integrity t;
	struct dms_crypt c;
	struct dms_reason why;

	CHECK_EQ(parse_i("/dev/vda 0 32 J 3 fix_padding fix_hmac allow_discards_keyed",
			 &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), -EACCES);
	CHECK_HAS(why.msg, "allow_discards_keyed not allowed");
	p->profiles[0].int_allow |= DMS_INT_ALLOW_DISCARDS;
	CHECK_EQ(dms_check_integrity(p, &t, &why), 0);

	/* a key split the rule does not name is another cipher */
	p = sample_policy();
	CHECK_EQ(parse_c("capi:authenc(hmac(sha256),xts(aes))-random :96:logon:dmseal:x 0 8:0 0 "
			 "3 integrity:32:aead sector_size:4096 integrity_key_size:64", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
	CHECK_HAS(why.msg, "integrity_key_size 64 not allowed");
	p->profiles[0].ciphers[1].integrity_key_size = 64;
	CHECK_EQ(dms_check_crypt(p, &c, &why), 0);
	/* and then the option must be there */
	CHECK_EQ(parse_c("capi:authenc(hmac(sha256),xts(aes))-random :96:logon:dmseal:x 0 8:0 0 "
			 "2 integrity:32:aead sector_size:4096", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
}

TEST(codec_new_fields_round_trip)
{
	static u8 buf[65536], buf2[65536];
	struct dms_policy *p = consumer_policy();
	static struct dms_policy q;
	struct dms_reason why;
	size_t n;

	p->profiles[0].n_tag_sizes = 2;
	p->profiles[0].tag_sizes[0] = 16;
	p->profiles[0].tag_sizes[1] = 32;
	p->profiles[0].ciphers[1].integrity_key_size = 32;
	dms_policy_normalize(p);
	n = dms_policy_encode(p, buf, sizeof(buf));
	CHECK(n > 0 && n < sizeof(buf));
	CHECK_EQ(dms_policy_decode(buf, n, &q, &why), 0);
	CHECK_EQ(q.n_consumers, 1);
	CHECK_STR(q.consumers[0], "linear");
	CHECK_EQ(q.profiles[0].n_tag_sizes, 2);
	CHECK_EQ(q.profiles[0].tag_sizes[1], 32);
	CHECK_EQ(dms_policy_encode(&q, buf2, sizeof(buf2)), n);
	CHECK(!memcmp(buf, buf2, n));
	/* unsorted tag sizes are not canonical */
	p->profiles[0].tag_sizes[0] = 32;
	p->profiles[0].tag_sizes[1] = 16;
	n = dms_policy_encode(p, buf, sizeof(buf));
	CHECK_EQ(dms_policy_decode(buf, n, &q, &why), -EINVAL);
	CHECK_HAS(why.msg, "not in canonical form");
}

/* --- escaping ------------------------------------------------------------- */

TEST(escape_names)
{
	char out[64];
	const char name[] = "x reason=allowed\nok 1\\\"\xff";

	CHECK_EQ(dms_escape(name, sizeof(name) - 1, out, sizeof(out), DMS_ESC_SPACE),
		 strlen("x\\x20reason=allowed\\x0aok\\x201\\x5c\\x22\\xff"));
	CHECK_STR(out, "x\\x20reason=allowed\\x0aok\\x201\\x5c\\x22\\xff");
	dms_escape(name, sizeof(name) - 1, out, sizeof(out), 0);
	CHECK_STR(out, "x reason=allowed\\x0aok 1\\x5c\\x22\\xff");
	CHECK_EQ(dms_escape("plain-name_1.2", 14, out, sizeof(out), DMS_ESC_SPACE), 14);
	CHECK_STR(out, "plain-name_1.2");
	/* truncation never leaves half an escape */
	dms_escape("ab\ncd", 5, out, 6, DMS_ESC_SPACE);
	CHECK_STR(out, "ab");
	dms_escape("abcdef", 6, out, 4, 0);
	CHECK_STR(out, "abc");
	CHECK_EQ(dms_escape("abc", 3, NULL, 0, 0), 3);
}
