// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Host tests for the dm-crypt / dm-integrity parameter parsers (table.c). */
#define _GNU_SOURCE
#include <stdlib.h>
#include "check.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64
#define LUKS2_CRYPT "capi:authenc(hmac(sha256),xts(aes))-plain64 " \
	":96:logon:cryptsetup:3e2b6b9c-1111-2222-3333-444455556666-d0 0 " \
	"/dev/mapper/c1_dif 0 1 integrity:32:aead"
#define LUKS2_INT "/dev/vda 32768 32 J 3 block_size:512 fix_padding fix_hmac"

TEST(crypt_cryptsetup_luks2_integrity)
{
	struct dms_crypt c;
	struct dms_reason why;

	CHECK_EQ(parse_c(LUKS2_CRYPT, &c, &why), 0);
	CHECK_STR(c.cipher, "capi:authenc(hmac(sha256),xts(aes))-plain64");
	CHECK_EQ(c.key_form, DMS_KEY_LOGON);
	CHECK_EQ(c.key_size, 96);
	CHECK_STR(c.key_desc, "cryptsetup:3e2b6b9c-1111-2222-3333-444455556666-d0");
	CHECK_EQ(c.iv_offset, 0);
	CHECK(!c.dev.resolved);
	CHECK_STR(c.dev.path, "/dev/mapper/c1_dif");
	CHECK_EQ(c.offset, 0);
	CHECK_EQ(c.flags, DMS_CRYPT_INTEGRITY);
	CHECK_EQ(c.integrity_bytes, 32);
	CHECK_STR(c.integrity_type, "aead");
	CHECK_EQ(c.sector_size, 512);
}

TEST(crypt_plain_hex)
{
	struct dms_crypt c;
	struct dms_reason why;

	CHECK_EQ(parse_c("aes-xts-plain64 " HEX128 " 0 /dev/vda 0", &c, &why), 0);
	CHECK_EQ(c.key_form, DMS_KEY_HEX);
	CHECK_EQ(c.key_size, 64);
	CHECK_STR(c.key_desc, "");
	CHECK_STR(c.dev.path, "/dev/vda");
	CHECK_EQ(parse_c("aes-xts-plain64 ABCDEF0123456789abcdef0123456789 7 8:16 99",
			 &c, &why), 0);
	CHECK_EQ(c.key_size, 16);
	CHECK(c.dev.resolved);
	CHECK_EQ(c.dev.major, 8);
	CHECK_EQ(c.dev.minor, 16);
	CHECK_EQ(c.iv_offset, 7);
	CHECK_EQ(c.offset, 99);
}

TEST(crypt_keyring_and_options)
{
	struct dms_crypt c;
	struct dms_reason why;

	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 2 "
			 "sector_size:4096 integrity:32:aead", &c, &why), 0);
	CHECK_EQ(c.sector_size, 4096);
	CHECK_EQ(c.flags, DMS_CRYPT_SECTOR_SIZE | DMS_CRYPT_INTEGRITY);
	CHECK_STR(c.key_desc, "dmseal:vol1");
	CHECK_EQ(parse_c("aes-xts-plain64 :32:user:a 0 1:2 0 7 allow_discards "
			 "same_cpu_crypt submit_from_crypt_cpus no_read_workqueue "
			 "no_write_workqueue iv_large_sectors high_priority", &c, &why), 0);
	CHECK_EQ(c.flags, 0x7f);
	CHECK_EQ(c.key_form, DMS_KEY_USER);
	CHECK_EQ(parse_c("aes :32:encrypted:x 0 1:2 0", &c, &why), 0);
	CHECK_EQ(c.key_form, DMS_KEY_ENCRYPTED);
	CHECK_EQ(parse_c("aes :32:trusted:x 0 1:2 0 0", &c, &why), 0);
	CHECK_EQ(c.key_form, DMS_KEY_TRUSTED);
	CHECK_EQ(parse_c("aes - 0 1:2 0", &c, &why), 0);
	CHECK_EQ(c.key_form, DMS_KEY_EMPTY);
	CHECK_EQ(c.key_size, 0);
	CHECK_EQ(parse_c("aes :32:logon:a:b:c 0 1:2 0 1 integrity:16:none", &c, &why), 0);
	CHECK_STR(c.key_desc, "a:b:c");
	CHECK_STR(c.integrity_type, "none");
}

TEST(crypt_whitespace_like_kernel)
{
	struct dms_crypt c;
	struct dms_reason why;
	const char s[] = "\t aes-xts-plain64\n" HEX64 "\v0\f/dev/vda\r0\xa0 ";

	CHECK_EQ(parse_c(s, &c, &why), 0);
	CHECK_EQ(c.key_size, 32);
	CHECK_STR(c.dev.path, "/dev/vda");
}

TEST(crypt_token_count)
{
	CRYPT_BAD("", "0 parameters given, at least 5 needed");
	CRYPT_BAD("   ", "0 parameters given");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda", "4 parameters given");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0 extra", "optional parameter count 'extra' is not a number");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0 3 allow_discards same_cpu_crypt",
		  "crypt: 3 optional parameters announced, 2 given");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0 1 allow_discards same_cpu_crypt",
		  "1 optional parameters announced, 2 given");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0 99999999999999999999999 x",
		  "optional parameter count");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0 -1", "is not a number");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0 +1 allow_discards", "is not a number");
}

