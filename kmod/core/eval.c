// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: deciding whether a parsed table is allowed by a policy.
 *
 * Profiles are tried in order and the first one that accepts wins. When none
 * does, the reason given is the one of the profile that came closest in the
 * way an operator would recognise: the first whose cipher rule matched (for
 * dm-crypt) or whose mode was allowed (for dm-integrity), else the first.
 */
#include "dmseal_core.h"

#define DMS_KEYRING_FORMS	(DMS_KEY_LOGON | DMS_KEY_USER | \
				 DMS_KEY_ENCRYPTED | DMS_KEY_TRUSTED)

static const struct {
	u32 form;
	const char *name;
} dms_forms[] = {
	{ DMS_KEY_HEX, "hex" },
	{ DMS_KEY_LOGON, "logon" },
	{ DMS_KEY_USER, "user" },
	{ DMS_KEY_ENCRYPTED, "encrypted" },
	{ DMS_KEY_TRUSTED, "trusted" },
	{ DMS_KEY_EMPTY, "empty" },
};

static const char *form_name(u32 form)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dms_forms); i++)
		if (dms_forms[i].form == form)
			return dms_forms[i].name;
	return "invalid";
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

bool dms_scope_match(const struct dms_policy *p, const char *name,
		     const char *uuid)
{
	if (p->scope == DMS_SCOPE_ALL)
		return true;
	if ((p->scope & DMS_SCOPE_NAME_PREFIX) && name &&
	    p->scope_name_prefix[0] && has_prefix(name, p->scope_name_prefix))
		return true;
	if ((p->scope & DMS_SCOPE_UUID_PREFIX) && uuid &&
	    p->scope_uuid_prefix[0] && has_prefix(uuid, p->scope_uuid_prefix))
		return true;
	return false;
}

static bool type_listed(const char *type, u32 n, u32 max,
			const char (*list)[DMS_TARGET_NAME_MAX])
{
	u32 i;

	if (!type || !strcmp(type, "crypt") || !strcmp(type, "integrity") ||
	    strnlen(type, DMS_TARGET_NAME_MAX) >= DMS_TARGET_NAME_MAX)
		return false;
	for (i = 0; i < n && i < max; i++)
		if (!strncmp(type, list[i], DMS_TARGET_NAME_MAX))
			return true;
	return false;
}

bool dms_other_target_allowed(const struct dms_policy *p, const char *type)
{
	return type_listed(type, p->n_other_targets, DMS_MAX_OTHER_TARGETS,
			   p->other_targets);
}

bool dms_consumer_allowed(const struct dms_policy *p, const char *type)
{
	return type_listed(type, p->n_consumers, DMS_MAX_CONSUMERS,
			   p->consumers);
}

/* --- dm-crypt -------------------------------------------------------------- */

/* Callers may pass no reason buffer; the verdict is the same. */
static int set_reason(struct dms_reason *why, const char *msg)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg), "%s", msg);
	return -EACCES;
}

static int deny(struct dms_reason *why, const struct dms_profile *pr,
		const char *msg)
{
	snprintf(why->msg, sizeof(why->msg), "profile '%s': %s", pr->name, msg);
	return -EACCES;
}

/*
 * A rule names the cipher, the whole key size and, for dm-crypt's
 * integrity_key_size:N (how much of the key is the MAC key), N or 0 for
 * "option absent": a split the policy did not name could shorten the
 * cipher's key.
 */
static bool cipher_rule_match(const struct dms_profile *pr,
			      const struct dms_crypt *c)
{
	u32 iks = (c->flags & DMS_CRYPT_INTEGRITY_KEY_SIZE) ?
		  c->integrity_key_size : 0;
	u32 i;

	for (i = 0; i < pr->n_ciphers && i < DMS_MAX_CIPHERS; i++)
		if (!strcmp(pr->ciphers[i].spec, c->cipher) &&
		    pr->ciphers[i].key_size == c->key_size &&
		    pr->ciphers[i].integrity_key_size == iks)
			return true;
	return false;
}

static bool u32_listed(u32 n, u32 max, const u32 *list, u32 v)
{
	u32 i;

	for (i = 0; i < n && i < max; i++)
		if (list[i] == v)
			return true;
	return false;
}

