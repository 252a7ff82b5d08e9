// SPDX-License-Identifier: GPL-2.0-only
/*
 * The LUKS2 header of a persistent volume, checked in guest memory.
 *
 * The host owns the disk, so the header on it is hostile input (the 2025
 * header-malleability attacks edited exactly this: a null segment cipher, or
 * a keyslot with a null cipher that makes an attacker's key valid). Only one
 * header shape is accepted: the one `persistent setup --init` writes, with
 * the parameters the sealed profile gives today. Anything else, however
 * harmless it may look, is refused: no keyslots, no tokens, no flags, no
 * requirements, one segment at the fixed offset, one PBKDF2 digest with a
 * bounded cost, both binary copies valid and their JSON byte-identical (so
 * whichever copy libcryptsetup prefers is the one checked here).
 *
 * The caller hands these very bytes to libcryptsetup through a file in
 * guest memory; the disk's header area is never read again before
 * activation, so a change on the disk after the check changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "luks2check.h"
#include "sha256.h"

#define HDR_BIN_LEN	4096
/* offsets in the binary header (struct luks2_hdr_disk, big endian) */
#define OFF_VERSION	6
#define OFF_HDR_SIZE	8
#define OFF_CSUM_ALG	72
#define OFF_UUID	168
#define OFF_HDR_OFFSET	256
#define OFF_CSUM	448
#define CSUM_LEN	64

static const uint8_t magic1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const uint8_t magic2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int fail(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* sha256 over the header with its checksum field zeroed, as LUKS2 defines it */
static bool csum_ok(const uint8_t *h, size_t hdr_size)
{
	uint8_t zero[CSUM_LEN] = { 0 }, md[SHA256_LEN];
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, h, OFF_CSUM);
	sha256_update(&c, zero, CSUM_LEN);
	sha256_update(&c, h + OFF_CSUM + CSUM_LEN, hdr_size - OFF_CSUM - CSUM_LEN);
	sha256_final(&c, md);
	return !memcmp(md, h + OFF_CSUM, sizeof(md)) &&
	       !memcmp(zero, h + OFF_CSUM + sizeof(md), CSUM_LEN - sizeof(md));
}

static int check_binary(const uint8_t *h, const uint8_t *magic, uint64_t where,
			const char *copy, char *why, size_t cap)
{
	if (memcmp(h, magic, 6))
		return fail(why, cap, "%s LUKS2 header: bad magic", copy);
	if (h[OFF_VERSION] != 0 || h[OFF_VERSION + 1] != 2)
		return fail(why, cap, "%s header: not LUKS version 2", copy);
	if (be64(h + OFF_HDR_SIZE) != LUKS2_PV_HDR_SIZE)
		return fail(why, cap, "%s header: metadata size %llu, dmsealctl writes %u",
			    copy, (unsigned long long)be64(h + OFF_HDR_SIZE),
			    LUKS2_PV_HDR_SIZE);
	if (be64(h + OFF_HDR_OFFSET) != where)
		return fail(why, cap, "%s header: claims offset %llu", copy,
			    (unsigned long long)be64(h + OFF_HDR_OFFSET));
	if (strncmp((const char *)h + OFF_CSUM_ALG, "sha256", 32))
		return fail(why, cap, "%s header: checksum algorithm is not sha256", copy);
	if (!csum_ok(h, LUKS2_PV_HDR_SIZE))
		return fail(why, cap, "%s header: checksum mismatch (edited or corrupt)", copy);
	return 0;
}

/* obj has exactly the keys listed (NULL-terminated), optional ones marked '?' */
static int only_keys(struct json_object *obj, const char *const *keys, const char *what,
		     char *why, size_t cap)
{
	size_t i;

	if (!json_object_is_type(obj, json_type_object))
		return fail(why, cap, "%s is not an object", what);
	json_object_object_foreach(obj, k, v) {
		(void)v;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i][0] == '?' ? keys[i] + 1 : keys[i], k))
				break;
		if (!keys[i])
			return fail(why, cap, "%s has \"%.40s\", which dmsealctl never writes",
				    what, k);
	}
	for (i = 0; keys[i]; i++)
		if (keys[i][0] != '?' && !json_object_object_get_ex(obj, keys[i], NULL))
			return fail(why, cap, "%s lacks \"%s\"", what, keys[i]);
	return 0;
}

