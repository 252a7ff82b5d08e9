// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: the canonical binary encoding of a policy.
 *
 * The policy digest is the SHA-256 of these bytes, so one policy must have
 * exactly one encoding. The decoder therefore accepts only what the encoder
 * would produce: after a strict structural parse and the semantic checks, it
 * re-encodes the decoded policy in "compare mode" against the input (no
 * allocation, no second buffer) and refuses any difference.
 * Documentation/dmseal/encoding.rst describes the format byte by byte.
 */
#include "dmseal_core.h"

#define DMS_MAGIC		"DMSP"
#define DMS_VERSION		1
#define DMS_HDR_LEN		8
#define DMS_REC_HDR		4

/* Top-level tags. */
#define T_SCOPE			0x01
#define T_SCOPE_NAME		0x02
#define T_SCOPE_UUID		0x03
#define T_OTHER_TARGET		0x04
#define T_CONSUMER		0x05
#define T_PROFILE		0x10

/* Profile tags. */
#define P_NAME			0x01
#define P_CIPHER		0x02
#define P_KEY_FORMS		0x03
#define P_KEY_DESC_PREFIX	0x04
#define P_INTEGRITY_REQUIRED	0x05
#define P_AEAD_SIZE		0x06
#define P_SECTOR_SIZES		0x07
#define P_CRYPT_ALLOW		0x08
#define P_ALLOW_KEY_WIPE	0x09
#define P_KEY_URI		0x0a
#define P_INT_MODES		0x20
#define P_TAG_SIZE		0x21
#define P_BLOCK_SIZES		0x22
#define P_INT_REQUIRE		0x23
#define P_INT_ALLOW		0x24
#define P_INTERNAL_HASH		0x25
#define P_JOURNAL_CRYPT		0x26
#define P_JOURNAL_MAC		0x27

/* Cipher rule tags. */
#define C_SPEC			0x01
#define C_KEY_SIZE		0x02
#define C_INTEGRITY_KEY_SIZE	0x03

/* --- encoder --------------------------------------------------------------- */

/*
 * One encoder for three jobs: measuring (out and cmp NULL), writing (out),
 * and comparing against an existing buffer (cmp), which is how the decoder
 * proves its input canonical.
 */
struct dms_enc {
	u8 *out;
	const u8 *cmp;
	size_t cap;
	size_t pos;
	size_t bad;
	bool diff;
};

static void enc_bytes(struct dms_enc *e, const void *p, size_t n)
{
	const u8 *b = p;
	size_t i;

	if (e->out && e->pos <= e->cap && n <= e->cap - e->pos)
		memcpy(e->out + e->pos, b, n);
	for (i = 0; e->cmp && !e->diff && i < n; i++) {
		if (e->pos + i >= e->cap || e->cmp[e->pos + i] != b[i]) {
			e->diff = true;
			e->bad = e->pos + i;
		}
	}
	e->pos += n;
}

static void enc_u16(struct dms_enc *e, u16 v)
{
	u8 b[2] = { v >> 8, v & 0xff };

	enc_bytes(e, b, sizeof(b));
}

static void enc_u32(struct dms_enc *e, u32 v)
{
	u8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

	enc_bytes(e, b, sizeof(b));
}

static void enc_hdr(struct dms_enc *e, u16 tag, size_t len)
{
	enc_u16(e, tag);
	enc_u16(e, (u16)len);
}

static void enc_tlv_u32(struct dms_enc *e, u16 tag, u32 v)
{
	enc_hdr(e, tag, 4);
	enc_u32(e, v);
}

static void enc_tlv_bool(struct dms_enc *e, u16 tag, bool v)
{
	u8 b = v ? 1 : 0;

	enc_hdr(e, tag, 1);
	enc_bytes(e, &b, 1);
}

/* A string field of a struct, bounded by the field's size. */
static void enc_tlv_str(struct dms_enc *e, u16 tag, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	enc_hdr(e, tag, n);
	enc_bytes(e, s, n);
}

static u32 clamp_n(u32 n, u32 max)
{
	return n < max ? n : max;
}

static void enc_cipher_body(struct dms_enc *e, const struct dms_cipher_rule *c)
{
	enc_tlv_str(e, C_SPEC, c->spec, sizeof(c->spec));
	enc_tlv_u32(e, C_KEY_SIZE, c->key_size);
	/* absent when 0, so rules of version 1 policies keep their bytes */
	if (c->integrity_key_size)
		enc_tlv_u32(e, C_INTEGRITY_KEY_SIZE, c->integrity_key_size);
}

