// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Host tests for the policy evaluation (eval.c). */
#include "check.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64
#define AUTHENC "capi:authenc(hmac(sha256),xts(aes))-plain64"
#define LUKS2_CRYPT AUTHENC " :96:logon:cryptsetup:3e2b6b9c-1111-2222-3333-444455556666-d0 0 " \
	"/dev/mapper/c1_dif 0 1 integrity:32:aead"
#define LUKS2_INT "/dev/vda 32768 32 J 3 block_size:512 fix_padding fix_hmac"
#define EPH "capi:authenc(hmac(sha256),xts(aes))-random :96:logon:dmseal:vol1 0 253:0 0 2 " \
	"sector_size:4096 integrity:32:aead"

static int crypt_check(const char *s, struct dms_reason *why)
{
	static struct dms_crypt c;

	if (parse_c(s, &c, why)) {
		test_fail(__FILE__, __LINE__, "'%s' did not parse: %s", s, why->msg);
		return -999;
	}
	return dms_check_crypt(sample_policy(), &c, why);
}

static int int_check(const char *s, struct dms_reason *why)
{
	static struct dms_integrity t;

	if (parse_i(s, &t, why)) {
		test_fail(__FILE__, __LINE__, "'%s' did not parse: %s", s, why->msg);
		return -999;
	}
	return dms_check_integrity(sample_policy(), &t, why);
}

static void cdeny(const char *file, int line, const char *s, const char *want)
{
	struct dms_reason why = { "" };
	int r = crypt_check(s, &why);

	if (r != -EACCES)
		test_fail(file, line, "'%s' allowed (r=%d)", s, r);
	else if (strcmp(why.msg, want))
		test_fail(file, line, "'%s': reason '%s' != '%s'", s, why.msg, want);
}

static void ideny(const char *file, int line, const char *s, const char *want)
{
	struct dms_reason why = { "" };
	int r = int_check(s, &why);

	if (r != -EACCES)
		test_fail(file, line, "'%s' allowed (r=%d)", s, r);
	else if (strcmp(why.msg, want))
		test_fail(file, line, "'%s': reason '%s' != '%s'", s, why.msg, want);
}
#define CDENY(s, want) cdeny(__FILE__, __LINE__, s, want)
#define IDENY(s, want) ideny(__FILE__, __LINE__, s, want)

TEST(eval_crypt_allowed)
{
	struct dms_reason why;

	CHECK_EQ(crypt_check(EPH, &why), 0);
	CHECK_EQ(crypt_check(LUKS2_CRYPT, &why), 1);
	CHECK_EQ(crypt_check("aes-xts-plain64 :64:logon:dmseal:v 0 1:2 0 4 sector_size:4096 "
			     "integrity:32:aead same_cpu_crypt high_priority", &why), 0);
}

TEST(eval_crypt_null_cipher)
{
	CDENY("cipher_null-ecb - 0 /dev/vda 0", "cipher_null is never allowed");
	CDENY("capi:ecb(cipher_null)-plain :64:logon:dmseal:x 0 /dev/vda 0",
	      "cipher_null is never allowed");
	CDENY("ecb(CIPHER_NULL) - 0 /dev/vda 0", "cipher_null is never allowed");
}

