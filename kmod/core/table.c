// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: parsers, summaries and pin comparison for the params string
 * of dm-crypt and dm-integrity targets.
 *
 * The parsers split the string exactly where the kernel's dm_split_args()
 * would (on every byte the kernel's isspace() accepts), but they are stricter
 * than the targets' constructors everywhere else: anything the constructor
 * would read in a way we cannot predict with certainty (escapes, signs,
 * case-insensitive keywords, u64 wrap-around, duplicate options where the
 * last one wins) is refused. A refusal here only ever turns into a deny.
 *
 * Key material is never copied: a hex key is checked and counted, a keyring
 * key keeps its size, type and description (which are not secret). Reasons
 * never quote a token that could be key material.
 */
#include "dmseal_core.h"

#define DMS_U64_MAX	((u64)~0ULL)
#define DMS_U32_MAX	((u32)~0U)

/* Longest token a reason may quote, and longest hex run it may contain. */
#define DMS_QUOTE_MAX	32
#define DMS_HEXRUN_MAX	15

/* Largest values a dev_t can hold (12-bit major, 20-bit minor). */
#define DMS_MAJOR_MAX	0xfffU
#define DMS_MINOR_MAX	0xfffffU

#define DMS_TAG_MAX	1024

struct dms_tok {
	const char *s;
	size_t len;
};

struct dms_args {
	const char *p;
	size_t len;
	size_t pos;
};

/* --- small helpers --------------------------------------------------------- */

/* Exactly the bytes the kernel's isspace() accepts, so we split as it does. */
static bool is_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r' || c == 0xa0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool tok_eq(const struct dms_tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->len == n && !memcmp(t->s, s, n);
}

/* If t starts with prefix, set rest to what follows it. */
static bool tok_prefix(const struct dms_tok *t, const char *prefix,
		       struct dms_tok *rest)
{
	size_t n = strlen(prefix);

	if (t->len < n || memcmp(t->s, prefix, n))
		return false;
	rest->s = t->s + n;
	rest->len = t->len - n;
	return true;
}

/* Split t at its first ':' into head and tail; false if there is none. */
static bool tok_split(const struct dms_tok *t, struct dms_tok *head,
		      struct dms_tok *tail)
{
	size_t i;

	for (i = 0; i < t->len; i++) {
		if (t->s[i] == ':') {
			head->s = t->s;
			head->len = i;
			tail->s = t->s + i + 1;
			tail->len = t->len - i - 1;
			return true;
		}
	}
	return false;
}

