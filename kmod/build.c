// SPDX-License-Identifier: GPL-2.0-only
/*
 * The target being constructed, per task.
 *
 * A target's constructor opens its devices (dm_get_device) and dm-crypt's
 * reads its key from the keyring (set_key_user and friends) in the middle of
 * dm_table_add_target(). The hooks on those functions find here, by task,
 * the build that dmseal's dm_table_add_target() wrapper opened around the
 * constructor, and record what they saw: the target, its devices, the key.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "dmseal.h"

/* Short walks only: a handful of concurrent table loads at most. */
static DEFINE_SPINLOCK(builds_lock);
static LIST_HEAD(builds);

void dmseal_build_begin(struct dmseal_build *b, const struct dmseal_sealed *s,
			const char *type)
{
	memset(b, 0, sizeof(*b));
	b->task = current;
	b->sealed = s;
	b->type = type;
	spin_lock(&builds_lock);
	list_add(&b->node, &builds);
	spin_unlock(&builds_lock);
}

/*
 * What the hooks recorded stays in @b for the caller, who frees the devices
 * and wipes the key fingerprint.
 */
void dmseal_build_end(struct dmseal_build *b)
{
	spin_lock(&builds_lock);
	list_del(&b->node);
	spin_unlock(&builds_lock);
}

/*
 * The build of the current task: a constructor runs in the task that loads
 * the table, and a task builds one target at a time.
 */
struct dmseal_build *dmseal_build_current(void)
{
	struct dmseal_build *b, *found = NULL;

	spin_lock(&builds_lock);
	list_for_each_entry(b, &builds, node) {
		if (b->task == current) {
			found = b;
			break;
		}
	}
	spin_unlock(&builds_lock);
	return found;
}