TEST(eval_crypt_denials)
{
	CDENY("aes-cbc-essiv:sha256 " HEX128 " 0 /dev/vda 0",
	      "profile 'eph': cipher 'aes-cbc-essiv:sha256' with 64-byte key not allowed");
	CDENY("aes-xts-plain64 " HEX64 " 0 /dev/vda 0",
	      "profile 'eph': cipher 'aes-xts-plain64' with 32-byte key not allowed");
	CDENY("aes-xts-plain64 " HEX128 " 0 /dev/vda 0",
	      "profile 'eph': hex keys not allowed (allowed: logon)");
	CDENY("aes-xts-plain64 :64:user:dmseal:x 0 /dev/vda 0",
	      "profile 'eph': user keys not allowed (allowed: logon)");
	CDENY("aes-xts-plain64 :64:logon:other:x 0 /dev/vda 0",
	      "profile 'eph': key description must start with 'dmseal:'");
	CDENY("aes-xts-plain64 :64:logon:dmseal:x 0 /dev/vda 0",
	      "profile 'eph': integrity required (integrity:32:aead)");
	CDENY("aes-xts-plain64 :64:logon:dmseal:x 0 /dev/vda 0 1 integrity:16:aead",
	      "profile 'eph': integrity required (integrity:32:aead)");
	CDENY("aes-xts-plain64 :64:logon:dmseal:x 0 /dev/vda 0 1 integrity:32:none",
	      "profile 'eph': integrity required (integrity:32:aead)");
	CDENY("aes-xts-plain64 :64:logon:dmseal:x 0 /dev/vda 0 1 integrity:32:aead",
	      "profile 'eph': sector size 512 not allowed");
	CDENY("aes-xts-plain64 :64:logon:dmseal:x 0 /dev/vda 0 3 integrity:32:aead "
	      "sector_size:4096 allow_discards", "profile 'eph': allow_discards not allowed");
	CDENY("aes-xts-plain64 :64:logon:dmseal:x 0 /dev/vda 0 3 integrity:32:aead "
	      "sector_size:4096 iv_large_sectors", "profile 'eph': iv_large_sectors not allowed");
}

TEST(eval_crypt_best_profile_reason)
{
	/* Cipher matches only 'persist': its reason wins over 'eph'. */
	CDENY(AUTHENC " :96:logon:other:x 0 /dev/vda 0 1 integrity:32:aead",
	      "profile 'persist': key description must start with 'cryptsetup:'");
	CDENY(AUTHENC " :96:logon:cryptsetup:x 0 /dev/vda 0 2 integrity:32:aead allow_discards",
	      "profile 'persist': allow_discards not allowed");
}

TEST(eval_crypt_deepest_profile_reason)
{
	struct dms_policy *p = sample_policy();
	static struct dms_crypt c;
	struct dms_reason why = { "" };

	/*
	 * Both profiles take the cipher; the key prefix says the table was
	 * meant for 'persist', so its rule (integrity) is the reason, not
	 * 'eph''s key prefix.
	 */
	p->profiles[0].ciphers[1].key_size = 96;
	memcpy(p->profiles[0].ciphers[1].spec, AUTHENC, sizeof(AUTHENC));
	CHECK_EQ(parse_c(AUTHENC " :96:logon:cryptsetup:x 0 /dev/vda 0", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
	CHECK_STR(why.msg, "profile 'persist': integrity required (integrity:32:aead)");
}

TEST(eval_crypt_optional_integrity)
{
	struct dms_policy *p = sample_policy();
	static struct dms_crypt c;
	struct dms_reason why = { "" };

	p->profiles[0].integrity_required = false;
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:x 0 1:2 0 1 sector_size:4096", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), 0);
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:x 0 1:2 0 2 sector_size:4096 "
			 "integrity:16:aead", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
	CHECK_STR(why.msg, "profile 'eph': integrity:16:aead not allowed");
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:x 0 1:2 0 2 sector_size:4096 "
			 "integrity:32:none", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
	CHECK_STR(why.msg, "profile 'eph': integrity:32:none not allowed");
	p->profiles[0].n_aead_sizes = 0;
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:x 0 1:2 0 2 sector_size:4096 "
			 "integrity:32:aead", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
	/* Allowed options. */
	p = sample_policy();
	p->profiles[0].crypt_allow = DMS_CRYPT_ALLOW_DISCARDS;
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:x 0 1:2 0 3 sector_size:4096 "
			 "integrity:32:aead allow_discards", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), 0);
	/* No prefix: any description. */
	p->profiles[0].key_desc_prefix[0] = 0;
	p->profiles[0].key_forms = DMS_KEY_LOGON | DMS_KEY_HEX;
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:zzz 0 1:2 0 2 sector_size:4096 "
			 "integrity:32:aead", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), 0);
	CHECK_EQ(parse_c("aes-xts-plain64 " HEX128 " 0 1:2 0 2 sector_size:4096 "
			 "integrity:32:aead", &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), 0);
	/* The empty key form never passes, even if a policy slipped it in. */
	p->profiles[0].key_forms = DMS_KEY_FORMS_ALL;
	p->profiles[0].ciphers[0].key_size = 0;
	CHECK_EQ(parse_c("aes-xts-plain64 - 0 1:2 0 2 sector_size:4096 integrity:32:aead",
			 &c, &why), 0);
	CHECK_EQ(dms_check_crypt(p, &c, &why), -EACCES);
	CHECK_HAS(why.msg, "empty keys not allowed");
}