TEST(crypt_too_many_tokens)
{
	static char buf[8192];
	struct dms_crypt c;
	struct dms_reason why;
	size_t n;
	int i;

	n = (size_t)snprintf(buf, sizeof(buf), "aes " HEX64 " 0 /dev/vda 0 999");
	for (i = 0; i < 1000 && n + 3 < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " x");
	CHECK_EQ(dms_parse_crypt(buf, n, &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "optional parameters announced");
	n = (size_t)snprintf(buf, sizeof(buf), "aes " HEX64 " 0 /dev/vda 0 2 x x");
	CHECK_EQ(dms_parse_crypt(buf, n, &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "unknown option 'x'");
}

/* dm sets no limit we should set lower: a 256 KiB line parses like any. */
TEST(crypt_long_params)
{
	static char buf[300000];
	struct dms_crypt c;
	struct dms_reason why;
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "aes ");
	memset(buf + n, 'b', 262144);
	n += 262144;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " 0 /dev/vda 0");
	CHECK_EQ(dms_parse_crypt(buf, n, &c, &why), 0);
	CHECK_EQ(c.key_size, 131072);
	CHECK_EQ(c.key_hex.off, 4);
	CHECK_EQ(c.key_hex.len, 262144);
	memset(buf, 'a', sizeof(buf));
	CHECK_EQ(dms_parse_crypt(buf, sizeof(buf), &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "at least 5 needed");
}

TEST(crypt_numbers)
{
	struct dms_crypt c;
	struct dms_reason why;

	CRYPT_BAD("aes " HEX64 " 12x /dev/vda 0", "crypt: iv_offset '12x' is not a number");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 0x10", "offset '0x10' is not a number");
	CRYPT_BAD("aes " HEX64 " -1 /dev/vda 0", "iv_offset '-1' is not a number");
	CRYPT_BAD("aes " HEX64 " +1 /dev/vda 0", "is not a number");
	CRYPT_BAD("aes " HEX64 " 0 /dev/vda 18446744073709551616", "offset '18446744073709551616' is out of range");
	CRYPT_BAD("aes " HEX64 " 99999999999999999999999999 /dev/vda 0", "iv_offset '99999999999999999999999999' is out of range");
	CHECK_EQ(parse_c("aes " HEX64 " 18446744073709551615 /dev/vda 00018446744073709551615",
			 &c, &why), 0);
	CHECK(c.iv_offset == ~0ULL);
	CHECK(c.offset == ~0ULL);
}

TEST(crypt_key_errors)
{
	CRYPT_BAD("aes 0123456789abcdeg 0 /dev/vda 0", "crypt: key is not valid hex");
	CRYPT_BAD("aes 0123456789abcde 0 /dev/vda 0", "key has an odd number of hex digits");
	CRYPT_BAD("aes -- 0 /dev/vda 0", "key is not valid hex");
	CRYPT_BAD("aes : 0 /dev/vda 0", "keyring key is not :size:type:description");
	CRYPT_BAD("aes :32 0 /dev/vda 0", "keyring key is not");
	CRYPT_BAD("aes :32:logon 0 /dev/vda 0", "keyring key is not");
	CRYPT_BAD("aes :32:logon: 0 /dev/vda 0", "keyring key description is empty");
	CRYPT_BAD("aes :0:logon:x 0 /dev/vda 0", "key size is not a positive number");
	CRYPT_BAD("aes ::logon:x 0 /dev/vda 0", "key size is not a positive number");
	CRYPT_BAD("aes :99999999999:logon:x 0 /dev/vda 0", "key size is not a positive number");
	CRYPT_BAD("aes :32:big:x 0 /dev/vda 0", "keyring key type is not logon");
	CRYPT_BAD("aes :32:LOGON:x 0 /dev/vda 0", "keyring key type");
}

TEST(crypt_key_reason_has_no_key)
{
	struct dms_crypt c;
	struct dms_reason why;
	const char *secret = "deadbeefcafebabe0011223344556677";
	char s[256];

	snprintf(s, sizeof(s), "aes %sz 0 /dev/vda 0", secret);
	CHECK_EQ(parse_c(s, &c, &why), -EINVAL);
	CHECK(!strstr(why.msg, "deadbeef"));
	/* Misplaced key material is not quoted either. */
	snprintf(s, sizeof(s), "aes %s %s /dev/vda 0", secret, secret);
	CHECK_EQ(parse_c(s, &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "iv_offset (32 bytes) is not a number");
	CHECK(!strstr(why.msg, "deadbeef"));
	snprintf(s, sizeof(s), "%s%s %s 0 /dev/vda 0", secret, secret, secret);
	CHECK_EQ(parse_c(s, &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "cipher looks like key material");
	CHECK(!strstr(why.msg, "deadbeef"));
}

TEST(crypt_cipher_errors)
{
	char s[1024];

	CRYPT_BAD("aes/xts " HEX64 " 0 /dev/vda 0", "cipher 'aes/xts' contains invalid characters");
	CRYPT_BAD("aes\x01 " HEX64 " 0 /dev/vda 0", "control or non-ASCII");
	CRYPT_BAD("a\xe9s " HEX64 " 0 /dev/vda 0", "control or non-ASCII");
	memset(s, 'x', 256);
	snprintf(s + 256, sizeof(s) - 256, " " HEX64 " 0 /dev/vda 0");
	CRYPT_BAD(s, "cipher (256 bytes) is too long");
	s[255] = ' ';
	/* 255 chars is the longest valid spec. */
	{
		struct dms_crypt c;
		struct dms_reason why;

		memset(s, 'x', 127);
		snprintf(s + 127, sizeof(s) - 127, " " HEX64 " 0 /dev/vda 0");
		CHECK_EQ(parse_c(s, &c, &why), 0);
		CHECK_EQ(strlen(c.cipher), 127);
	}
}

TEST(crypt_device_errors)
{
	static char s[8192];
	struct dms_crypt c;
	struct dms_reason why;

	CRYPT_BAD("aes " HEX64 " 0 vda 0", "device 'vda' is not MAJOR:MINOR or an absolute path");
	CRYPT_BAD("aes " HEX64 " 0 253: 0", "is not MAJOR:MINOR");
	CRYPT_BAD("aes " HEX64 " 0 :0 0", "is not MAJOR:MINOR");
	CRYPT_BAD("aes " HEX64 " 0 253:0x 0", "is not MAJOR:MINOR");
	CRYPT_BAD("aes " HEX64 " 0 253:0:1 0", "is not MAJOR:MINOR");
	CRYPT_BAD("aes " HEX64 " 0 -1:0 0", "is not MAJOR:MINOR");
	CRYPT_BAD("aes " HEX64 " 0 4096:0 0", "device '4096:0' is out of range");
	CRYPT_BAD("aes " HEX64 " 0 1:1048576 0", "is out of range");
	CHECK_EQ(parse_c("aes " HEX64 " 0 4095:1048575 0", &c, &why), 0);
	CHECK_EQ(c.dev.major, 4095);
	CHECK_EQ(c.dev.minor, 1048575);
	memset(s, 0, sizeof(s));
	memcpy(s, "aes " HEX64 " 0 /", 4 + 64 + 4);
	memset(s + 72, 'x', 4095);
	strcat(s, " 0");
	CRYPT_BAD(s, "device (4096 bytes) is too long");
	memcpy(s + 72 + 4094, " 0", 3);
	CHECK_EQ(parse_c(s, &c, &why), 0);
	CHECK_EQ(strlen(c.dev.path), 4095);
}

TEST(crypt_option_errors)
{
	const char *b = "aes " HEX64 " 0 /dev/vda 0 ";
	char s[300];

#define OPT(o, want) do { snprintf(s, sizeof(s), "%s%s", b, o); CRYPT_BAD(s, want); } while (0)
	OPT("1 foo", "crypt: unknown option 'foo'");
	OPT("1 ALLOW_DISCARDS", "unknown option");
	OPT("2 allow_discards allow_discards", "option 'allow_discards' is given twice");
	OPT("2 sector_size:512 sector_size:512", "given twice");
	OPT("2 integrity:32:aead integrity:32:aead", "given twice");
	OPT("1 sector_size:1000", "sector_size '1000' is not a power of two");
	OPT("1 sector_size:256", "not a power of two");
	OPT("1 sector_size:8192", "sector_size '8192' is out of range");
	OPT("1 sector_size:", "sector_size '' is not a number");
	OPT("1 sector_size:4k", "is not a number");
	OPT("1 integrity:32", "is not integrity:<bytes>:<type>");
	OPT("1 integrity:0:aead", "integrity size '0' is out of range");
	OPT("1 integrity:1025:aead", "is out of range");
	OPT("1 integrity:x:aead", "integrity size 'x' is not a number");
	OPT("1 integrity:32:AEAD", "integrity type 'AEAD' is not aead or none");
	OPT("1 integrity:32:", "integrity type '' is not");
	OPT("1 allow_discards:1", "unknown option");
#undef OPT
}

TEST(crypt_backslash)
{
	CRYPT_BAD("aes " HEX64 " 0 /dev/v\\ da 0", "crypt: escaped characters are not supported");
	CRYPT_BAD("aes\\ " HEX64 " 0 /dev/vda 0", "escaped characters");
	CRYPT_BAD("\\", "escaped characters");
}

TEST(crypt_embedded_nul)
{
	struct dms_crypt c;
	struct dms_reason why;
	const char s1[] = "aes " HEX64 " 0 /dev/vda 0\0 1 allow_discards";
	const char s2[] = "aes " HEX64 " 0 /dev/vda\0 0";

	/* The kernel sees the string up to the NUL; so do we. */
	CHECK_EQ(dms_parse_crypt(s1, sizeof(s1) - 1, &c, &why), 0);
	CHECK_EQ(c.flags, 0);
	CHECK_EQ(dms_parse_crypt(s2, sizeof(s2) - 1, &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "4 parameters given");
}

TEST(crypt_not_terminated)
{
	const char src[] = "aes " HEX64 " 0 /dev/vda 123";
	size_t n = sizeof(src) - 1;
	char *buf = malloc(n);	/* exact size: ASan traps any overread */
	struct dms_crypt c;
	struct dms_reason why;

	memcpy(buf, src, n);
	CHECK_EQ(dms_parse_crypt(buf, n, &c, &why), 0);
	CHECK_EQ(c.offset, 123);
	CHECK_EQ(dms_parse_crypt(buf, n - 1, &c, &why), 0);
	CHECK_EQ(c.offset, 12);
	CHECK_EQ(dms_parse_crypt(buf, 0, &c, &why), -EINVAL);
	CHECK_EQ(dms_parse_crypt(NULL, 0, &c, &why), -EINVAL);
	CHECK_EQ(dms_parse_crypt(buf, n, &c, NULL), 0);
	free(buf);
}

TEST(crypt_input_untouched_output_cleared)
{
	char s[] = "aes " HEX64 " 0 /dev/vda 0 1 bogus";
	char copy[sizeof(s)];
	struct dms_crypt c;
	struct dms_reason why;

	memcpy(copy, s, sizeof(s));
	memset(&c, 0x5a, sizeof(c));
	CHECK_EQ(parse_c(s, &c, &why), -EINVAL);
	CHECK(!memcmp(s, copy, sizeof(s)));
	CHECK_EQ(c.key_size, 0);
	CHECK_EQ(c.cipher[0], 0);
}

TEST(crypt_huge_token)
{
	static char buf[8192];
	struct dms_crypt c;
	struct dms_reason why;
	size_t n;

	/* A 4000-digit hex key: accepted, size only. */
	n = (size_t)snprintf(buf, sizeof(buf), "aes ");
	memset(buf + n, 'a', 4000);
	n += 4000;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " 0 /dev/vda 0");
	CHECK_EQ(dms_parse_crypt(buf, n, &c, &why), 0);
	CHECK_EQ(c.key_size, 2000);
	/* A 4000-char option. */
	n = (size_t)snprintf(buf, sizeof(buf), "aes - 0 /dev/vda 0 1 ");
	memset(buf + n, 'o', 4000);
	n += 4000;
	CHECK_EQ(dms_parse_crypt(buf, n, &c, &why), -EINVAL);
	CHECK_HAS(why.msg, "unknown option (4000 bytes)");
}

TEST(crypt_summary)
{
	struct dms_crypt c;
	struct dms_reason why;
	char buf[DMS_SUMMARY_MAX];
	size_t n;

	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 3 "
			 "sector_size:4096 integrity:32:aead allow_discards", &c, &why), 0);
	n = dms_crypt_summary(&c, buf, sizeof(buf));
	CHECK_STR(buf, "cipher=aes-xts-plain64 key=logon:64:dmseal:vol1 iv_offset=0 "
		  "dev=253:0 offset=0 sector_size=4096 integrity=32:aead opts=allow_discards");
	CHECK_EQ(n, strlen(buf));
	CHECK_EQ(parse_c("aes-xts-plain64 " HEX128 " 5 /dev/vda 8 2 no_read_workqueue "
			 "no_write_workqueue", &c, &why), 0);
	dms_crypt_summary(&c, buf, sizeof(buf));
	CHECK_STR(buf, "cipher=aes-xts-plain64 key=hex:64 iv_offset=5 dev=/dev/vda offset=8 "
		  "sector_size=512 opts=no_read_workqueue,no_write_workqueue");
	c.dev.resolved = true;
	c.dev.major = 254;
	dms_crypt_summary(&c, buf, sizeof(buf));
	CHECK_HAS(buf, "dev=/dev/vda(254:0)");
	CHECK_EQ(parse_c("aes - 0 1:2 0", &c, &why), 0);
	dms_crypt_summary(&c, buf, sizeof(buf));
	CHECK_HAS(buf, "key=empty ");
}

TEST(summary_truncation)
{
	struct dms_crypt c;
	struct dms_integrity t;
	struct dms_reason why;
	char full[DMS_SUMMARY_MAX], small[10];
	size_t n, m;

	CHECK_EQ(parse_c(LUKS2_CRYPT, &c, &why), 0);
	n = dms_crypt_summary(&c, full, sizeof(full));
	memset(small, 'X', sizeof(small));
	m = dms_crypt_summary(&c, small, sizeof(small));
	CHECK_EQ(n, m);
	CHECK_EQ(small[9], 0);
	CHECK(!memcmp(small, full, 9));
	CHECK_EQ(dms_crypt_summary(&c, NULL, 0), n);
	small[0] = 'Y';
	CHECK_EQ(dms_crypt_summary(&c, small, 1), n);
	CHECK_EQ(small[0], 0);
	CHECK_EQ(parse_i(LUKS2_INT, &t, &why), 0);
	n = dms_integrity_summary(&t, full, sizeof(full));
	CHECK_EQ(dms_integrity_summary(&t, small, sizeof(small)), n);
	CHECK_EQ(small[9], 0);
}

/* --- dm-integrity ---------------------------------------------------------- */

TEST(int_cryptsetup)
{
	struct dms_integrity t;
	struct dms_reason why;
	char buf[DMS_SUMMARY_MAX];

	CHECK_EQ(parse_i(LUKS2_INT, &t, &why), 0);
	CHECK_STR(t.dev.path, "/dev/vda");
	CHECK_EQ(t.offset, 32768);
	CHECK_EQ(t.tag_size, 32);
	CHECK_EQ(t.mode, 'J');
	CHECK_EQ(t.num[DMS_INT_BLOCK_SIZE], 512);
	CHECK_EQ(t.flags, DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC);
	dms_integrity_summary(&t, buf, sizeof(buf));
	CHECK_STR(buf, "dev=/dev/vda offset=32768 tag_size=32 mode=J block_size=512 "
		  "opts=fix_padding,fix_hmac");
	CHECK_EQ(parse_i("/dev/vda 32768 32 D 3 block_size:512 fix_padding fix_hmac",
			 &t, &why), 0);
	CHECK_EQ(t.mode, 'D');
	CHECK_EQ(parse_i("/dev/vda 0 0 R", &t, &why), 0);
	CHECK_EQ(t.mode, 'R');
	CHECK_EQ(parse_i("8:0 0 4 B 0", &t, &why), 0);
	CHECK_EQ(parse_i("8:0 0 4 I", &t, &why), 0);
}

TEST(int_all_options)
{
	struct dms_integrity t;
	struct dms_reason why;
	char buf[DMS_SUMMARY_MAX];
	const char *s = "/dev/vda 0 32 J 18 journal_sectors:1 interleave_sectors:2 "
		"buffer_sectors:3 journal_watermark:50 commit_time:5 block_size:4096 "
		"sectors_per_bit:18446744073709551615 bitmap_flush_interval:8 "
		"allow_discards fix_padding fix_hmac legacy_recalculate recalculate "
		"reset_recalculate meta_device:/dev/vdb "
		"internal_hash:hmac(sha256):00112233445566778899aabbccddeeff "
		"journal_crypt:cbc(aes):0011223344556677 journal_mac:hmac(sha256)";
	size_t cut = strlen(" journal_mac:hmac(sha256)");

	CHECK_EQ(dms_parse_integrity(s, strlen(s) - cut, &t, &why), -EINVAL);
	CHECK_HAS(why.msg, "18 optional parameters announced, 17 given");
	CHECK_EQ(parse_i(s, &t, &why), 0);
	CHECK_EQ(t.num[DMS_INT_JOURNAL_SECTORS], 1);
	CHECK_EQ(t.num[DMS_INT_INTERLEAVE_SECTORS], 2);
	CHECK_EQ(t.num[DMS_INT_BUFFER_SECTORS], 3);
	CHECK_EQ(t.num[DMS_INT_JOURNAL_WATERMARK], 50);
	CHECK_EQ(t.num[DMS_INT_COMMIT_TIME], 5);
	CHECK_EQ(t.num[DMS_INT_BLOCK_SIZE], 4096);
	CHECK(t.num[DMS_INT_SECTORS_PER_BIT] == ~0ULL);
	CHECK_EQ(t.num[DMS_INT_BITMAP_FLUSH_INTERVAL], 8);
	CHECK_EQ(t.flags, 0x3ff);
	CHECK_STR(t.alg[DMS_ALG_INTERNAL_HASH], "hmac(sha256)");
	CHECK_STR(t.alg[DMS_ALG_JOURNAL_CRYPT], "cbc(aes)");
	CHECK_STR(t.alg[DMS_ALG_JOURNAL_MAC], "hmac(sha256)");
	CHECK_STR(t.meta_dev.path, "/dev/vdb");
	dms_integrity_summary(&t, buf, sizeof(buf));
	CHECK(!strstr(buf, "0011223344"));
	CHECK_HAS(buf, "internal_hash=hmac(sha256) journal_crypt=cbc(aes) journal_mac=hmac(sha256)");
	CHECK_HAS(buf, "meta_device=/dev/vdb");
	CHECK_HAS(buf, "opts=allow_discards,fix_padding,fix_hmac,legacy_recalculate,"
		  "recalculate,reset_recalculate");
	CHECK_HAS(buf, "sectors_per_bit=18446744073709551615");
}

TEST(int_errors)
{
	INT_BAD("", "0 parameters given, at least 4 needed");
	INT_BAD("/dev/vda 0 32", "3 parameters given");
	INT_BAD("vda 0 32 J", "integrity: device 'vda' is not MAJOR:MINOR");
	INT_BAD("/dev/vda x 32 J", "offset 'x' is not a number");
	INT_BAD("/dev/vda 0 - J", "tag_size '-' is not a number");
	INT_BAD("/dev/vda 0 1025 J", "tag_size '1025' is out of range");
	INT_BAD("/dev/vda 0 32 X", "mode 'X' is not one of J, D, B, R, I");
	INT_BAD("/dev/vda 0 32 j", "mode 'j'");
	INT_BAD("/dev/vda 0 32 JJ", "mode 'JJ'");
	INT_BAD("/dev/vda 0 32 J 1 foo", "integrity: unknown option 'foo'");
	INT_BAD("/dev/vda 0 32 J 2 foo", "2 optional parameters announced, 1 given");
	INT_BAD("/dev/vda 0 32 J 1 block_size:1000", "block_size '1000' is not a power of two");
	INT_BAD("/dev/vda 0 32 J 1 block_size:8192", "block_size '8192' is out of range");
	INT_BAD("/dev/vda 0 32 J 1 block_size:", "is not a number");
	INT_BAD("/dev/vda 0 32 J 1 journal_watermark:101", "is out of range");
	INT_BAD("/dev/vda 0 32 J 1 journal_sectors:4294967296", "journal_sectors '4294967296' is out of range");
	INT_BAD("/dev/vda 0 32 J 1 sectors_per_bit:18446744073709551616", "is out of range");
	INT_BAD("/dev/vda 0 32 J 1 block_sizes:512", "unknown option");
	INT_BAD("/dev/vda 0 32 J 1 block_size", "unknown option");
	INT_BAD("/dev/vda 0 32 J 2 fix_hmac fix_hmac", "option 'fix_hmac' is given twice");
	INT_BAD("/dev/vda 0 32 J 2 block_size:512 block_size:512", "given twice");
	INT_BAD("/dev/vda 0 32 J 2 internal_hash:crc32c internal_hash:crc32c", "given twice");
	INT_BAD("/dev/vda 0 32 J 2 meta_device:/dev/a meta_device:/dev/a", "given twice");
	INT_BAD("/dev/vda 0 32 J 1 meta_device:", "meta_device '' is not MAJOR:MINOR");
	INT_BAD("/dev/vda 0 32 J 1 meta_device:x", "meta_device 'x'");
	INT_BAD("/dev/vda 0 32 J 1 internal_hash:", "internal_hash '' is not a valid algorithm name");
	INT_BAD("/dev/vda 0 32 J 1 internal_hash:a/b", "is not a valid algorithm name");
	INT_BAD("/dev/vda 0 32 J 1 internal_hash:hmac(sha256):abc", "internal_hash key is not valid hex");
	INT_BAD("/dev/vda 0 32 J 1 journal_mac:hmac(sha256):", "journal_mac key is not valid hex");
	INT_BAD("/dev/vda 0 32 J 1 journal_crypt:aes:zz", "journal_crypt key is not valid hex");
	INT_BAD("/dev/vda 0 32 J 1 journal_crypt:aes:00:11", "key is not valid hex");
	INT_BAD("/dev/vda 0 32 J 1 internal_hash\\:crc32c", "escaped characters are not supported");
	INT_BAD("/dev/vda 0 32 J 1 internal_hash:0123456789abcdef0123", "is not a valid algorithm name");
}

TEST(int_meta_dev_numbers)
{
	struct dms_integrity t;
	struct dms_reason why;

	CHECK_EQ(parse_i("/dev/vda 0 32 J 1 meta_device:253:7", &t, &why), 0);
	CHECK(t.meta_dev.resolved);
	CHECK_EQ(t.meta_dev.major, 253);
	CHECK_EQ(t.meta_dev.minor, 7);
	CHECK_EQ(t.flags, DMS_INT_META_DEVICE);
}

TEST(int_alg_key_dropped)
{
	struct dms_integrity t;
	struct dms_reason why;
	const char *key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char s[256];

	snprintf(s, sizeof(s), "/dev/vda 0 32 J 1 internal_hash:hmac(sha256):%s", key);
	CHECK_EQ(parse_i(s, &t, &why), 0);
	CHECK(!memmem(&t, sizeof(t), "00112233", 8));
	CHECK(!memmem(&t, sizeof(t), "\x00\x11\x22\x33\x44", 5));
	/* only where the key is, for the kernel to fingerprint it */
	CHECK_EQ(t.alg_key[DMS_ALG_INTERNAL_HASH].len, 64);
	CHECK(!memcmp(s + t.alg_key[DMS_ALG_INTERNAL_HASH].off, key, 64));
	CHECK_EQ(t.alg_key[DMS_ALG_JOURNAL_MAC].len, 0);
	CHECK(!t.alg_fp[0].set);
}

/* --- pins ------------------------------------------------------------------ */

TEST(pin_crypt)
{
	static struct dms_crypt a, b;
	struct dms_reason why;
	const char *base = "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 1 sector_size:4096";
	struct {
		const char *s;
		const char *want;
	} cases[] = {
		{ "aes-cbc-plain64 :64:logon:dmseal:vol1 0 253:0 0 1 sector_size:4096", "pinned cipher changed" },
		{ "aes-xts-plain64 :32:logon:dmseal:vol1 0 253:0 0 1 sector_size:4096", "pinned key reference changed" },
		{ "aes-xts-plain64 :64:user:dmseal:vol1 0 253:0 0 1 sector_size:4096", "pinned key reference changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol2 0 253:0 0 1 sector_size:4096", "pinned key reference changed" },
		{ "aes-xts-plain64 " HEX128 " 0 253:0 0 1 sector_size:4096", "pinned key reference changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 1 253:0 0 1 sector_size:4096", "pinned iv_offset changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:1 0 1 sector_size:4096", "pinned backing device changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 /dev/vda 0 1 sector_size:4096", "pinned backing device changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 8 1 sector_size:4096", "pinned offset changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 1 sector_size:512", "pinned sector size changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 2 sector_size:4096 integrity:32:aead", "pinned integrity changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 2 sector_size:4096 integrity_key_size:32", "pinned integrity_key_size changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 2 sector_size:4096 allow_discards", "pinned options changed" },
		{ "aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 2 sector_size:4096 iv_large_sectors", "pinned options changed" },
	};
	size_t i;

	CHECK_EQ(parse_c(base, &a, &why), 0);
	CHECK_EQ(parse_c(base, &b, &why), 0);
	CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), 0);
	CHECK_EQ(dms_cmp_crypt(&a, &b, DMS_CMP_EFFECTIVE, NULL), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(parse_c(cases[i].s, &b, &why), 0);
		CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), -EPERM);
		CHECK_STR(why.msg, cases[i].want);
	}
	/* workqueue and CPU knobs are tuning: cryptsetup refresh changes them */
	CHECK_EQ(parse_c("aes-xts-plain64 :64:logon:dmseal:vol1 0 253:0 0 5 sector_size:4096 "
			 "same_cpu_crypt no_read_workqueue no_write_workqueue submit_from_crypt_cpus",
			 &b, &why), 0);
	CHECK_EQ(dms_cmp_crypt(&a, &b, DMS_CMP_EFFECTIVE | DMS_CMP_KEYS, &why), -EPERM);
	CHECK_STR(why.msg, "pinned key (other key bytes) changed");
	CHECK_EQ(dms_cmp_crypt(&a, &b, DMS_CMP_EFFECTIVE, &why), 0);
}

