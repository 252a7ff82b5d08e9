// SPDX-License-Identifier: GPL-2.0-only
/*
 * Table loads.
 *
 * device-mapper builds every table, whatever the caller, target by target
 * through dm_table_add_target() and finishes it with dm_table_complete();
 * dm_table_destroy() frees it in the end. All three are hooked:
 *
 *  - before a crypt or integrity target's constructor runs (dm-integrity may
 *    write its superblock there), its parameters are parsed and checked
 *    against the policy and the device's pin, as requested;
 *  - after the constructor, the target is described as it was built: its
 *    status (the configuration dm actually uses, with what the superblock
 *    on the host's disk said), the key dm-crypt read from the keyring, the
 *    devices it opened; and checked again, as built;
 *  - at dm_table_complete() the whole table is checked (layout, consumers,
 *    target types), so a table that cannot go live is refused at load;
 *  - the description stays with the table, for pins.c to check again and
 *    pin when the table goes live, until dm_table_destroy().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <crypto/sha2.h>

#include "dmseal.h"

/* What dmseal knows of one table from its first target to its destruction. */
struct dmseal_table {
	struct list_head node;
	struct dm_table *t;
	struct mapped_device *md;
	dev_t devt;
	/* the seal state of the whole table: taken once, at its first target */
	const struct dmseal_sealed *sealed;
	bool in_scope;
	bool failed;			/* must never go live */
	struct dms_reason failed_why;
	struct dmseal_desc desc;
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
};

static DEFINE_MUTEX(tables_lock);
static LIST_HEAD(tables);

static int dmseal_add_target(struct dm_table *t, const char *type,
			     sector_t start, sector_t len, char *params);
static int dmseal_table_complete(struct dm_table *t);
static void dmseal_table_destroy(struct dm_table *t);

static struct dmseal_hook add_target_hook = {
	.symbol = "dm_mod:dm_table_add_target",
	.wrapper = dmseal_add_target,
};

static struct dmseal_hook complete_hook = {
	.symbol = "dm_mod:dm_table_complete",
	.wrapper = dmseal_table_complete,
};

static struct dmseal_hook table_destroy_hook = {
	.symbol = "dm_mod:dm_table_destroy",
	.wrapper = dmseal_table_destroy,
};

/* --- denials ----------------------------------------------------------------- */

/*
 * The dm name and uuid of @md into @name / @uuid (DM_NAME_LEN / DM_UUID_LEN,
 * either may be NULL). False, with "" copied, if @md is not (or no longer)
 * in dm's name hash: it is being created or removed.
 */
bool dmseal_md_names(struct mapped_device *md, char *name, char *uuid)
{
	char tmp[DM_NAME_LEN];

	if (!dm_copy_name_and_uuid(md, name ? name : tmp, uuid))
		return true;
	if (name)
		name[0] = '\0';
	if (uuid)
		uuid[0] = '\0';
	return false;
}

/*
 * Count, log, audit and send a denial. Names, uuids and target types come
 * from whoever loads the table: the log and the audit record get them
 * escaped, so that no name can forge a field or a line; the netlink event
 * carries them exactly.
 */
void dmseal_deny(const struct dmseal_target_info *info)
{
	const char *name = info->name && *info->name ? info->name : "<unnamed>";
	char *buf;
	size_t n;

	atomic64_inc(&dmseal_stats.denied);
	buf = kmalloc(3 * 4 * DM_NAME_LEN + 4 * DMS_REASON_MAX, GFP_KERNEL);
	if (buf) {
		char *ename = buf, *etype, *ereason;

		n = dms_escape(name, strlen(name), ename, 4 * DM_NAME_LEN,
			       DMS_ESC_SPACE);
		etype = ename + min_t(size_t, n, 4 * DM_NAME_LEN - 1) + 1;
		dms_escape(info->type, strlen(info->type), etype,
			   4 * DMS_TARGET_NAME_MAX, DMS_ESC_SPACE);
		ereason = etype + 4 * DMS_TARGET_NAME_MAX;
		dms_escape(info->reason, strlen(info->reason), ereason,
			   4 * DMS_REASON_MAX, 0);
		/* Names, numbers and the rule only: the key never reaches a log. */
		pr_warn_ratelimited("denied %s target at sector %llu of %s (%u:%u): %s\n",
				    etype, (unsigned long long)info->start,
				    ename, MAJOR(info->devt), MINOR(info->devt),
				    ereason);
		kfree(buf);
	}
	dmseal_audit_deny(info);
	dmseal_notify(DMSEAL_CMD_EVENT_DENY, info, GFP_KERNEL);
}

