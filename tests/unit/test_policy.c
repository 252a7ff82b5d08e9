// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Host tests for policy validation, normalization and the codec. */
#include <stdlib.h>
#include "check.h"

static u8 enc[65536];
static struct dms_policy dec;

static size_t encode(const struct dms_policy *p)
{
	size_t n = dms_policy_encode(p, enc, sizeof(enc));

	CHECK(n <= sizeof(enc));
	return n;
}

/* Validation must fail with a reason containing want. */
static void vbad(const char *file, int line, struct dms_policy *p, const char *want)
{
	struct dms_reason why = { "" };

	if (dms_policy_validate(p, &why) != -EINVAL)
		test_fail(file, line, "policy validated (expected '%s')", want);
	else if (!strstr(why.msg, want))
		test_fail(file, line, "reason '%s' lacks '%s'", why.msg, want);
}
#define VBAD(mutation, want) do { struct dms_policy *p = sample_policy(); \
	mutation; vbad(__FILE__, __LINE__, p, want); } while (0)

/* Decoding enc[0..n) must fail with a reason containing want. */
static void dbad(const char *file, int line, size_t n, const char *want)
{
	struct dms_reason why = { "" };

	if (dms_policy_decode(enc, n, &dec, &why) != -EINVAL)
		test_fail(file, line, "policy decoded (expected '%s')", want);
	else if (!strstr(why.msg, want))
		test_fail(file, line, "reason '%s' lacks '%s'", why.msg, want);
}
#define DBAD(n, want) dbad(__FILE__, __LINE__, n, want)