/* Fingerprints decide whether two keys are the same bytes. */
TEST(pin_crypt_key_fingerprint)
{
	static struct dms_crypt a, b;
	struct dms_reason why;

	CHECK_EQ(parse_c("aes " HEX64 " 0 8:0 0", &a, &why), 0);
	CHECK_EQ(parse_c("aes ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 0 8:0 0",
			 &b, &why), 0);
	/* unknown on either side: only DMS_CMP_KEYS refuses */
	CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), 0);
	CHECK_EQ(dms_cmp_crypt(&a, &b, DMS_CMP_KEYS, &why), -EPERM);
	memset(a.key_fp.mac, 0x11, DMS_FP_LEN);
	a.key_fp.set = true;
	b.key_fp = a.key_fp;
	CHECK_EQ(dms_cmp_crypt(&a, &b, DMS_CMP_KEYS, &why), 0);
	b.key_fp.mac[DMS_FP_LEN - 1] ^= 1;
	CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), -EPERM);
	CHECK_STR(why.msg, "pinned key (other key bytes) changed");
	b.key_fp.set = false;
	CHECK(!dms_fp_equal(&a.key_fp, &b.key_fp));
	CHECK(!dms_fp_equal(&b.key_fp, &b.key_fp));
	CHECK(dms_fp_equal(&a.key_fp, &a.key_fp));
}

