// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* A realistic two-profile policy shared by the policy, codec and eval tests. */
#include "check.h"

static void set(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
}

struct dms_policy *sample_policy(void)
{
	static struct dms_policy p;
	struct dms_profile *e = &p.profiles[0], *q = &p.profiles[1];

	memset(&p, 0, sizeof(p));
	p.scope = DMS_SCOPE_ALL;
	p.n_other_targets = 2;
	set(p.other_targets[0], DMS_TARGET_NAME_MAX, "linear");
	set(p.other_targets[1], DMS_TARGET_NAME_MAX, "zero");
	p.n_profiles = 2;

	set(e->name, sizeof(e->name), "eph");
	e->n_ciphers = 2;
	set(e->ciphers[0].spec, DMS_CIPHER_MAX, "aes-xts-plain64");
	e->ciphers[0].key_size = 64;
	set(e->ciphers[1].spec, DMS_CIPHER_MAX,
	    "capi:authenc(hmac(sha256),xts(aes))-random");
	e->ciphers[1].key_size = 96;
	e->key_forms = DMS_KEY_LOGON;
	set(e->key_desc_prefix, DMS_KEY_PREFIX_MAX, "dmseal:");
	e->integrity_required = true;
	e->n_aead_sizes = 1;
	e->aead_sizes[0] = 32;
	e->sector_sizes = 1u << 12;
	e->int_modes = DMS_MODE_BIT('J') | DMS_MODE_BIT('D');
	e->n_tag_sizes = 1;
	e->tag_sizes[0] = 32;
	e->block_sizes = (1u << 9) | (1u << 12);
	e->int_require = DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC;
	e->n_internal_hash = 1;
	set(e->internal_hash[0], DMS_ALG_MAX, "hmac(sha256)");

	set(q->name, sizeof(q->name), "persist");
	q->n_ciphers = 1;
	set(q->ciphers[0].spec, DMS_CIPHER_MAX,
	    "capi:authenc(hmac(sha256),xts(aes))-plain64");
	q->ciphers[0].key_size = 96;
	q->key_forms = DMS_KEY_LOGON;
	set(q->key_desc_prefix, DMS_KEY_PREFIX_MAX, "cryptsetup:");
	q->integrity_required = true;
	q->n_aead_sizes = 1;
	q->aead_sizes[0] = 32;
	q->sector_sizes = (1u << 9) | (1u << 12);
	q->allow_key_wipe = true;
	q->int_modes = DMS_MODE_BIT('J') | DMS_MODE_BIT('D');
	q->n_tag_sizes = 1;
	q->tag_sizes[0] = 32;
	q->block_sizes = 1u << 9;
	q->int_require = DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC;
	return &p;
}
