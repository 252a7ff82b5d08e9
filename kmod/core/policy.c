// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: semantic validation and canonical ordering of a policy.
 *
 * Validation is what makes a policy meaningful, not only well-formed: it
 * refuses rules that could never match, rules that would allow what dmseal
 * exists to forbid (null ciphers, empty keys, integrity mode R), and lists
 * with duplicates, so that one policy has one canonical encoding.
 */
#include "dmseal_core.h"

#define DMS_SIZE_BITS	0x1e00u		/* 512, 1024, 2048, 4096 */
#define DMS_MODES_OK	(DMS_MODE_BIT('J') | DMS_MODE_BIT('D') | \
			 DMS_MODE_BIT('B') | DMS_MODE_BIT('I'))
#define DMS_CRYPT_ALLOW_OK	(DMS_CRYPT_ALLOW_DISCARDS | DMS_CRYPT_IV_LARGE_SECTORS)
#define DMS_INT_REQUIRE_OK	(DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC)
#define DMS_INT_ALLOW_OK	(DMS_INT_ALLOW_DISCARDS | DMS_INT_RECALC | \
				 DMS_INT_RESET_RECALC | DMS_INT_LEGACY_RECALC | \
				 DMS_INT_META_DEVICE)
#define DMS_KEY_MIN	16
#define DMS_KEY_MAXSZ	512
#define DMS_TAG_MAX	1024

/* --- character classes ------------------------------------------------------ */

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool in_set(char c, const char *set)
{
	for (; *set; set++)
		if (c == *set)
			return true;
	return false;
}

/*
 * A NUL-terminated, non-empty string within its field, made of letters,
 * digits and the characters of extra.
 */
static bool str_ok(const char *s, size_t size, const char *extra)
{
	size_t n = strnlen(s, size), i;

	if (!n || n == size)
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !in_set(s[i], extra))
			return false;
	return true;
}

/* Printable ASCII (space included unless nospace), terminated in its field. */
static bool printable_ok(const char *s, size_t size, bool nospace)
{
	size_t n = strnlen(s, size), i;

	if (n == size)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < (nospace ? 0x21 : 0x20) || s[i] > 0x7e)
			return false;
	return true;
}

#define NAME_CHARS	"_.-"
#define ALG_CHARS	"_(),.+-"
#define CIPHER_CHARS	"_():,.+-"

bool dms_cipher_is_null(const char *spec)
{
	static const char null[] = "null";
	size_t n, i, j;

	if (!spec)
		return false;
	n = strlen(spec);
	for (i = 0; i + 4 <= n; i++) {
		for (j = 0; j < 4; j++) {
			char c = spec[i + j];

			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (c != null[j])
				break;
		}
		if (j == 4)
			return true;
	}
	return false;
}

/* --- validation ------------------------------------------------------------ */

struct dms_vctx {
	struct dms_reason *why;
	const struct dms_profile *pr;
};

static int vfail(struct dms_vctx *v, const char *msg)
{
	if (v->pr)
		snprintf(v->why->msg, sizeof(v->why->msg),
			 "policy: profile '%s': %s", v->pr->name, msg);
	else
		snprintf(v->why->msg, sizeof(v->why->msg), "policy: %s", msg);
	return -EINVAL;
}

static int vfail_u(struct dms_vctx *v, const char *fmt, unsigned long long x)
{
	char msg[96];

	snprintf(msg, sizeof(msg), fmt, x);
	return vfail(v, msg);
}

static int v_ciphers(struct dms_vctx *v, const struct dms_profile *pr)
{
	u32 i, j;

	if (!pr->n_ciphers || pr->n_ciphers > DMS_MAX_CIPHERS)
		return vfail_u(v, "needs 1 to %llu cipher rules", DMS_MAX_CIPHERS);
	for (i = 0; i < pr->n_ciphers; i++) {
		const struct dms_cipher_rule *c = &pr->ciphers[i];

		if (!str_ok(c->spec, sizeof(c->spec), CIPHER_CHARS))
			return vfail_u(v, "cipher rule %llu: invalid cipher spec", i);
		if (dms_cipher_is_null(c->spec))
			return vfail_u(v, "cipher rule %llu: cipher_null is never allowed",
				       i);
		if (c->key_size < DMS_KEY_MIN || c->key_size > DMS_KEY_MAXSZ)
			return vfail_u(v, "cipher rule %llu: key_size not in 16..512", i);
		if (c->integrity_key_size >= c->key_size)
			return vfail_u(v, "cipher rule %llu: integrity_key_size not below key_size",
				       i);
		for (j = 0; j < i; j++)
			if (!strcmp(c->spec, pr->ciphers[j].spec) &&
			    c->key_size == pr->ciphers[j].key_size &&
			    c->integrity_key_size == pr->ciphers[j].integrity_key_size)
				return vfail_u(v, "cipher rule %llu is a duplicate", i);
	}
	return 0;
}