TEST(pin_dev_path_vs_number)
{
	static struct dms_crypt a, b;
	struct dms_reason why;

	/* a path names whatever is there when it is opened: never equal */
	CHECK_EQ(parse_c("aes " HEX64 " 0 /dev/vda 0", &a, &why), 0);
	CHECK_EQ(parse_c("aes " HEX64 " 0 /dev/vda 0", &b, &why), 0);
	CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), -EPERM);
	CHECK_STR(why.msg, "pinned backing device changed");
	/* once the kernel resolved both, numbers decide, not spelling */
	CHECK_EQ(parse_c("aes " HEX64 " 0 /dev/disk/by-id/x 0", &b, &why), 0);
	a.dev.resolved = b.dev.resolved = true;
	a.dev.major = b.dev.major = 254;
	CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), 0);
	b.dev.minor = 16;
	CHECK_EQ(dms_cmp_crypt(&a, &b, 0, &why), -EPERM);
	CHECK_STR(why.msg, "pinned backing device changed");
}

TEST(pin_integrity)
{
	static struct dms_integrity a, b;
	struct dms_reason why;
	struct {
		const char *s;
		const char *want;
	} cases[] = {
		{ "8:16 32768 32 J 3 block_size:512 fix_padding fix_hmac", "pinned backing device changed" },
		{ "8:0 0 32 J 3 block_size:512 fix_padding fix_hmac", "pinned offset changed" },
		{ "8:0 32768 16 J 3 block_size:512 fix_padding fix_hmac", "pinned tag size changed" },
		{ "8:0 32768 32 D 3 block_size:512 fix_padding fix_hmac", "pinned mode changed" },
		{ "8:0 32768 32 J 3 block_size:4096 fix_padding fix_hmac", "pinned block_size changed" },
		{ "8:0 32768 32 J 4 block_size:512 fix_padding fix_hmac internal_hash:crc32c", "pinned internal_hash changed" },
		{ "8:0 32768 32 J 4 block_size:512 fix_padding fix_hmac journal_mac:hmac(sha1)", "pinned journal_mac changed" },
		{ "8:0 32768 32 J 4 block_size:512 fix_padding fix_hmac meta_device:8:32", "pinned meta_device changed" },
		{ "8:0 32768 32 J 4 block_size:512 fix_padding fix_hmac allow_discards", "pinned options changed" },
		{ "8:0 32768 32 J 4 block_size:512 fix_padding fix_hmac legacy_recalculate", "pinned options changed" },
	};
	size_t i;

	CHECK_EQ(parse_i("8:0 32768 32 J 3 block_size:512 fix_padding fix_hmac", &a, &why), 0);
	CHECK_EQ(parse_i("8:0 32768 32 J 3 block_size:512 fix_padding fix_hmac", &b, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&a, &b, DMS_CMP_EFFECTIVE, &why), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(parse_i(cases[i].s, &b, &why), 0);
		CHECK_EQ(dms_cmp_integrity(&a, &b, 0, &why), -EPERM);
		CHECK_STR(why.msg, cases[i].want);
	}
	CHECK_EQ(parse_i("8:0 0 32 J 1 journal_crypt:cbc(aes)", &a, &why), 0);
	CHECK_EQ(parse_i("8:0 0 32 J 1 journal_crypt:ctr(aes)", &b, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&a, &b, 0, &why), -EPERM);
	CHECK_STR(why.msg, "pinned journal_crypt changed");
}

