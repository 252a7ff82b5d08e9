// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * dmseal core: rules for whole tables.
 *
 * A live volume is more than each of its targets: where each target starts,
 * how long it is and which devices the table opens decide where every byte
 * of data goes. dms_cmp_table() says whether a table may replace a pinned
 * one; dms_check_table() applies the policy's rules for tables that mix
 * target types or sit on top of governed devices.
 */
#include "dmseal_core.h"

static int layout_fail(struct dms_reason *why, u32 i, const struct dms_tdesc *t,
		       const char *what)
{
	if (why)
		snprintf(why->msg, sizeof(why->msg),
			 "pinned layout: target %u ('%.15s' at sector %llu): %.120s",
			 i, t->type, (unsigned long long)t->start, what);
	return -EPERM;
}

static bool devs_equal(const struct dms_tdesc *a, const struct dms_tdesc *b)
{
	u32 i;

	if (a->n_devs != b->n_devs)
		return false;
	for (i = 0; i < a->n_devs; i++)
		if (a->devs[i] != b->devs[i])
			return false;
	return true;
}

/* The parameters and keys of one target, against its pin. */
static int target_cmp(const struct dms_tdesc *have, const struct dms_tdesc *want,
		      struct dms_reason *why)
{
	const unsigned int how = DMS_CMP_EFFECTIVE | DMS_CMP_KEYS;

	switch (have->kind) {
	case DMS_KIND_CRYPT:
		if (!have->crypt || !want->crypt)
			return -EPERM;
		return dms_cmp_crypt(have->crypt, want->crypt, how, why);
	case DMS_KIND_INTEGRITY:
		if (!have->integrity || !want->integrity)
			return -EPERM;
		return dms_cmp_integrity(have->integrity, want->integrity, how,
					 why);
	case DMS_KIND_OTHER:
		if (memcmp(have->digest, want->digest, sizeof(have->digest)))
			return -EPERM;
		return 0;
	}
	return -EPERM;
}

int dms_cmp_table(const struct dms_tdesc *have, u32 n_have,
		  const struct dms_tdesc *want, u32 n_want,
		  struct dms_reason *why)
{
	struct dms_reason tmp;
	char what[DMS_REASON_MAX];
	u32 i;

	if (n_have != n_want) {
		if (why)
			snprintf(why->msg, sizeof(why->msg),
				 "pinned layout has %u target(s), the new table %u",
				 n_have, n_want);
		return -EPERM;
	}
	for (i = 0; i < n_want; i++) {
		const struct dms_tdesc *h = &have[i], *w = &want[i];
		bool last = i + 1 == n_want;

		if (w->start != h->start)
			return layout_fail(why, i, h, "moved to another start sector");
		if (strncmp(w->type, h->type, DMS_TARGET_NAME_MAX) ||
		    w->kind != h->kind)
			return layout_fail(why, i, h, "replaced by another target type");
		/* the last target alone may change its length: online resize */
		if (w->len != h->len && (!last || !w->len))
			return layout_fail(why, i, h, "length changed");
		tmp.msg[0] = '\0';
		if (target_cmp(h, w, &tmp)) {
			snprintf(what, sizeof(what), "%s",
				 tmp.msg[0] ? tmp.msg : "parameters changed");
			return layout_fail(why, i, h, what);
		}
		if (!devs_equal(h, w))
			return layout_fail(why, i, h, "opens other devices");
	}
	return 0;
}

/* --- the rules for a table as a whole ------------------------------------- */

struct dms_tctx {
	const struct dms_policy *p;
	dms_governed_fn governed;
	void *arg;
	struct dms_reason *why;
};

static bool opens_governed(const struct dms_tctx *c, const struct dms_tdesc *t,
			   u32 *dev)
{
	u32 i;

	for (i = 0; i < t->n_devs; i++) {
		if (c->governed(t->devs[i], c->arg)) {
			*dev = t->devs[i];
			return true;
		}
	}
	return false;
}

static int table_deny(const struct dms_tctx *c, const struct dms_tdesc *t,
		      const char *fmt, u32 dev)
{
	char msg[DMS_REASON_MAX];

	snprintf(msg, sizeof(msg), fmt, (dev >> 20) & 0xfff, dev & 0xfffff);
	snprintf(c->why->msg, sizeof(c->why->msg),
		 "target type '%.15s' at sector %llu %.130s", t->type,
		 (unsigned long long)t->start, msg);
	return -EACCES;
}

/*
 * A table that opens a governed device opens nothing else: a cache on the
 * host's disk, a mirror leg there or the other half of a linear span would
 * copy what the governed volume holds to where the host reads it.
 */
static int only_governed(const struct dms_tctx *c, const struct dms_tdesc *t,
			 u32 n)
{
	u32 i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < t[i].n_devs; j++)
			if (!c->governed(t[i].devs[j], c->arg))
				return table_deny(c, &t[i],
						  "opens %u:%u, which dmseal does not govern, in a table that uses governed devices",
						  t[i].devs[j]);
	return 0;
}

static int other_rules(const struct dms_tctx *c, const struct dms_tdesc *t)
{
	u32 dev = 0;

	if (opens_governed(c, t, &dev)) {
		if (dms_consumer_allowed(c->p, t->type))
			return 0;
		return table_deny(c, t,
				  "may not sit on governed device %u:%u (the policy's consumers do not list it)",
				  dev);
	}
	if (dms_other_target_allowed(c->p, t->type) ||
	    dms_consumer_allowed(c->p, t->type))
		return 0;
	snprintf(c->why->msg, sizeof(c->why->msg),
		 "target type '%.15s' at sector %llu is not allowed on a governed device",
		 t->type, (unsigned long long)t->start);
	return -EACCES;
}

int dms_check_table(const struct dms_policy *p, const struct dms_tdesc *t,
		    u32 n, bool dev_governed, bool in_scope,
		    dms_governed_fn governed_dev, void *arg, bool *governed,
		    struct dms_reason *why)
{
	struct dms_reason dummy;
	struct dms_tctx c = { p, governed_dev, arg, why ? why : &dummy };
	bool ours = false, uses = false;
	u32 i, dev;
	int r;

	for (i = 0; i < n; i++) {
		ours |= t[i].kind != DMS_KIND_OTHER;
		uses |= opens_governed(&c, &t[i], &dev);
	}
	*governed = dev_governed || uses || (ours && in_scope);
	if (!*governed)
		return 0;
	if (uses) {
		r = only_governed(&c, t, n);
		if (r)
			return r;
	}
	for (i = 0; i < n; i++) {
		if (t[i].kind != DMS_KIND_OTHER)
			continue;
		r = other_rules(&c, &t[i]);
		if (r)
			return r;
	}
	return 0;
}