static const char *str_of(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool str_is(struct json_object *obj, const char *key, const char *want)
{
	const char *s = str_of(obj, key);

	return s && !strcmp(s, want);
}

static bool empty_obj(struct json_object *root, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(root, key, &v) &&
	       json_object_is_type(v, json_type_object) && !json_object_object_length(v);
}

static int check_integrity(struct json_object *seg, const struct luks2_expect *e,
			   char *why, size_t cap)
{
	static const char *const keys[] = { "type", "journal_encryption",
					    "journal_integrity", NULL };
	struct json_object *in;

	if (!json_object_object_get_ex(seg, "integrity", &in)) {
		if (e->integrity[0])
			return fail(why, cap, "segment has no integrity; the profile requires %s",
				    e->integrity);
		return 0;
	}
	if (!e->integrity[0])
		return fail(why, cap, "segment has integrity; the profile's cipher has none");
	if (only_keys(in, keys, "segment integrity", why, cap))
		return -EINVAL;
	if (!str_is(in, "type", e->integrity))
		return fail(why, cap, "segment integrity is \"%.40s\"; the profile gives %s",
			    str_of(in, "type") ?: "?", e->integrity);
	if (!str_is(in, "journal_encryption", "none") || !str_is(in, "journal_integrity", "none"))
		return fail(why, cap, "segment integrity has a journal encryption or integrity");
	return 0;
}

static int check_segment(struct json_object *root, const struct luks2_expect *e,
			 char *why, size_t cap)
{
	static const char *const keys[] = { "type", "offset", "size", "iv_tweak",
					    "encryption", "sector_size", "?integrity", NULL };
	struct json_object *segs, *seg, *ss;
	char off[24];

	if (!json_object_object_get_ex(root, "segments", &segs) ||
	    !json_object_is_type(segs, json_type_object) ||
	    json_object_object_length(segs) != 1 ||
	    !json_object_object_get_ex(segs, "0", &seg))
		return fail(why, cap, "segments: exactly one segment \"0\" is expected");
	if (only_keys(seg, keys, "segment 0", why, cap))
		return -EINVAL;
	if (!str_is(seg, "type", "crypt"))
		return fail(why, cap, "segment 0 is not of type crypt");
	snprintf(off, sizeof(off), "%llu", (unsigned long long)e->data_offset);
	if (!str_is(seg, "offset", off))
		return fail(why, cap, "segment 0 starts at %.24s; dmsealctl puts data at %s",
			    str_of(seg, "offset") ?: "?", off);
	if (!str_is(seg, "size", "dynamic") || !str_is(seg, "iv_tweak", "0"))
		return fail(why, cap, "segment 0 has a fixed size or an IV tweak");
	if (!str_is(seg, "encryption", e->encryption))
		return fail(why, cap, "segment cipher is \"%.64s\"; the profile gives %s",
			    str_of(seg, "encryption") ?: "?", e->encryption);
	if (!json_object_object_get_ex(seg, "sector_size", &ss) ||
	    !json_object_is_type(ss, json_type_int) ||
	    json_object_get_int64(ss) != e->sector_size)
		return fail(why, cap, "segment sector size is %.12s; the profile gives %u",
			    ss ? json_object_get_string(ss) : "?", e->sector_size);
	return check_integrity(seg, e, why, cap);
}

static int check_digest(struct json_object *root, char *why, size_t cap)
{
	static const char *const keys[] = { "type", "keyslots", "segments", "hash",
					    "iterations", "salt", "digest", NULL };
	struct json_object *ds, *d, *v;
	int64_t it;

	if (!json_object_object_get_ex(root, "digests", &ds) ||
	    !json_object_is_type(ds, json_type_object) ||
	    json_object_object_length(ds) != 1 || !json_object_object_get_ex(ds, "0", &d))
		return fail(why, cap, "digests: exactly one digest \"0\" is expected");
	if (only_keys(d, keys, "digest 0", why, cap))
		return -EINVAL;
	if (!str_is(d, "type", "pbkdf2") || !str_is(d, "hash", "sha256"))
		return fail(why, cap, "digest 0 is not pbkdf2-sha256");
	json_object_object_get_ex(d, "keyslots", &v);
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v))
		return fail(why, cap, "digest 0 refers to keyslots");
	json_object_object_get_ex(d, "segments", &v);
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 1 ||
	    strcmp(json_object_get_string(json_object_array_get_idx(v, 0)) ?: "", "0"))
		return fail(why, cap, "digest 0 must cover exactly segment 0");
	json_object_object_get_ex(d, "iterations", &v);
	it = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
	if (it < 1000 || it > LUKS2_PV_MAX_ITERATIONS)
		return fail(why, cap, "digest 0 has %lld PBKDF2 iterations (allowed 1000..%u): "
			    "a KDF cost the host can raise is a denial of service",
			    (long long)it, LUKS2_PV_MAX_ITERATIONS);
	return 0;
}