/*
 * A table as requested against the pin of the same device as dm-integrity
 * reports it: defaults spelled out, superblock flags as on disk. Only the
 * effective comparison looks at what comes from the superblock.
 */
TEST(pin_integrity_spellings)
{
	static struct dms_integrity live, req, st;
	struct dms_reason why;
	const char *status_6_1 = "8:16 0 32 J 7 block_size:4096 journal_sectors:352 "
		"interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 "
		"commit_time:10000 fix_padding";

	CHECK_EQ(parse_i(status_6_1, &live, &why), 0);
	CHECK_EQ(parse_i("8:16 0 32 J 2 block_size:4096 fix_padding", &req, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&live, &req, 0, &why), 0);
	/* detached-metadata style: fix_padding left out; fix_hmac added */
	CHECK_EQ(parse_i("8:16 0 32 J 2 block_size:4096 fix_hmac", &req, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&live, &req, 0, &why), 0);
	/* tuning and recalculation are not the volume */
	CHECK_EQ(parse_i("8:16 0 32 J 9 block_size:4096 journal_sectors:352 "
			 "interleave_sectors:32768 buffer_sectors:8 journal_watermark:20 "
			 "commit_time:5 fix_padding recalculate reset_recalculate", &st, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&live, &st, DMS_CMP_EFFECTIVE, &why), 0);
	/* what the superblock says is compared once both sides are constructed */
	CHECK_EQ(parse_i("8:16 0 32 J 6 block_size:4096 journal_sectors:352 "
			 "interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 "
			 "commit_time:10000", &st, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&live, &st, DMS_CMP_EFFECTIVE, &why), -EPERM);
	CHECK_STR(why.msg, "pinned options changed");
	CHECK_EQ(parse_i("8:16 0 32 J 7 block_size:4096 journal_sectors:360 "
			 "interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 "
			 "commit_time:10000 fix_padding", &st, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&live, &st, DMS_CMP_EFFECTIVE, &why), -EPERM);
	CHECK_STR(why.msg, "pinned journal_sectors changed");
	CHECK_EQ(dms_cmp_integrity(&live, &st, 0, &why), 0);
}

