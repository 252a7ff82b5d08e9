// SPDX-License-Identifier: GPL-2.0-only
/*
 * The devices a target opens.
 *
 * Every target opens the devices it maps to through dm_get_device(), from
 * its constructor. That is where a cache, a mirror leg, a snapshot or a
 * plain linear mapping meets a volume dmseal governs: the hook records each
 * device for the table's description (the consumer rules of the whole table
 * are applied to it) and refuses at once a target type the policy does not
 * allow on top of a governed device, before its constructor can use it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dmseal.h"

/*
 * @mode is fmode_t before 6.5 and blk_mode_t since: both an unsigned int,
 * passed through untouched.
 */
static int dmseal_get_device(struct dm_target *ti, const char *path,
			     unsigned int mode, struct dm_dev **result);

static struct dmseal_hook get_device_hook = {
	.symbol = "dm_mod:dm_get_device",
	.wrapper = dmseal_get_device,
};

static int record_dev(struct dmseal_build *b, dev_t devt)
{
	u32 *devs;

	if (b->n_devs == b->cap_devs) {
		devs = krealloc_array(b->devs, b->cap_devs + 4, sizeof(*devs),
				      GFP_KERNEL);
		if (!devs)
			return -ENOMEM;
		b->devs = devs;
		b->cap_devs += 4;
	}
	/* kernel dev_t, as the core reads it: major << 20 | minor */
	b->devs[b->n_devs++] = devt;
	return 0;
}

static bool governed_type(const char *type)
{
	return !strcmp(type, "crypt") || !strcmp(type, "integrity");
}

/* 0, or -EACCES / -ENOMEM with the build marked denied. */
static int check_dev(struct dmseal_build *b, struct dm_target *ti, dev_t devt)
{
	const struct dms_policy *p = b->sealed ? &b->sealed->policy : NULL;
	const char *type = ti->type ? ti->type->name : b->type;

	if (!b->ti)
		b->ti = ti;
	if (record_dev(b, devt)) {
		b->denied = -ENOMEM;
		return -ENOMEM;
	}
	if (!p || governed_type(type) || !dmseal_dev_governed(devt) ||
	    dms_consumer_allowed(p, type))
		return 0;
	snprintf(b->why.msg, sizeof(b->why.msg),
		 "target type '%.15s' may not sit on governed device %u:%u (the policy's consumers do not list it)",
		 type, MAJOR(devt), MINOR(devt));
	b->denied = -EACCES;
	return -EACCES;
}

static int dmseal_get_device(struct dm_target *ti, const char *path,
			     unsigned int mode, struct dm_dev **result)
{
	struct dmseal_build *b = dmseal_build_current();
	int ret;

	ret = (int)dmseal_hook_call(&get_device_hook, ti, path, mode, result, 0);
	/* a device opened outside a table build (no build) adds nothing */
	if (!ret && b) {
		ret = check_dev(b, ti, (*result)->bdev->bd_dev);
		if (ret) {
			dm_put_device(ti, *result);
			*result = NULL;
		}
	}
	dmseal_hook_done();
	return ret;
}

int dmseal_devices_init(void)
{
	return dmseal_hook_arm(&get_device_hook);
}

void dmseal_devices_exit(void)
{
	dmseal_hook_disarm(&get_device_hook);
}