static bool aead_size_ok(const struct dms_profile *pr, u32 bytes)
{
	return u32_listed(pr->n_aead_sizes, DMS_MAX_AEAD_SIZES, pr->aead_sizes,
			  bytes);
}

static int deny_key_form(struct dms_reason *why, const struct dms_profile *pr,
			 const struct dms_crypt *c)
{
	char allowed[64] = "";
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(dms_forms) && n < sizeof(allowed); i++)
		if (pr->key_forms & dms_forms[i].form)
			n += snprintf(allowed + n, sizeof(allowed) - n, "%s%s",
				      n ? "," : "", dms_forms[i].name);
	snprintf(why->msg, sizeof(why->msg),
		 "profile '%s': %s keys not allowed (allowed: %s)", pr->name,
		 form_name(c->key_form), allowed);
	return -EACCES;
}

static int crypt_integrity(const struct dms_profile *pr,
			   const struct dms_crypt *c, struct dms_reason *why)
{
	bool given = c->flags & DMS_CRYPT_INTEGRITY;

	if (pr->integrity_required && (!given || !aead_size_ok(pr, c->integrity_bytes) ||
				       strcmp(c->integrity_type, "aead"))) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': integrity required (integrity:%u:aead)",
			 pr->name, pr->aead_sizes[0]);
		return -EACCES;
	}
	/* Only authenticated integrity: "none" stores tags nobody checks. */
	if (given && (!aead_size_ok(pr, c->integrity_bytes) ||
		      strcmp(c->integrity_type, "aead"))) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': integrity:%u:%s not allowed", pr->name,
			 c->integrity_bytes, c->integrity_type);
		return -EACCES;
	}
	return 0;
}

static int crypt_options(const struct dms_profile *pr,
			 const struct dms_crypt *c, struct dms_reason *why)
{
	u32 ss = c->sector_size;

	if (ss < 512 || ss > 4096 || (ss & (ss - 1)) || !(pr->sector_sizes & ss)) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': sector size %u not allowed", pr->name, ss);
		return -EACCES;
	}
	if ((c->flags & DMS_CRYPT_ALLOW_DISCARDS) &&
	    !(pr->crypt_allow & DMS_CRYPT_ALLOW_DISCARDS))
		return deny(why, pr, "allow_discards not allowed");
	if ((c->flags & DMS_CRYPT_IV_LARGE_SECTORS) &&
	    !(pr->crypt_allow & DMS_CRYPT_IV_LARGE_SECTORS))
		return deny(why, pr, "iv_large_sectors not allowed");
	return 0;
}

/*
 * *depth says how far the target got through this profile's rules before
 * one refused it: the deepest refusal names the rule the caller most likely
 * got wrong (the profile it was meant for).
 */
static int crypt_profile(const struct dms_profile *pr, const struct dms_crypt *c,
			 struct dms_reason *why, int *depth)
{
	*depth = 0;
	if (!cipher_rule_match(pr, c)) {
		if (c->flags & DMS_CRYPT_INTEGRITY_KEY_SIZE)
			snprintf(why->msg, sizeof(why->msg),
				 "profile '%s': cipher '%.64s' with %u-byte key, integrity_key_size %u not allowed",
				 pr->name, c->cipher, c->key_size,
				 c->integrity_key_size);
		else
			snprintf(why->msg, sizeof(why->msg),
				 "profile '%s': cipher '%.64s' with %u-byte key not allowed",
				 pr->name, c->cipher, c->key_size);
		return -EACCES;
	}
	*depth = 1;
	if (!(c->key_form & pr->key_forms) || c->key_form == DMS_KEY_EMPTY)
		return deny_key_form(why, pr, c);
	*depth = 2;
	if ((c->key_form & DMS_KEYRING_FORMS) && pr->key_desc_prefix[0] &&
	    !has_prefix(c->key_desc, pr->key_desc_prefix)) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': key description must start with '%s'",
			 pr->name, pr->key_desc_prefix);
		return -EACCES;
	}
	*depth = 3;
	if (crypt_integrity(pr, c, why))
		return -EACCES;
	*depth = 4;
	return crypt_options(pr, c, why);
}

/* Refuse structs that no parser could have produced. */
static bool crypt_sane(const struct dms_crypt *c)
{
	return strnlen(c->cipher, sizeof(c->cipher)) < sizeof(c->cipher) &&
	       strnlen(c->key_desc, sizeof(c->key_desc)) < sizeof(c->key_desc) &&
	       strnlen(c->integrity_type, sizeof(c->integrity_type)) <
	       sizeof(c->integrity_type) &&
	       c->key_form && !(c->key_form & (c->key_form - 1));
}