TEST(pin_integrity_alg_keys)
{
	static struct dms_integrity a, b;
	struct dms_reason why;

	CHECK_EQ(parse_i("8:0 0 32 J 1 internal_hash:hmac(sha256):0011", &a, &why), 0);
	CHECK_EQ(parse_i("8:0 0 32 J 1 internal_hash:hmac(sha256):ffff", &b, &why), 0);
	/* fingerprints not known yet: the kernel sets them before comparing */
	CHECK_EQ(dms_cmp_integrity(&a, &b, 0, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&a, &b, DMS_CMP_KEYS, &why), -EPERM);
	CHECK_STR(why.msg, "pinned internal_hash key changed");
	a.alg_fp[0].set = b.alg_fp[0].set = true;
	b.alg_fp[0].mac[3] = 1;
	CHECK_EQ(dms_cmp_integrity(&a, &b, 0, &why), -EPERM);
	b.alg_fp[0].mac[3] = 0;
	CHECK_EQ(dms_cmp_integrity(&a, &b, DMS_CMP_KEYS, &why), 0);
	/* a keyless hash has no key to keep */
	CHECK_EQ(parse_i("8:0 0 4 J 1 internal_hash:crc32c", &a, &why), 0);
	CHECK_EQ(parse_i("8:0 0 4 J 1 internal_hash:crc32c", &b, &why), 0);
	CHECK_EQ(dms_cmp_integrity(&a, &b, DMS_CMP_KEYS, &why), 0);
}