static void put16(u8 *b, unsigned int v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

/* Offset of the n-th top-level record (0-based) in enc. */
static size_t rec_off(int n)
{
	size_t off = 8;

	while (n--)
		off += 4 + ((enc[off + 2] << 8) | enc[off + 3]);
	return off;
}

/* Offset of a profile-level tag within the first profile record. */
static size_t prof_tag_off(unsigned int tag)
{
	size_t off = 8;

	while (enc[off + 1] != 0x10)
		off += 4 + ((enc[off + 2] << 8) | enc[off + 3]);
	off += 4;
	while (enc[off + 1] != tag)
		off += 4 + ((enc[off + 2] << 8) | enc[off + 3]);
	return off;
}

TEST(policy_sample_valid)
{
	struct dms_reason why = { "" };

	CHECK_EQ(dms_policy_validate(sample_policy(), &why), 0);
	CHECK_EQ(dms_policy_validate(sample_policy(), NULL), 0);
}

TEST(policy_validate_scope)
{
	VBAD(p->scope = 4, "scope has unknown bits");
	VBAD(p->scope = DMS_SCOPE_NAME_PREFIX, "scope_name_prefix must be set exactly when");
	VBAD(strcpy(p->scope_uuid_prefix, "CRYPT-"), "scope_uuid_prefix must be set exactly when");
	VBAD((p->scope = DMS_SCOPE_NAME_PREFIX, strcpy(p->scope_name_prefix, "a\tb")),
	     "must be printable ASCII");
	VBAD(memset(p->scope_name_prefix, 'a', DMS_SCOPE_PREFIX_MAX), "must be printable");
	VBAD(strcpy(p->other_targets[1], "crypt"), "is crypt or integrity, which profiles govern");
	VBAD(strcpy(p->other_targets[1], "integrity"), "which profiles govern");
	VBAD(strcpy(p->other_targets[1], "linear"), "other_target 1 is a duplicate");
	VBAD(strcpy(p->other_targets[1], "lin ear"), "other_target 1 is not a valid name");
	VBAD(p->other_targets[1][0] = 0, "other_target 1 is not a valid name");
	VBAD(p->n_other_targets = DMS_MAX_OTHER_TARGETS + 1, "too many other_targets (max 32)");
	VBAD((p->n_consumers = 1, strcpy(p->consumers[0], "crypt")),
	     "consumer 0 is crypt or integrity");
	VBAD((p->n_consumers = 2, strcpy(p->consumers[0], "cache"), strcpy(p->consumers[1], "cache")),
	     "consumer 1 is a duplicate");
	VBAD(p->n_consumers = DMS_MAX_CONSUMERS + 1, "too many consumers (max 32)");
}

TEST(policy_validate_profiles)
{
	VBAD(p->n_profiles = 0, "needs 1 to 64 profiles");
	VBAD(p->n_profiles = DMS_MAX_PROFILES + 1, "needs 1 to 64 profiles");
	VBAD(strcpy(p->profiles[1].name, "eph"), "profile 1: duplicate name");
	VBAD(strcpy(p->profiles[1].name, "a b"), "profile 1: name must be");
	VBAD(p->profiles[0].name[0] = 0, "profile 0: name must be");
	VBAD(memset(p->profiles[0].name, 'a', DMS_PROFILE_NAME_MAX), "profile 0: name");
	VBAD(p->profiles[0].n_ciphers = 0, "profile 'eph': needs 1 to 16 cipher rules");
	VBAD(p->profiles[0].n_ciphers = DMS_MAX_CIPHERS + 1, "needs 1 to 16 cipher rules");
	VBAD(strcpy(p->profiles[0].ciphers[1].spec, "cipher_null-ecb"),
	     "cipher rule 1: cipher_null is never allowed");
	VBAD(strcpy(p->profiles[0].ciphers[1].spec, "capi:ecb(cipher_null)-plain"),
	     "never allowed");
	VBAD(strcpy(p->profiles[0].ciphers[1].spec, "aes xts"), "cipher rule 1: invalid cipher spec");
	VBAD(p->profiles[0].ciphers[1].spec[0] = 0, "invalid cipher spec");
	VBAD(p->profiles[0].ciphers[0].key_size = 8, "cipher rule 0: key_size not in 16..512");
	VBAD(p->profiles[0].ciphers[0].key_size = 513, "key_size not in 16..512");
	VBAD(p->profiles[0].ciphers[1] = p->profiles[0].ciphers[0], "cipher rule 1 is a duplicate");
	VBAD(p->profiles[0].key_forms = 0, "key_forms must be a non-empty set");
	VBAD(p->profiles[0].key_forms = 0x40, "key_forms must be");
	VBAD(p->profiles[0].key_forms |= DMS_KEY_EMPTY, "the empty key form is never allowed");
	VBAD(strcpy(p->profiles[0].key_desc_prefix, "a b"), "key_desc_prefix must be printable");
	VBAD(p->profiles[0].n_aead_sizes = DMS_MAX_AEAD_SIZES + 1, "at most 16 aead size");
	VBAD(p->profiles[0].aead_sizes[0] = 0, "aead size 0 not in 1..1024");
	VBAD(p->profiles[0].aead_sizes[0] = 1025, "aead size 1025 not in");
	VBAD((p->profiles[0].n_aead_sizes = 2, p->profiles[0].aead_sizes[1] = 32),
	     "aead size 32 is a duplicate");
	VBAD(p->profiles[0].n_aead_sizes = 0, "integrity_required needs at least one aead size");
	VBAD(p->profiles[0].sector_sizes = 0, "sector_sizes must be");
	VBAD(p->profiles[0].sector_sizes = 1u << 13, "sector_sizes must be");
	VBAD(p->profiles[0].crypt_allow = DMS_CRYPT_SAME_CPU, "crypt_allow has unknown bits");
	VBAD(p->profiles[0].int_modes |= DMS_MODE_BIT('R'),
	     "integrity mode R (recovery, no checks) is never allowed");
	VBAD(p->profiles[0].int_modes = 0, "int_modes must be");
	VBAD(p->profiles[0].int_modes = DMS_MODE_BIT('X'), "int_modes must be");
	VBAD(p->profiles[0].n_tag_sizes = 0, "needs at least one tag size");
	VBAD(p->profiles[0].tag_sizes[0] = 0, "tag size 0 not in 1..1024");
	VBAD(p->profiles[0].tag_sizes[0] = 1025, "tag size 1025 not in");
	VBAD((p->profiles[0].n_tag_sizes = 2, p->profiles[0].tag_sizes[1] = 32),
	     "tag size 32 is a duplicate");
	VBAD(p->profiles[0].n_tag_sizes = DMS_MAX_TAG_SIZES + 1, "at most 16 tag size");
	VBAD(p->profiles[0].ciphers[0].integrity_key_size = 64,
	     "integrity_key_size not below key_size");
	VBAD(p->profiles[0].block_sizes = 0, "block_sizes must be");
	VBAD(p->profiles[0].block_sizes = 1u << 8, "block_sizes must be");
	VBAD(p->profiles[0].int_require = DMS_INT_RECALC, "int_require has bits");
	VBAD(p->profiles[0].int_allow = DMS_INT_FIX_HMAC, "int_allow has unknown bits");
	VBAD(p->profiles[0].n_internal_hash = 5, "bad internal_hash list");
	VBAD(strcpy(p->profiles[0].internal_hash[0], "a:b"), "bad internal_hash list");
	VBAD((p->profiles[0].n_journal_crypt = 2, strcpy(p->profiles[0].journal_crypt[0], "x"),
	      strcpy(p->profiles[0].journal_crypt[1], "x")), "bad journal_crypt list");
	VBAD((p->profiles[0].n_journal_mac = 1), "bad journal_mac list");
}

TEST(cipher_is_null)
{
	CHECK(dms_cipher_is_null("cipher_null-ecb"));
	CHECK(dms_cipher_is_null("ecb(cipher_null)"));
	CHECK(dms_cipher_is_null("capi:ecb(cipher_null)-plain"));
	CHECK(dms_cipher_is_null("CIPHER_NULL"));
	CHECK(dms_cipher_is_null("NuLl"));
	CHECK(dms_cipher_is_null("null"));
	CHECK(!dms_cipher_is_null("aes-xts-plain64"));
	CHECK(!dms_cipher_is_null("nul"));
	CHECK(!dms_cipher_is_null(""));
	CHECK(!dms_cipher_is_null("nu ll"));
}

TEST(policy_normalize)
{
	struct dms_policy *p;
	static struct dms_profile tmp;
	static u8 a[8192];
	size_t n;

	n = encode(sample_policy());
	memcpy(a, enc, n);
	/* Scramble every list, then normalize back. */
	p = sample_policy();
	tmp = p->profiles[0];
	p->profiles[0] = p->profiles[1];
	p->profiles[1] = tmp;
	strcpy(p->other_targets[0], "zero");
	strcpy(p->other_targets[1], "linear");
	{
		struct dms_cipher_rule t = p->profiles[1].ciphers[0];

		p->profiles[1].ciphers[0] = p->profiles[1].ciphers[1];
		p->profiles[1].ciphers[1] = t;
	}
	CHECK_EQ(encode(p), n);
	CHECK(memcmp(a, enc, n));
	dms_policy_normalize(p);
	CHECK_EQ(encode(p), n);
	CHECK(!memcmp(a, enc, n));
	CHECK_STR(p->profiles[0].name, "eph");
	CHECK_STR(p->other_targets[0], "linear");
	/* Idempotent. */
	dms_policy_normalize(p);
	CHECK_EQ(encode(p), n);
	CHECK(!memcmp(a, enc, n));
}

TEST(policy_normalize_lists)
{
	struct dms_policy *p = sample_policy();
	struct dms_profile *e = &p->profiles[0];

	e->n_aead_sizes = 4;
	e->aead_sizes[0] = 64;
	e->aead_sizes[1] = 16;
	e->aead_sizes[2] = 32;
	e->aead_sizes[3] = 1;
	e->n_internal_hash = 3;
	strcpy(e->internal_hash[0], "sha256");
	strcpy(e->internal_hash[1], "crc32c");
	strcpy(e->internal_hash[2], "hmac(sha256)");
	e->n_ciphers = 3;
	strcpy(e->ciphers[2].spec, "aes-xts-plain64");
	e->ciphers[2].key_size = 32;
	dms_policy_normalize(p);
	CHECK_EQ(e->aead_sizes[0], 1);
	CHECK_EQ(e->aead_sizes[1], 16);
	CHECK_EQ(e->aead_sizes[2], 32);
	CHECK_EQ(e->aead_sizes[3], 64);
	CHECK_STR(e->internal_hash[0], "crc32c");
	CHECK_STR(e->internal_hash[1], "hmac(sha256)");
	CHECK_STR(e->internal_hash[2], "sha256");
	CHECK_EQ(e->ciphers[0].key_size, 32);
	CHECK_EQ(e->ciphers[1].key_size, 64);
	CHECK_STR(e->ciphers[2].spec, "capi:authenc(hmac(sha256),xts(aes))-random");
	CHECK_EQ(dms_policy_validate(p, NULL), 0);
}

TEST(codec_round_trip)
{
	struct dms_policy *p = sample_policy();
	struct dms_reason why = { "" };
	static u8 again[8192];
	size_t n, m;

	n = encode(p);
	CHECK(n > 8);
	CHECK(!memcmp(enc, "DMSP\x01\x00\x00\x00", 8));
	CHECK_EQ(dms_policy_decode(enc, n, &dec, &why), 0);
	CHECK_STR(why.msg, "");
	CHECK_EQ(dec.n_profiles, 2);
	CHECK_STR(dec.profiles[1].name, "persist");
	CHECK_STR(dec.profiles[0].ciphers[1].spec, "capi:authenc(hmac(sha256),xts(aes))-random");
	CHECK_EQ(dec.profiles[1].allow_key_wipe, true);
	CHECK_STR(dec.profiles[0].key_desc_prefix, "dmseal:");
	m = dms_policy_encode(&dec, again, sizeof(again));
	CHECK_EQ(m, n);
	CHECK(!memcmp(enc, again, n));
	CHECK(!memcmp(p, &dec, sizeof(dec)));
}

TEST(codec_stable_and_cap)
{
	struct dms_policy *p = sample_policy();
	static u8 a[8192], b[8192];
	size_t n;

	n = dms_policy_encode(p, a, sizeof(a));
	CHECK_EQ(dms_policy_encode(p, b, sizeof(b)), n);
	CHECK(!memcmp(a, b, n));
	CHECK_EQ(dms_policy_encode(p, NULL, 0), n);
	memset(b, 0xee, sizeof(b));
	CHECK_EQ(dms_policy_encode(p, b, n - 1), n);
	CHECK_EQ(b[0], 0xee);	/* too small: nothing written */
	CHECK_EQ(dms_policy_encode(p, b, n), n);
	CHECK(!memcmp(a, b, n));
	CHECK_EQ(b[n], 0xee);
}

TEST(codec_exact_bytes)
{
	static struct dms_policy p;
	struct dms_profile *e = &p.profiles[0];
	static const u8 want[] = {
		'D', 'M', 'S', 'P', 1, 0, 0, 0,
		0, 1, 0, 4, 0, 0, 0, 1,			/* scope = name prefix */
		0, 2, 0, 2, 'v', '-',			/* scope_name_prefix */
		0, 0x10, 0, 112,			/* profile, 112 bytes */
		0, 1, 0, 1, 'x',			/* name */
		0, 2, 0, 19,				/* cipher rule */
		0, 1, 0, 7, 'a', 'e', 's', '-', 'x', 't', 's',
		0, 2, 0, 4, 0, 0, 0, 64,
		0, 3, 0, 4, 0, 0, 0, 1,			/* key_forms = hex */
		0, 5, 0, 1, 0,				/* integrity_required */
		0, 7, 0, 4, 0, 0, 0x10, 0,		/* sector_sizes = 4096 */
		0, 8, 0, 4, 0, 0, 0, 0,			/* crypt_allow */
		0, 9, 0, 1, 0,				/* allow_key_wipe */
		0, 0x20, 0, 4, 0, 0, 0x02, 0,		/* int_modes = J */
		0, 0x21, 0, 4, 0, 0, 0, 16,		/* tag_size */
		0, 0x22, 0, 4, 0, 0, 0x02, 0,		/* block_sizes = 512 */
		0, 0x23, 0, 4, 0, 0, 0, 0,		/* int_require */
		0, 0x24, 0, 4, 0, 0, 0, 0,		/* int_allow */
		0, 0x25, 0, 6, 'c', 'r', 'c', '3', '2', 'c',
	};
	u8 out[sizeof(want)];
	struct dms_reason why = { "" };

	memset(&p, 0, sizeof(p));
	p.scope = DMS_SCOPE_NAME_PREFIX;
	strcpy(p.scope_name_prefix, "v-");
	p.n_profiles = 1;
	strcpy(e->name, "x");
	e->n_ciphers = 1;
	strcpy(e->ciphers[0].spec, "aes-xts");
	e->ciphers[0].key_size = 64;
	e->key_forms = DMS_KEY_HEX;
	e->sector_sizes = 4096;
	e->int_modes = DMS_MODE_BIT('J');
	e->n_tag_sizes = 1;
	e->tag_sizes[0] = 16;
	e->block_sizes = 512;
	e->n_internal_hash = 1;
	strcpy(e->internal_hash[0], "crc32c");
	CHECK_EQ(dms_policy_encode(&p, out, sizeof(out)), sizeof(want));
	CHECK(!memcmp(out, want, sizeof(want)));
	CHECK_EQ(dms_policy_decode(want, sizeof(want), &dec, &why), 0);
	CHECK_STR(why.msg, "");
}

TEST(codec_header_errors)
{
	size_t n = encode(sample_policy());

	DBAD(0, "truncated header");
	DBAD(7, "truncated header");
	CHECK_EQ(dms_policy_decode(NULL, 100, &dec, NULL), -EINVAL);
	enc[0] = 'X';
	DBAD(n, "bad magic");
	n = encode(sample_policy());
	enc[4] = 2;
	DBAD(n, "unsupported version 2");
	n = encode(sample_policy());
	enc[6] = 1;
	DBAD(n, "reserved header bytes not zero");
	n = encode(sample_policy());
	DBAD(8, "scope missing");
}

TEST(codec_truncation)
{
	size_t n = encode(sample_policy()), i;
	struct dms_reason why;
	int failed = 0;

	/*
	 * A prefix ending on a top-level record boundary after the first
	 * profile is itself a valid policy (its digest differs); every other
	 * prefix must be refused.
	 */
	for (i = 0; i < n; i++) {
		static u8 again[8192];

		if (dms_policy_decode(enc, i, &dec, &why))
			continue;
		if (dms_policy_encode(&dec, again, sizeof(again)) != i ||
		    memcmp(again, enc, i) || i != rec_off(4))
			failed++;
	}
	CHECK_EQ(failed, 0);
	DBAD(n - 1, "truncated");
	DBAD(10, "truncated record header at offset 8");
}

TEST(codec_trailing_bytes)
{
	size_t n = encode(sample_policy());

	enc[n] = 0;
	DBAD(n + 1, "truncated record header");
	memset(enc + n, 0, 4);
	DBAD(n + 4, "unknown tag 0x00");
	/* A whole extra profile record after the last one: a duplicate name. */
	n = encode(sample_policy());
	{
		size_t po = rec_off(3);
		size_t pl = 4 + ((enc[po + 2] << 8) | enc[po + 3]);

		memcpy(enc + n, enc + po, pl);
		DBAD(n + pl, "profile 2: duplicate name");
	}
}

TEST(codec_unknown_and_order)
{
	size_t n = encode(sample_policy());
	size_t off;

	/* Top-level: scope (0x01) turned into an unknown tag. */
	put16(enc + 8, 0x31);
	DBAD(n, "policy: unknown tag 0x31 at offset 8");
	/* Swap the two other_target records' tags to scope: out of order. */
	n = encode(sample_policy());
	put16(enc + rec_off(1), 0x01);
	DBAD(n, "duplicate tag 0x01 at offset 16");
	n = encode(sample_policy());
	put16(enc + rec_off(2), 0x01);
	DBAD(n, "out of order tag 0x01");
	n = encode(sample_policy());
	off = rec_off(1);	/* first other_target: make it a scope_uuid */
	put16(enc + rec_off(2), 0x03);
	DBAD(n, "out of order tag 0x03");
	(void)off;
	/* Profile level: unknown tag, reported with the profile index. */
	n = encode(sample_policy());
	off = prof_tag_off(0x03);
	put16(enc + off, 0x31);
	{
		char want[64];

		snprintf(want, sizeof(want), "policy: profile 0: unknown tag 0x31 at offset %zu", off);
		DBAD(n, want);
	}
	n = encode(sample_policy());
	put16(enc + prof_tag_off(0x07), 0x05);
	DBAD(n, "profile 0: out of order tag 0x05");
	n = encode(sample_policy());
	put16(enc + prof_tag_off(0x09), 0x08);
	DBAD(n, "profile 0: duplicate tag 0x08");
}

/* Remove the record at off inside the first profile; returns the new size. */
static size_t drop_prof_rec(size_t n, size_t off)
{
	size_t po = rec_off(3);
	size_t rl = 4 + ((enc[off + 2] << 8) | enc[off + 3]);
	unsigned int pl = (enc[po + 2] << 8) | enc[po + 3];

	memmove(enc + off, enc + off + rl, n - off - rl);
	put16(enc + po + 2, pl - rl);
	return n - rl;
}

TEST(codec_missing_field)
{
	size_t n;

	n = encode(sample_policy());
	n = drop_prof_rec(n, prof_tag_off(0x21));
	DBAD(n, "profile 0: tag_size missing, record ends");
	n = encode(sample_policy());
	n = drop_prof_rec(n, prof_tag_off(0x01));
	DBAD(n, "profile 0: name missing");
	/* Without its only aead_size, integrity_required is meaningless. */
	n = encode(sample_policy());
	n = drop_prof_rec(n, prof_tag_off(0x06));
	DBAD(n, "integrity_required needs at least one aead size");
	/* A cipher rule without its key size. */
	n = encode(sample_policy());
	{
		size_t co = prof_tag_off(0x02);
		size_t sl = (enc[co + 6] << 8) | enc[co + 7];
		size_t ko = co + 4 + 4 + sl;
		size_t po = rec_off(3);
		unsigned int pl = (enc[po + 2] << 8) | enc[po + 3];

		memmove(enc + ko, enc + ko + 8, n - ko - 8);
		put16(enc + co + 2, 4 + sl);
		put16(enc + po + 2, pl - 8);
		DBAD(n - 8, "profile 0: cipher 0: key_size missing");
	}
}

TEST(codec_value_errors)
{
	size_t n, off;

	n = encode(sample_policy());
	enc[prof_tag_off(0x05) + 4] = 2;
	DBAD(n, "integrity_required must be 0 or 1");
	n = encode(sample_policy());
	off = prof_tag_off(0x01);
	enc[off + 5] = 0;		/* NUL inside the name */
	DBAD(n, "name has a NUL, control or non-ASCII byte");
	n = encode(sample_policy());
	enc[prof_tag_off(0x01) + 4] = 0x1b;
	DBAD(n, "has a NUL, control");
	n = encode(sample_policy());
	enc[prof_tag_off(0x01) + 4] = 0xc3;
	DBAD(n, "non-ASCII");
	/* Wrong fixed length: shrink scope to 3 bytes, shifting the rest. */
	n = encode(sample_policy());
	put16(enc + 10, 3);
	memmove(enc + 15, enc + 16, n - 16);
	DBAD(n - 1, "scope must be 4 bytes at offset 8");
	n = encode(sample_policy());
	off = prof_tag_off(0x09);
	put16(enc + off + 2, 2);
	memmove(enc + off + 6, enc + off + 5, n - off - 5);
	/* The profile's own length is now one short: fix it up. */
	{
		size_t po = rec_off(3);
		unsigned int pl = (enc[po + 2] << 8) | enc[po + 3];

		put16(enc + po + 2, pl + 1);
	}
	DBAD(n + 1, "allow_key_wipe must be 1 byte");
}

TEST(codec_empty_and_long_strings)
{
	struct dms_policy *p;
	size_t n, off;

	/* An empty key_desc_prefix record is not canonical (it is omitted). */
	n = encode(sample_policy());
	off = prof_tag_off(0x04);
	/* Replace "dmseal:" (7 bytes) by an empty value. */
	put16(enc + off + 2, 0);
	memmove(enc + off + 4, enc + off + 11, n - off - 11);
	{
		size_t po = rec_off(3);
		unsigned int pl = (enc[po + 2] << 8) | enc[po + 3];

		put16(enc + po + 2, pl - 7);
	}
	DBAD(n - 7, "key_desc_prefix is empty");
	/* A name longer than the field. */
	p = sample_policy();
	n = encode(p);
	off = prof_tag_off(0x01);
	{
		static u8 big[8192];
		size_t po = rec_off(3), i;
		unsigned int pl = (enc[po + 2] << 8) | enc[po + 3];

		memcpy(big, enc, off + 4);
		for (i = 0; i < 40; i++)
			big[off + 4 + i] = 'n';
		put16(big + off + 2, 40);
		memcpy(big + off + 44, enc + off + 7, n - off - 7);
		put16(big + po + 2, pl + 37);
		memcpy(enc, big, n + 37);
		DBAD(n + 37, "profile 0: name too long (max 31)");
	}
}

TEST(codec_counts)
{
	struct dms_policy *p = sample_policy();
	size_t n, off;

	n = encode(p);
	/* One profile more than DMS_MAX_PROFILES. */
	{
		size_t po = rec_off(3);
		size_t pl = n - po;
		int i;

		for (i = 0; i < DMS_MAX_PROFILES; i++)
			memcpy(enc + n + i * pl, enc + po, pl);
		DBAD(n + DMS_MAX_PROFILES * pl, "too many profile (max 64)");
	}
	/* Five aead sizes. */
	p = sample_policy();
	n = encode(p);
	off = prof_tag_off(0x06);
	{
		static u8 big[8192];
		size_t po = rec_off(3);
		unsigned int pl = (enc[po + 2] << 8) | enc[po + 3];
		int i;

		memcpy(big, enc, off);
		for (i = 0; i < DMS_MAX_AEAD_SIZES + 1; i++) {
			memcpy(big + off + i * 8, enc + off, 8);
			big[off + i * 8 + 7] = 10 + i;
		}
		memcpy(big + off + 8 * (DMS_MAX_AEAD_SIZES + 1), enc + off + 8,
		       n - off - 8);
		put16(big + po + 2, pl + 8 * DMS_MAX_AEAD_SIZES);
		memcpy(enc, big, n + 8 * DMS_MAX_AEAD_SIZES);
		DBAD(n + 8 * DMS_MAX_AEAD_SIZES, "profile 0: too many aead_size (max 16)");
	}
}

TEST(codec_semantic_errors)
{
	struct dms_policy *p = sample_policy();
	size_t n;

	p->profiles[0].int_modes |= DMS_MODE_BIT('R');
	n = encode(p);
	DBAD(n, "integrity mode R");
	p = sample_policy();
	strcpy(p->profiles[0].ciphers[0].spec, "cipher_null-ecb");
	n = encode(p);
	DBAD(n, "cipher_null is never allowed");
	p = sample_policy();
	p->n_profiles = 0;
	n = encode(p);
	DBAD(n, "needs 1 to 64 profiles");
}

TEST(codec_not_canonical)
{
	struct dms_policy *p = sample_policy();
	static struct dms_profile tmp;
	size_t n;

	/* Unsorted profiles. */
	tmp = p->profiles[0];
	p->profiles[0] = p->profiles[1];
	p->profiles[1] = tmp;
	n = encode(p);
	DBAD(n, "not in canonical form");
	/* Unsorted other targets. */
	p = sample_policy();
	strcpy(p->other_targets[0], "zero");
	strcpy(p->other_targets[1], "linear");
	n = encode(p);
	DBAD(n, "not in canonical form at offset");
	/* Unsorted cipher rules. */
	p = sample_policy();
	{
		struct dms_cipher_rule t = p->profiles[0].ciphers[0];

		p->profiles[0].ciphers[0] = p->profiles[0].ciphers[1];
		p->profiles[0].ciphers[1] = t;
	}
	n = encode(p);
	DBAD(n, "not in canonical form");
	/* Duplicate aead sizes are caught by validation. */
	p = sample_policy();
	p->profiles[0].n_aead_sizes = 2;
	p->profiles[0].aead_sizes[1] = 32;
	n = encode(p);
	DBAD(n, "aead size 32 is a duplicate");
	/* Unsorted aead sizes. */
	p = sample_policy();
	p->profiles[0].n_aead_sizes = 2;
	p->profiles[0].aead_sizes[0] = 64;
	p->profiles[0].aead_sizes[1] = 32;
	n = encode(p);
	DBAD(n, "not in canonical form");
	/* Unsorted alg lists. */
	p = sample_policy();
	p->profiles[1].n_journal_mac = 2;
	strcpy(p->profiles[1].journal_mac[0], "hmac(sha512)");
	strcpy(p->profiles[1].journal_mac[1], "hmac(sha256)");
	n = encode(p);
	DBAD(n, "not in canonical form");
	dms_policy_normalize(p);
	n = encode(p);
	CHECK_EQ(dms_policy_decode(enc, n, &dec, NULL), 0);
}

TEST(codec_decode_clears_on_error)
{
	size_t n = encode(sample_policy());

	memset(&dec, 0x77, sizeof(dec));
	enc[n - 1] ^= 0xff;
	CHECK_EQ(dms_policy_decode(enc, n, &dec, NULL), -EINVAL);
	CHECK_EQ(dec.n_profiles, 0);
	CHECK_EQ(dec.scope, 0);
}

TEST(codec_scope_prefixes)
{
	struct dms_policy *p = sample_policy();
	struct dms_reason why = { "" };
	size_t n;

	p->scope = DMS_SCOPE_NAME_PREFIX | DMS_SCOPE_UUID_PREFIX;
	strcpy(p->scope_name_prefix, "coco-");
	strcpy(p->scope_uuid_prefix, "CRYPT-LUKS2-");
	n = encode(p);
	CHECK_EQ(dms_policy_decode(enc, n, &dec, &why), 0);
	CHECK_STR(why.msg, "");
	CHECK_STR(dec.scope_uuid_prefix, "CRYPT-LUKS2-");
	/* Scope says name only, but a uuid prefix record is there. */
	put16(enc + 12, 0);
	enc[15] = DMS_SCOPE_NAME_PREFIX;
	DBAD(n, "scope_uuid_prefix must be set exactly when");
}

TEST(codec_bitflip_sweep)
{
	/* Every single-bit corruption is refused or re-encodes identically. */
	size_t n = encode(sample_policy()), i;
	static u8 orig[8192], again[8192];
	int bad = 0;
	unsigned int b;

	memcpy(orig, enc, n);
	for (i = 0; i < n; i++) {
		for (b = 0; b < 8; b++) {
			memcpy(enc, orig, n);
			enc[i] ^= 1u << b;
			if (dms_policy_decode(enc, n, &dec, NULL))
				continue;
			if (dms_policy_encode(&dec, again, sizeof(again)) != n ||
			    memcmp(again, enc, n))
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
}