int dms_check_crypt(const struct dms_policy *p, const struct dms_crypt *c,
		    struct dms_reason *why)
{
	struct dms_reason tmp;
	int depth, best = -1;
	u32 i;

	if (!crypt_sane(c))
		return set_reason(why, "crypt: malformed target");
	if (dms_cipher_is_null(c->cipher))
		return set_reason(why, "cipher_null is never allowed");
	set_reason(why, "policy has no profiles");
	for (i = 0; i < p->n_profiles && i < DMS_MAX_PROFILES; i++) {
		if (!crypt_profile(&p->profiles[i], c, &tmp, &depth))
			return i;
		/* the first profile that got furthest gives the reason */
		if (why && depth > best)
			memcpy(why, &tmp, sizeof(tmp));
		if (depth > best)
			best = depth;
	}
	return -EACCES;
}

/* --- dm-integrity ---------------------------------------------------------- */

/* Table option -> the profile's int_allow bit that permits it. */
static const struct {
	u32 flag;
	u32 allow;
	const char *name;
} dms_int_allow_names[] = {
	{ DMS_INT_ALLOW_DISCARDS, DMS_INT_ALLOW_DISCARDS, "allow_discards" },
	{ DMS_INT_ALLOW_DISCARDS_KEYED, DMS_INT_ALLOW_DISCARDS,
	  "allow_discards_keyed" },
	{ DMS_INT_RECALC, DMS_INT_RECALC, "recalculate" },
	{ DMS_INT_RESET_RECALC, DMS_INT_RESET_RECALC, "reset_recalculate" },
	{ DMS_INT_LEGACY_RECALC, DMS_INT_LEGACY_RECALC, "legacy_recalculate" },
	{ DMS_INT_META_DEVICE, DMS_INT_META_DEVICE, "meta_device" },
};

static bool alg_listed(u32 n, const char (*algs)[DMS_ALG_MAX], const char *alg)
{
	u32 i;

	for (i = 0; i < n && i < DMS_MAX_ALGS; i++)
		if (!strcmp(algs[i], alg))
			return true;
	return false;
}

static int int_alg(const struct dms_profile *pr, const struct dms_integrity *t,
		   struct dms_reason *why)
{
	static const u32 flag[DMS_ALG_COUNT] = {
		DMS_INT_INTERNAL_HASH, DMS_INT_JOURNAL_CRYPT, DMS_INT_JOURNAL_MAC
	};
	const u32 n[DMS_ALG_COUNT] = {
		pr->n_internal_hash, pr->n_journal_crypt, pr->n_journal_mac
	};
	const char (*list[DMS_ALG_COUNT])[DMS_ALG_MAX] = {
		pr->internal_hash, pr->journal_crypt, pr->journal_mac
	};
	u32 i;

	for (i = 0; i < DMS_ALG_COUNT; i++) {
		if (!(t->flags & flag[i]) || alg_listed(n[i], list[i], t->alg[i]))
			continue;
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': %s '%.64s' not allowed", pr->name,
			 dms_int_alg_name(i), t->alg[i]);
		return -EACCES;
	}
	return 0;
}

static int int_flags(const struct dms_profile *pr, const struct dms_integrity *t,
		     struct dms_reason *why)
{
	size_t i;

	/*
	 * fix_padding fixes the layout of metadata interleaved with data; with
	 * a separate meta_device there is no interleaving, and dm-integrity
	 * neither uses nor reports it.
	 */
	if ((pr->int_require & DMS_INT_FIX_PADDING) &&
	    !(t->flags & (DMS_INT_FIX_PADDING | DMS_INT_META_DEVICE)))
		return deny(why, pr, "fix_padding required");
	/*
	 * fix_hmac changes how keyed MACs cover the superblock and journal;
	 * a table with no keyed MAC (AEAD tags come from dm-crypt) has
	 * nothing for it to fix, and dm-integrity's status then leaves it
	 * out, so a table rebuilt from `dmsetup table` lacks it.
	 */
	if ((pr->int_require & DMS_INT_FIX_HMAC) &&
	    (t->flags & (DMS_INT_INTERNAL_HASH | DMS_INT_JOURNAL_MAC)) &&
	    !(t->flags & DMS_INT_FIX_HMAC))
		return deny(why, pr, "fix_hmac required with internal_hash or journal_mac");
	for (i = 0; i < ARRAY_SIZE(dms_int_allow_names); i++) {
		u32 f = dms_int_allow_names[i].flag;
		char msg[48];

		if (!(t->flags & f) || (pr->int_allow & dms_int_allow_names[i].allow))
			continue;
		snprintf(msg, sizeof(msg), "%s not allowed",
			 dms_int_allow_names[i].name);
		return deny(why, pr, msg);
	}
	return int_alg(pr, t, why);
}