TEST(hex_decode)
{
	u8 out[4];

	CHECK_EQ(dms_hex_decode("00aBcDff", 8, out), 0);
	CHECK(!memcmp(out, "\x00\xab\xcd\xff", 4));
	CHECK_EQ(dms_hex_decode("0g", 2, out), -EINVAL);
	CHECK_EQ(dms_hex_decode("012", 3, out), -EINVAL);
	CHECK_EQ(dms_hex_decode("", 0, out), 0);
}

/* The new options of 6.12, as dm-crypt and dm-integrity print them. */
TEST(options_6_12)
{
	struct dms_crypt c;
	struct dms_integrity t;
	struct dms_reason why;
	char buf[DMS_SUMMARY_MAX];

	CHECK_EQ(parse_c("capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:k 0 8:0 0 3 "
			 "high_priority integrity:32:aead integrity_key_size:32", &c, &why), 0);
	CHECK_EQ(c.integrity_key_size, 32);
	CHECK(c.flags & DMS_CRYPT_INTEGRITY_KEY_SIZE);
	CHECK(c.flags & DMS_CRYPT_HIGH_PRIORITY);
	dms_crypt_summary(&c, buf, sizeof(buf));
	CHECK_HAS(buf, "integrity_key_size=32");
	CRYPT_BAD("aes " HEX64 " 0 8:0 0 2 integrity_key_size:1 integrity_key_size:1",
		  "is given twice");
	CRYPT_BAD("aes " HEX64 " 0 8:0 0 1 integrity_key_size:0", "is out of range");
	CHECK_EQ(parse_i("8:0 0 32 J 1 allow_discards_keyed", &t, &why), 0);
	CHECK_EQ(t.flags, DMS_INT_ALLOW_DISCARDS_KEYED);
}