static int check_config(struct json_object *root, uint64_t *keyslots_size,
			char *why, size_t cap)
{
	static const char *const keys[] = { "json_size", "keyslots_size", "?flags", NULL };
	struct json_object *c, *f;
	char want[24];
	const char *ks;
	char *end;

	if (!json_object_object_get_ex(root, "config", &c) ||
	    only_keys(c, keys, "config", why, cap))
		return -EINVAL;
	snprintf(want, sizeof(want), "%u", LUKS2_PV_HDR_SIZE - HDR_BIN_LEN);
	if (!str_is(c, "json_size", want))
		return fail(why, cap, "config json_size is not %s", want);
	if (json_object_object_get_ex(c, "flags", &f) &&
	    (!json_object_is_type(f, json_type_array) || json_object_array_length(f)))
		return fail(why, cap, "config has activation flags; dmsealctl sets none");
	ks = str_of(c, "keyslots_size");
	errno = 0;
	*keyslots_size = ks ? strtoull(ks, &end, 10) : 0;
	if (!ks || errno || *end || !*keyslots_size || *keyslots_size % 4096 ||
	    *keyslots_size > LUKS2_PV_DATA_OFFSET - 2 * LUKS2_PV_HDR_SIZE)
		return fail(why, cap, "config keyslots_size is not a size inside the header area");
	return 0;
}

static int check_json(const uint8_t *area, const struct luks2_expect *e,
		      struct luks2_found *f, char *why, size_t cap)
{
	static const char *const keys[] = { "keyslots", "tokens", "segments", "digests",
					    "config", NULL };
	size_t n = LUKS2_PV_HDR_SIZE - HDR_BIN_LEN, len = strnlen((const char *)area, n);
	struct json_tokener *tok;
	struct json_object *root;
	int r = -EINVAL;

	if (len == n)
		return fail(why, cap, "JSON area is not terminated");
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, (const char *)area, (int)len + 1);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		fail(why, cap, "JSON area does not parse");
		goto out;
	}
	if (only_keys(root, keys, "header JSON", why, cap))
		goto out;
	if (!empty_obj(root, "keyslots")) {
		fail(why, cap, "the header has keyslots: a persistent volume of dmsealctl has none "
			  "(a keyslot would let a passphrase or an attacker's key in)");
		goto out;
	}
	if (!empty_obj(root, "tokens")) {
		fail(why, cap, "the header has tokens; dmsealctl writes none");
		goto out;
	}
	if (check_segment(root, e, why, cap) || check_digest(root, why, cap) ||
	    check_config(root, &f->keyslots_size, why, cap))
		goto out;
	r = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

int luks2_check(const uint8_t *buf, size_t len, const struct luks2_expect *e,
		struct luks2_found *f, char *why, size_t cap)
{
	const uint8_t *h2 = buf + LUKS2_PV_HDR_SIZE;

	memset(f, 0, sizeof(*f));
	if (len < LUKS2_PV_DATA_OFFSET)
		return fail(why, cap, "header area is shorter than %u bytes", LUKS2_PV_DATA_OFFSET);
	if (check_binary(buf, magic1, 0, "primary", why, cap) ||
	    check_binary(h2, magic2, LUKS2_PV_HDR_SIZE, "secondary", why, cap))
		return -EINVAL;
	if (memcmp(buf + OFF_UUID, h2 + OFF_UUID, 40) ||
	    memcmp(buf + HDR_BIN_LEN, h2 + HDR_BIN_LEN, LUKS2_PV_HDR_SIZE - HDR_BIN_LEN))
		return fail(why, cap, "the two header copies differ");
	memcpy(f->uuid, buf + OFF_UUID, sizeof(f->uuid) - 1);
	if (strnlen(f->uuid, sizeof(f->uuid)) != 36)
		return fail(why, cap, "header uuid is not a 36-character uuid");
	if (check_json(buf + HDR_BIN_LEN, e, f, why, cap))
		return -EINVAL;
	f->metadata_len = 2 * LUKS2_PV_HDR_SIZE + f->keyslots_size;
	return 0;
}

bool luks2_magic(const uint8_t *buf, size_t len)
{
	return len >= sizeof(magic1) && !memcmp(buf, magic1, sizeof(magic1));
}
