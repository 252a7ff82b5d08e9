// SPDX-License-Identifier: GPL-2.0-only
/*
 * Enforcement at table load.
 *
 * device-mapper builds every table, whatever the caller (dm-ioctl, dm-init),
 * target by target through dm_table_add_target(), before the target's
 * constructor sees its parameters; dm_table_complete() then finishes the
 * table. Both are redirected here (see redirect.c):
 *
 *  - each crypt / integrity target is parsed by the shared core and checked
 *    against the sealed policy, the stack rule and the device's pins;
 *  - every target of a governed table is tracked, so a governed table cannot
 *    carry target types the policy does not list, in any order;
 *  - the accepted targets' pins become live only once the whole table built.
 *
 * dm_table_destroy() is redirected to forget a table that did not build, and
 * dm_destroy() / dm_destroy_immediate() to drop the pins of a device that
 * goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <crypto/sha2.h>

#include "dmseal.h"

/* A target of another type seen before the table became governed. */
struct dmseal_other {
	struct list_head node;
	char type[DMS_TARGET_NAME_MAX];
	sector_t start;
	sector_t len;
	u8 digest[DMSEAL_DIGEST_LEN];
};

/* What dmseal remembers about one table while device-mapper builds it. */
struct dmseal_table {
	struct list_head node;
	struct dm_table *t;
	struct task_struct *task;	/* tables are built by one ioctl */
	struct mapped_device *md;
	dev_t devt;
	bool busy;			/* a wrapper is using it */
	bool governed;
	struct list_head others;	/* struct dmseal_other, until governed */
	struct list_head pending;	/* pins of accepted targets */
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
};

/*
 * A table whose build failed half-way never reaches dm_table_complete(); its
 * record goes when dm_table_destroy() frees the table.
 */
static DEFINE_MUTEX(tables_lock);
static LIST_HEAD(tables);

static int dmseal_add_target(struct dm_table *t, const char *type,
			     sector_t start, sector_t len, char *params);
static int dmseal_table_complete(struct dm_table *t);
static void dmseal_table_destroy(struct dm_table *t);
static void dmseal_destroy(struct mapped_device *md);
static void dmseal_destroy_immediate(struct mapped_device *md);

static struct dmseal_redirect add_target_redirect = {
	.symbol = "dm_mod:dm_table_add_target",
	.wrapper = dmseal_add_target,
};

static struct dmseal_redirect complete_redirect = {
	.symbol = "dm_mod:dm_table_complete",
	.wrapper = dmseal_table_complete,
};

static struct dmseal_redirect table_destroy_redirect = {
	.symbol = "dm_mod:dm_table_destroy",
	.wrapper = dmseal_table_destroy,
};

static struct dmseal_redirect destroy_redirect = {
	.symbol = "dm_mod:dm_destroy",
	.wrapper = dmseal_destroy,
};

static struct dmseal_redirect destroy_immediate_redirect = {
	.symbol = "dm_mod:dm_destroy_immediate",
	.wrapper = dmseal_destroy_immediate,
};

/* --- table records ---------------------------------------------------------- */

static void table_free(struct dmseal_table *tab)
{
	struct dmseal_other *o, *tmp;

	list_for_each_entry_safe(o, tmp, &tab->others, node)
		kfree(o);
	dmseal_pins_discard(&tab->pending);
	kfree(tab);
}

/* Drop the records of @t (a reused address) and this task's abandoned ones. */
static void tables_prune(struct dm_table *t, struct list_head *gone)
{
	struct dmseal_table *tab, *tmp;

	lockdep_assert_held(&tables_lock);
	list_for_each_entry_safe(tab, tmp, &tables, node)
		if (!tab->busy && (tab->task == current || tab->t == t))
			list_move(&tab->node, gone);
}

/* Unlink the record of @t, whoever built it; NULL if there is none. */
static struct dmseal_table *table_take_any(struct dm_table *t)
{
	struct dmseal_table *tab, *found = NULL;

	mutex_lock(&tables_lock);
	list_for_each_entry(tab, &tables, node) {
		if (tab->t == t) {
			found = tab;
			list_del(&tab->node);
			break;
		}
	}
	mutex_unlock(&tables_lock);
	return found;
}

static struct dmseal_table *table_begin(struct dm_table *t)
{
	struct dmseal_table *tab, *old, *tmp;
	LIST_HEAD(gone);

	tab = kzalloc(sizeof(*tab), GFP_KERNEL);
	if (!tab)
		return NULL;
	tab->t = t;
	tab->task = current;
	tab->md = dm_table_get_md(t);
	tab->devt = disk_devt(dm_disk(tab->md));
	tab->busy = true;
	INIT_LIST_HEAD(&tab->others);
	INIT_LIST_HEAD(&tab->pending);
	dmseal_md_names(tab->md, tab->name, tab->uuid);