static int table_deny(struct dmseal_table *tab, const char *type,
		      sector_t start, sector_t len, const struct dms_reason *why)
{
	struct dmseal_target_info info = {
		.devt = tab->devt,
		.name = tab->name,
		.uuid = tab->uuid,
		.type = type,
		.start = start,
		.len = len,
		.reason = why->msg,
	};

	tab->failed = true;
	tab->failed_why = *why;
	dmseal_deny(&info);
	return -EACCES;
}

/* --- table records ---------------------------------------------------------- */

static void table_free(struct dmseal_table *tab)
{
	dmseal_desc_free(&tab->desc);
	kfree(tab);
}

static struct dmseal_table *find_locked(struct dm_table *t)
{
	struct dmseal_table *tab;

	lockdep_assert_held(&tables_lock);
	list_for_each_entry(tab, &tables, node)
		if (tab->t == t)
			return tab;
	return NULL;
}

/*
 * The record of @t. A table is built, swapped and destroyed in turn, never
 * at once, so the record stays valid for whoever holds the table.
 */
struct dmseal_table *dmseal_table_find(struct dm_table *t)
{
	struct dmseal_table *tab;

	mutex_lock(&tables_lock);
	tab = find_locked(t);
	mutex_unlock(&tables_lock);
	return tab;
}

static struct dmseal_table *table_begin(struct dm_table *t)
{
	struct dmseal_table *tab = kzalloc(sizeof(*tab), GFP_KERNEL);

	if (!tab)
		return NULL;
	tab->t = t;
	tab->md = dm_table_get_md(t);
	tab->devt = disk_devt(dm_disk(tab->md));
	tab->sealed = dmseal_sealed_get();
	dmseal_md_names(tab->md, tab->name, tab->uuid);
	tab->in_scope = tab->sealed &&
			dms_scope_match(&tab->sealed->policy, tab->name, tab->uuid);
	mutex_lock(&tables_lock);
	list_add_tail(&tab->node, &tables);
	mutex_unlock(&tables_lock);
	return tab;
}

const struct dmseal_desc *dmseal_table_desc(const struct dmseal_table *tab)
{
	return &tab->desc;
}

bool dmseal_table_in_scope(const struct dmseal_table *tab)
{
	return tab->in_scope;
}

bool dmseal_table_usable(const struct dmseal_table *tab, struct dms_reason *why)
{
	if (!tab->failed)
		return true;
	*why = tab->failed_why;
	return false;
}

/* --- checks ------------------------------------------------------------------- */

static int resolve_dev(struct dms_devref *d, struct dms_reason *why)
{
	dev_t devt;
	int ret;

	if (d->resolved)
		return 0;
	ret = lookup_bdev(d->path, &devt);
	if (ret) {
		snprintf(why->msg, sizeof(why->msg),
			 "device '%.64s' not found (%d)", d->path, ret);
		return -EACCES;
	}
	d->major = MAJOR(devt);
	d->minor = MINOR(devt);
	d->resolved = true;
	return 0;
}

/* Parse @s (a table line or a status) into @cfg; fingerprint its hex keys. */
static int parse_cfg(enum dms_kind kind, const char *s, void *cfg,
		     struct dms_reason *why)
{
	struct dms_integrity *it = cfg;
	struct dms_crypt *c = cfg;
	int ret, i;