TEST(int_not_terminated_and_nul)
{
	const char src[] = "/dev/vda 32768 32 J 1 fix_hmac";
	const char nul[] = "/dev/vda 32768 32 J 1 fix_hmac\0 extra";
	size_t n = sizeof(src) - 1;
	char *buf = malloc(n);
	struct dms_integrity t;
	struct dms_reason why;

	memcpy(buf, src, n);
	CHECK_EQ(dms_parse_integrity(buf, n, &t, &why), 0);
	CHECK_EQ(t.flags, DMS_INT_FIX_HMAC);
	CHECK_EQ(dms_parse_integrity(buf, n - 1, &t, &why), -EINVAL);
	CHECK_HAS(why.msg, "unknown option 'fix_hma'");
	CHECK_EQ(dms_parse_integrity(nul, sizeof(nul) - 1, &t, &why), 0);
	CHECK_EQ(dms_parse_integrity(NULL, 5, &t, NULL), -EINVAL);
	free(buf);
}

TEST(int_reason_has_no_key)
{
	struct dms_integrity t;
	struct dms_reason why;

	CHECK_EQ(parse_i("/dev/vda 0 32 J 1 internal_hash:hmac(sha256):"
			 "deadbeefcafebabe0011223344556677z", &t, &why), -EINVAL);
	CHECK(!strstr(why.msg, "deadbeef"));
	CHECK_EQ(parse_i("/dev/vda 0 32 J 1 journal_crypt:deadbeefcafebabe0011223344556677",
			 &t, &why), -EINVAL);
	CHECK(!strstr(why.msg, "deadbeef"));
	CHECK_HAS(why.msg, "journal_crypt (32 bytes) is not a valid algorithm name");
}