static void enc_cipher(struct dms_enc *e, const struct dms_cipher_rule *c)
{
	struct dms_enc m = { 0 };

	enc_cipher_body(&m, c);
	enc_hdr(e, P_CIPHER, m.pos);
	enc_cipher_body(e, c);
}

static void enc_algs(struct dms_enc *e, u16 tag, u32 n,
		     const char (*algs)[DMS_ALG_MAX])
{
	u32 i;

	for (i = 0; i < clamp_n(n, DMS_MAX_ALGS); i++)
		enc_tlv_str(e, tag, algs[i], DMS_ALG_MAX);
}

static void enc_profile_crypt(struct dms_enc *e, const struct dms_profile *pr)
{
	u32 i;

	enc_tlv_str(e, P_NAME, pr->name, sizeof(pr->name));
	for (i = 0; i < clamp_n(pr->n_ciphers, DMS_MAX_CIPHERS); i++)
		enc_cipher(e, &pr->ciphers[i]);
	enc_tlv_u32(e, P_KEY_FORMS, pr->key_forms);
	if (pr->key_desc_prefix[0])
		enc_tlv_str(e, P_KEY_DESC_PREFIX, pr->key_desc_prefix,
			    sizeof(pr->key_desc_prefix));
	enc_tlv_bool(e, P_INTEGRITY_REQUIRED, pr->integrity_required);
	for (i = 0; i < clamp_n(pr->n_aead_sizes, DMS_MAX_AEAD_SIZES); i++)
		enc_tlv_u32(e, P_AEAD_SIZE, pr->aead_sizes[i]);
	enc_tlv_u32(e, P_SECTOR_SIZES, pr->sector_sizes);
	enc_tlv_u32(e, P_CRYPT_ALLOW, pr->crypt_allow);
	enc_tlv_bool(e, P_ALLOW_KEY_WIPE, pr->allow_key_wipe);
	for (i = 0; i < clamp_n(pr->n_key_uris, DMS_MAX_KEY_URIS); i++)
		enc_tlv_str(e, P_KEY_URI, pr->key_uris[i], DMS_KEY_URI_MAX);
}

static void enc_profile_body(struct dms_enc *e, const struct dms_profile *pr)
{
	u32 i;

	enc_profile_crypt(e, pr);
	enc_tlv_u32(e, P_INT_MODES, pr->int_modes);
	for (i = 0; i < clamp_n(pr->n_tag_sizes, DMS_MAX_TAG_SIZES); i++)
		enc_tlv_u32(e, P_TAG_SIZE, pr->tag_sizes[i]);
	enc_tlv_u32(e, P_BLOCK_SIZES, pr->block_sizes);
	enc_tlv_u32(e, P_INT_REQUIRE, pr->int_require);
	enc_tlv_u32(e, P_INT_ALLOW, pr->int_allow);
	enc_algs(e, P_INTERNAL_HASH, pr->n_internal_hash, pr->internal_hash);
	enc_algs(e, P_JOURNAL_CRYPT, pr->n_journal_crypt, pr->journal_crypt);
	enc_algs(e, P_JOURNAL_MAC, pr->n_journal_mac, pr->journal_mac);
}

static void enc_profile(struct dms_enc *e, const struct dms_profile *pr)
{
	struct dms_enc m = { 0 };

	/* Measure first: the record header carries the body's length. */
	enc_profile_body(&m, pr);
	enc_hdr(e, T_PROFILE, m.pos);
	enc_profile_body(e, pr);
}

static void enc_policy(struct dms_enc *e, const struct dms_policy *p)
{
	static const u8 hdr[DMS_HDR_LEN] = { 'D', 'M', 'S', 'P', DMS_VERSION };
	u32 i;

	enc_bytes(e, hdr, sizeof(hdr));
	enc_tlv_u32(e, T_SCOPE, p->scope);
	if (p->scope & DMS_SCOPE_NAME_PREFIX)
		enc_tlv_str(e, T_SCOPE_NAME, p->scope_name_prefix,
			    sizeof(p->scope_name_prefix));
	if (p->scope & DMS_SCOPE_UUID_PREFIX)
		enc_tlv_str(e, T_SCOPE_UUID, p->scope_uuid_prefix,
			    sizeof(p->scope_uuid_prefix));
	for (i = 0; i < clamp_n(p->n_other_targets, DMS_MAX_OTHER_TARGETS); i++)
		enc_tlv_str(e, T_OTHER_TARGET, p->other_targets[i],
			    DMS_TARGET_NAME_MAX);
	for (i = 0; i < clamp_n(p->n_consumers, DMS_MAX_CONSUMERS); i++)
		enc_tlv_str(e, T_CONSUMER, p->consumers[i], DMS_TARGET_NAME_MAX);
	for (i = 0; i < clamp_n(p->n_profiles, DMS_MAX_PROFILES); i++)
		enc_profile(e, &p->profiles[i]);
}