/* *depth: how far the target got through the profile (see crypt_profile). */
static int int_profile(const struct dms_profile *pr,
		       const struct dms_integrity *t, struct dms_reason *why,
		       int *depth)
{
	u64 bs = t->num[DMS_INT_BLOCK_SIZE] ? t->num[DMS_INT_BLOCK_SIZE] : 512;

	*depth = 0;
	if (!(pr->int_modes & DMS_MODE_BIT(t->mode))) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': integrity mode %c not allowed", pr->name,
			 t->mode);
		return -EACCES;
	}
	*depth = 1;
	if (!u32_listed(pr->n_tag_sizes, DMS_MAX_TAG_SIZES, pr->tag_sizes,
			t->tag_size)) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': tag size %u not allowed", pr->name,
			 t->tag_size);
		return -EACCES;
	}
	*depth = 2;
	if (bs < 512 || bs > 4096 || (bs & (bs - 1)) || !(pr->block_sizes & bs)) {
		snprintf(why->msg, sizeof(why->msg),
			 "profile '%s': block size %llu not allowed", pr->name,
			 (unsigned long long)bs);
		return -EACCES;
	}
	*depth = 3;
	/* an algorithm the profile lists makes it the profile that was meant */
	if (t->flags & (DMS_INT_INTERNAL_HASH | DMS_INT_JOURNAL_CRYPT |
			DMS_INT_JOURNAL_MAC) && !int_alg(pr, t, why))
		*depth = 4;
	return int_flags(pr, t, why);
}

static bool int_sane(const struct dms_integrity *t)
{
	return (t->mode == 'J' || t->mode == 'D' || t->mode == 'B' ||
		t->mode == 'I' || t->mode == 'R') &&
	       strnlen(t->alg[0], DMS_ALG_MAX) < DMS_ALG_MAX &&
	       strnlen(t->alg[1], DMS_ALG_MAX) < DMS_ALG_MAX &&
	       strnlen(t->alg[2], DMS_ALG_MAX) < DMS_ALG_MAX;
}

int dms_check_integrity(const struct dms_policy *p,
			const struct dms_integrity *t, struct dms_reason *why)
{
	struct dms_reason tmp;
	int depth, best = -1;
	u32 i;

	if (!int_sane(t))
		return set_reason(why, "integrity: malformed target");
	if (t->mode == 'R')
		return set_reason(why,
				  "integrity mode R (recovery, no checks) is never allowed");
	set_reason(why, "policy has no profiles");
	for (i = 0; i < p->n_profiles && i < DMS_MAX_PROFILES; i++) {
		if (!int_profile(&p->profiles[i], t, &tmp, &depth))
			return i;
		/* the first profile that got furthest gives the reason */
		if (why && depth > best)
			memcpy(why, &tmp, sizeof(tmp));
		if (depth > best)
			best = depth;
	}
	return -EACCES;
}

/* --- the stack ------------------------------------------------------------- */

int dms_check_stack(const struct dms_crypt *c, const struct dms_integrity *below,
		    struct dms_reason *why)
{
	if (!below) {
		snprintf(why->msg, sizeof(why->msg),
			 "backing device %u:%u is not a dm-integrity device governed by dmseal",
			 c->dev.major, c->dev.minor);
		return -EACCES;
	}
	if (!(c->flags & DMS_CRYPT_INTEGRITY) ||
	    below->tag_size != c->integrity_bytes) {
		snprintf(why->msg, sizeof(why->msg),
			 "backing dm-integrity tag size %u != crypt integrity bytes %u",
			 below->tag_size, c->integrity_bytes);
		return -EACCES;
	}
	return 0;
}