/* A list of sizes in 1..DMS_TAG_MAX, without duplicates. */
static int v_sizes(struct dms_vctx *v, const char *what, u32 n, u32 max,
		   const u32 *list)
{
	char msg[80];
	u32 i, j;

	if (n > max) {
		snprintf(msg, sizeof(msg), "at most %u %s", max, what);
		return vfail(v, msg);
	}
	for (i = 0; i < n; i++) {
		if (!list[i] || list[i] > DMS_TAG_MAX) {
			snprintf(msg, sizeof(msg), "%s %u not in 1..%u", what,
				 list[i], DMS_TAG_MAX);
			return vfail(v, msg);
		}
		for (j = 0; j < i; j++) {
			if (list[j] != list[i])
				continue;
			snprintf(msg, sizeof(msg), "%s %u is a duplicate", what,
				 list[i]);
			return vfail(v, msg);
		}
	}
	return 0;
}

static int v_key_uris(struct dms_vctx *v, const struct dms_profile *pr)
{
	struct dms_reason r = { "" };
	char msg[128];
	u32 i, j;

	if (pr->n_key_uris > DMS_MAX_KEY_URIS)
		return vfail_u(v, "too many key_uris (max %llu)", DMS_MAX_KEY_URIS);
	for (i = 0; i < pr->n_key_uris; i++) {
		if (dms_kbs_uri_check(pr->key_uris[i], true, &r)) {
			snprintf(msg, sizeof(msg), "key_uri %u: %.100s", i, r.msg);
			return vfail(v, msg);
		}
		for (j = 0; j < i; j++)
			if (!strcmp(pr->key_uris[i], pr->key_uris[j]))
				return vfail_u(v, "key_uri %llu is a duplicate", i);
	}
	return 0;
}

static int v_crypt(struct dms_vctx *v, const struct dms_profile *pr)
{
	int r = v_ciphers(v, pr);

	if (r)
		return r;
	if (!pr->key_forms || pr->key_forms & ~DMS_KEY_FORMS_ALL)
		return vfail(v, "key_forms must be a non-empty set of known forms");
	if (pr->key_forms & DMS_KEY_EMPTY)
		return vfail(v, "the empty key form is never allowed");
	if (!printable_ok(pr->key_desc_prefix, sizeof(pr->key_desc_prefix), true))
		return vfail(v, "key_desc_prefix must be printable ASCII without spaces");
	r = v_sizes(v, "aead size", pr->n_aead_sizes, DMS_MAX_AEAD_SIZES,
		    pr->aead_sizes);
	if (r)
		return r;
	if (pr->integrity_required && !pr->n_aead_sizes)
		return vfail(v, "integrity_required needs at least one aead size");
	if (!pr->sector_sizes || pr->sector_sizes & ~DMS_SIZE_BITS)
		return vfail(v, "sector_sizes must be a non-empty set of 512..4096");
	if (pr->crypt_allow & ~DMS_CRYPT_ALLOW_OK)
		return vfail(v, "crypt_allow has unknown bits");
	return v_key_uris(v, pr);
}

static int v_algs(struct dms_vctx *v, const char *what, u32 n,
		  const char (*algs)[DMS_ALG_MAX])
{
	char msg[64];
	u32 i, j;

	snprintf(msg, sizeof(msg), "bad %s list", what);
	if (n > DMS_MAX_ALGS)
		return vfail(v, msg);
	for (i = 0; i < n; i++) {
		if (!str_ok(algs[i], DMS_ALG_MAX, ALG_CHARS))
			return vfail(v, msg);
		for (j = 0; j < i; j++)
			if (!strcmp(algs[i], algs[j]))
				return vfail(v, msg);
	}
	return 0;
}