	mutex_lock(&tables_lock);
	tables_prune(t, &gone);
	list_add_tail(&tab->node, &tables);
	mutex_unlock(&tables_lock);

	list_for_each_entry_safe(old, tmp, &gone, node)
		table_free(old);
	return tab;
}

/* The record of the table this task is building, marked busy; or NULL. */
static struct dmseal_table *table_get(struct dm_table *t, bool take)
{
	struct dmseal_table *tab, *found = NULL;

	mutex_lock(&tables_lock);
	list_for_each_entry(tab, &tables, node) {
		if (tab->t != t || tab->task != current)
			continue;
		found = tab;
		if (take)
			list_del(&tab->node);
		else
			tab->busy = true;
		break;
	}
	mutex_unlock(&tables_lock);
	return found;
}

static void table_put(struct dmseal_table *tab)
{
	mutex_lock(&tables_lock);
	tab->busy = false;
	mutex_unlock(&tables_lock);
}

/* --- denials ------------------------------------------------------------------ */

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

void dmseal_deny(const struct dmseal_target_info *info)
{
	atomic64_inc(&dmseal_stats.denied);
	/* Names, numbers and the rule only: the key never reaches a log. */
	pr_warn_ratelimited("denied %s target at sector %llu of %s (%u:%u): %s\n",
			    info->type, (unsigned long long)info->start,
			    info->name && *info->name ? info->name : "<unnamed>",
			    MAJOR(info->devt), MINOR(info->devt), info->reason);
	dmseal_notify(DMSEAL_CMD_EVENT_DENY, info, GFP_KERNEL);
}

static int table_deny(const struct dmseal_table *tab, const char *type,
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

	dmseal_deny(&info);
	return -EACCES;
}

/* --- decisions ------------------------------------------------------------------- */

static int resolve_dev(struct dms_devref *d, dev_t *devt, struct dms_reason *why)
{
	int ret;

	if (d->resolved) {
		*devt = MKDEV(d->major, d->minor);
		if (MAJOR(*devt) == d->major && MINOR(*devt) == d->minor)
			return 0;
		snprintf(why->msg, sizeof(why->msg), "device %u:%u out of range",
			 d->major, d->minor);
		return -EACCES;
	}
	ret = lookup_bdev(d->path, devt);
	if (ret) {
		snprintf(why->msg, sizeof(why->msg),
			 "device '%s' not found (%d)", d->path, ret);
		return -EACCES;
	}
	d->major = MAJOR(*devt);
	d->minor = MINOR(*devt);
	d->resolved = true;
	return 0;
}

static int decide_crypt(const struct dms_policy *pol, struct dmseal_pin *pin,
			const char *params, struct dms_reason *why)
{
	struct dms_crypt *c = &pin->crypt;
	int ret;

	pin->kind = DMSEAL_PIN_CRYPT;
	ret = dms_parse_crypt(params, strnlen(params, DMS_PARAMS_MAX + 1), c,
			      why);
	if (ret)
		return -EACCES;
	pin->profile = dms_check_crypt(pol, c, why);
	if (pin->profile < 0)
		return -EACCES;
	ret = resolve_dev(&c->dev, &pin->backing, why);
	if (ret)
		return ret;
	/* Integrity must come from a dm-integrity device we accepted. */
	if (pol->profiles[pin->profile].integrity_required &&
	    !dmseal_pin_is_integrity(pin->backing, c->integrity_bytes, why))
		return -EACCES;
	dms_crypt_summary(c, pin->summary, sizeof(pin->summary));
	return 0;
}

static int decide_integrity(const struct dms_policy *pol,
			    struct dmseal_pin *pin, const char *params,
			    struct dms_reason *why)
{
	struct dms_integrity *it = &pin->integrity;
	dev_t meta;
	int ret;

	pin->kind = DMSEAL_PIN_INTEGRITY;
	ret = dms_parse_integrity(params, strnlen(params, DMS_PARAMS_MAX + 1),
				  it, why);
	if (ret)
		return -EACCES;
	pin->profile = dms_check_integrity(pol, it, why);
	if (pin->profile < 0)
		return -EACCES;
	ret = resolve_dev(&it->dev, &pin->backing, why);
	if (!ret && (it->flags & DMS_INT_META_DEVICE))
		ret = resolve_dev(&it->meta_dev, &meta, why);
	if (ret)
		return ret;
	dms_integrity_summary(it, pin->summary, sizeof(pin->summary));
	return 0;
}

/* Other types are pinned by digest: their syntax is not ours to parse. */
static void other_digest(const char *params, u8 digest[DMSEAL_DIGEST_LEN])
{
	sha256(params, strlen(params), digest);
}

