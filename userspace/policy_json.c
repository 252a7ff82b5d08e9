// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the JSON policy language (Documentation/dmseal/policy.rst) to
 * and from struct dms_policy.
 *
 * Parsing is strict on purpose: a policy is a security decision, so an
 * unknown key, a wrong type or an out-of-range value is an error naming its
 * JSON path, never something silently ignored or clamped. The semantic rules
 * (null ciphers, mode R, ...) are not duplicated here: dms_policy_validate()
 * from kmod/core, the same code the kernel runs, has the last word.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmsealctl.h"
#include "sha256.h"

struct pctx {
	const char *file;
	char path[256];
	int err;
};

static int perr(struct pctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int perr(struct pctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->err)
		err_line("%s: %s%s%s", shown(c->file), c->path,
			c->path[0] ? ": " : "", msg);
	c->err = -EINVAL;
	return -EINVAL;
}

/* JSON path bookkeeping: push ".key" or "[i]", pop back to the saved length. */
static size_t push_key(struct pctx *c, const char *key)
{
	size_t n = strlen(c->path);

	/* keys come from the file: never a raw control byte in a message */
	snprintf(c->path + n, sizeof(c->path) - n, "%s%s", n ? "." : "", shown(key));
	return n;
}

static size_t push_idx(struct pctx *c, size_t i)
{
	size_t n = strlen(c->path);

	snprintf(c->path + n, sizeof(c->path) - n, "[%zu]", i);
	return n;
}

static void pop(struct pctx *c, size_t n)
{
	c->path[n] = '\0';
}

static const char *type_name(json_type t)
{
	switch (t) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number with a fraction";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "?";
}

static int want_type(struct pctx *c, struct json_object *o, json_type t)
{
	json_type have = json_object_get_type(o);

	if (have != t)
		return perr(c, "expected %s, got %s", type_name(t), type_name(have));
	return 0;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(struct pctx *c, struct json_object *obj,
		      const char *const *allowed)
{
	json_object_object_foreach(obj, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a) {
			size_t n = push_key(c, key);

			perr(c, "unknown key");
			pop(c, n);
			return -EINVAL;
		}
	}
	return 0;
}

/* Fetch obj.key; required keys missing are an error, optional ones NULL. */
static struct json_object *get(struct pctx *c, struct json_object *obj,
			       const char *key, bool required)
{
	struct json_object *v;

	if (json_object_object_get_ex(obj, key, &v))
		return v;
	if (required) {
		size_t n = push_key(c, key);

		perr(c, "missing (required)");
		pop(c, n);
	}
	return NULL;
}

static int get_bool(struct pctx *c, struct json_object *obj, const char *key,
		    bool required, bool def, bool *out)
{
	struct json_object *v = get(c, obj, key, required);
	size_t n;
	int r;

	if (!v) {
		*out = def;
		return required ? -EINVAL : 0;
	}
	n = push_key(c, key);
	r = want_type(c, v, json_type_boolean);
	if (!r)
		*out = json_object_get_boolean(v);
	pop(c, n);
	return r;
}

static int to_u32(struct pctx *c, struct json_object *v, uint32_t min,
		  uint32_t max, uint32_t *out)
{
	int64_t x;

	if (want_type(c, v, json_type_int))
		return -EINVAL;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return perr(c, "%s is out of range %u..%u",
			    json_object_to_json_string(v), min, max);
	*out = (uint32_t)x;
	return 0;
}

