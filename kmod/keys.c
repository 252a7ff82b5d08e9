// SPDX-License-Identifier: GPL-2.0-only
/*
 * Key fingerprints.
 *
 * A pin must tell whether a reload keeps the key bytes, without keeping the
 * key. The fingerprint is HMAC-SHA256 of the key under a secret made at
 * module load (once per boot: a sealed dmseal cannot be unloaded), so it is
 * useless outside this boot and says nothing about the key: not an unsalted
 * hash that a guessed key could be checked against. Fingerprints never
 * leave the module: not in events, pin listings or logs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <crypto/sha2.h>

#include "dmseal.h"

static u8 fp_secret[SHA256_BLOCK_SIZE] __ro_after_init;

int __init dmseal_keys_init(void)
{
	/* the rest of the block stays zero, as HMAC pads a short key */
	get_random_bytes(fp_secret, SHA256_DIGEST_SIZE);
	return 0;
}

static void hmac_pad(u8 *pad, u8 byte)
{
	int i;

	for (i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = fp_secret[i] ^ byte;
}

void dmseal_fingerprint(const u8 *key, size_t len, struct dms_fp *fp)
{
	u8 pad[SHA256_BLOCK_SIZE], inner[SHA256_DIGEST_SIZE];
	struct sha256_state s;

	BUILD_BUG_ON(DMS_FP_LEN != SHA256_DIGEST_SIZE);
	hmac_pad(pad, 0x36);
	sha256_init(&s);
	sha256_update(&s, pad, sizeof(pad));
	sha256_update(&s, key, len);
	sha256_final(&s, inner);
	hmac_pad(pad, 0x5c);
	sha256_init(&s);
	sha256_update(&s, pad, sizeof(pad));
	sha256_update(&s, inner, sizeof(inner));
	sha256_final(&s, fp->mac);
	fp->set = true;
	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(inner, sizeof(inner));
	memzero_explicit(&s, sizeof(s));
}

/* The hex key that @span marks in @s, decoded and fingerprinted. */
int dmseal_fingerprint_hex(const char *s, const struct dms_span *span,
			   struct dms_fp *fp)
{
	size_t n = span->len / 2;
	u8 *key;
	int ret;

	fp->set = false;
	if (!span->len)
		return 0;
	key = kvmalloc(n, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	ret = dms_hex_decode(s + span->off, span->len, key);
	if (!ret)
		dmseal_fingerprint(key, n, fp);
	kvfree_sensitive(key, n);
	return ret;
}