static void other_summary(struct dmseal_pin *pin)
{
	snprintf(pin->summary, sizeof(pin->summary), "%s params sha256:%*phN",
		 pin->type, 8, pin->params_digest);
}

static int other_refused(const char *type, sector_t start,
			 struct dms_reason *why)
{
	snprintf(why->msg, sizeof(why->msg),
		 "target type '%s' at sector %llu is not allowed on a governed device",
		 type, (unsigned long long)start);
	return -EACCES;
}

static int decide_other(const struct dms_policy *pol, struct dmseal_pin *pin,
			const char *params, struct dms_reason *why)
{
	pin->kind = DMSEAL_PIN_OTHER;
	pin->profile = -1;
	if (!dms_other_target_allowed(pol, pin->type))
		return other_refused(pin->type, pin->start, why);
	other_digest(params, pin->params_digest);
	other_summary(pin);
	return 0;
}

static bool is_governed_type(const char *type)
{
	return !strcmp(type, "crypt") || !strcmp(type, "integrity");
}

static struct dmseal_pin *pin_new(const struct dmseal_table *tab,
				  const char *type, sector_t start,
				  sector_t len)
{
	struct dmseal_pin *pin = dmseal_pin_alloc();

	if (!pin)
		return NULL;
	pin->md = tab->md;
	pin->devt = tab->devt;
	pin->start = start;
	pin->len = len;
	strscpy(pin->type, type, sizeof(pin->type));
	strscpy(pin->name, tab->name, sizeof(pin->name));
	strscpy(pin->uuid, tab->uuid, sizeof(pin->uuid));
	return pin;
}

/* Remember a target of another type while the table is not governed yet. */
static int other_remember(struct dmseal_table *tab, const char *type,
			  sector_t start, sector_t len, const char *params)
{
	struct dmseal_other *o = kzalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return -ENOMEM;
	strscpy(o->type, type, sizeof(o->type));
	o->start = start;
	o->len = len;
	other_digest(params, o->digest);
	list_add_tail(&o->node, &tab->others);
	return 0;
}

/*
 * The table just became governed: every target of another type it holds
 * must be one the policy lists, and is pinned like the ones that follow.
 */
static int others_adopt(struct dmseal_table *tab, const struct dms_policy *pol,
			struct dms_reason *why)
{
	struct dmseal_other *o, *tmp;
	struct dmseal_pin *pin;

	list_for_each_entry(o, &tab->others, node)
		if (!dms_other_target_allowed(pol, o->type))
			return other_refused(o->type, o->start, why);
	list_for_each_entry_safe(o, tmp, &tab->others, node) {
		pin = pin_new(tab, o->type, o->start, o->len);
		if (!pin)
			return -ENOMEM;
		pin->kind = DMSEAL_PIN_OTHER;
		pin->profile = -1;
		memcpy(pin->params_digest, o->digest, DMSEAL_DIGEST_LEN);
		other_summary(pin);
		list_add_tail(&pin->pending, &tab->pending);
		list_del(&o->node);
		kfree(o);
	}
	return 0;
}

/*
 * Whether the target may load; on yes, *@out is its pin (or NULL when the
 * target is not governed). -EACCES with @why otherwise, -ENOMEM.
 */
static int decide(struct dmseal_table *tab, const char *type, sector_t start,
		  sector_t len, const char *params, struct dmseal_pin **out,
		  struct dms_reason *why)
{
	const struct dmseal_sealed *s = dmseal_sealed_get();
	bool pinned = dmseal_device_pinned(tab->md, 0, NULL);
	bool ours = is_governed_type(type);
	struct dmseal_pin *pin;
	int ret;

	*out = NULL;
	if (!ours && !pinned && !tab->governed)
		/* Fine unless a governed target joins this table later. */
		return s ? other_remember(tab, type, start, len, params) : 0;
	if (!s) {
		snprintf(why->msg, sizeof(why->msg),
			 "no policy sealed yet: crypt and integrity targets are refused until one is");
		return -EACCES;
	}
	if (ours && !pinned && !dms_scope_match(&s->policy, tab->name, tab->uuid))
		return 0;
	if (!tab->governed) {
		tab->governed = true;
		ret = others_adopt(tab, &s->policy, why);
		if (ret)
			return ret;
	}

	pin = pin_new(tab, type, start, len);
	if (!pin)
		return -ENOMEM;
	if (!strcmp(type, "crypt"))
		ret = decide_crypt(&s->policy, pin, params, why);
	else if (!strcmp(type, "integrity"))
		ret = decide_integrity(&s->policy, pin, params, why);
	else
		ret = decide_other(&s->policy, pin, params, why);
	if (!ret)
		ret = dmseal_pin_check(pin, why);
	if (ret) {
		dmseal_pin_free(pin);
		return ret;
	}
	*out = pin;
	return 0;
}