size_t dms_policy_encode(const struct dms_policy *p, u8 *buf, size_t cap)
{
	struct dms_enc m = { 0 };
	struct dms_enc w = { 0 };

	enc_policy(&m, p);
	if (buf && cap >= m.pos) {
		w.out = buf;
		w.cap = cap;
		enc_policy(&w, p);
	}
	return m.pos;
}

/* --- decoder --------------------------------------------------------------- */

enum dms_vtype { VT_U32, VT_BOOL, VT_STR, VT_NEST };

#define F_REQ	1u	/* must be present */
#define F_REP	2u	/* may repeat (consecutively) */

struct dms_tagdef {
	u16 tag;
	u8 type;
	u8 flags;
	const char *name;
};

/* One record's value, already checked against its tag's type. */
struct dms_val {
	const struct dms_tagdef *def;
	size_t off;		/* offset of the value in the whole input */
	size_t len;
	u32 u;			/* VT_U32 and VT_BOOL */
	const char *s;		/* VT_STR, not NUL-terminated */
};

struct dms_dctx {
	const u8 *buf;
	struct dms_reason *why;
	char where[40];		/* "", "profile N: ", "profile N: cipher M: " */
};

struct dms_level {
	const struct dms_tagdef *tags;
	size_t n_tags;
	int (*store)(void *obj, const struct dms_val *v, struct dms_dctx *d);
};

static const struct dms_tagdef dms_top_tags[] = {
	{ T_SCOPE, VT_U32, F_REQ, "scope" },
	{ T_SCOPE_NAME, VT_STR, 0, "scope_name_prefix" },
	{ T_SCOPE_UUID, VT_STR, 0, "scope_uuid_prefix" },
	{ T_OTHER_TARGET, VT_STR, F_REP, "other_target" },
	{ T_CONSUMER, VT_STR, F_REP, "consumer" },
	{ T_PROFILE, VT_NEST, F_REP, "profile" },
};

static const struct dms_tagdef dms_profile_tags[] = {
	{ P_NAME, VT_STR, F_REQ, "name" },
	{ P_CIPHER, VT_NEST, F_REP, "cipher" },
	{ P_KEY_FORMS, VT_U32, F_REQ, "key_forms" },
	{ P_KEY_DESC_PREFIX, VT_STR, 0, "key_desc_prefix" },
	{ P_INTEGRITY_REQUIRED, VT_BOOL, F_REQ, "integrity_required" },
	{ P_AEAD_SIZE, VT_U32, F_REP, "aead_size" },
	{ P_SECTOR_SIZES, VT_U32, F_REQ, "sector_sizes" },
	{ P_CRYPT_ALLOW, VT_U32, F_REQ, "crypt_allow" },
	{ P_ALLOW_KEY_WIPE, VT_BOOL, F_REQ, "allow_key_wipe" },
	{ P_KEY_URI, VT_STR, F_REP, "key_uri" },
	{ P_INT_MODES, VT_U32, F_REQ, "int_modes" },
	{ P_TAG_SIZE, VT_U32, F_REQ | F_REP, "tag_size" },
	{ P_BLOCK_SIZES, VT_U32, F_REQ, "block_sizes" },
	{ P_INT_REQUIRE, VT_U32, F_REQ, "int_require" },
	{ P_INT_ALLOW, VT_U32, F_REQ, "int_allow" },
	{ P_INTERNAL_HASH, VT_STR, F_REP, "internal_hash" },
	{ P_JOURNAL_CRYPT, VT_STR, F_REP, "journal_crypt" },
	{ P_JOURNAL_MAC, VT_STR, F_REP, "journal_mac" },
};

static const struct dms_tagdef dms_cipher_tags[] = {
	{ C_SPEC, VT_STR, F_REQ, "spec" },
	{ C_KEY_SIZE, VT_U32, F_REQ, "key_size" },
	{ C_INTEGRITY_KEY_SIZE, VT_U32, 0, "integrity_key_size" },
};