	if (kind == DMS_KIND_CRYPT) {
		if (dms_parse_crypt(s, strlen(s), c, why))
			return -EACCES;
		return dmseal_fingerprint_hex(s, &c->key_hex, &c->key_fp);
	}
	if (dms_parse_integrity(s, strlen(s), it, why))
		return -EACCES;
	for (i = 0; i < DMS_ALG_COUNT; i++) {
		ret = dmseal_fingerprint_hex(s, &it->alg_key[i], &it->alg_fp[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The accepting profile of a parsed target, or -EACCES with the reason. */
static int check_profile(const struct dmseal_sealed *s, const struct dms_tdesc *t,
			 struct dms_reason *why)
{
	if (t->kind == DMS_KIND_CRYPT)
		return dms_check_crypt(&s->policy, t->crypt, why);
	return dms_check_integrity(&s->policy, t->integrity, why);
}

/* Every key of a built target is fingerprinted: a pin needs it. */
static int check_keys(const struct dms_tdesc *t, struct dms_reason *why)
{
	int i;

	if (t->kind == DMS_KIND_CRYPT && t->crypt->key_form != DMS_KEY_EMPTY &&
	    !t->crypt->key_fp.set) {
		snprintf(why->msg, sizeof(why->msg),
			 "the key dm-crypt read could not be fingerprinted (its key setter is not hooked)");
		return -EACCES;
	}
	if (t->kind != DMS_KIND_INTEGRITY)
		return 0;
	for (i = 0; i < DMS_ALG_COUNT; i++) {
		if (!t->integrity->alg_key[i].len || t->integrity->alg_fp[i].set)
			continue;
		snprintf(why->msg, sizeof(why->msg), "%s key not fingerprinted",
			 dms_int_alg_name(i));
		return -EACCES;
	}
	return 0;
}

/*
 * The checks of each crypt and integrity target of a governed table, as
 * built: described, keys fingerprinted, accepted by a profile (recorded in
 * the description for the pin). pins.c adds the stack rule and the pin.
 */
int dmseal_check_governed_table(const struct dmseal_sealed *s,
				struct dmseal_desc *d, struct dms_reason *why)
{
	char msg[DMS_REASON_MAX];
	u32 i;
	int p;

	for (i = 0; i < d->n; i++) {
		if (d->t[i].kind == DMS_KIND_OTHER)
			continue;
		if (!d->info[i].described) {
			snprintf(why->msg, sizeof(why->msg),
				 "%s target at sector %llu: its configuration could not be read back",
				 d->t[i].type, (unsigned long long)d->t[i].start);
			return -EACCES;
		}
		if (check_keys(&d->t[i], why))
			return -EACCES;
		p = check_profile(s, &d->t[i], why);
		if (p < 0) {
			snprintf(msg, sizeof(msg), "as built: %s", why->msg);
			strscpy(why->msg, msg, sizeof(why->msg));
			return -EACCES;
		}
		d->info[i].profile = p;
	}
	return 0;
}

static bool governed_now(struct dmseal_table *tab, const u32 *devs, u32 n)
{
	u32 i;

	if (!tab->sealed)
		return false;
	if (tab->in_scope || dmseal_md_pinned(tab->md))
		return true;
	for (i = 0; i < n; i++)
		if (dmseal_dev_governed(devs[i]))
			return true;
	return false;
}

/* The device's pin and, for crypt under a profile requiring it, the stack. */
static int pin_and_stack(struct dmseal_table *tab, u32 i, int profile,
			 struct dms_reason *why)
{
	const struct dms_tdesc *t = &tab->desc.t[i];

	if (dmseal_pin_compare(tab->md, &tab->desc, i, false, why))
		return -EACCES;
	if (t->kind == DMS_KIND_CRYPT &&
	    tab->sealed->policy.profiles[profile].integrity_required)
		return dmseal_check_stack(t->crypt, why);
	return 0;
}

/* --- before the constructor -------------------------------------------------- */

/* A crypt or integrity target as requested: policy, pin, stack. */
static int requested_checks(struct dmseal_table *tab, u32 i, const char *params,
			    struct dms_reason *why)
{
	struct dms_tdesc *t = &tab->desc.t[i];
	struct dms_integrity *it = tab->desc.info[i].cfg;
	struct dms_crypt *c = tab->desc.info[i].cfg;
	int p, ret;

	ret = parse_cfg(t->kind, params, tab->desc.info[i].cfg, why);
	if (ret)
		return ret;
	p = check_profile(tab->sealed, t, why);
	if (p < 0)
		return -EACCES;
	if (t->kind == DMS_KIND_CRYPT)
		ret = resolve_dev(&c->dev, why);
	else
		ret = resolve_dev(&it->dev, why);
	if (!ret && t->kind == DMS_KIND_INTEGRITY &&
	    (it->flags & DMS_INT_META_DEVICE))
		ret = resolve_dev(&it->meta_dev, why);
	if (ret)
		return ret;
	return pin_and_stack(tab, i, p, why);
}

static int before_ctr(struct dmseal_table *tab, u32 i, const char *params,
		      struct dms_reason *why)
{
	struct dms_tdesc *t = &tab->desc.t[i];

	if (t->kind == DMS_KIND_OTHER) {
		/* their syntax is not ours to parse: pinned by digest */
		sha256(params, strlen(params), t->digest);
		if (tab->sealed && dmseal_pin_compare(tab->md, &tab->desc, i,
						      false, why))
			return -EACCES;
		return 0;
	}
	if (!tab->sealed) {
		snprintf(why->msg, sizeof(why->msg),
			 "no policy sealed yet: crypt and integrity targets are refused until one is");
		return -EACCES;
	}
	if (!governed_now(tab, NULL, 0))
		return 0;
	return requested_checks(tab, i, params, why);
}

/* --- after the constructor ---------------------------------------------------- */

/*
 * The target as built: its status in table form, which names every device
 * by number, spells out every default and reports what dm-integrity took
 * from the superblock. The buffer may hold a key: it is wiped.
 */
static int describe(struct dmseal_table *tab, u32 i, struct dmseal_build *b,
		    size_t plen, struct dms_reason *why)
{
	struct dms_tdesc *t = &tab->desc.t[i];
	struct dmseal_tinfo *info = &tab->desc.info[i];
	size_t cap = plen + 8192;
	void *cfg;
	char *buf;
	int ret;

	if (!b->ti || !b->ti->type || !b->ti->type->status ||
	    strcmp(b->ti->type->name, t->type)) {
		snprintf(why->msg, sizeof(why->msg),
			 "%s target: the constructed target was not seen", t->type);
		return -EACCES;
	}
	cfg = kzalloc(t->kind == DMS_KIND_CRYPT ? sizeof(struct dms_crypt) :
		      sizeof(struct dms_integrity), GFP_KERNEL);
	buf = kvzalloc(cap, GFP_KERNEL);
	ret = -ENOMEM;
	if (!cfg || !buf)
		goto out;
	b->ti->type->status(b->ti, STATUSTYPE_TABLE, 0, buf, cap);
	ret = -EACCES;
	if (strnlen(buf, cap) >= cap - 1) {
		snprintf(why->msg, sizeof(why->msg), "%s target: status too long",
			 t->type);
		goto out;
	}
	ret = parse_cfg(t->kind, buf, cfg, why);
	if (ret)
		goto out;
	/* a keyring key: the bytes dm-crypt copied, seen by its key setter */
	if (t->kind == DMS_KIND_CRYPT && b->key_reads == 1 &&
	    ((struct dms_crypt *)cfg)->key_form != DMS_KEY_HEX)
		((struct dms_crypt *)cfg)->key_fp = b->key_fp;
	swap(info->cfg, cfg);
	dmseal_desc_aim(t, info);
	info->described = true;
out:
	kfree_sensitive(cfg);
	if (buf)
		kvfree_sensitive(buf, cap);
	return ret;
}

static int built_checks(struct dmseal_table *tab, u32 i, struct dms_reason *why)
{
	struct dms_tdesc *t = &tab->desc.t[i];
	int p;

	if (t->kind == DMS_KIND_CRYPT && !dmseal_crypt_hooks_armed()) {
		snprintf(why->msg, sizeof(why->msg),
			 "dm-crypt's key setters and messages are not hooked (%s)",
			 dmseal_crypt_hooks_state());
		return -EACCES;
	}
	if (check_keys(t, why))
		return -EACCES;
	p = check_profile(tab->sealed, t, why);
	if (p < 0)
		return -EACCES;
	tab->desc.info[i].profile = p;
	return pin_and_stack(tab, i, p, why);
}

static int after_ctr(struct dmseal_table *tab, u32 i, struct dmseal_build *b,
		     size_t plen, struct dms_reason *why)
{
	struct dms_tdesc *t = &tab->desc.t[i];
	bool governed;
	int ret;

	/* the devices stay with the description */
	tab->desc.info[i].devs = b->devs;
	t->devs = b->devs;
	t->n_devs = b->n_devs;
	b->devs = NULL;
	if (t->kind == DMS_KIND_OTHER)
		return 0;
	if (b->key_reads > 1) {
		snprintf(why->msg, sizeof(why->msg),
			 "dm-crypt read %d keys for one target", b->key_reads);
		return -EACCES;
	}
	governed = governed_now(tab, t->devs, t->n_devs);
	ret = describe(tab, i, b, plen, why);
	/* a target nobody governs may stay undescribed, until it is governed */
	if (ret == -EACCES && !governed)
		return 0;
	if (ret || !governed)
		return ret;
	ret = built_checks(tab, i, why);
	if (!ret)
		atomic64_inc(&dmseal_stats.allowed);
	return ret;
}

/* --- the wrappers ------------------------------------------------------------- */

static int dmseal_add_target(struct dm_table *t, const char *type,
			     sector_t start, sector_t len, char *params)
{
	struct dms_reason why = { "" };
	struct dmseal_table *tab;
	struct dmseal_build b;
	size_t plen;
	int ret;
	u32 i;

	type = type ? type : "";
	params = params ? params : "";
	tab = dmseal_table_find(t);
	if (!tab)
		tab = table_begin(t);
	ret = -ENOMEM;
	if (!tab)
		goto out;
	if (dmseal_desc_add(&tab->desc, type, start, len))
		goto fail;
	i = tab->desc.n - 1;
	ret = before_ctr(tab, i, params, &why);
	if (ret)
		goto fail;
	/* dm splits params in place: what we read, we read before */
	plen = strlen(params);
	dmseal_build_begin(&b, tab->sealed, type);
	ret = (int)dmseal_hook_call(&add_target_hook, t, type, start, len, params);
	dmseal_build_end(&b);
	/* a device a hook refused fails the target, whatever its constructor did */
	if (b.denied) {
		ret = b.denied;
		why = b.why;
	}
	if (!ret)
		ret = after_ctr(tab, i, &b, plen, &why);
	kfree(b.devs);
	memzero_explicit(&b.key_fp, sizeof(b.key_fp));
	if (!ret)
		goto out;
fail:
	if (ret == -EACCES) {
		table_deny(tab, type, start, len, &why);
	} else {
		tab->failed = true;
		snprintf(tab->failed_why.msg, sizeof(tab->failed_why.msg),
			 "%s target at sector %llu failed (%d)", type,
			 (unsigned long long)start, ret);
	}
out:
	dmseal_hook_done();
	return ret;
}

/* The whole table, before dm finishes it: a table that cannot go live fails. */
static int table_checks(struct dmseal_table *tab, struct dms_reason *why)
{
	bool governed, pinned = dmseal_md_pinned(tab->md);
	int ret;

	ret = dmseal_table_rules(tab->sealed, &tab->desc, pinned, tab->in_scope,
				 &governed, why);
	if (ret || !governed)
		return ret;
	ret = dmseal_check_governed_table(tab->sealed, &tab->desc, why);
	if (!ret && pinned)
		ret = dmseal_pin_compare(tab->md, &tab->desc, 0, true, why);
	return ret;
}

static int dmseal_table_complete(struct dm_table *t)
{
	struct dms_reason why = { "" };
	struct dmseal_table *tab;
	int ret;

	tab = dmseal_table_find(t);
	if (tab && !tab->failed && tab->sealed && table_checks(tab, &why)) {
		ret = table_deny(tab, "table", 0, 0, &why);
		goto out;
	}
	ret = (int)dmseal_hook_call(&complete_hook, t, 0, 0, 0, 0);
out:
	dmseal_hook_done();
	return ret;
}

/* Every table is destroyed in the end: its record goes with it. */
static void dmseal_table_destroy(struct dm_table *t)
{
	struct dmseal_table *tab;

	mutex_lock(&tables_lock);
	tab = find_locked(t);
	if (tab)
		list_del(&tab->node);
	mutex_unlock(&tables_lock);
	if (tab)
		table_free(tab);
	dmseal_hook_call(&table_destroy_hook, t, 0, 0, 0, 0);
	dmseal_hook_done();
}

/* --- setup -------------------------------------------------------------------- */

/* Destroy first, load last: never track what could not be forgotten. */
static struct dmseal_hook *const table_hooks[] = {
	&table_destroy_hook,
	&complete_hook,
	&add_target_hook,
};

int dmseal_tables_init(void)
{
	return dmseal_hooks_arm(table_hooks, ARRAY_SIZE(table_hooks));
}

void dmseal_tables_exit(void)
{
	dmseal_hooks_disarm(table_hooks, ARRAY_SIZE(table_hooks));
}

/* After dmseal_hooks_quiesce(): no wrapper runs any more. */
void dmseal_tables_free(void)
{
	struct dmseal_table *tab, *tmp;

	list_for_each_entry_safe(tab, tmp, &tables, node) {
		list_del(&tab->node);
		table_free(tab);
	}
}