TEST(eval_crypt_malformed_struct)
{
	static struct dms_crypt c;
	struct dms_reason why = { "" };

	CHECK_EQ(parse_c(EPH, &c, &why), 0);
	memset(c.cipher, 'a', sizeof(c.cipher));
	CHECK_EQ(dms_check_crypt(sample_policy(), &c, &why), -EACCES);
	CHECK_STR(why.msg, "crypt: malformed target");
	CHECK_EQ(parse_c(EPH, &c, &why), 0);
	c.key_form = DMS_KEY_LOGON | DMS_KEY_HEX;
	CHECK_EQ(dms_check_crypt(sample_policy(), &c, NULL), -EACCES);
}

TEST(eval_integrity_allowed)
{
	struct dms_reason why;

	CHECK_EQ(int_check(LUKS2_INT, &why), 0);
	CHECK_EQ(int_check("/dev/vda 32768 32 D 3 block_size:512 fix_padding fix_hmac", &why), 0);
	CHECK_EQ(int_check("/dev/vda 0 32 J 4 block_size:4096 fix_padding fix_hmac "
			   "internal_hash:hmac(sha256):0011", &why), 0);
	CHECK_EQ(int_check("/dev/vda 0 32 J 2 fix_padding fix_hmac", &why), 0);
	/* AEAD stacks: no keyed MAC in dm-integrity, fix_hmac is moot. */
	CHECK_EQ(int_check("/dev/vda 0 32 J 1 fix_padding", &why), 0);
}

TEST(eval_integrity_denials)
{
	IDENY("/dev/vda 0 32 R 2 fix_padding fix_hmac",
	      "integrity mode R (recovery, no checks) is never allowed");
	IDENY("/dev/vda 0 32 B 2 fix_padding fix_hmac",
	      "profile 'eph': integrity mode B not allowed");
	IDENY("/dev/vda 0 16 J 2 fix_padding fix_hmac", "profile 'eph': tag size 16 not allowed");
	IDENY("/dev/vda 0 32 J 3 block_size:1024 fix_padding fix_hmac",
	      "profile 'eph': block size 1024 not allowed");
	IDENY("/dev/vda 0 32 J 2 fix_padding internal_hash:hmac(sha256):0011",
	      "profile 'eph': fix_hmac required with internal_hash or journal_mac");
	IDENY("/dev/vda 0 32 J 1 fix_hmac", "profile 'eph': fix_padding required");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac legacy_recalculate",
	      "profile 'eph': legacy_recalculate not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac recalculate",
	      "profile 'eph': recalculate not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac reset_recalculate",
	      "profile 'eph': reset_recalculate not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac allow_discards",
	      "profile 'eph': allow_discards not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac meta_device:/dev/vdb",
	      "profile 'eph': meta_device not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac internal_hash:crc32c",
	      "profile 'eph': internal_hash 'crc32c' not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac journal_crypt:ctr(aes):00",
	      "profile 'eph': journal_crypt 'ctr(aes)' not allowed");
	IDENY("/dev/vda 0 32 J 3 fix_padding fix_hmac journal_mac:hmac(sha256)",
	      "profile 'eph': journal_mac 'hmac(sha256)' not allowed");
}

