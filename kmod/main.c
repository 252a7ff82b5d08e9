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
#include <net/genetlink.h>

#include "dmseal.h"

struct dmseal_stats dmseal_stats;

static int __init dmseal_init(void)
{
	int ret;

	ret = dmseal_seal_init();
	if (ret)
		return ret;
	ret = dmseal_hook_init();
	if (ret)
		goto err_seal;
	ret = dmseal_message_init();
	if (ret)
		goto err_hook;
	/* Last: nothing can be sealed in a module whose init then fails. */
	ret = dmseal_netlink_init();
	if (ret)
		goto err_message;

	pr_info("version %s loaded; crypt and integrity targets refused until a policy is sealed\n",
		DMSEAL_VERSION);
	return 0;

err_message:
	dmseal_message_exit();
err_hook:
	dmseal_hook_exit();
	dmseal_redirect_quiesce();
err_seal:
	dmseal_seal_exit();
	return ret;
}

static void __exit dmseal_exit(void)
{
	/* Sealing holds a module reference: only rmmod -f gets here sealed. */
	if (dmseal_sealed_get())
		pr_warn("forced unload: the sealed policy and %d pin(s) are gone\n",
			atomic_read(&dmseal_stats.pins));
	dmseal_netlink_exit();
	dmseal_message_exit();
	dmseal_hook_exit();
	dmseal_pins_exit();
	dmseal_seal_exit();
	pr_info("unloaded\n");
}

module_init(dmseal_init);
module_exit(dmseal_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sealed policy for dm-crypt and dm-integrity table loads");
MODULE_VERSION(DMSEAL_VERSION);
MODULE_ALIAS_GENL_FAMILY(DMSEAL_GENL_NAME);
