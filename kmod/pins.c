// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pins: what is live on the devices dmseal governs, so that it stays so.
 *
 * A device's pin is one object describing its whole live table: every
 * target's start, type and length, its configuration as the constructed
 * target reports it, fingerprints of its keys, and the devices it opened.
 *
 * What is pinned is what is live. dm_swap_table() is the one place where an
 * inactive table becomes a device's live table (on resume); its wrapper
 * checks the table against the policy and against the device's pin, swaps
 * it in and replaces the pin, all under pins_mutex. A table that was loaded
 * and dropped never pins anything, and a table built while the device was
 * unpinned is checked against the pin the device has when it goes live.
 *
 * Removing a device drops its pin (dm_destroy, dm_destroy_immediate). Table
 * loads read pins for early refusals, under pins_lock, without sleeping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <net/genetlink.h>

#include "dmseal.h"

struct dmseal_dev {
	struct list_head node;
	u64 id;				/* dumps resume by id */
	const struct mapped_device *md;	/* identity only, never dereferenced */
	dev_t devt;
	char name[DM_NAME_LEN];		/* as of the last table swap */
	char uuid[DM_UUID_LEN];
	struct dmseal_desc desc;
};

/* Check, swap and commit as one step; and unpin. Writers hold both locks. */
static DEFINE_MUTEX(pins_mutex);
static DEFINE_SPINLOCK(pins_lock);
static LIST_HEAD(pinned);		/* in id order */
static u64 pins_next_id = 1;

static struct dm_table *dmseal_swap_table(struct mapped_device *md,
					  struct dm_table *t);
static void dmseal_destroy(struct mapped_device *md);
static void dmseal_destroy_immediate(struct mapped_device *md);

static struct dmseal_hook swap_hook = {
	.symbol = "dm_mod:dm_swap_table",
	.wrapper = dmseal_swap_table,
};

static struct dmseal_hook destroy_hook = {
	.symbol = "dm_mod:dm_destroy",
	.wrapper = dmseal_destroy,
};

static struct dmseal_hook destroy_immediate_hook = {
	.symbol = "dm_mod:dm_destroy_immediate",
	.wrapper = dmseal_destroy_immediate,
};

static void pins_assert_held(void)
{
	lockdep_assert(lockdep_is_held(&pins_lock) ||
		       lockdep_is_held(&pins_mutex));
}

static struct dmseal_dev *find_md(const struct mapped_device *md)
{
	struct dmseal_dev *d;

	pins_assert_held();
	list_for_each_entry(d, &pinned, node)
		if (d->md == md)
			return d;
	return NULL;
}

static struct dmseal_dev *find_devt(dev_t devt)
{
	struct dmseal_dev *d;

	pins_assert_held();
	list_for_each_entry(d, &pinned, node)
		if (d->devt == devt)
			return d;
	return NULL;
}

/* --- lookups for the checks made while a table is built ------------------ */

bool dmseal_dev_governed(dev_t devt)
{
	bool ret;

	spin_lock(&pins_lock);
	ret = find_devt(devt);
	spin_unlock(&pins_lock);
	return ret;
}

bool dmseal_md_pinned(const struct mapped_device *md)
{
	bool ret;

	spin_lock(&pins_lock);
	ret = find_md(md);
	spin_unlock(&pins_lock);
	return ret;
}

/* For dms_check_table(); the caller holds pins_lock or pins_mutex. */
bool dmseal_governed_fn(u32 dev, void *arg)
{
	return find_devt((dev_t)dev);
}

/* dms_check_table() against the pins of this moment. */
int dmseal_table_rules(const struct dmseal_sealed *s, const struct dmseal_desc *d,
		       bool pinned, bool in_scope, bool *governed,
		       struct dms_reason *why)
{
	int ret;

	spin_lock(&pins_lock);
	ret = dms_check_table(&s->policy, d->t, d->n, pinned, in_scope,
			      dmseal_governed_fn, NULL, governed, why);
	spin_unlock(&pins_lock);
	return ret;
}

/*
 * One target of a table being built against the pinned target @i of its
 * device, with dms_cmp_* mode @how. Only the whole table can tell whether
 * the target is the last one (whose length may change): that waits for
 * dmseal_pin_compare() with @whole.
 */
