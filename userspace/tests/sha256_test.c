// SPDX-License-Identifier: GPL-2.0-only
/*
 * sha256.c against FIPS 180-4's examples and against OpenSSL: every length
 * from 0 to 1024 bytes (all padding cases: 55, 56, 63, 64 bytes in the last
 * block), whole and fed in uneven pieces.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sha256.h"
#include "tap.h"

static void hex(const uint8_t *d, char *out)
{
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void vector(const char *name, const char *msg, size_t reps, const char *want)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];
	size_t i;

	sha256_init(&s);
	for (i = 0; i < reps; i++)
		sha256_update(&s, msg, strlen(msg));
	sha256_final(&s, d);
	hex(d, got);
	result(!strcmp(got, want), "FIPS 180-4 %s: %s", name, got);
}

int main(void)
{
	uint8_t buf[1024], mine[SHA256_LEN], ref[SHA256_LEN];
	unsigned int n, whole_bad = 0, piece_bad = 0;
	size_t len, off, step;
	struct sha256 s;

	vector("\"abc\"", "abc", 1,
	       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	vector("empty", "", 1,
	       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	vector("448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	vector("a million 'a'", "aaaaaaaaaaaaaaaaaaaaaaaaa", 40000,
	       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	srand(20261130);
	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t)rand();
	for (len = 0; len <= sizeof(buf); len++) {
		n = SHA256_LEN;
		if (!EVP_Digest(buf, len, ref, &n, EVP_sha256(), NULL))
			return fprintf(stderr, "OpenSSL's SHA-256 failed\n"), 2;
		sha256(buf, len, mine);
		whole_bad += !!memcmp(mine, ref, sizeof(ref));
		/* pieces of 1, 2, 3, ... bytes: every carry across the block buffer */
		sha256_init(&s);
		for (off = 0, step = 1; off < len; off += step, step = step % 67 + 1)
			sha256_update(&s, buf + off, off + step > len ? len - off : step);
		sha256_final(&s, mine);
		piece_bad += !!memcmp(mine, ref, sizeof(ref));
	}
	result(!whole_bad, "lengths 0..1024 in one call equal OpenSSL's (%u differ)", whole_bad);
	result(!piece_bad, "lengths 0..1024 in uneven pieces equal OpenSSL's (%u differ)", piece_bad);
	return tap_done();
}