TEST(eval_integrity_best_profile_reason)
{
	struct dms_policy *p = sample_policy();
	static struct dms_integrity t;
	struct dms_reason why = { "" };

	/* Only 'persist' allows mode B: its reason is reported. */
	p->profiles[1].int_modes |= DMS_MODE_BIT('B');
	CHECK_EQ(parse_i("/dev/vda 0 32 B 1 fix_hmac", &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), -EACCES);
	CHECK_STR(why.msg, "profile 'persist': fix_padding required");
	CHECK_EQ(parse_i("/dev/vda 0 32 B 2 fix_padding fix_hmac", &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, &why), 1);
	p->profiles[1].int_allow = DMS_INT_RECALC | DMS_INT_META_DEVICE;
	CHECK_EQ(parse_i("/dev/vda 0 32 B 4 fix_padding fix_hmac recalculate meta_device:1:2",
			 &t, &why), 0);
	CHECK_EQ(dms_check_integrity(p, &t, NULL), 1);
	t.mode = 'x';
	CHECK_EQ(dms_check_integrity(p, &t, &why), -EACCES);
	CHECK_STR(why.msg, "integrity: malformed target");
}

TEST(eval_no_profiles)
{
	static struct dms_policy p;
	static struct dms_crypt c;
	static struct dms_integrity t;
	struct dms_reason why = { "" };

	memset(&p, 0, sizeof(p));
	CHECK_EQ(parse_c(EPH, &c, &why), 0);
	CHECK_EQ(dms_check_crypt(&p, &c, &why), -EACCES);
	CHECK_STR(why.msg, "policy has no profiles");
	CHECK_EQ(parse_i(LUKS2_INT, &t, &why), 0);
	CHECK_EQ(dms_check_integrity(&p, &t, &why), -EACCES);
}

TEST(eval_scope)
{
	struct dms_policy *p = sample_policy();

	CHECK(dms_scope_match(p, "anything", NULL));
	CHECK(dms_scope_match(p, NULL, NULL));
	p->scope = DMS_SCOPE_NAME_PREFIX;
	strcpy(p->scope_name_prefix, "coco-");
	CHECK(dms_scope_match(p, "coco-eph1", ""));
	CHECK(dms_scope_match(p, "coco-", ""));
	CHECK(!dms_scope_match(p, "coc", "coco-"));
	CHECK(!dms_scope_match(p, NULL, NULL));
	p->scope |= DMS_SCOPE_UUID_PREFIX;
	strcpy(p->scope_uuid_prefix, "CRYPT-");
	CHECK(dms_scope_match(p, "x", "CRYPT-LUKS2-abc"));
	CHECK(dms_scope_match(p, "coco-1", "x"));
	CHECK(!dms_scope_match(p, "x", "crypt-"));
	p->scope = DMS_SCOPE_UUID_PREFIX;
	CHECK(!dms_scope_match(p, "coco-1", "x"));
}

TEST(eval_other_targets)
{
	struct dms_policy *p = sample_policy();

	CHECK(dms_other_target_allowed(p, "linear"));
	CHECK(dms_other_target_allowed(p, "zero"));
	CHECK(!dms_other_target_allowed(p, "zer"));
	CHECK(!dms_other_target_allowed(p, "zeroes"));
	CHECK(!dms_other_target_allowed(p, "crypt"));
	CHECK(!dms_other_target_allowed(p, "integrity"));
	CHECK(!dms_other_target_allowed(p, "error"));
	CHECK(!dms_other_target_allowed(p, NULL));
	CHECK(!dms_other_target_allowed(p, ""));
}