static int dec_fail(struct dms_dctx *d, const char *msg, size_t off)
{
	snprintf(d->why->msg, sizeof(d->why->msg), "policy: %s%s at offset %zu",
		 d->where, msg, off);
	return -EINVAL;
}

static int dec_fail_tag(struct dms_dctx *d, const char *msg, u16 tag,
			size_t off)
{
	snprintf(d->why->msg, sizeof(d->why->msg),
		 "policy: %s%s tag 0x%02x at offset %zu", d->where, msg, tag, off);
	return -EINVAL;
}

static int dec_fail_name(struct dms_dctx *d, const struct dms_tagdef *def,
			 const char *msg, size_t off)
{
	snprintf(d->why->msg, sizeof(d->why->msg),
		 "policy: %s%s %s at offset %zu", d->where, def->name, msg, off);
	return -EINVAL;
}

static u16 get_u16(const u8 *b)
{
	return (u16)(b[0] << 8 | b[1]);
}

static u32 get_u32(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

/* Check a value's shape: fixed-size integers, 0/1 booleans, clean strings. */
static int dec_value(struct dms_dctx *d, struct dms_val *v, size_t hdr_off)
{
	const u8 *b = d->buf + v->off;
	size_t i;

	switch (v->def->type) {
	case VT_U32:
		if (v->len != 4)
			return dec_fail_name(d, v->def, "must be 4 bytes", hdr_off);
		v->u = get_u32(b);
		return 0;
	case VT_BOOL:
		if (v->len != 1)
			return dec_fail_name(d, v->def, "must be 1 byte", hdr_off);
		if (b[0] > 1)
			return dec_fail_name(d, v->def, "must be 0 or 1", v->off);
		v->u = b[0];
		return 0;
	case VT_STR:
		if (!v->len)
			return dec_fail_name(d, v->def, "is empty", hdr_off);
		for (i = 0; i < v->len; i++)
			if (b[i] < 0x20 || b[i] > 0x7e)
				return dec_fail_name(d, v->def,
						     "has a NUL, control or non-ASCII byte",
						     v->off + i);
		v->s = (const char *)b;
		return 0;
	}
	return 0;
}

static const struct dms_tagdef *find_tag(const struct dms_level *lv, u16 tag,
					 size_t *idx)
{
	size_t i;

	for (i = 0; i < lv->n_tags; i++) {
		if (lv->tags[i].tag == tag) {
			*idx = i;
			return &lv->tags[i];
		}
	}
	return NULL;
}

static int dec_missing(struct dms_dctx *d, const struct dms_level *lv,
		       u32 seen, size_t end)
{
	size_t i;

	for (i = 0; i < lv->n_tags; i++)
		if ((lv->tags[i].flags & F_REQ) && !(seen & (1u << i)))
			return dec_fail_name(d, &lv->tags[i], "missing, record ends",
					     end);
	return 0;
}

/*
 * Decode the records in [off, end) of one nesting level. Tags must come in
 * ascending order; only repeatable ones may appear more than once. Levels
 * nest through store(): at most three deep, as the format itself.
 */
static int dec_level(struct dms_dctx *d, const struct dms_level *lv,
		     void *obj, size_t off, size_t end)
{
	const struct dms_tagdef *def, *last = NULL;
	struct dms_val v;
	u32 seen = 0;
	size_t idx;
	u16 tag;
	int r;

	while (off < end) {
		if (end - off < DMS_REC_HDR)
			return dec_fail(d, "truncated record header", off);
		tag = get_u16(d->buf + off);
		memset(&v, 0, sizeof(v));
		v.off = off + DMS_REC_HDR;
		v.len = get_u16(d->buf + off + 2);
		if (v.len > end - v.off)
			return dec_fail(d, "truncated", off);
		def = find_tag(lv, tag, &idx);
		if (!def)
			return dec_fail_tag(d, "unknown", tag, off);
		if (last && def->tag < last->tag)
			return dec_fail_tag(d, "out of order", tag, off);
		if (def == last && !(def->flags & F_REP))
			return dec_fail_tag(d, "duplicate", tag, off);
		v.def = def;
		r = dec_value(d, &v, off);
		if (!r)
			r = lv->store(obj, &v, d);
		if (r)
			return r;
		seen |= 1u << idx;
		last = def;
		off = v.off + v.len;
	}
	return dec_missing(d, lv, seen, end);
}

/* Copy a checked string value into a fixed field, with room for the NUL. */
static int dec_str(struct dms_dctx *d, const struct dms_val *v, char *dst,
		   size_t size)
{
	if (v->len >= size) {
		snprintf(d->why->msg, sizeof(d->why->msg),
			 "policy: %s%s too long (max %zu) at offset %zu",
			 d->where, v->def->name, size - 1, v->off);
		return -EINVAL;
	}
	memcpy(dst, v->s, v->len);
	dst[v->len] = '\0';
	return 0;
}

static int dec_full(struct dms_dctx *d, const struct dms_val *v, u32 max)
{
	snprintf(d->why->msg, sizeof(d->why->msg),
		 "policy: %stoo many %s (max %u) at offset %zu", d->where,
		 v->def->name, max, v->off - DMS_REC_HDR);
	return -EINVAL;
}

static int store_alg(struct dms_dctx *d, const struct dms_val *v, u32 *n,
		     char (*algs)[DMS_ALG_MAX])
{
	if (*n >= DMS_MAX_ALGS)
		return dec_full(d, v, DMS_MAX_ALGS);
	return dec_str(d, v, algs[(*n)++], DMS_ALG_MAX);
}

static int store_cipher(void *obj, const struct dms_val *v, struct dms_dctx *d)
{
	struct dms_cipher_rule *c = obj;

	if (v->def->tag == C_SPEC)
		return dec_str(d, v, c->spec, sizeof(c->spec));
	if (v->def->tag == C_KEY_SIZE)
		c->key_size = v->u;
	else
		c->integrity_key_size = v->u;
	return 0;
}

static const struct dms_level dms_cipher_level = {
	dms_cipher_tags, ARRAY_SIZE(dms_cipher_tags), store_cipher
};

static int store_profile_nest(struct dms_profile *pr, const struct dms_val *v,
			      struct dms_dctx *d)
{
	size_t n = strlen(d->where);
	int r;

	if (pr->n_ciphers >= DMS_MAX_CIPHERS)
		return dec_full(d, v, DMS_MAX_CIPHERS);
	snprintf(d->where + n, sizeof(d->where) - n, "cipher %u: ",
		 pr->n_ciphers);
	r = dec_level(d, &dms_cipher_level, &pr->ciphers[pr->n_ciphers],
		      v->off, v->off + v->len);
	d->where[n] = '\0';
	pr->n_ciphers++;
	return r;
}

static int store_profile(void *obj, const struct dms_val *v, struct dms_dctx *d)
{
	struct dms_profile *pr = obj;

	switch (v->def->tag) {
	case P_NAME:
		return dec_str(d, v, pr->name, sizeof(pr->name));
	case P_CIPHER:
		return store_profile_nest(pr, v, d);
	case P_KEY_FORMS:
		pr->key_forms = v->u;
		return 0;
	case P_KEY_DESC_PREFIX:
		return dec_str(d, v, pr->key_desc_prefix,
			       sizeof(pr->key_desc_prefix));
	case P_INTEGRITY_REQUIRED:
		pr->integrity_required = v->u;
		return 0;
	case P_AEAD_SIZE:
		if (pr->n_aead_sizes >= DMS_MAX_AEAD_SIZES)
			return dec_full(d, v, DMS_MAX_AEAD_SIZES);
		pr->aead_sizes[pr->n_aead_sizes++] = v->u;
		return 0;
	case P_SECTOR_SIZES:
		pr->sector_sizes = v->u;
		return 0;
	case P_CRYPT_ALLOW:
		pr->crypt_allow = v->u;
		return 0;
	case P_ALLOW_KEY_WIPE:
		pr->allow_key_wipe = v->u;
		return 0;
	case P_KEY_URI:
		if (pr->n_key_uris >= DMS_MAX_KEY_URIS)
			return dec_full(d, v, DMS_MAX_KEY_URIS);
		return dec_str(d, v, pr->key_uris[pr->n_key_uris++],
			       DMS_KEY_URI_MAX);
	case P_INT_MODES:
		pr->int_modes = v->u;
		return 0;
	case P_TAG_SIZE:
		if (pr->n_tag_sizes >= DMS_MAX_TAG_SIZES)
			return dec_full(d, v, DMS_MAX_TAG_SIZES);
		pr->tag_sizes[pr->n_tag_sizes++] = v->u;
		return 0;
	case P_BLOCK_SIZES:
		pr->block_sizes = v->u;
		return 0;
	case P_INT_REQUIRE:
		pr->int_require = v->u;
		return 0;
	case P_INT_ALLOW:
		pr->int_allow = v->u;
		return 0;
	case P_INTERNAL_HASH:
		return store_alg(d, v, &pr->n_internal_hash, pr->internal_hash);
	case P_JOURNAL_CRYPT:
		return store_alg(d, v, &pr->n_journal_crypt, pr->journal_crypt);
	case P_JOURNAL_MAC:
		return store_alg(d, v, &pr->n_journal_mac, pr->journal_mac);
	}
	return 0;
}

static const struct dms_level dms_profile_level = {
	dms_profile_tags, ARRAY_SIZE(dms_profile_tags), store_profile
};

static int store_top_profile(struct dms_policy *p, const struct dms_val *v,
			     struct dms_dctx *d)
{
	int r;

	if (p->n_profiles >= DMS_MAX_PROFILES)
		return dec_full(d, v, DMS_MAX_PROFILES);
	snprintf(d->where, sizeof(d->where), "profile %u: ", p->n_profiles);
	r = dec_level(d, &dms_profile_level, &p->profiles[p->n_profiles],
		      v->off, v->off + v->len);
	d->where[0] = '\0';
	p->n_profiles++;
	return r;
}

static int store_top(void *obj, const struct dms_val *v, struct dms_dctx *d)
{
	struct dms_policy *p = obj;

	switch (v->def->tag) {
	case T_SCOPE:
		p->scope = v->u;
		return 0;
	case T_SCOPE_NAME:
		return dec_str(d, v, p->scope_name_prefix,
			       sizeof(p->scope_name_prefix));
	case T_SCOPE_UUID:
		return dec_str(d, v, p->scope_uuid_prefix,
			       sizeof(p->scope_uuid_prefix));
	case T_OTHER_TARGET:
		if (p->n_other_targets >= DMS_MAX_OTHER_TARGETS)
			return dec_full(d, v, DMS_MAX_OTHER_TARGETS);
		return dec_str(d, v, p->other_targets[p->n_other_targets++],
			       DMS_TARGET_NAME_MAX);
	case T_CONSUMER:
		if (p->n_consumers >= DMS_MAX_CONSUMERS)
			return dec_full(d, v, DMS_MAX_CONSUMERS);
		return dec_str(d, v, p->consumers[p->n_consumers++],
			       DMS_TARGET_NAME_MAX);
	case T_PROFILE:
		return store_top_profile(p, v, d);
	}
	return 0;
}

static const struct dms_level dms_top_level = {
	dms_top_tags, ARRAY_SIZE(dms_top_tags), store_top
};

static int dec_header(struct dms_dctx *d, size_t len)
{
	const u8 *b = d->buf;

	if (len < DMS_HDR_LEN)
		return dec_fail(d, "truncated header", 0);
	if (memcmp(b, DMS_MAGIC, 4))
		return dec_fail(d, "bad magic (not DMSP)", 0);
	if (b[4] != DMS_VERSION) {
		snprintf(d->why->msg, sizeof(d->why->msg),
			 "policy: unsupported version %u", b[4]);
		return -EINVAL;
	}
	if (b[5] || b[6] || b[7])
		return dec_fail(d, "reserved header bytes not zero", 5);
	return 0;
}

/*
 * Put the decoded policy in canonical order and re-encode it against the
 * input: any difference (unsorted list, record that encode would omit or
 * add) means the input was not the canonical encoding.
 */
static int dec_canonical(struct dms_dctx *d, const struct dms_policy *p,
			 size_t len)
{
	struct dms_enc e = { 0 };

	e.cmp = d->buf;
	e.cap = len;
	enc_policy(&e, p);
	if (!e.diff && e.pos == len)
		return 0;
	snprintf(d->why->msg, sizeof(d->why->msg),
		 "policy: not in canonical form at offset %zu (lists must be sorted and unique)",
		 e.diff ? e.bad : (e.pos < len ? e.pos : len));
	return -EINVAL;
}

int dms_policy_decode(const u8 *buf, size_t len, struct dms_policy *p,
		      struct dms_reason *why)
{
	struct dms_reason dummy;
	struct dms_dctx d;
	int r;

	memset(p, 0, sizeof(*p));
	memset(&d, 0, sizeof(d));
	d.buf = buf;
	d.why = why ? why : &dummy;
	if (!buf)
		len = 0;
	r = dec_header(&d, len);
	if (!r)
		r = dec_level(&d, &dms_top_level, p, DMS_HDR_LEN, len);
	if (!r)
		r = dms_policy_validate(p, d.why);
	if (!r) {
		dms_policy_normalize(p);
		r = dec_canonical(&d, p, len);
	}
	if (r)
		memset(p, 0, sizeof(*p));
	return r ? -EINVAL : 0;
}