/* --- the wrappers --------------------------------------------------------------- */

static int dmseal_add_target(struct dm_table *t, const char *type,
			     sector_t start, sector_t len, char *params)
{
	struct dms_reason why = { "" };
	struct dmseal_pin *pin = NULL;
	struct dmseal_passing pass;
	struct dmseal_table *tab;
	int ret;

	/* Targets come in order and the first one starts at sector 0. */
	tab = start ? table_get(t, false) : table_begin(t);
	if (!tab) {
		ret = start ? -EACCES : -ENOMEM;
		if (start)
			pr_warn_ratelimited("denied %s target at sector %llu: its table is not tracked\n",
					    type, (unsigned long long)start);
		goto out;
	}
	ret = decide(tab, type ? type : "", start, len, params ? params : "",
		     &pin, &why);
	if (ret == -EACCES)
		ret = table_deny(tab, type, start, len, &why);
	if (ret)
		goto put;

	dmseal_pass_begin(&pass, &add_target_redirect);
	ret = (int)dmseal_enter((unsigned long)t, (unsigned long)type, start,
				len, (unsigned long)params,
				add_target_redirect.func);
	dmseal_pass_end(&pass);
	if (!ret && pin) {
		atomic64_inc(&dmseal_stats.allowed);
		list_add_tail(&pin->pending, &tab->pending);
		pin = NULL;
	}
put:
	table_put(tab);
	dmseal_pin_free(pin);
out:
	dmseal_redirect_done();
	return ret;
}

static int dmseal_table_complete(struct dm_table *t)
{
	struct dmseal_passing pass;
	struct dmseal_table *tab;
	int ret;

	tab = table_get(t, true);
	dmseal_pass_begin(&pass, &complete_redirect);
	ret = (int)dmseal_enter((unsigned long)t, 0, 0, 0, 0,
				complete_redirect.func);
	dmseal_pass_end(&pass);
	if (tab) {
		if (!ret)
			dmseal_pins_commit(tab->md, &tab->pending);
		table_free(tab);
	}
	dmseal_redirect_done();
	return ret;
}

/* Every table is destroyed in the end; one that never completed, early. */
static void dmseal_table_destroy(struct dm_table *t)
{
	struct dmseal_passing pass;
	struct dmseal_table *tab;

	tab = table_take_any(t);
	if (tab)
		table_free(tab);
	dmseal_pass_begin(&pass, &table_destroy_redirect);
	dmseal_enter((unsigned long)t, 0, 0, 0, 0, table_destroy_redirect.func);
	dmseal_pass_end(&pass);
	dmseal_redirect_done();
}

/*
 * Unpin before the device goes: by now it left dm's name hash, so no new
 * table load can find it, and a freed md's address cannot be reused yet.
 */
static void destroy_call(struct dmseal_redirect *r, struct mapped_device *md)
{
	struct dmseal_passing pass;

	dmseal_unpin_device(md);
	dmseal_pass_begin(&pass, r);
	dmseal_enter((unsigned long)md, 0, 0, 0, 0, r->func);
	dmseal_pass_end(&pass);
	dmseal_redirect_done();
}

static void dmseal_destroy(struct mapped_device *md)
{
	destroy_call(&destroy_redirect, md);
}

static void dmseal_destroy_immediate(struct mapped_device *md)
{
	destroy_call(&destroy_immediate_redirect, md);
}

/* --- setup ------------------------------------------------------------------------ */

/* Unpin hooks first, the load hook last: never enforce what we cannot undo. */
static struct dmseal_redirect *const hook_redirects[] = {
	&destroy_redirect,
	&destroy_immediate_redirect,
	&table_destroy_redirect,
	&complete_redirect,
	&add_target_redirect,
};

int __init dmseal_hook_init(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(hook_redirects); i++) {
		ret = dmseal_redirect_arm(hook_redirects[i]);
		if (ret) {
			pr_err("cannot probe %s: %d\n", hook_redirects[i]->symbol,
			       ret);
			goto err;
		}
	}
	return 0;
err:
	while (--i >= 0)
		dmseal_redirect_disarm(hook_redirects[i]);
	dmseal_redirect_quiesce();
	return ret;
}

void dmseal_hook_exit(void)
{
	struct dmseal_table *tab, *tmp;
	int i;

	for (i = ARRAY_SIZE(hook_redirects) - 1; i >= 0; i--)
		dmseal_redirect_disarm(hook_redirects[i]);
	list_for_each_entry_safe(tab, tmp, &tables, node) {
		list_del(&tab->node);
		table_free(tab);
	}
}
