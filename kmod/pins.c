// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pins: what dmseal accepted for a live device, so that it stays that way.
 *
 * The first table of a governed device that builds completely pins every
 * target's non-secret parameters. A later table for the same device must
 * match them target by target (same start sector) or it is refused; an
 * identical reload passes. Pins live as long as the device: removing it
 * drops them (see the dm_destroy redirect in hook.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <net/genetlink.h>

#include "dmseal.h"

/* Short critical sections only; the dump fills its skb under it (no sleep). */
static DEFINE_SPINLOCK(pins_lock);
static LIST_HEAD(pins);		/* in id order: dumps resume by id */
static u64 pins_next_id = 1;
/*
 * Orders committing a table's pins against dropping a device's: a table
 * load can race the removal of its device, and its pins must neither
 * outlive the device nor be freed under the committer.
 */
static DEFINE_MUTEX(pins_change_lock);

struct dmseal_pin *dmseal_pin_alloc(void)
{
	return kzalloc(sizeof(struct dmseal_pin), GFP_KERNEL);
}

void dmseal_pin_free(struct dmseal_pin *pin)
{
	kfree_sensitive(pin);
}

static void dmseal_pin_info(const struct dmseal_pin *pin,
			    struct dmseal_target_info *info)
{
	const struct dms_profile *pr = dmseal_profile(pin->profile);

	memset(info, 0, sizeof(*info));
	info->devt = pin->devt;
	info->name = pin->name;
	info->uuid = pin->uuid;
	info->type = pin->type;
	info->start = pin->start;
	info->len = pin->len;
	info->summary = pin->summary;
	info->profile = pr ? pr->name : NULL;
	info->backing = pin->backing;
}

static struct dmseal_pin *pin_find(const struct mapped_device *md,
				   sector_t start)
{
	struct dmseal_pin *pin;

	lockdep_assert_held(&pins_lock);
	list_for_each_entry(pin, &pins, node)
		if (pin->md == md && pin->start == start)
			return pin;
	return NULL;
}

static int pin_cmp(const struct dmseal_pin *have, const struct dmseal_pin *want,
		   struct dms_reason *why)
{
	if (have->kind != want->kind || strcmp(have->type, want->type)) {
		snprintf(why->msg, sizeof(why->msg),
			 "pinned target type '%s' replaced by '%s'",
			 have->type, want->type);
		return -EACCES;
	}
	switch (want->kind) {
	case DMSEAL_PIN_CRYPT:
		if (dms_pin_cmp_crypt(&have->crypt, &want->crypt, why))
			return -EACCES;
		break;
	case DMSEAL_PIN_INTEGRITY:
		if (dms_pin_cmp_integrity(&have->integrity, &want->integrity,
					  why))
			return -EACCES;
		break;
	case DMSEAL_PIN_OTHER:
		if (memcmp(have->params_digest, want->params_digest,
			   DMSEAL_DIGEST_LEN)) {
			snprintf(why->msg, sizeof(why->msg),
				 "pinned '%s' parameters changed", want->type);
			return -EACCES;
		}
		break;
	}
	if (have->backing != want->backing) {
		snprintf(why->msg, sizeof(why->msg),
			 "pinned backing device changed");
		return -EACCES;
	}
	return 0;
}

/*
 * 0 if @want may be loaded on its device as far as pins go: the device has
 * no pins, or it has a pin at that start with the same parameters.
 */
int dmseal_pin_check(const struct dmseal_pin *want, struct dms_reason *why)
{
	const struct dmseal_pin *have;
	bool pinned = false;
	int ret = 0;

	spin_lock(&pins_lock);
	have = pin_find(want->md, want->start);
	if (have) {
		ret = pin_cmp(have, want, why);
	} else {
		list_for_each_entry(have, &pins, node)
			pinned |= have->md == want->md;
		if (pinned) {
			snprintf(why->msg, sizeof(why->msg),
				 "pinned device has no target at sector %llu",
				 (unsigned long long)want->start);
			ret = -EACCES;
		}
	}
	spin_unlock(&pins_lock);
	return ret;
}

/* The stack check: is @devt a dm-integrity device we pinned, tags of @tag_size? */
bool dmseal_pin_is_integrity(dev_t devt, u32 tag_size, struct dms_reason *why)
{
	const struct dmseal_pin *pin;
	bool found = false, ok = false;
	u32 have = 0;

	spin_lock(&pins_lock);
	list_for_each_entry(pin, &pins, node) {
		if (pin->devt != devt || pin->start)
			continue;
		found = pin->kind == DMSEAL_PIN_INTEGRITY;
		have = found ? pin->integrity.tag_size : 0;
		ok = found && have == tag_size;
		break;
	}
	spin_unlock(&pins_lock);

	if (!found)
		snprintf(why->msg, sizeof(why->msg),
			 "backing device %u:%u is not a dm-integrity device pinned by dmseal",
			 MAJOR(devt), MINOR(devt));
	else if (!ok)
		snprintf(why->msg, sizeof(why->msg),
			 "backing dm-integrity tag size %u != crypt integrity bytes %u",
			 have, tag_size);
	return ok;
}

/*
 * Whether @md has pins; with @profile, also the profile that accepted the
 * crypt target at @start (-1 if none): key messages go by that target's.
 */
bool dmseal_device_pinned(const struct mapped_device *md, sector_t start,
			  int *profile)
{
	const struct dmseal_pin *pin;
	bool pinned = false;

	if (profile)
		*profile = -1;
	spin_lock(&pins_lock);
	list_for_each_entry(pin, &pins, node) {
		if (pin->md != md)
			continue;
		pinned = true;
		if (profile && pin->start == start &&
		    pin->kind == DMSEAL_PIN_CRYPT)
			*profile = pin->profile;
	}
	spin_unlock(&pins_lock);
	return pinned;
}

/*
 * Make a fully built table's pending pins (linked by ->pending) live and
 * free the pending list. A reload of a pinned device matched its pins target
 * by target already, so only targets without a pin add one.
 *
 * A device already out of dm's name hash is being removed: its unpin may
 * have run, so its table pins nothing. pins_change_lock keeps the unpin
 * from freeing the new pins while their events are sent.
 */
void dmseal_pins_commit(struct mapped_device *md, struct list_head *pending)
{
	struct dmseal_target_info info;
	struct dmseal_pin *pin, *tmp;

	mutex_lock(&pins_change_lock);
	/* out of dm's name hash means being removed (dm_destroy follows) */
	if (!dmseal_md_names(md, NULL, NULL)) {
		/* removed while the table was built: nothing to pin */
		mutex_unlock(&pins_change_lock);
		dmseal_pins_discard(pending);
		return;
	}
	spin_lock(&pins_lock);
	list_for_each_entry(pin, pending, pending) {
		if (pin_find(pin->md, pin->start))
			continue;
		pin->id = pins_next_id++;
		list_add_tail(&pin->node, &pins);
		atomic_inc(&dmseal_stats.pins);
	}
	spin_unlock(&pins_lock);

	list_for_each_entry_safe(pin, tmp, pending, pending) {
		list_del(&pin->pending);
		if (!pin->id) {
			dmseal_pin_free(pin);
			continue;
		}
		dmseal_pin_info(pin, &info);
		dmseal_notify(DMSEAL_CMD_EVENT_PIN, &info, GFP_KERNEL);
	}
	mutex_unlock(&pins_change_lock);
}

/* Drop a table's pending pins unused: the table did not build. */
void dmseal_pins_discard(struct list_head *pending)
{
	struct dmseal_pin *pin, *tmp;

	list_for_each_entry_safe(pin, tmp, pending, pending) {
		list_del(&pin->pending);
		dmseal_pin_free(pin);
	}
}

void dmseal_unpin_device(const struct mapped_device *md)
{
	struct dmseal_target_info info;
	struct dmseal_pin *pin, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&pins_change_lock);
	spin_lock(&pins_lock);
	list_for_each_entry_safe(pin, tmp, &pins, node) {
		if (pin->md != md)
			continue;
		list_move_tail(&pin->node, &gone);
		atomic_dec(&dmseal_stats.pins);
	}
	spin_unlock(&pins_lock);

	list_for_each_entry_safe(pin, tmp, &gone, node) {
		dmseal_pin_info(pin, &info);
		dmseal_notify(DMSEAL_CMD_EVENT_UNPIN, &info, GFP_KERNEL);
		list_del(&pin->node);
		dmseal_pin_free(pin);
	}
	mutex_unlock(&pins_change_lock);
}

static int pin_dump_one(struct sk_buff *skb, struct netlink_callback *cb,
			const struct dmseal_pin *pin)
{
	struct dmseal_target_info info;
	void *hdr;

	hdr = dmseal_dump_put(skb, cb);
	if (!hdr)
		return -EMSGSIZE;
	dmseal_pin_info(pin, &info);
	if (dmseal_fill_target(skb, &info)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* cb->args[0]: id of the last pin sent, so a dump resumes where it stopped. */
int dmseal_pins_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct dmseal_pin *pin;
	u64 last = cb->args[0];
	int ret = 0;

	spin_lock(&pins_lock);
	list_for_each_entry(pin, &pins, node) {
		if (pin->id <= last)
			continue;
		ret = pin_dump_one(skb, cb, pin);
		if (ret)
			break;
		last = pin->id;
	}
	spin_unlock(&pins_lock);

	cb->args[0] = last;
	/* A full skb is not an error: netlink calls back for the rest. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

void dmseal_pins_exit(void)
{
	struct dmseal_pin *pin, *tmp;

	/* Only a forced unload gets here with pins; they go with the module. */
	list_for_each_entry_safe(pin, tmp, &pins, node) {
		list_del(&pin->node);
		dmseal_pin_free(pin);
	}
}