static int compare_one(const struct dmseal_dev *pin, const struct dms_tdesc *w,
		       u32 i, unsigned int how, struct dms_reason *why)
{
	const struct dms_tdesc *h;

	if (i >= pin->desc.n) {
		snprintf(why->msg, sizeof(why->msg),
			 "pinned layout has %u target(s), the new table more",
			 pin->desc.n);
		return -EACCES;
	}
	h = &pin->desc.t[i];
	if (h->start != w->start || h->kind != w->kind ||
	    strncmp(h->type, w->type, sizeof(h->type)) ||
	    (h->len != w->len && i + 1 < pin->desc.n)) {
		snprintf(why->msg, sizeof(why->msg),
			 "pinned layout: target %u '%.15s' at sector %llu (%llu sectors) replaced by '%.15s' at sector %llu (%llu sectors)",
			 i, h->type, (unsigned long long)h->start,
			 (unsigned long long)h->len, w->type,
			 (unsigned long long)w->start, (unsigned long long)w->len);
		return -EACCES;
	}
	if (h->kind == DMS_KIND_CRYPT &&
	    dms_cmp_crypt(h->crypt, w->crypt, how, why))
		return -EACCES;
	if (h->kind == DMS_KIND_INTEGRITY &&
	    dms_cmp_integrity(h->integrity, w->integrity, how, why))
		return -EACCES;
	return 0;
}

/*
 * Early refusal while a table is built for @md: target @i of @d (with
 * @whole: the whole table) against the device's pin, if it has one.
 */
int dmseal_pin_compare(const struct mapped_device *md, const struct dmseal_desc *d,
		       u32 i, bool whole, struct dms_reason *why)
{
	const unsigned int how = DMS_CMP_EFFECTIVE | DMS_CMP_KEYS;
	struct dmseal_dev *pin;
	int ret = 0;

	spin_lock(&pins_lock);
	pin = find_md(md);
	if (pin && whole && dms_cmp_table(pin->desc.t, pin->desc.n, d->t, d->n, why))
		ret = -EACCES;
	else if (pin && !whole)
		ret = compare_one(pin, &d->t[i], i,
				  d->info[i].described ? how : 0, why);
	spin_unlock(&pins_lock);
	return ret;
}

/*
 * The stack rule (dms_check_stack): the backing device of @c is governed and
 * all of it is dm-integrity with tags of the size @c writes.
 */
static int check_stack_locked(const struct dms_crypt *c, struct dms_reason *why)
{
	const struct dmseal_dev *below;
	const struct dms_integrity *it = NULL;
	u32 i;

	below = c->dev.resolved ? find_devt(MKDEV(c->dev.major, c->dev.minor)) :
		NULL;
	for (i = 0; below && i < below->desc.n; i++) {
		if (below->desc.t[i].kind != DMS_KIND_INTEGRITY) {
			it = NULL;
			break;
		}
		/* the first target with tags of another size, if any, decides */
		if (!it || it->tag_size == c->integrity_bytes)
			it = below->desc.t[i].integrity;
	}
	return dms_check_stack(c, it, why);
}

int dmseal_check_stack(const struct dms_crypt *c, struct dms_reason *why)
{
	int ret;

	spin_lock(&pins_lock);
	ret = check_stack_locked(c, why);
	spin_unlock(&pins_lock);
	return ret;
}

/* For the key messages: is @md pinned, and does its profile allow key wipe? */
bool dmseal_key_wipe_allowed(const struct mapped_device *md, sector_t start,
			     bool *is_pinned)
{
	const struct dms_profile *pr = NULL;
	const struct dmseal_dev *pin;
	u32 i;

	spin_lock(&pins_lock);
	pin = find_md(md);
	*is_pinned = pin;
	for (i = 0; pin && i < pin->desc.n; i++)
		if (pin->desc.t[i].start == start &&
		    pin->desc.t[i].kind == DMS_KIND_CRYPT)
			pr = dmseal_profile(pin->desc.info[i].profile);
	spin_unlock(&pins_lock);
	return pr && pr->allow_key_wipe;
}

/* --- events ------------------------------------------------------------------- */

static void pin_info(const struct dmseal_dev *d, u32 i,
		     struct dmseal_target_info *info, char *summary,
		     char *opens)
{
	const struct dms_profile *pr = dmseal_profile(d->desc.info[i].profile);

	memset(info, 0, sizeof(*info));
	dmseal_desc_summary(&d->desc, i, summary, DMS_SUMMARY_MAX);
	dmseal_desc_opens(&d->desc, i, opens, DMS_SUMMARY_MAX);
	info->devt = d->devt;
	info->name = d->name;
	info->uuid = d->uuid;
	info->type = d->desc.t[i].type;
	info->start = d->desc.t[i].start;
	info->len = d->desc.t[i].len;
	info->summary = summary;
	info->opens = opens;
	info->profile = pr ? pr->name : NULL;
	info->backing = dmseal_desc_backing(&d->desc, i);
}

