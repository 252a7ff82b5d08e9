// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmseal: a sealed policy for dm-crypt and dm-integrity, enforced at every
 * device-mapper table load inside a confidential VM guest.
 *
 * The host of a confidential guest can steer the guest's storage requests;
 * the guest kernel is the last place that can refuse a weak volume. dmseal
 * takes one policy, once, seals it, checks every table against it before
 * and after each target is constructed, and pins what goes live so that a
 * live volume cannot be changed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>

#include "dmseal.h"

struct dmseal_stats dmseal_stats;

/* Disarm everything, wait for running wrappers, then free what they used. */
static void dmseal_teardown(int armed)
{
	if (armed >= 5)
		dmseal_crypt_exit();
	if (armed >= 4)
		dmseal_devices_exit();
	if (armed >= 3)
		dmseal_tables_exit();
	if (armed >= 2)
		dmseal_pins_exit();
	if (armed >= 1)
		dmseal_canary_exit();
	dmseal_hooks_quiesce();
	dmseal_tables_free();
	dmseal_pins_free();
}

static int __init dmseal_init(void)
{
	int armed = 0;
	int ret;

	ret = dmseal_seal_init();
	if (!ret)
		ret = dmseal_keys_init();
	if (ret)
		return ret;
	/* proves first that ftrace redirects calls on this kernel */
	ret = dmseal_canary_init();
	if (ret)
		goto err;
	armed++;
	/* unpinning and swapping before loading: never pin what cannot go */
	ret = dmseal_pins_init();
	if (ret)
		goto err;
	armed++;
	ret = dmseal_tables_init();
	if (ret)
		goto err;
	armed++;
	ret = dmseal_devices_init();
	if (ret)
		goto err;
	armed++;
	ret = dmseal_crypt_init();
	if (ret)
		goto err;
	armed++;
	/* Last: nothing can be sealed in a module whose init then fails. */
	ret = dmseal_netlink_init();
	if (ret)
		goto err;
	dmseal_watch_start();
	pr_info("version %s loaded; crypt and integrity targets refused until a policy is sealed\n",
		DMSEAL_VERSION);
	return 0;
err:
	dmseal_teardown(armed);
	dmseal_seal_exit();
	return ret;
}

static void __exit dmseal_exit(void)
{
	dmseal_watch_stop();
	/* Sealing holds a module reference: only rmmod -f gets here sealed. */
	if (dmseal_sealed_get()) {
		pr_crit("forced unload: the sealed policy and %d pin(s) are gone, nothing is enforced\n",
			atomic_read(&dmseal_stats.pins));
		dmseal_notify_enforcement(false, "dmseal is being unloaded by force");
	}
	dmseal_netlink_exit();
	dmseal_teardown(5);
	dmseal_seal_exit();
	pr_info("unloaded\n");
}

module_init(dmseal_init);
module_exit(dmseal_exit);

MODULE_AUTHOR("dmseal developers");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sealed policy for dm-crypt and dm-integrity table loads");
MODULE_VERSION(DMSEAL_VERSION);
MODULE_ALIAS_GENL_FAMILY(DMSEAL_GENL_NAME);
/* dm-crypt's key hooks are armed when it loads; load it first when we can */
MODULE_SOFTDEP("pre: dm-crypt");
