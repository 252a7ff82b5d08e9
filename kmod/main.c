// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmseal: a sealed policy for dm-crypt and dm-integrity, enforced at every
 * device-mapper table load inside a confidential VM guest.
 *
 * The host of a confidential guest can steer the guest's storage requests;
 * the guest kernel is the last place that can refuse a weak volume. dmseal
 * takes one policy, once, seals it, and checks every crypt and integrity
 * target against it before the target's constructor runs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "dmseal.h"

struct dmseal_stats dmseal_stats;

static int __init dmseal_init(void)
{
	int ret;

	ret = dmseal_seal_init();
	if (ret)
		return ret;

	pr_info("version %s loaded (enforcement not built yet)\n",
		DMSEAL_VERSION);
	return 0;

}

static void __exit dmseal_exit(void)
{
	dmseal_seal_exit();
	pr_info("unloaded\n");
}

module_init(dmseal_init);
module_exit(dmseal_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sealed policy for dm-crypt and dm-integrity table loads");
MODULE_VERSION(DMSEAL_VERSION);