static int to_str(struct pctx *c, struct json_object *v, char *out, size_t cap,
		  bool allow_empty)
{
	const char *s;
	size_t len;

	if (want_type(c, v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (strlen(s) != len)
		return perr(c, "string contains a NUL byte");
	if (!len && !allow_empty)
		return perr(c, "must not be empty");
	if (len >= cap)
		return perr(c, "string longer than %zu characters", cap - 1);
	memcpy(out, s, len + 1);
	return 0;
}

static int get_str(struct pctx *c, struct json_object *obj, const char *key,
		   bool required, char *out, size_t cap, bool allow_empty)
{
	struct json_object *v = get(c, obj, key, required);
	size_t n;
	int r;

	if (!v)
		return required ? -EINVAL : 0;
	n = push_key(c, key);
	r = to_str(c, v, out, cap, allow_empty);
	pop(c, n);
	return r;
}

/*
 * Walk an array member: calls fn for each element with the path at
 * "key[i]". Optional arrays default to empty.
 */
typedef int (*elem_fn)(struct pctx *c, struct json_object *v, size_t i, void *arg);
static int get_array(struct pctx *c, struct json_object *obj, const char *key,
		     bool required, size_t max, elem_fn fn, void *arg)
{
	struct json_object *v = get(c, obj, key, required);
	size_t n, i, len;
	int r = 0;

	if (!v)
		return required ? -EINVAL : 0;
	n = push_key(c, key);
	if (want_type(c, v, json_type_array)) {
		pop(c, n);
		return -EINVAL;
	}
	len = json_object_array_length(v);
	if (len > max) {
		perr(c, "at most %zu entries allowed, got %zu", max, len);
		pop(c, n);
		return -EINVAL;
	}
	for (i = 0; i < len && !r; i++) {
		size_t m = push_idx(c, i);

		r = fn(c, json_object_array_get_idx(v, i), i, arg);
		pop(c, m);
	}
	pop(c, n);
	return r;
}

/* --- element parsers --------------------------------------------------------- */

static int size_bit(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	uint32_t *mask = arg, x, b;

	(void)i;
	if (want_type(c, v, json_type_int))
		return -EINVAL;
	errno = 0;
	if (json_object_get_int64(v) < 0 || json_object_get_int64(v) > 65536)
		x = 3;	/* any non-power-of-two: reported below */
	else
		x = (uint32_t)json_object_get_int64(v);
	for (b = 9; b <= 12; b++)
		if (x == 1u << b)
			break;
	if (b > 12)
		return perr(c, "%s is not a power of two between 512 and 4096",
			    json_object_to_json_string(v));
	if (*mask & (1u << b))
		return perr(c, "%u is listed twice", x);
	*mask |= 1u << b;
	return 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} key_forms[] = {
	{ "hex", DMS_KEY_HEX },
	{ "logon", DMS_KEY_LOGON },
	{ "user", DMS_KEY_USER },
	{ "encrypted", DMS_KEY_ENCRYPTED },
	{ "trusted", DMS_KEY_TRUSTED },
};

static int key_form(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	uint32_t *mask = arg;
	const char *s;
	size_t k;

	(void)i;
	if (want_type(c, v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	for (k = 0; k < ARRAY_SIZE(key_forms); k++)
		if (!strcmp(s, key_forms[k].name))
			break;
	if (k == ARRAY_SIZE(key_forms))
		return perr(c, "\"%s\" is not a key form (hex, logon, user, encrypted, trusted)",
			    shown(s));
	if (*mask & key_forms[k].bit)
		return perr(c, "\"%s\" is listed twice", shown(s));
	*mask |= key_forms[k].bit;
	return 0;
}

static int int_mode(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	uint32_t *mask = arg;
	const char *s;

	(void)i;
	if (want_type(c, v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	if (!strcmp(s, "R"))
		return perr(c, "mode \"R\" (recovery: no integrity checks) is never allowed");
	if (strlen(s) != 1 || !strchr("JDBI", s[0]))
		return perr(c, "\"%s\" is not an integrity mode (J, D, B, I)", shown(s));
	if (*mask & DMS_MODE_BIT(s[0]))
		return perr(c, "\"%s\" is listed twice", shown(s));
	*mask |= DMS_MODE_BIT(s[0]);
	return 0;
}

struct u32list {
	uint32_t *v;
	uint32_t *n;
	uint32_t min, max;
};

static int u32_elem(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	struct u32list *l = arg;
	uint32_t x, k;

	if (to_u32(c, v, l->min, l->max, &x))
		return -EINVAL;
	for (k = 0; k < i; k++)
		if (l->v[k] == x)
			return perr(c, "%u is listed twice", x);
	l->v[i] = x;
	*l->n = i + 1;
	return 0;
}

struct strlist {
	char *base;
	size_t stride;
	uint32_t *n;
};

static int str_elem(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	struct strlist *l = arg;
	char *dst = l->base + i * l->stride;
	size_t k;

	if (to_str(c, v, dst, l->stride, false))
		return -EINVAL;
	for (k = 0; k < i; k++)
		if (!strcmp(l->base + k * l->stride, dst))
			return perr(c, "\"%s\" is listed twice", shown(dst));
	*l->n = i + 1;
	return 0;
}

static int cipher_elem(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	static const char *const keys[] = {
		"spec", "key_size", "integrity_key_size", NULL };
	struct dms_profile *pr = arg;
	struct dms_cipher_rule *rule = &pr->ciphers[i];
	struct json_object *ks;
	size_t n;
	int r;

	if (want_type(c, v, json_type_object) || check_keys(c, v, keys))
		return -EINVAL;
	if (get_str(c, v, "spec", true, rule->spec, sizeof(rule->spec), false))
		return -EINVAL;
	ks = get(c, v, "key_size", true);
	if (!ks)
		return -EINVAL;
	n = push_key(c, "key_size");
	r = to_u32(c, ks, 16, 512, &rule->key_size);
	pop(c, n);
	if (r)
		return r;
	/* optional: 0 (the default) means the table may not use the option */
	ks = get(c, v, "integrity_key_size", false);
	if (ks) {
		n = push_key(c, "integrity_key_size");
		r = to_u32(c, ks, 0, 511, &rule->integrity_key_size);
		if (!r && rule->integrity_key_size >= rule->key_size)
			r = perr(c, "%u must be smaller than key_size (%u)",
				 rule->integrity_key_size, rule->key_size);
		pop(c, n);
		if (r)
			return r;
	}
	pr->n_ciphers = i + 1;
	return 0;
}

/* --- sections ----------------------------------------------------------------- */

static int parse_flag(struct pctx *c, struct json_object *obj, const char *key,
		      bool def, uint32_t *mask, uint32_t bit)
{
	bool b;

	if (get_bool(c, obj, key, false, def, &b))
		return -EINVAL;
	if (b)
		*mask |= bit;
	return 0;
}

static int parse_crypt(struct pctx *c, struct json_object *o, struct dms_profile *pr)
{
	static const char *const keys[] = {
		"ciphers", "key_forms", "key_description_prefix", "integrity",
		"sector_sizes", "allow_discards", "allow_iv_large_sectors",
		"allow_key_wipe", NULL };
	static const char *const ikeys[] = { "required", "aead_bytes", NULL };
	struct u32list aead = { pr->aead_sizes, &pr->n_aead_sizes, 1, 1024 };
	struct json_object *in;
	size_t n;
	int r;

	if (want_type(c, o, json_type_object) || check_keys(c, o, keys))
		return -EINVAL;
	if (get_array(c, o, "ciphers", true, DMS_MAX_CIPHERS, cipher_elem, pr) ||
	    get_array(c, o, "key_forms", true, ARRAY_SIZE(key_forms), key_form,
		      &pr->key_forms) ||
	    get_str(c, o, "key_description_prefix", false, pr->key_desc_prefix,
		    sizeof(pr->key_desc_prefix), true) ||
	    get_array(c, o, "sector_sizes", true, 4, size_bit, &pr->sector_sizes) ||
	    parse_flag(c, o, "allow_discards", false, &pr->crypt_allow,
		       DMS_CRYPT_ALLOW_DISCARDS) ||
	    parse_flag(c, o, "allow_iv_large_sectors", false, &pr->crypt_allow,
		       DMS_CRYPT_IV_LARGE_SECTORS) ||
	    get_bool(c, o, "allow_key_wipe", false, false, &pr->allow_key_wipe))
		return -EINVAL;
	in = get(c, o, "integrity", true);
	if (!in)
		return -EINVAL;
	n = push_key(c, "integrity");
	r = want_type(c, in, json_type_object);
	if (!r)
		r = check_keys(c, in, ikeys);
	if (!r)
		r = get_bool(c, in, "required", true, false, &pr->integrity_required);
	if (!r)
		r = get_array(c, in, "aead_bytes", false, DMS_MAX_AEAD_SIZES,
			      u32_elem, &aead);
	pop(c, n);
	if (!r && !pr->n_ciphers)
		r = perr(c, "ciphers: at least one cipher rule is needed");
	if (!r && !pr->key_forms)
		r = perr(c, "key_forms: at least one key form is needed");
	if (!r && !pr->sector_sizes)
		r = perr(c, "sector_sizes: at least one sector size is needed");
	return r;
}

/*
 * "tag_sizes": [N, ...], or the older "tag_size": N as a list of one. The
 * canonical form (policy format/show) always writes "tag_sizes".
 */
static int parse_tag_sizes(struct pctx *c, struct json_object *o,
			   struct dms_profile *pr)
{
	struct u32list tl = { pr->tag_sizes, &pr->n_tag_sizes, 1, 1024 };
	struct json_object *one = get(c, o, "tag_size", false);
	struct json_object *list = get(c, o, "tag_sizes", false);
	size_t n;
	int r;

	if (one && list)
		return perr(c, "give tag_sizes or tag_size, not both");
	if (!one && !list)
		return perr(c, "tag_sizes: missing (required; tag_size is also accepted)");
	if (one) {
		n = push_key(c, "tag_size");
		r = to_u32(c, one, 1, 1024, &pr->tag_sizes[0]);
		pop(c, n);
		if (!r)
			pr->n_tag_sizes = 1;
		return r;
	}
	if (get_array(c, o, "tag_sizes", true, DMS_MAX_TAG_SIZES, u32_elem, &tl))
		return -EINVAL;
	if (!pr->n_tag_sizes)
		return perr(c, "tag_sizes: at least one tag size is needed");
	return 0;
}

static int parse_integrity(struct pctx *c, struct json_object *o,
			   struct dms_profile *pr)
{
	static const char *const keys[] = {
		"modes", "tag_size", "tag_sizes", "block_sizes", "require_fix_padding",
		"require_fix_hmac", "internal_hash", "journal_crypt",
		"journal_mac", "allow_recalculate", "allow_reset_recalculate",
		"allow_legacy_recalculate", "allow_meta_device",
		"allow_discards", NULL };
	struct strlist ih = { &pr->internal_hash[0][0], DMS_ALG_MAX, &pr->n_internal_hash };
	struct strlist jc = { &pr->journal_crypt[0][0], DMS_ALG_MAX, &pr->n_journal_crypt };
	struct strlist jm = { &pr->journal_mac[0][0], DMS_ALG_MAX, &pr->n_journal_mac };
	if (want_type(c, o, json_type_object) || check_keys(c, o, keys))
		return -EINVAL;
	if (get_array(c, o, "modes", true, 4, int_mode, &pr->int_modes) ||
	    parse_tag_sizes(c, o, pr) ||
	    get_array(c, o, "block_sizes", true, 4, size_bit, &pr->block_sizes) ||
	    parse_flag(c, o, "require_fix_padding", true, &pr->int_require,
		       DMS_INT_FIX_PADDING) ||
	    parse_flag(c, o, "require_fix_hmac", true, &pr->int_require,
		       DMS_INT_FIX_HMAC) ||
	    get_array(c, o, "internal_hash", false, DMS_MAX_ALGS, str_elem, &ih) ||
	    get_array(c, o, "journal_crypt", false, DMS_MAX_ALGS, str_elem, &jc) ||
	    get_array(c, o, "journal_mac", false, DMS_MAX_ALGS, str_elem, &jm) ||
	    parse_flag(c, o, "allow_recalculate", false, &pr->int_allow, DMS_INT_RECALC) ||
	    parse_flag(c, o, "allow_reset_recalculate", false, &pr->int_allow,
		       DMS_INT_RESET_RECALC) ||
	    parse_flag(c, o, "allow_legacy_recalculate", false, &pr->int_allow,
		       DMS_INT_LEGACY_RECALC) ||
	    parse_flag(c, o, "allow_meta_device", false, &pr->int_allow,
		       DMS_INT_META_DEVICE) ||
	    parse_flag(c, o, "allow_discards", false, &pr->int_allow,
		       DMS_INT_ALLOW_DISCARDS))
		return -EINVAL;
	if (!pr->int_modes)
		return perr(c, "modes: at least one integrity mode is needed");
	if (!pr->block_sizes)
		return perr(c, "block_sizes: at least one block size is needed");
	return 0;
}

/* "kbs:///repo/type/tag" or a prefix of whole segments ending in '/' */
static int key_uri_elem(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	struct strlist *l = arg;
	struct dms_reason why = { "" };

	if (str_elem(c, v, i, arg))
		return -EINVAL;
	if (dms_kbs_uri_check(l->base + i * l->stride, true, &why))
		return perr(c, "\"%s\": %s", shown(l->base + i * l->stride), why.msg);
	return 0;
}

static int profile_elem(struct pctx *c, struct json_object *v, size_t i, void *arg)
{
	static const char *const keys[] = { "name", "crypt", "integrity", "key_uris", NULL };
	struct dms_policy *p = arg;
	struct dms_profile *pr = &p->profiles[i];
	struct strlist ku = { &pr->key_uris[0][0], DMS_KEY_URI_MAX, &pr->n_key_uris };
	struct json_object *s;
	size_t n, k;
	int r;

	if (want_type(c, v, json_type_object) || check_keys(c, v, keys) ||
	    get_str(c, v, "name", true, pr->name, sizeof(pr->name), false))
		return -EINVAL;
	for (k = 0; k < i; k++)
		if (!strcmp(p->profiles[k].name, pr->name))
			return perr(c, "name: profile \"%s\" is defined twice", shown(pr->name));
	s = get(c, v, "crypt", true);
	if (!s)
		return -EINVAL;
	n = push_key(c, "crypt");
	r = parse_crypt(c, s, pr);
	pop(c, n);
	if (r)
		return r;
	s = get(c, v, "integrity", true);
	if (!s)
		return -EINVAL;
	n = push_key(c, "integrity");
	r = parse_integrity(c, s, pr);
	pop(c, n);
	if (r)
		return r;
	if (get_array(c, v, "key_uris", false, DMS_MAX_KEY_URIS, key_uri_elem, &ku))
		return -EINVAL;
	p->n_profiles = i + 1;
	return 0;
}

static int parse_scope(struct pctx *c, struct json_object *o, struct dms_policy *p)
{
	static const char *const keys[] = { "devices", "name_prefix", "uuid_prefix", NULL };
	struct json_object *d;

	if (want_type(c, o, json_type_object) || check_keys(c, o, keys))
		return -EINVAL;
	d = get(c, o, "devices", false);
	if (d) {
		size_t n = push_key(c, "devices");

		if (json_object_get_type(d) != json_type_string ||
		    strcmp(json_object_get_string(d), "all")) {
			perr(c, "the only value is \"all\"");
			pop(c, n);
			return -EINVAL;
		}
		pop(c, n);
		if (json_object_object_length(o) != 1)
			return perr(c, "\"devices\": \"all\" cannot be combined with prefixes");
		p->scope = DMS_SCOPE_ALL;
		return 0;
	}
	if (get_str(c, o, "name_prefix", false, p->scope_name_prefix,
		    sizeof(p->scope_name_prefix), false) ||
	    get_str(c, o, "uuid_prefix", false, p->scope_uuid_prefix,
		    sizeof(p->scope_uuid_prefix), false))
		return -EINVAL;
	if (p->scope_name_prefix[0])
		p->scope |= DMS_SCOPE_NAME_PREFIX;
	if (p->scope_uuid_prefix[0])
		p->scope |= DMS_SCOPE_UUID_PREFIX;
	if (!p->scope)
		return perr(c, "give \"devices\": \"all\", or name_prefix and/or uuid_prefix");
	return 0;
}

static int parse_policy(struct pctx *c, struct json_object *root, struct dms_policy *p)
{
	static const char *const keys[] = {
		"version", "scope", "other_targets", "consumers", "profiles", NULL };
	struct strlist ot = { &p->other_targets[0][0], DMS_TARGET_NAME_MAX,
			      &p->n_other_targets };
	struct strlist co = { &p->consumers[0][0], DMS_TARGET_NAME_MAX,
			      &p->n_consumers };
	struct json_object *v;
	uint32_t ver;
	size_t n;
	int r;

	if (want_type(c, root, json_type_object) || check_keys(c, root, keys))
		return -EINVAL;
	v = get(c, root, "version", true);
	if (!v)
		return -EINVAL;
	n = push_key(c, "version");
	r = to_u32(c, v, 1, 1, &ver);
	pop(c, n);
	if (r)
		return r;
	v = get(c, root, "scope", false);
	if (v) {
		n = push_key(c, "scope");
		r = parse_scope(c, v, p);
		pop(c, n);
		if (r)
			return r;
	}
	if (get_array(c, root, "other_targets", false, DMS_MAX_OTHER_TARGETS,
		      str_elem, &ot) ||
	    get_array(c, root, "consumers", false, DMS_MAX_CONSUMERS,
		      str_elem, &co) ||
	    get_array(c, root, "profiles", true, DMS_MAX_PROFILES, profile_elem, p))
		return -EINVAL;
	if (!p->n_profiles)
		return perr(c, "profiles: at least one profile is needed");
	return 0;
}

/* Line and column of a byte offset, for JSON syntax errors. */
static void line_col(const char *s, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && s[i]; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/*
 * Duplicate keys. json-c keeps the last of two equal keys in an object and
 * says nothing, so a policy file could hold "tag_size": 16 and, further
 * down, "tag_size": 32, and a reviewer reading the first would be wrong. A
 * second pass over the text (already parsed by json-c, so valid JSON)
 * tracks the keys of every open object, compared decoded: "name" and
 * "n\u0061me" are the same key, as they are to json-c and to any reader.
 */
struct dk_key {
	char *s;		/* decoded */
	size_t len;
	size_t off;		/* of its opening quote */
};

struct dk_frame {
	bool obj;
	bool want_key;		/* object: the next string is a key */
	size_t idx;		/* array: index of the current element */
	struct dk_key *keys;	/* object: the keys so far; the last is current */
	size_t n, cap;
};

static unsigned int hex4(const char *s)
{
	return (unsigned int)(dms_hex_val(s[0]) << 12 | dms_hex_val(s[1]) << 8 |
			      dms_hex_val(s[2]) << 4 | dms_hex_val(s[3]));
}

static size_t utf8_put(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The string whose opening quote is at s[*i]: decoded into a malloc'ed
 * buffer (*out, *outlen; NUL-terminated) if out, and *i moved past the
 * closing quote. The text is valid JSON: every escape is complete.
 */
static int dk_string(const char *s, size_t len, size_t *i, char **out, size_t *outlen)
{
	size_t k = *i + 1, n = 0;
	char *b = NULL;

	if (out) {
		b = malloc(len - *i + 1);	/* decoding never grows a string */
		if (!b)
			return -ENOMEM;
	}
	while (k < len && s[k] != '"') {
		unsigned int cp;

		if (s[k] != '\\') {
			if (b)
				b[n] = s[k];
			n++;
			k++;
			continue;
		}
		k++;
		if (k >= len)
			break;
		switch (s[k]) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (k + 4 >= len)
				goto out;
			cp = hex4(s + k + 1);
			k += 4;
			/* a surrogate pair is one code point */
			if (cp >= 0xd800 && cp <= 0xdbff && k + 6 < len &&
			    s[k + 1] == '\\' && s[k + 2] == 'u') {
				unsigned int lo = hex4(s + k + 3);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					k += 6;
				}
			}
			break;
		default: cp = (unsigned char)s[k]; break;	/* " \ / */
		}
		k++;
		if (b)
			n += utf8_put(b + n, cp);
		else
			n += 4;
	}
out:
	*i = k + 1;
	if (b) {
		b[n] = '\0';
		*out = b;
		*outlen = n;
	}
	return 0;
}

/* The JSON path of the value inside frames f[0..depth), as perr() writes it. */
static void dk_path(const struct dk_frame *f, size_t depth, char *buf, size_t cap)
{
	size_t d, n = 0;

	buf[0] = '\0';
	for (d = 0; d < depth && n < cap; d++) {
		if (f[d].obj && f[d].n)
			n += snprintf(buf + n, cap - n, "%s%s", n ? "." : "",
				      shown(f[d].keys[f[d].n - 1].s));
		else if (!f[d].obj)
			n += snprintf(buf + n, cap - n, "[%zu]", f[d].idx);
	}
}

#define DK_DEPTH 64

static int dup_keys(const char *path, const char *s, size_t len)
{
	struct dk_frame *f = calloc(DK_DEPTH, sizeof(*f));
	size_t depth = 0, i = 0, d, k;
	int r = 0;

	if (!f)
		return -ENOMEM;
	while (i < len && !r) {
		char c = s[i];
		struct dk_frame *top = depth ? &f[depth - 1] : NULL;

		switch (c) {
		case '{':
		case '[':
			if (depth == DK_DEPTH) {	/* json-c's limit is lower */
				r = -E2BIG;
				break;
			}
			memset(&f[depth], 0, sizeof(f[depth]));
			f[depth].obj = c == '{';
			f[depth].want_key = c == '{';
			depth++;
			i++;
			break;
		case '}':
		case ']':
			if (depth) {
				depth--;
				for (k = 0; k < f[depth].n; k++)
					free(f[depth].keys[k].s);
				free(f[depth].keys);
			}
			i++;
			break;
		case ',':
			if (top && top->obj)
				top->want_key = true;
			else if (top)
				top->idx++;
			i++;
			break;
		case '"':
			if (top && top->obj && top->want_key) {
				struct dk_key key = { .off = i };

				r = dk_string(s, len, &i, &key.s, &key.len);
				if (r)
					break;
				for (k = 0; k < top->n; k++) {
					if (top->keys[k].len == key.len &&
					    !memcmp(top->keys[k].s, key.s, key.len))
						break;
				}
				if (k < top->n) {
					char where[256];
					int l1, c1, l2, c2;

					line_col(s, top->keys[k].off, &l1, &c1);
					line_col(s, key.off, &l2, &c2);
					dk_path(f, depth - 1, where, sizeof(where));
					err_line("%s:%d:%d: %s%s%s: duplicate key (first at %d:%d)",
						 shown(path), l2, c2, where, where[0] ? "." : "",
						 shown(key.s), l1, c1);
					free(key.s);
					r = -EINVAL;
					break;
				}
				if (top->n == top->cap) {
					size_t nc = top->cap ? 2 * top->cap : 8;
					struct dk_key *nk = realloc(top->keys, nc * sizeof(*nk));

					if (!nk) {
						free(key.s);
						r = -ENOMEM;
						break;
					}
					top->keys = nk;
					top->cap = nc;
				}
				top->keys[top->n++] = key;
				top->want_key = false;
			} else {
				r = dk_string(s, len, &i, NULL, NULL);
			}
			break;
		default:
			i++;	/* ':', blanks, numbers, true, false, null */
		}
	}
	for (d = 0; d < depth; d++) {
		for (k = 0; k < f[d].n; k++)
			free(f[d].keys[k].s);
		free(f[d].keys);
	}
	free(f);
	return r == -E2BIG ? 0 : r;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 4096, n = 0;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t got;

		if (n + 1 >= cap) {
			char *nb = cap > (1u << 20) ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (!got) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

/*
 * Read, parse, normalize and validate a policy file. Errors are printed
 * here, prefixed with the file name (and JSON path); returns 0 or -errno.
 */
int policy_from_file(const char *path, struct dms_policy *p)
{
	struct pctx c = { .file = path };
	struct json_tokener *tok;
	struct json_object *root;
	struct dms_reason why = { "" };
	size_t len;
	char *text;
	int r;

	memset(p, 0, sizeof(*p));
	text = read_all(path, &len);
	if (!text) {
		err_line("%s: %s", shown(path), strerror(errno));
		return -errno;
	}
	if (strlen(text) != len) {
		err_line("%s: contains a NUL byte", shown(path));
		free(text);
		return -EINVAL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len + 1);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		int line, col;

		line_col(text, json_tokener_get_parse_end(tok), &line, &col);
		err_line("%s:%d:%d: invalid JSON: %s", shown(path), line, col,
			json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(root);
		json_tokener_free(tok);
		free(text);
		return -EINVAL;
	}
	json_tokener_free(tok);
	r = dup_keys(path, text, len);
	free(text);
	if (r) {
		if (r == -ENOMEM)
			err_line("%s: out of memory", shown(path));
		json_object_put(root);
		return -EINVAL;
	}
	r = parse_policy(&c, root, p);
	json_object_put(root);
	if (r)
		return r;
	dms_policy_normalize(p);
	r = dms_policy_validate(p, &why);
	if (r) {
		err_line("%s: %s", shown(path), why.msg[0] ? why.msg : "policy is not valid");
		return -EINVAL;
	}
	return 0;
}

/* --- struct -> JSON (policy show) ----------------------------------------------- */

static struct json_object *size_list(uint32_t mask)
{
	struct json_object *a = json_object_new_array();
	uint32_t b;

	for (b = 0; b < 32; b++)
		if (mask & (1u << b))
			json_object_array_add(a, json_object_new_int64(1ll << b));
	return a;
}

static struct json_object *str_list(const char *base, size_t stride, uint32_t n)
{
	struct json_object *a = json_object_new_array();
	uint32_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(base + i * stride));
	return a;
}

static void add_bool(struct json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

/*
 * Every field is written out, defaults included: what `policy show` prints
 * is the whole policy, and reading it back gives the same canonical bytes.
 */
struct json_object *policy_to_json(const struct dms_policy *p)
{
	struct json_object *root = json_object_new_object();
	struct json_object *scope = json_object_new_object();
	struct json_object *profiles = json_object_new_array();
	uint32_t i, k;

	json_object_object_add(root, "version", json_object_new_int(1));
	if (p->scope == DMS_SCOPE_ALL) {
		json_object_object_add(scope, "devices", json_object_new_string("all"));
	} else {
		if (p->scope & DMS_SCOPE_NAME_PREFIX)
			json_object_object_add(scope, "name_prefix",
					       json_object_new_string(p->scope_name_prefix));
		if (p->scope & DMS_SCOPE_UUID_PREFIX)
			json_object_object_add(scope, "uuid_prefix",
					       json_object_new_string(p->scope_uuid_prefix));
	}
	json_object_object_add(root, "scope", scope);
	json_object_object_add(root, "other_targets",
			       str_list(&p->other_targets[0][0], DMS_TARGET_NAME_MAX,
					p->n_other_targets));
	json_object_object_add(root, "consumers",
			       str_list(&p->consumers[0][0], DMS_TARGET_NAME_MAX,
					p->n_consumers));
	for (i = 0; i < p->n_profiles && i < DMS_MAX_PROFILES; i++) {
		const struct dms_profile *pr = &p->profiles[i];
		struct json_object *jp = json_object_new_object();
		struct json_object *cr = json_object_new_object();
		struct json_object *in = json_object_new_object();
		struct json_object *ci = json_object_new_array();
		struct json_object *kf = json_object_new_array();
		struct json_object *ci_int = json_object_new_object();
		struct json_object *aead = json_object_new_array();
		struct json_object *modes = json_object_new_array();
		struct json_object *tags = json_object_new_array();

		json_object_object_add(jp, "name", json_object_new_string(pr->name));
		for (k = 0; k < pr->n_ciphers && k < DMS_MAX_CIPHERS; k++) {
			struct json_object *r = json_object_new_object();

			json_object_object_add(r, "spec",
					       json_object_new_string(pr->ciphers[k].spec));
			json_object_object_add(r, "key_size",
					       json_object_new_int64(pr->ciphers[k].key_size));
			json_object_object_add(r, "integrity_key_size",
					       json_object_new_int64(pr->ciphers[k].integrity_key_size));
			json_object_array_add(ci, r);
		}
		json_object_object_add(cr, "ciphers", ci);
		for (k = 0; k < ARRAY_SIZE(key_forms); k++)
			if (pr->key_forms & key_forms[k].bit)
				json_object_array_add(kf, json_object_new_string(key_forms[k].name));
		json_object_object_add(cr, "key_forms", kf);
		json_object_object_add(cr, "key_description_prefix",
				       json_object_new_string(pr->key_desc_prefix));
		add_bool(ci_int, "required", pr->integrity_required);
		for (k = 0; k < pr->n_aead_sizes && k < DMS_MAX_AEAD_SIZES; k++)
			json_object_array_add(aead, json_object_new_int64(pr->aead_sizes[k]));
		json_object_object_add(ci_int, "aead_bytes", aead);
		json_object_object_add(cr, "integrity", ci_int);
		json_object_object_add(cr, "sector_sizes", size_list(pr->sector_sizes));
		add_bool(cr, "allow_discards", pr->crypt_allow & DMS_CRYPT_ALLOW_DISCARDS);
		add_bool(cr, "allow_iv_large_sectors",
			 pr->crypt_allow & DMS_CRYPT_IV_LARGE_SECTORS);
		add_bool(cr, "allow_key_wipe", pr->allow_key_wipe);
		json_object_object_add(jp, "crypt", cr);
		if (pr->n_key_uris)
			json_object_object_add(jp, "key_uris",
					       str_list(&pr->key_uris[0][0], DMS_KEY_URI_MAX,
							pr->n_key_uris));

		for (k = 0; k < 26; k++)
			if (pr->int_modes & (1u << k)) {
				char m[2] = { (char)('A' + k), 0 };

				json_object_array_add(modes, json_object_new_string(m));
			}
		json_object_object_add(in, "modes", modes);
		for (k = 0; k < pr->n_tag_sizes && k < DMS_MAX_TAG_SIZES; k++)
			json_object_array_add(tags, json_object_new_int64(pr->tag_sizes[k]));
		json_object_object_add(in, "tag_sizes", tags);
		json_object_object_add(in, "block_sizes", size_list(pr->block_sizes));
		add_bool(in, "require_fix_padding", pr->int_require & DMS_INT_FIX_PADDING);
		add_bool(in, "require_fix_hmac", pr->int_require & DMS_INT_FIX_HMAC);
		json_object_object_add(in, "internal_hash",
				       str_list(&pr->internal_hash[0][0], DMS_ALG_MAX,
						pr->n_internal_hash));
		json_object_object_add(in, "journal_crypt",
				       str_list(&pr->journal_crypt[0][0], DMS_ALG_MAX,
						pr->n_journal_crypt));
		json_object_object_add(in, "journal_mac",
				       str_list(&pr->journal_mac[0][0], DMS_ALG_MAX,
						pr->n_journal_mac));
		add_bool(in, "allow_recalculate", pr->int_allow & DMS_INT_RECALC);
		add_bool(in, "allow_reset_recalculate", pr->int_allow & DMS_INT_RESET_RECALC);
		add_bool(in, "allow_legacy_recalculate", pr->int_allow & DMS_INT_LEGACY_RECALC);
		add_bool(in, "allow_meta_device", pr->int_allow & DMS_INT_META_DEVICE);
		add_bool(in, "allow_discards", pr->int_allow & DMS_INT_ALLOW_DISCARDS);
		json_object_object_add(jp, "integrity", in);
		json_object_array_add(profiles, jp);
	}
	json_object_object_add(root, "profiles", profiles);
	return root;
}

int policy_encode_alloc(const struct dms_policy *p, uint8_t **buf, size_t *len)
{
	size_t need = dms_policy_encode(p, NULL, 0);
	uint8_t *b;

	if (!need || need > DMSEAL_POLICY_MAX_LEN) {
		err_msg("encoded policy is %zu bytes; the limit is %d", need,
			DMSEAL_POLICY_MAX_LEN);
		return -E2BIG;
	}
	b = malloc(need);
	if (!b)
		return -ENOMEM;
	if (dms_policy_encode(p, b, need) != need) {
		free(b);
		return -EINVAL;
	}
	*buf = b;
	*len = need;
	return 0;
}

void policy_digest(const uint8_t *buf, size_t len, uint8_t out[DMSEAL_DIGEST_LEN])
{
	_Static_assert(DMSEAL_DIGEST_LEN == SHA256_LEN, "the policy digest is SHA-256");
	sha256(buf, len, out);
}