static int v_integrity(struct dms_vctx *v, const struct dms_profile *pr)
{
	int r;

	if (pr->int_modes & DMS_MODE_BIT('R'))
		return vfail(v, "integrity mode R (recovery, no checks) is never allowed");
	if (!pr->int_modes || pr->int_modes & ~DMS_MODES_OK)
		return vfail(v, "int_modes must be a non-empty set of J, D, B, I");
	if (!pr->n_tag_sizes)
		return vfail(v, "needs at least one tag size");
	r = v_sizes(v, "tag size", pr->n_tag_sizes, DMS_MAX_TAG_SIZES,
		    pr->tag_sizes);
	if (r)
		return r;
	if (!pr->block_sizes || pr->block_sizes & ~DMS_SIZE_BITS)
		return vfail(v, "block_sizes must be a non-empty set of 512..4096");
	if (pr->int_require & ~DMS_INT_REQUIRE_OK)
		return vfail(v, "int_require has bits other than fix_padding, fix_hmac");
	if (pr->int_allow & ~DMS_INT_ALLOW_OK)
		return vfail(v, "int_allow has unknown bits");
	r = v_algs(v, "internal_hash", pr->n_internal_hash, pr->internal_hash);
	if (!r)
		r = v_algs(v, "journal_crypt", pr->n_journal_crypt, pr->journal_crypt);
	if (!r)
		r = v_algs(v, "journal_mac", pr->n_journal_mac, pr->journal_mac);
	return r;
}

static int v_profiles(struct dms_vctx *v, const struct dms_policy *p)
{
	u32 i, j;
	int r;

	if (!p->n_profiles || p->n_profiles > DMS_MAX_PROFILES)
		return vfail_u(v, "needs 1 to %llu profiles", DMS_MAX_PROFILES);
	for (i = 0; i < p->n_profiles; i++) {
		const struct dms_profile *pr = &p->profiles[i];

		if (!str_ok(pr->name, sizeof(pr->name), NAME_CHARS))
			return vfail_u(v, "profile %llu: name must be [A-Za-z0-9_.-]+", i);
		for (j = 0; j < i; j++)
			if (!strcmp(pr->name, p->profiles[j].name))
				return vfail_u(v, "profile %llu: duplicate name", i);
		v->pr = pr;
		r = v_crypt(v, pr);
		if (!r)
			r = v_integrity(v, pr);
		v->pr = NULL;
		if (r)
			return r;
	}
	return 0;
}

static int v_prefix(struct dms_vctx *v, const struct dms_policy *p, u32 bit,
		    const char *s, const char *name)
{
	char msg[80];

	if (!printable_ok(s, DMS_SCOPE_PREFIX_MAX, false)) {
		snprintf(msg, sizeof(msg), "%s must be printable ASCII", name);
		return vfail(v, msg);
	}
	if (!(p->scope & bit) == !s[0])
		return 0;
	snprintf(msg, sizeof(msg), "%s must be set exactly when its scope bit is",
		 name);
	return vfail(v, msg);
}

/* A list of dm target type names, other than crypt and integrity. */
static int v_types(struct dms_vctx *v, const char *what, u32 n, u32 max,
		   const char (*list)[DMS_TARGET_NAME_MAX])
{
	char msg[96];
	u32 i, j;

	if (n > max) {
		snprintf(msg, sizeof(msg), "too many %ss (max %u)", what, max);
		return vfail(v, msg);
	}
	for (i = 0; i < n; i++) {
		const char *t = list[i];
		const char *bad = NULL;

		if (!str_ok(t, DMS_TARGET_NAME_MAX, NAME_CHARS))
			bad = "is not a valid name";
		else if (!strcmp(t, "crypt") || !strcmp(t, "integrity"))
			bad = "is crypt or integrity, which profiles govern";
		for (j = 0; !bad && j < i; j++)
			if (!strcmp(t, list[j]))
				bad = "is a duplicate";
		if (bad) {
			snprintf(msg, sizeof(msg), "%s %u %s", what, i, bad);
			return vfail(v, msg);
		}
	}
	return 0;
}

static int v_scope(struct dms_vctx *v, const struct dms_policy *p)
{
	int r;

	if (p->scope & ~(DMS_SCOPE_NAME_PREFIX | DMS_SCOPE_UUID_PREFIX))
		return vfail(v, "scope has unknown bits");
	r = v_prefix(v, p, DMS_SCOPE_NAME_PREFIX, p->scope_name_prefix,
		     "scope_name_prefix");
	if (!r)
		r = v_prefix(v, p, DMS_SCOPE_UUID_PREFIX, p->scope_uuid_prefix,
			     "scope_uuid_prefix");
	if (r)
		return r;
	r = v_types(v, "other_target", p->n_other_targets,
		    DMS_MAX_OTHER_TARGETS, p->other_targets);
	if (!r)
		r = v_types(v, "consumer", p->n_consumers, DMS_MAX_CONSUMERS,
			    p->consumers);
	return r;
}

