// SPDX-License-Identifier: GPL-2.0-only
/*
 * The other way to change a live crypt volume: target messages.
 *
 * "key set <key>" swaps the key of a running dm-crypt device and "key wipe"
 * drops it, without any table load. On a pinned device both are refused,
 * except "key wipe" where the device's profile allows it (suspend flows).
 *
 * crypt_message() is static in dm_crypt, which can come and go: a module
 * notifier arms the redirect whenever dm_crypt is loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>

#include "dmseal.h"

static int dmseal_crypt_message(struct dm_target *ti, unsigned int argc,
				char **argv, char *result, unsigned int maxlen);

static struct dmseal_redirect message_redirect = {
	.symbol = "dm_crypt:crypt_message",
	.wrapper = dmseal_crypt_message,
};

/* Serialises arming against dm_crypt's module events. */
static DEFINE_MUTEX(message_lock);

static bool key_wipe_allowed(int profile)
{
	const struct dms_profile *pr = dmseal_profile(profile);

	return pr && pr->allow_key_wipe;
}

static int message_deny(struct dm_target *ti, const char *what)
{
	struct mapped_device *md = dm_table_get_md(ti->table);
	char name[DM_NAME_LEN], uuid[DM_UUID_LEN];
	struct dmseal_target_info info = {
		.devt = disk_devt(dm_disk(md)),
		.name = name,
		.uuid = uuid,
		.type = "crypt",
		.start = ti->begin,
		.len = ti->len,
		.reason = what,
	};

	dmseal_md_names(md, name, uuid);
	dmseal_deny(&info);
	return -EACCES;
}

static int dmseal_crypt_message(struct dm_target *ti, unsigned int argc,
				char **argv, char *result, unsigned int maxlen)
{
	struct dmseal_passing pass;
	int profile = -1;
	int ret;

	/* dm-crypt matches its message words case-insensitively: so do we. */
	if (argc >= 2 && !strcasecmp(argv[0], "key") &&
	    dmseal_device_pinned(dm_table_get_md(ti->table), ti->begin, &profile)) {
		if (strcasecmp(argv[1], "wipe")) {
			ret = message_deny(ti, "message 'key set' on a pinned device");
			goto out;
		}
		if (!key_wipe_allowed(profile)) {
			ret = message_deny(ti, "message 'key wipe' not allowed by the profile");
			goto out;
		}
	}
	dmseal_pass_begin(&pass, &message_redirect);
	ret = (int)dmseal_enter((unsigned long)ti, argc, (unsigned long)argv,
				(unsigned long)result, maxlen,
				message_redirect.func);
	dmseal_pass_end(&pass);
out:
	dmseal_redirect_done();
	return ret;
}

/* -ENOENT: dm_crypt is not loaded (at init); the notifier arms it later. */
static int message_arm(void)
{
	int ret;

	mutex_lock(&message_lock);
	ret = dmseal_redirect_arm(&message_redirect);
	mutex_unlock(&message_lock);
	if (ret && ret != -ENOENT)
		pr_err("cannot probe %s: %d\n", message_redirect.symbol, ret);
	return ret;
}

static void message_disarm(void)
{
	mutex_lock(&message_lock);
	dmseal_redirect_disarm(&message_redirect);
	mutex_unlock(&message_lock);
}

static int dmseal_module_event(struct notifier_block *nb, unsigned long state,
			       void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "dm_crypt"))
		return NOTIFY_DONE;
	/*
	 * COMING: text is final and no crypt target exists yet. A dm_crypt
	 * whose key messages we cannot gate does not get to load.
	 */
	if (state == MODULE_STATE_COMING)
		return notifier_from_errno(message_arm());
	if (state == MODULE_STATE_GOING)
		message_disarm();
	return NOTIFY_DONE;
}

static struct notifier_block dmseal_module_nb = {
	.notifier_call = dmseal_module_event,
};

int __init dmseal_message_init(void)
{
	int ret;

	ret = register_module_notifier(&dmseal_module_nb);
	if (ret)
		return ret;
	ret = message_arm();
	if (ret && ret != -ENOENT) {
		unregister_module_notifier(&dmseal_module_nb);
		return ret;
	}
	return 0;
}

void dmseal_message_exit(void)
{
	unregister_module_notifier(&dmseal_module_nb);
	message_disarm();
}