static size_t longest_hex_run(const struct dms_tok *t)
{
	size_t i, run = 0, best = 0;

	for (i = 0; i < t->len; i++) {
		run = is_hex(t->s[i]) ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

static bool all_digits(const struct dms_tok *t)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (!is_digit(t->s[i]))
			return false;
	return true;
}

/*
 * Whether a reason may quote this token: short, and either a plain number
 * or free of long hex runs, so that key material put in the wrong place is
 * not echoed into logs.
 */
static bool tok_quotable(const struct dms_tok *t)
{
	return t->len <= DMS_QUOTE_MAX &&
	       (all_digits(t) || longest_hex_run(t) <= DMS_HEXRUN_MAX);
}

static void set_why(struct dms_reason *why, const char *what, const char *msg)
{
	snprintf(why->msg, sizeof(why->msg), "%s: %s", what, msg);
}

/* "<what>: <field> '<token>' <problem>", without the token if unsafe. */
static int bad_tok(struct dms_reason *why, const char *what, const char *field,
		   const struct dms_tok *t, const char *problem)
{
	if (tok_quotable(t))
		snprintf(why->msg, sizeof(why->msg), "%s: %s '%.*s' %s", what,
			 field, (int)t->len, t->s, problem);
	else
		snprintf(why->msg, sizeof(why->msg), "%s: %s (%zu bytes) %s",
			 what, field, t->len, problem);
	return -EINVAL;
}

/* Copy a token into a field; refuse rather than truncate. */
static bool copy_tok(char *dst, size_t cap, const struct dms_tok *t)
{
	if (t->len >= cap)
		return false;
	memcpy(dst, t->s, t->len);
	dst[t->len] = '\0';
	return true;
}

/* Decimal digits only: no sign, no space, no base prefix, no wrap-around. */
static int parse_u64(const struct dms_tok *t, u64 *out)
{
	u64 v = 0;
	size_t i;

	if (!t->len)
		return -EINVAL;
	for (i = 0; i < t->len; i++) {
		unsigned int d;

		if (!is_digit(t->s[i]))
			return -EINVAL;
		d = t->s[i] - '0';
		if (v > (DMS_U64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_u32(const struct dms_tok *t, u32 *out)
{
	u64 v;
	int r = parse_u64(t, &v);

	if (r)
		return r;
	if (v > DMS_U32_MAX)
		return -ERANGE;
	*out = (u32)v;
	return 0;
}

/* Parse a number and explain a failure in terms of the field. */
static int num_tok(struct dms_reason *why, const char *what, const char *field,
		   const struct dms_tok *t, u64 max, u64 *out)
{
	int r = parse_u64(t, out);

	if (r == -EINVAL)
		return bad_tok(why, what, field, t, "is not a number");
	if (r || *out > max)
		return bad_tok(why, what, field, t, "is out of range");
	return 0;
}

static bool is_mode(char c)
{
	return c == 'J' || c == 'D' || c == 'B' || c == 'R' || c == 'I';
}

static bool is_pow2_in(u64 v, u64 lo, u64 hi)
{
	return v >= lo && v <= hi && !(v & (v - 1));
}

/* --- tokenizer ------------------------------------------------------------- */

/*
 * Check the whole string once: the kernel sees it up to the first NUL, so do
 * we; only printable ASCII and separators, and no backslash, because
 * dm_split_args() would unescape it and we refuse to guess the result.
 */
static int args_init(struct dms_args *a, const char *what, const char *params,
		     size_t len, struct dms_reason *why)
{
	size_t i;

	a->p = params;
	a->len = params ? strnlen(params, len) : 0;
	a->pos = 0;
	/* spans are 32-bit: dm itself caps a target's parameters far below */
	if (a->len > DMS_U32_MAX) {
		set_why(why, what, "parameters too long");
		return -EINVAL;
	}
	for (i = 0; i < a->len; i++) {
		unsigned char c = a->p[i];

		if (c == '\\') {
			set_why(why, what, "escaped characters are not supported");
			return -EINVAL;
		}
		if (!is_sep(c) && (c < 0x21 || c > 0x7e)) {
			set_why(why, what,
				"parameters contain a control or non-ASCII character");
			return -EINVAL;
		}
	}
	return 0;
}

static bool args_next(struct dms_args *a, struct dms_tok *t)
{
	size_t start;

	while (a->pos < a->len && is_sep(a->p[a->pos]))
		a->pos++;
	if (a->pos >= a->len)
		return false;
	start = a->pos;
	while (a->pos < a->len && !is_sep(a->p[a->pos]))
		a->pos++;
	t->s = a->p + start;
	t->len = a->pos - start;
	return true;
}

static size_t args_count(const struct dms_args *a)
{
	struct dms_args c = *a;
	struct dms_tok t;
	size_t n = 0;

	while (args_next(&c, &t))
		n++;
	return n;
}

/*
 * Optional parameter group: "<count> <opt>...". The count must be exactly the
 * number of tokens that follow, so nothing trails unchecked.
 */
static int opt_count(struct dms_args *a, const char *what,
		     struct dms_reason *why, size_t *n)
{
	size_t left = args_count(a);
	struct dms_tok t;
	u64 v;
	int r;

	if (!left) {
		*n = 0;
		return 0;
	}
	args_next(a, &t);
	left--;
	r = num_tok(why, what, "optional parameter count", &t, DMS_U32_MAX, &v);
	if (r)
		return r;
	if (v != left) {
		snprintf(why->msg, sizeof(why->msg),
			 "%s: %llu optional parameters announced, %zu given",
			 what, (unsigned long long)v, left);
		return -EINVAL;
	}
	*n = left;
	return 0;
}

/* --- shared field parsers -------------------------------------------------- */

/* "MAJOR:MINOR" (decimal, as dm_get_device() reads it) or an absolute path. */
static int parse_dev(struct dms_reason *why, const char *what,
		     const char *field, const struct dms_tok *t,
		     struct dms_devref *d)
{
	struct dms_tok maj, min;
	u64 a, b;

	memset(d, 0, sizeof(*d));
	if (t->len && t->s[0] == '/') {
		if (!copy_tok(d->path, sizeof(d->path), t))
			return bad_tok(why, what, field, t, "is too long");
		return 0;
	}
	if (!tok_split(t, &maj, &min) || parse_u64(&maj, &a) || parse_u64(&min, &b))
		return bad_tok(why, what, field, t,
			       "is not MAJOR:MINOR or an absolute path");
	if (a > DMS_MAJOR_MAX || b > DMS_MINOR_MAX)
		return bad_tok(why, what, field, t, "is out of range");
	d->major = (u32)a;
	d->minor = (u32)b;
	d->resolved = true;
	return 0;
}

/* Crypto API names: letters, digits and the punctuation of templates. */
static bool alg_chars_ok(const struct dms_tok *t, bool allow_colon)
{
	size_t i;

	for (i = 0; i < t->len; i++) {
		char c = t->s[i];

		if (is_alnum(c) || c == '_' || c == '(' || c == ')' || c == ',' ||
		    c == '.' || c == '+' || c == '-')
			continue;
		if (c == ':' && allow_colon)
			continue;
		return false;
	}
	return true;
}

static bool hex_ok(const struct dms_tok *t)
{
	size_t i;

	if (!t->len || (t->len & 1))
		return false;
	for (i = 0; i < t->len; i++)
		if (!is_hex(t->s[i]))
			return false;
	return true;
}

/* --- dm-crypt -------------------------------------------------------------- */

static int crypt_cipher(const struct dms_tok *t, struct dms_crypt *c,
			struct dms_reason *why)
{
	if (t->len >= sizeof(c->cipher))
		return bad_tok(why, "crypt", "cipher", t, "is too long");
	if (!alg_chars_ok(t, true))
		return bad_tok(why, "crypt", "cipher", t,
			       "contains invalid characters");
	/* A hex run this long is a key in the wrong place, not a cipher. */
	if (longest_hex_run(t) > DMS_HEXRUN_MAX) {
		set_why(why, "crypt", "cipher looks like key material");
		return -EINVAL;
	}
	copy_tok(c->cipher, sizeof(c->cipher), t);
	return 0;
}

static const struct {
	const char *name;
	u32 form;
} dms_key_types[] = {
	{ "logon", DMS_KEY_LOGON },
	{ "user", DMS_KEY_USER },
	{ "encrypted", DMS_KEY_ENCRYPTED },
	{ "trusted", DMS_KEY_TRUSTED },
};

/* ":<size>:<type>:<description>"; the description may contain ':'. */
static int crypt_keyring(const struct dms_tok *t, struct dms_crypt *c,
			 struct dms_reason *why)
{
	struct dms_tok rest = { t->s + 1, t->len - 1 };
	struct dms_tok size, type, desc;
	size_t i;

	if (!tok_split(&rest, &size, &rest) || !tok_split(&rest, &type, &desc)) {
		set_why(why, "crypt", "keyring key is not :size:type:description");
		return -EINVAL;
	}
	if (parse_u32(&size, &c->key_size) || !c->key_size) {
		set_why(why, "crypt", "keyring key size is not a positive number");
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(dms_key_types); i++)
		if (tok_eq(&type, dms_key_types[i].name))
			c->key_form = dms_key_types[i].form;
	if (!c->key_form) {
		set_why(why, "crypt",
			"keyring key type is not logon, user, encrypted or trusted");
		return -EINVAL;
	}
	if (!desc.len) {
		set_why(why, "crypt", "keyring key description is empty");
		return -EINVAL;
	}
	if (!copy_tok(c->key_desc, sizeof(c->key_desc), &desc)) {
		set_why(why, "crypt", "keyring key description is too long");
		return -EINVAL;
	}
	return 0;
}

/* The key token is never quoted: whatever it holds may be secret. */
static int crypt_key(const struct dms_args *a, const struct dms_tok *t,
		     struct dms_crypt *c, struct dms_reason *why)
{
	if (tok_eq(t, "-")) {
		c->key_form = DMS_KEY_EMPTY;
		c->key_size = 0;
		return 0;
	}
	if (t->s[0] == ':')
		return crypt_keyring(t, c, why);
	if (t->len & 1) {
		set_why(why, "crypt", "key has an odd number of hex digits");
		return -EINVAL;
	}
	if (!hex_ok(t)) {
		set_why(why, "crypt", "key is not valid hex");
		return -EINVAL;
	}
	c->key_form = DMS_KEY_HEX;
	c->key_size = (u32)(t->len / 2);
	c->key_hex.off = (u32)(t->s - a->p);
	c->key_hex.len = (u32)t->len;
	return 0;
}

static const struct {
	const char *name;
	u32 flag;
} dms_crypt_flags[] = {
	{ "allow_discards", DMS_CRYPT_ALLOW_DISCARDS },
	{ "same_cpu_crypt", DMS_CRYPT_SAME_CPU },
	{ "submit_from_crypt_cpus", DMS_CRYPT_SUBMIT_FROM_CPUS },
	{ "no_read_workqueue", DMS_CRYPT_NO_READ_WQ },
	{ "no_write_workqueue", DMS_CRYPT_NO_WRITE_WQ },
	{ "iv_large_sectors", DMS_CRYPT_IV_LARGE_SECTORS },
	{ "high_priority", DMS_CRYPT_HIGH_PRIORITY },
};

static int dup_opt(struct dms_reason *why, const char *what,
		   const struct dms_tok *t)
{
	return bad_tok(why, what, "option", t, "is given twice");
}

/* "integrity:<bytes>:<type>" */
static int crypt_integrity(const struct dms_tok *t, const struct dms_tok *v,
			   struct dms_crypt *c, struct dms_reason *why)
{
	struct dms_tok bytes, type;
	u64 n;
	int r;

	if (c->flags & DMS_CRYPT_INTEGRITY)
		return dup_opt(why, "crypt", t);
	if (!tok_split(v, &bytes, &type))
		return bad_tok(why, "crypt", "option", t,
			       "is not integrity:<bytes>:<type>");
	r = num_tok(why, "crypt", "integrity size", &bytes, DMS_TAG_MAX, &n);
	if (r)
		return r;
	if (!n)
		return bad_tok(why, "crypt", "integrity size", &bytes,
			       "is out of range");
	if (!tok_eq(&type, "aead") && !tok_eq(&type, "none"))
		return bad_tok(why, "crypt", "integrity type", &type,
			       "is not aead or none");
	copy_tok(c->integrity_type, sizeof(c->integrity_type), &type);
	c->integrity_bytes = (u32)n;
	c->flags |= DMS_CRYPT_INTEGRITY;
	return 0;
}

static int crypt_opt(const struct dms_tok *t, struct dms_crypt *c,
		     struct dms_reason *why)
{
	struct dms_tok v;
	size_t i;
	u64 n;
	int r;

	for (i = 0; i < ARRAY_SIZE(dms_crypt_flags); i++) {
		if (!tok_eq(t, dms_crypt_flags[i].name))
			continue;
		if (c->flags & dms_crypt_flags[i].flag)
			return dup_opt(why, "crypt", t);
		c->flags |= dms_crypt_flags[i].flag;
		return 0;
	}
	if (tok_prefix(t, "integrity:", &v))
		return crypt_integrity(t, &v, c, why);
	if (tok_prefix(t, "integrity_key_size:", &v)) {
		if (c->flags & DMS_CRYPT_INTEGRITY_KEY_SIZE)
			return dup_opt(why, "crypt", t);
		r = num_tok(why, "crypt", "integrity_key_size", &v, DMS_U32_MAX, &n);
		if (r)
			return r;
		if (!n)
			return bad_tok(why, "crypt", "integrity_key_size", &v,
				       "is out of range");
		c->integrity_key_size = (u32)n;
		c->flags |= DMS_CRYPT_INTEGRITY_KEY_SIZE;
		return 0;
	}
	if (tok_prefix(t, "sector_size:", &v)) {
		if (c->flags & DMS_CRYPT_SECTOR_SIZE)
			return dup_opt(why, "crypt", t);
		r = num_tok(why, "crypt", "sector_size", &v, 4096, &n);
		if (r)
			return r;
		if (!is_pow2_in(n, 512, 4096))
			return bad_tok(why, "crypt", "sector_size", &v,
				       "is not a power of two from 512 to 4096");
		c->sector_size = (u32)n;
		c->flags |= DMS_CRYPT_SECTOR_SIZE;
		return 0;
	}
	return bad_tok(why, "crypt", "unknown option", t, "");
}

static int crypt_fields(struct dms_args *a, struct dms_crypt *c,
			struct dms_reason *why)
{
	struct dms_tok t;
	int r;

	args_next(a, &t);
	r = crypt_cipher(&t, c, why);
	if (r)
		return r;
	args_next(a, &t);
	r = crypt_key(a, &t, c, why);
	if (r)
		return r;
	args_next(a, &t);
	r = num_tok(why, "crypt", "iv_offset", &t, DMS_U64_MAX, &c->iv_offset);
	if (r)
		return r;
	args_next(a, &t);
	r = parse_dev(why, "crypt", "device", &t, &c->dev);
	if (r)
		return r;
	args_next(a, &t);
	return num_tok(why, "crypt", "offset", &t, DMS_U64_MAX, &c->offset);
}

int dms_parse_crypt(const char *params, size_t len, struct dms_crypt *out,
		    struct dms_reason *why)
{
	struct dms_reason dummy;
	struct dms_args a;
	struct dms_tok t;
	size_t n, i;
	int r;

	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	out->sector_size = 512;
	r = args_init(&a, "crypt", params, len, why);
	if (r)
		goto bad;
	n = args_count(&a);
	if (n < 5) {
		snprintf(why->msg, sizeof(why->msg),
			 "crypt: %zu parameters given, at least 5 needed", n);
		r = -EINVAL;
		goto bad;
	}
	r = crypt_fields(&a, out, why);
	if (!r)
		r = opt_count(&a, "crypt", why, &n);
	for (i = 0; !r && i < n; i++) {
		args_next(&a, &t);
		r = crypt_opt(&t, out, why);
	}
	if (!r)
		return 0;
bad:
	/* Leave nothing half-parsed behind for a careless caller. */
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* --- dm-integrity ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum dms_int_num idx;
	u64 max;
} dms_int_nums[] = {
	{ "journal_sectors", DMS_INT_JOURNAL_SECTORS, DMS_U32_MAX },
	{ "interleave_sectors", DMS_INT_INTERLEAVE_SECTORS, DMS_U32_MAX },
	{ "buffer_sectors", DMS_INT_BUFFER_SECTORS, DMS_U32_MAX },
	{ "journal_watermark", DMS_INT_JOURNAL_WATERMARK, 100 },
	{ "commit_time", DMS_INT_COMMIT_TIME, DMS_U32_MAX },
	{ "block_size", DMS_INT_BLOCK_SIZE, 4096 },
	{ "sectors_per_bit", DMS_INT_SECTORS_PER_BIT, DMS_U64_MAX },
	{ "bitmap_flush_interval", DMS_INT_BITMAP_FLUSH_INTERVAL, DMS_U32_MAX },
};

static const struct {
	const char *name;
	u32 flag;
} dms_int_flags[] = {
	{ "allow_discards", DMS_INT_ALLOW_DISCARDS },
	{ "allow_discards_keyed", DMS_INT_ALLOW_DISCARDS_KEYED },
	{ "fix_padding", DMS_INT_FIX_PADDING },
	{ "fix_hmac", DMS_INT_FIX_HMAC },
	{ "legacy_recalculate", DMS_INT_LEGACY_RECALC },
	{ "recalculate", DMS_INT_RECALC },
	{ "reset_recalculate", DMS_INT_RESET_RECALC },
};

/* Options naming a crypto algorithm, with an optional hex key (a span). */
static const struct {
	const char *name;
	u32 flag;
} dms_int_algs[DMS_ALG_COUNT] = {
	[DMS_ALG_INTERNAL_HASH] = { "internal_hash", DMS_INT_INTERNAL_HASH },
	[DMS_ALG_JOURNAL_CRYPT] = { "journal_crypt", DMS_INT_JOURNAL_CRYPT },
	[DMS_ALG_JOURNAL_MAC] = { "journal_mac", DMS_INT_JOURNAL_MAC },
};

const char *dms_int_alg_name(enum dms_int_alg a)
{
	return a < DMS_ALG_COUNT ? dms_int_algs[a].name : "?";
}

static int int_num(const struct dms_tok *t, const struct dms_tok *v, size_t i,
		   struct dms_integrity *it, u32 *seen, struct dms_reason *why)
{
	const char *name = dms_int_nums[i].name;
	u64 n;
	int r;

	if (*seen & (1u << i))
		return dup_opt(why, "integrity", t);
	r = num_tok(why, "integrity", name, v, dms_int_nums[i].max, &n);
	if (r)
		return r;
	if (dms_int_nums[i].idx == DMS_INT_BLOCK_SIZE && !is_pow2_in(n, 512, 4096))
		return bad_tok(why, "integrity", name, v,
			       "is not a power of two from 512 to 4096");
	it->num[dms_int_nums[i].idx] = n;
	*seen |= 1u << i;
	return 0;
}

/* "<alg>[:<hexkey>]": keep the algorithm and where its key is, not the key. */
static int int_alg(const struct dms_args *a, const struct dms_tok *t,
		   const struct dms_tok *v, size_t i, struct dms_integrity *it,
		   struct dms_reason *why)
{
	const char *name = dms_int_algs[i].name;
	struct dms_tok alg = *v, key = { NULL, 0 };

	if (it->flags & dms_int_algs[i].flag)
		return dup_opt(why, "integrity", t);
	if (tok_split(v, &alg, &key) && !hex_ok(&key)) {
		snprintf(why->msg, sizeof(why->msg),
			 "integrity: %s key is not valid hex", name);
		return -EINVAL;
	}
	if (!alg.len || alg.len >= DMS_ALG_MAX || !alg_chars_ok(&alg, false) ||
	    longest_hex_run(&alg) > DMS_HEXRUN_MAX)
		return bad_tok(why, "integrity", name, &alg,
			       "is not a valid algorithm name");
	copy_tok(it->alg[i], DMS_ALG_MAX, &alg);
	if (key.len) {
		it->alg_key[i].off = (u32)(key.s - a->p);
		it->alg_key[i].len = (u32)key.len;
	}
	it->flags |= dms_int_algs[i].flag;
	return 0;
}

static int int_opt(const struct dms_args *a, const struct dms_tok *t,
		   struct dms_integrity *it, u32 *seen, struct dms_reason *why)
{
	struct dms_tok v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dms_int_flags); i++) {
		if (!tok_eq(t, dms_int_flags[i].name))
			continue;
		if (it->flags & dms_int_flags[i].flag)
			return dup_opt(why, "integrity", t);
		it->flags |= dms_int_flags[i].flag;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(dms_int_nums); i++) {
		if (tok_prefix(t, dms_int_nums[i].name, &v) && v.len &&
		    v.s[0] == ':') {
			v.s++;
			v.len--;
			return int_num(t, &v, i, it, seen, why);
		}
	}
	for (i = 0; i < ARRAY_SIZE(dms_int_algs); i++) {
		if (tok_prefix(t, dms_int_algs[i].name, &v) && v.len &&
		    v.s[0] == ':') {
			v.s++;
			v.len--;
			return int_alg(a, t, &v, i, it, why);
		}
	}
	if (tok_prefix(t, "meta_device:", &v)) {
		if (it->flags & DMS_INT_META_DEVICE)
			return dup_opt(why, "integrity", t);
		it->flags |= DMS_INT_META_DEVICE;
		return parse_dev(why, "integrity", "meta_device", &v, &it->meta_dev);
	}
	return bad_tok(why, "integrity", "unknown option", t, "");
}

static int int_fields(struct dms_args *a, struct dms_integrity *it,
		      struct dms_reason *why)
{
	struct dms_tok t;
	u64 n;
	int r;

	args_next(a, &t);
	r = parse_dev(why, "integrity", "device", &t, &it->dev);
	if (r)
		return r;
	args_next(a, &t);
	r = num_tok(why, "integrity", "offset", &t, DMS_U64_MAX, &it->offset);
	if (r)
		return r;
	args_next(a, &t);
	r = num_tok(why, "integrity", "tag_size", &t, DMS_TAG_MAX, &n);
	if (r)
		return r;
	it->tag_size = (u32)n;
	args_next(a, &t);
	if (t.len != 1 || !is_mode(t.s[0]))
		return bad_tok(why, "integrity", "mode", &t,
			       "is not one of J, D, B, R, I");
	it->mode = t.s[0];
	return 0;
}

int dms_parse_integrity(const char *params, size_t len,
			struct dms_integrity *out, struct dms_reason *why)
{
	struct dms_reason dummy;
	struct dms_args a;
	struct dms_tok t;
	u32 seen = 0;
	size_t n, i;
	int r;

	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	r = args_init(&a, "integrity", params, len, why);
	if (r)
		goto bad;
	n = args_count(&a);
	if (n < 4) {
		snprintf(why->msg, sizeof(why->msg),
			 "integrity: %zu parameters given, at least 4 needed", n);
		r = -EINVAL;
		goto bad;
	}
	r = int_fields(&a, out, why);
	if (!r)
		r = opt_count(&a, "integrity", why, &n);
	for (i = 0; !r && i < n; i++) {
		args_next(&a, &t);
		r = int_opt(&a, &t, out, &seen, why);
	}
	if (!r)
		return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* --- summaries ------------------------------------------------------------- */

/* snprintf-like accumulator: counts everything, writes what fits. */
struct dms_sbuf {
	char *buf;
	size_t cap;
	size_t len;
};

static void sb_putn(struct dms_sbuf *sb, const char *s, size_t n)
{
	size_t room;

	if (sb->cap && sb->len < sb->cap - 1) {
		room = sb->cap - 1 - sb->len;
		memcpy(sb->buf + sb->len, s, n < room ? n : room);
	}
	sb->len += n;
	if (sb->cap)
		sb->buf[sb->len < sb->cap - 1 ? sb->len : sb->cap - 1] = '\0';
}

static void sb_put(struct dms_sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

/* A fixed-size field of a struct: never read past its end. */
static void sb_field(struct dms_sbuf *sb, const char *s, size_t size)
{
	sb_putn(sb, s, strnlen(s, size));
}

static void sb_u64(struct dms_sbuf *sb, u64 v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	sb_put(sb, tmp);
}

/* "MAJ:MIN", "/path", or "/path(MAJ:MIN)" once the kernel resolved a path. */
static void sb_dev(struct dms_sbuf *sb, const struct dms_devref *d)
{
	bool path = d->path[0] != '\0';

	if (path)
		sb_field(sb, d->path, sizeof(d->path));
	if (!d->resolved)
		return;
	if (path)
		sb_put(sb, "(");
	sb_u64(sb, d->major);
	sb_put(sb, ":");
	sb_u64(sb, d->minor);
	if (path)
		sb_put(sb, ")");
}

static void sb_opt(struct dms_sbuf *sb, bool *first, const char *name)
{
	sb_put(sb, *first ? " opts=" : ",");
	sb_put(sb, name);
	*first = false;
}

static void sb_key(struct dms_sbuf *sb, const struct dms_crypt *c)
{
	size_t i;

	if (c->key_form == DMS_KEY_EMPTY) {
		sb_put(sb, "empty");
		return;
	}
	if (c->key_form == DMS_KEY_HEX) {
		sb_put(sb, "hex:");
		sb_u64(sb, c->key_size);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(dms_key_types); i++)
		if (c->key_form == dms_key_types[i].form)
			break;
	sb_put(sb, i < ARRAY_SIZE(dms_key_types) ? dms_key_types[i].name : "invalid");
	sb_put(sb, ":");
	sb_u64(sb, c->key_size);
	sb_put(sb, ":");
	sb_field(sb, c->key_desc, sizeof(c->key_desc));
}

/*
 * cipher=<spec> key=<hex:N|empty|type:N:desc> iv_offset=N dev=D offset=N
 * sector_size=N [integrity=N:type] [opts=a,b,...]
 */
size_t dms_crypt_summary(const struct dms_crypt *c, char *buf, size_t cap)
{
	struct dms_sbuf sb = { buf, cap, 0 };
	bool first = true;
	size_t i;

	sb_put(&sb, "cipher=");
	sb_field(&sb, c->cipher, sizeof(c->cipher));
	sb_put(&sb, " key=");
	sb_key(&sb, c);
	sb_put(&sb, " iv_offset=");
	sb_u64(&sb, c->iv_offset);
	sb_put(&sb, " dev=");
	sb_dev(&sb, &c->dev);
	sb_put(&sb, " offset=");
	sb_u64(&sb, c->offset);
	sb_put(&sb, " sector_size=");
	sb_u64(&sb, c->sector_size);
	if (c->flags & DMS_CRYPT_INTEGRITY) {
		sb_put(&sb, " integrity=");
		sb_u64(&sb, c->integrity_bytes);
		sb_put(&sb, ":");
		sb_field(&sb, c->integrity_type, sizeof(c->integrity_type));
	}
	if (c->flags & DMS_CRYPT_INTEGRITY_KEY_SIZE) {
		sb_put(&sb, " integrity_key_size=");
		sb_u64(&sb, c->integrity_key_size);
	}
	for (i = 0; i < ARRAY_SIZE(dms_crypt_flags); i++)
		if (c->flags & dms_crypt_flags[i].flag)
			sb_opt(&sb, &first, dms_crypt_flags[i].name);
	return sb.len;
}

/*
 * dev=D offset=N tag_size=N mode=M [<numeric option>=N...] [opts=a,b,...]
 * [meta_device=D] [internal_hash=A] [journal_crypt=A] [journal_mac=A]
 */
size_t dms_integrity_summary(const struct dms_integrity *t, char *buf,
			     size_t cap)
{
	struct dms_sbuf sb = { buf, cap, 0 };
	bool first = true;
	char mode[2] = { t->mode, '\0' };
	size_t i;

	sb_put(&sb, "dev=");
	sb_dev(&sb, &t->dev);
	sb_put(&sb, " offset=");
	sb_u64(&sb, t->offset);
	sb_put(&sb, " tag_size=");
	sb_u64(&sb, t->tag_size);
	sb_put(&sb, " mode=");
	sb_put(&sb, mode);
	for (i = 0; i < ARRAY_SIZE(dms_int_nums); i++) {
		if (!t->num[dms_int_nums[i].idx])
			continue;
		sb_put(&sb, " ");
		sb_put(&sb, dms_int_nums[i].name);
		sb_put(&sb, "=");
		sb_u64(&sb, t->num[dms_int_nums[i].idx]);
	}
	for (i = 0; i < ARRAY_SIZE(dms_int_flags); i++)
		if (t->flags & dms_int_flags[i].flag)
			sb_opt(&sb, &first, dms_int_flags[i].name);
	if (t->flags & DMS_INT_META_DEVICE) {
		sb_put(&sb, " meta_device=");
		sb_dev(&sb, &t->meta_dev);
	}
	for (i = 0; i < ARRAY_SIZE(dms_int_algs); i++) {
		if (!(t->flags & dms_int_algs[i].flag))
			continue;
		sb_put(&sb, " ");
		sb_put(&sb, dms_int_algs[i].name);
		sb_put(&sb, "=");
		sb_field(&sb, t->alg[i], DMS_ALG_MAX);
	}
	return sb.len;
}

/* --- keys --------------------------------------------------------------- */

int dms_hex_val(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dms_hex_decode(const char *hex, size_t n, u8 *out)
{
	size_t i;

	if (n & 1)
		return -EINVAL;
	for (i = 0; i < n; i += 2) {
		int hi = dms_hex_val(hex[i]), lo = dms_hex_val(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (u8)(hi << 4 | lo);
	}
	return 0;
}

bool dms_fp_equal(const struct dms_fp *a, const struct dms_fp *b)
{
	u8 diff = 0;
	size_t i;

	if (!a->set || !b->set)
		return false;
	/* no early exit: the time taken says nothing about where they differ */
	for (i = 0; i < DMS_FP_LEN; i++)
		diff |= a->mac[i] ^ b->mac[i];
	return !diff;
}

/* --- pins ------------------------------------------------------------------ */

static bool field_eq(const char *a, const char *b, size_t size)
{
	return !strncmp(a, b, size);
}

/*
 * Devices compare by number; the kernel resolves every path before a
 * comparison. Two unresolved paths are never taken as equal: a path names
 * whatever sits there at the moment it is opened.
 */
static bool dev_eq(const struct dms_devref *a, const struct dms_devref *b)
{
	return a->resolved && b->resolved && a->major == b->major &&
	       a->minor == b->minor;
}

static int pin_fail(struct dms_reason *why, const char *what)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg), "pinned %s changed", what);
	return -EPERM;
}

/* Keys: equal fingerprints, or (without DMS_CMP_KEYS) one side unknown. */
static bool key_kept(const struct dms_fp *a, const struct dms_fp *b,
		     unsigned int how)
{
	if (!(how & DMS_CMP_KEYS) && (!a->set || !b->set))
		return true;
	return dms_fp_equal(a, b);
}

static int crypt_key_cmp(const struct dms_crypt *a, const struct dms_crypt *b,
			 unsigned int how, struct dms_reason *why)
{
	if (a->key_form != b->key_form || a->key_size != b->key_size ||
	    !field_eq(a->key_desc, b->key_desc, sizeof(a->key_desc)))
		return pin_fail(why, "key reference");
	if (!key_kept(&a->key_fp, &b->key_fp, how))
		return pin_fail(why, "key (other key bytes)");
	return 0;
}

int dms_cmp_crypt(const struct dms_crypt *a, const struct dms_crypt *b,
		  unsigned int how, struct dms_reason *why)
{
	u32 fixed = ~(u32)DMS_CRYPT_PERF_FLAGS;

	if (!field_eq(a->cipher, b->cipher, sizeof(a->cipher)))
		return pin_fail(why, "cipher");
	if (crypt_key_cmp(a, b, how, why))
		return -EPERM;
	if (a->iv_offset != b->iv_offset)
		return pin_fail(why, "iv_offset");
	if (!dev_eq(&a->dev, &b->dev))
		return pin_fail(why, "backing device");
	if (a->offset != b->offset)
		return pin_fail(why, "offset");
	if (a->sector_size != b->sector_size)
		return pin_fail(why, "sector size");
	if ((a->flags ^ b->flags) & DMS_CRYPT_INTEGRITY ||
	    a->integrity_bytes != b->integrity_bytes ||
	    !field_eq(a->integrity_type, b->integrity_type,
		      sizeof(a->integrity_type)))
		return pin_fail(why, "integrity");
	if ((a->flags ^ b->flags) & DMS_CRYPT_INTEGRITY_KEY_SIZE ||
	    a->integrity_key_size != b->integrity_key_size)
		return pin_fail(why, "integrity_key_size");
	if ((a->flags ^ b->flags) & fixed)
		return pin_fail(why, "options");
	return 0;
}

static int pin_alg(const struct dms_integrity *a, const struct dms_integrity *b,
		   unsigned int how, struct dms_reason *why)
{
	char what[40];
	size_t i;

	for (i = 0; i < DMS_ALG_COUNT; i++) {
		if ((a->flags ^ b->flags) & dms_int_algs[i].flag ||
		    !field_eq(a->alg[i], b->alg[i], DMS_ALG_MAX))
			return pin_fail(why, dms_int_algs[i].name);
		if (!(a->flags & dms_int_algs[i].flag))
			continue;
		/* a keyless algorithm (crc32c) on both sides has nothing to keep */
		if (!a->alg_fp[i].set && !b->alg_fp[i].set &&
		    !a->alg_key[i].len && !b->alg_key[i].len)
			continue;
		if (!key_kept(&a->alg_fp[i], &b->alg_fp[i], how)) {
			snprintf(what, sizeof(what), "%s key", dms_int_algs[i].name);
			return pin_fail(why, what);
		}
	}
	return 0;
}

/* dm-integrity reads 512 for an absent block_size: compare what it uses. */
static u64 block_size(const struct dms_integrity *t)
{
	return t->num[DMS_INT_BLOCK_SIZE] ? t->num[DMS_INT_BLOCK_SIZE] : 512;
}

int dms_cmp_integrity(const struct dms_integrity *a,
		      const struct dms_integrity *b, unsigned int how,
		      struct dms_reason *why)
{
	u32 ignore = DMS_INT_TRANSIENT;

	if (!(how & DMS_CMP_EFFECTIVE))
		ignore |= DMS_INT_FROM_SB;
	if (!dev_eq(&a->dev, &b->dev))
		return pin_fail(why, "backing device");
	if (a->offset != b->offset)
		return pin_fail(why, "offset");
	if (a->tag_size != b->tag_size)
		return pin_fail(why, "tag size");
	if (a->mode != b->mode)
		return pin_fail(why, "mode");
	if (block_size(a) != block_size(b))
		return pin_fail(why, "block_size");
	if ((how & DMS_CMP_EFFECTIVE) &&
	    a->num[DMS_INT_JOURNAL_SECTORS] != b->num[DMS_INT_JOURNAL_SECTORS])
		return pin_fail(why, "journal_sectors");
	if ((how & DMS_CMP_EFFECTIVE) &&
	    a->num[DMS_INT_INTERLEAVE_SECTORS] != b->num[DMS_INT_INTERLEAVE_SECTORS])
		return pin_fail(why, "interleave_sectors");
	if (pin_alg(a, b, how, why))
		return -EPERM;
	if ((a->flags | b->flags) & DMS_INT_META_DEVICE &&
	    ((a->flags ^ b->flags) & DMS_INT_META_DEVICE ||
	     !dev_eq(&a->meta_dev, &b->meta_dev)))
		return pin_fail(why, "meta_device");
	if ((a->flags ^ b->flags) & ~ignore)
		return pin_fail(why, "options");
	return 0;
}