int dms_policy_validate(const struct dms_policy *p, struct dms_reason *why)
{
	struct dms_reason dummy;
	struct dms_vctx v = { why ? why : &dummy, NULL };
	int r = v_scope(&v, p);

	if (!r)
		r = v_profiles(&v, p);
	return r;
}

/* --- canonical order --------------------------------------------------------- */

static void swap_mem(void *a, void *b, size_t n)
{
	u8 *x = a, *y = b;
	u8 tmp[64];

	while (n) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);

		memcpy(tmp, x, k);
		memcpy(x, y, k);
		memcpy(y, tmp, k);
		x += k;
		y += k;
		n -= k;
	}
}

/* Insertion sort by adjacent swaps: lists hold at most a handful of items. */
static void sort_items(void *base, u32 n, u32 max, size_t size,
		       int (*cmp)(const void *, const void *))
{
	u8 *b = base;
	u32 i, j;

	if (n > max)
		n = max;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && cmp(b + (j - 1) * size, b + j * size) > 0; j--)
			swap_mem(b + (j - 1) * size, b + j * size, size);
}

static int cmp_target(const void *a, const void *b)
{
	return strncmp(a, b, DMS_TARGET_NAME_MAX);
}

static int cmp_alg(const void *a, const void *b)
{
	return strncmp(a, b, DMS_ALG_MAX);
}

static int cmp_key_uri(const void *a, const void *b)
{
	return strncmp(a, b, DMS_KEY_URI_MAX);
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static int cmp_cipher(const void *a, const void *b)
{
	const struct dms_cipher_rule *x = a, *y = b;
	int r = strncmp(x->spec, y->spec, sizeof(x->spec));

	if (r)
		return r;
	r = cmp_u32(&x->key_size, &y->key_size);
	if (r)
		return r;
	return cmp_u32(&x->integrity_key_size, &y->integrity_key_size);
}

static int cmp_profile(const void *a, const void *b)
{
	const struct dms_profile *x = a, *y = b;

	return strncmp(x->name, y->name, sizeof(x->name));
}

static void normalize_profile(struct dms_profile *pr)
{
	sort_items(pr->ciphers, pr->n_ciphers, DMS_MAX_CIPHERS,
		   sizeof(pr->ciphers[0]), cmp_cipher);
	sort_items(pr->key_uris, pr->n_key_uris, DMS_MAX_KEY_URIS,
		   DMS_KEY_URI_MAX, cmp_key_uri);
	sort_items(pr->aead_sizes, pr->n_aead_sizes, DMS_MAX_AEAD_SIZES,
		   sizeof(pr->aead_sizes[0]), cmp_u32);
	sort_items(pr->tag_sizes, pr->n_tag_sizes, DMS_MAX_TAG_SIZES,
		   sizeof(pr->tag_sizes[0]), cmp_u32);
	sort_items(pr->internal_hash, pr->n_internal_hash, DMS_MAX_ALGS,
		   DMS_ALG_MAX, cmp_alg);
	sort_items(pr->journal_crypt, pr->n_journal_crypt, DMS_MAX_ALGS,
		   DMS_ALG_MAX, cmp_alg);
	sort_items(pr->journal_mac, pr->n_journal_mac, DMS_MAX_ALGS,
		   DMS_ALG_MAX, cmp_alg);
}

void dms_policy_normalize(struct dms_policy *p)
{
	u32 i;

	sort_items(p->other_targets, p->n_other_targets, DMS_MAX_OTHER_TARGETS,
		   DMS_TARGET_NAME_MAX, cmp_target);
	sort_items(p->consumers, p->n_consumers, DMS_MAX_CONSUMERS,
		   DMS_TARGET_NAME_MAX, cmp_target);
	sort_items(p->profiles, p->n_profiles, DMS_MAX_PROFILES,
		   sizeof(p->profiles[0]), cmp_profile);
	for (i = 0; i < p->n_profiles && i < DMS_MAX_PROFILES; i++)
		normalize_profile(&p->profiles[i]);
}