static void notify_all(u8 cmd, const struct dmseal_dev *d)
{
	struct dmseal_target_info info;
	char *summary, *opens;
	u32 i;

	summary = kmalloc(2 * DMS_SUMMARY_MAX, GFP_KERNEL);
	if (!summary)
		return;
	opens = summary + DMS_SUMMARY_MAX;
	for (i = 0; i < d->desc.n; i++) {
		pin_info(d, i, &info, summary, opens);
		dmseal_notify(cmd, &info, GFP_KERNEL);
	}
	kfree(summary);
}

static void dev_free(struct dmseal_dev *d)
{
	if (!d)
		return;
	dmseal_desc_free(&d->desc);
	kfree(d);
}

/* --- the swap: where a table goes live ------------------------------------------ */

static int deny_swap(struct mapped_device *md, const char *name,
		     const char *uuid, const struct dms_reason *why)
{
	struct dmseal_target_info info = {
		.devt = disk_devt(dm_disk(md)),
		.name = name,
		.uuid = uuid,
		.type = "table",
		.reason = why->msg,
	};

	dmseal_deny(&info);
	return -EACCES;
}

/*
 * Everything a governed table must satisfy to go live, read from the
 * current pins: each crypt and integrity target accepted by a profile as
 * constructed, with its keys fingerprinted; the stack rule; the pin of the
 * device itself. Sets the accepting profiles in @d.
 */
static int check_governed_locked(const struct dmseal_sealed *s,
				 struct dmseal_desc *d, struct dms_reason *why)
{
	int ret;
	u32 i;

	ret = dmseal_check_governed_table(s, d, why);
	if (ret)
		return ret;
	for (i = 0; i < d->n; i++) {
		const struct dms_profile *pr = dmseal_profile(d->info[i].profile);

		if (d->t[i].kind == DMS_KIND_CRYPT && pr &&
		    pr->integrity_required &&
		    check_stack_locked(d->t[i].crypt, why))
			return -EACCES;
	}
	return 0;
}

struct swap_ctx {
	const struct dmseal_sealed *sealed;
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	bool hashed;			/* still in dm's name hash */
	struct dmseal_dev *next;	/* the new pin, made before the swap */
};

static int swap_check_locked(struct mapped_device *md, struct dmseal_table *tab,
			     struct swap_ctx *c, struct dms_reason *why)
{
	const struct dmseal_dev *pin = find_md(md);
	struct dmseal_desc *d;
	bool governed, in_scope;

	u32 i;

	if (!tab) {
		snprintf(why->msg, sizeof(why->msg),
			 "a table dmseal did not see being built (loaded before dmseal was)");
		return -EACCES;
	}
	if (!dmseal_table_usable(tab, why))
		return -EACCES;
	d = (struct dmseal_desc *)dmseal_table_desc(tab);
	/* nothing is pinned before a seal, and no crypt or integrity loads */
	if (!c->sealed) {
		for (i = 0; i < d->n; i++) {
			if (d->t[i].kind == DMS_KIND_OTHER)
				continue;
			snprintf(why->msg, sizeof(why->msg),
				 "no policy sealed yet: crypt and integrity targets are refused until one is");
			return -EACCES;
		}
		return 0;
	}
	in_scope = dmseal_table_in_scope(tab) ||
		   dms_scope_match(&c->sealed->policy, c->name, c->uuid);
	if (dms_check_table(&c->sealed->policy, d->t, d->n, pin, in_scope,
			    dmseal_governed_fn, NULL, &governed, why))
		return -EACCES;
	if (!governed)
		return 0;
	if (check_governed_locked(c->sealed, d, why))
		return -EACCES;
	if (pin && dms_cmp_table(pin->desc.t, pin->desc.n, d->t, d->n, why))
		return -EACCES;
	/* a device on its way out of dm's hash is never pinned again */
	if (!c->hashed)
		return 0;
	c->next = kzalloc(sizeof(*c->next), GFP_KERNEL);
	if (!c->next || dmseal_desc_copy(&c->next->desc, d)) {
		kfree(c->next);
		c->next = NULL;
		return -ENOMEM;
	}
	c->next->md = md;
	c->next->devt = disk_devt(dm_disk(md));
	strscpy(c->next->name, c->name, sizeof(c->next->name));
	strscpy(c->next->uuid, c->uuid, sizeof(c->next->uuid));
	return 0;
}

/* The table went live: its description replaces the device's pin. */
static struct dmseal_dev *commit_locked(struct mapped_device *md,
					struct dmseal_dev *next)
{
	struct dmseal_dev *old;

	spin_lock(&pins_lock);
	old = find_md(md);
	if (old) {
		list_del(&old->node);
		atomic_sub(old->desc.n, &dmseal_stats.pins);
	}
	if (next) {
		next->id = pins_next_id++;
		list_add_tail(&next->node, &pinned);
		atomic_add(next->desc.n, &dmseal_stats.pins);
	}
	spin_unlock(&pins_lock);
	return old;
}

static struct dm_table *dmseal_swap_table(struct mapped_device *md,
					  struct dm_table *t)
{
	struct dmseal_table *tab = dmseal_table_find(t);
	struct dms_reason why = { "" };
	struct dmseal_dev *old = NULL;
	struct dm_table *live;
	struct swap_ctx *c;
	int ret;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		live = ERR_PTR(-ENOMEM);
		goto out;
	}
	mutex_lock(&pins_mutex);
	c->sealed = dmseal_sealed_get();
	c->hashed = dmseal_md_names(md, c->name, c->uuid);
	ret = swap_check_locked(md, tab, c, &why);
	if (ret) {
		live = ERR_PTR(ret == -EACCES ? deny_swap(md, c->name, c->uuid, &why) :
			       ret);
		goto unlock;
	}
	live = (struct dm_table *)dmseal_hook_call(&swap_hook, md, t, 0, 0, 0);
	if (IS_ERR(live))
		goto unlock;
	/* governed and live: pinned; otherwise the device had no pin */
	old = commit_locked(md, c->next);
	if (c->next)
		notify_all(DMSEAL_CMD_EVENT_PIN, c->next);
	c->next = NULL;
unlock:
	mutex_unlock(&pins_mutex);
	dev_free(c->next);
	dev_free(old);
	kfree(c);
out:
	dmseal_hook_done();
	return live;
}

/* --- removal ---------------------------------------------------------------------- */

/*
 * Unpin before the device goes: by now it left dm's name hash, so no table
 * can be swapped in for it any more (the swap pins only hashed devices, under
 * the same mutex), and a freed md's address cannot have been reused yet.
 */
static void unpin(struct mapped_device *md)
{
	struct dmseal_dev *old;

	mutex_lock(&pins_mutex);
	old = commit_locked(md, NULL);
	if (old)
		notify_all(DMSEAL_CMD_EVENT_UNPIN, old);
	mutex_unlock(&pins_mutex);
	dev_free(old);
}

static void dmseal_destroy(struct mapped_device *md)
{
	unpin(md);
	dmseal_hook_call(&destroy_hook, md, 0, 0, 0, 0);
	dmseal_hook_done();
}

static void dmseal_destroy_immediate(struct mapped_device *md)
{
	unpin(md);
	dmseal_hook_call(&destroy_immediate_hook, md, 0, 0, 0, 0);
	dmseal_hook_done();
}

/* --- the pin dump ----------------------------------------------------------------- */

static int pin_dump_one(struct sk_buff *skb, struct netlink_callback *cb,
			const struct dmseal_dev *d, u32 i, char *buf)
{
	struct dmseal_target_info info;
	void *hdr;

	hdr = dmseal_dump_put(skb, cb);
	if (!hdr)
		return -EMSGSIZE;
	pin_info(d, i, &info, buf, buf + DMS_SUMMARY_MAX);
	if (dmseal_fill_target(skb, &info)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * cb->args[0]: id of the device being sent, cb->args[1]: its next target;
 * a dump resumes exactly where the last skb filled up.
 */
int dmseal_pins_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct dmseal_dev *d;
	u64 id = cb->args[0];
	u32 i = cb->args[1];
	char *buf;
	int ret = 0;

	buf = kmalloc(2 * DMS_SUMMARY_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	spin_lock(&pins_lock);
	list_for_each_entry(d, &pinned, node) {
		if (d->id < id)
			continue;
		if (d->id > id)
			i = 0;
		id = d->id;
		for (; i < d->desc.n && !ret; i++)
			ret = pin_dump_one(skb, cb, d, i, buf);
		if (ret) {
			i--;
			break;
		}
		id = d->id + 1;
		i = 0;
	}
	spin_unlock(&pins_lock);
	kfree(buf);

	cb->args[0] = id;
	cb->args[1] = i;
	/* A full skb is not an error: netlink calls back for the rest. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

/* --- setup -------------------------------------------------------------------- */

/* Unpin first, swap last: never enforce what cannot be undone. */
static struct dmseal_hook *const pin_hooks[] = {
	&destroy_hook,
	&destroy_immediate_hook,
	&swap_hook,
};

int dmseal_pins_init(void)
{
	return dmseal_hooks_arm(pin_hooks, ARRAY_SIZE(pin_hooks));
}

void dmseal_pins_exit(void)
{
	dmseal_hooks_disarm(pin_hooks, ARRAY_SIZE(pin_hooks));
}

/* After dmseal_hooks_quiesce(): no wrapper runs any more. */
void dmseal_pins_free(void)
{
	struct dmseal_dev *d, *tmp;

	list_for_each_entry_safe(d, tmp, &pinned, node) {
		list_del(&d->node);
		dev_free(d);
	}
}
