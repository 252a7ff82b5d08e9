// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-crypt: its key messages, and the key it reads from the keyring.
 *
 * "key set <key>" swaps the key of a running dm-crypt device and "key wipe"
 * drops it, without any table load. On a pinned device both are refused,
 * except "key wipe" where the device's profile allows it (suspend flows).
 *
 * A keyring key is read by dm-crypt's constructor itself (request_key in the
 * loading task, then set_key_user() or set_key_encrypted() under the key's
 * semaphore). Hooking those setters gives the fingerprint of exactly the
 * bytes dm-crypt copies: nothing can change the keyring between dmseal's
 * look at the key and dm-crypt's, because they are the same look.
 *
 * All of these are static functions of dm_crypt, which can come and go: a
 * module notifier arms the hooks whenever dm_crypt is loaded and fails its
 * load if they cannot be armed. A crypt target is refused whenever they are
 * not armed (tables.c), so no ambiguity of "not loaded" versus "not found"
 * can let one through.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/key.h>
#include <keys/user-type.h>
#include <keys/encrypted-type.h>
#include <keys/trusted-type.h>

#include "dmseal.h"

static int dmseal_crypt_message(struct dm_target *ti, unsigned int argc,
				char **argv, char *result, unsigned int maxlen);
static int dmseal_set_key_user(void *cc, struct key *key);
static int dmseal_set_key_encrypted(void *cc, struct key *key);
static int dmseal_set_key_trusted(void *cc, struct key *key);

static struct dmseal_hook message_hook = {
	.symbol = "dm_crypt:crypt_message",
	.wrapper = dmseal_crypt_message,
};

static struct dmseal_hook set_key_user_hook = {
	.symbol = "dm_crypt:set_key_user",
	.wrapper = dmseal_set_key_user,
};

/* Only where the kernel has ENCRYPTED_KEYS / TRUSTED_KEYS. */
static struct dmseal_hook set_key_encrypted_hook = {
	.symbol = "dm_crypt:set_key_encrypted",
	.wrapper = dmseal_set_key_encrypted,
	.optional = true,
};

static struct dmseal_hook set_key_trusted_hook = {
	.symbol = "dm_crypt:set_key_trusted",
	.wrapper = dmseal_set_key_trusted,
	.optional = true,
};

static struct dmseal_hook *const crypt_hooks[] = {
	&set_key_user_hook,
	&set_key_encrypted_hook,
	&set_key_trusted_hook,
	&message_hook,
};

/* Serialises arming against dm_crypt's module events. */
static DEFINE_MUTEX(crypt_lock);
static bool crypt_armed;

bool dmseal_crypt_hooks_armed(void)
{
	return READ_ONCE(crypt_armed);
}

const char *dmseal_crypt_hooks_state(void)
{
	return READ_ONCE(crypt_armed) ? "hooks armed" :
	       "not loaded (crypt targets refused until it is)";
}

/* --- key messages ------------------------------------------------------------ */

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
	struct mapped_device *md = dm_table_get_md(ti->table);
	bool pinned, wipe_ok;
	int ret;

	/* dm-crypt matches its message words case-insensitively: so do we. */
	if (argc >= 2 && !strcasecmp(argv[0], "key")) {
		wipe_ok = dmseal_key_wipe_allowed(md, ti->begin, &pinned);
		if (pinned && strcasecmp(argv[1], "wipe")) {
			ret = message_deny(ti, "message 'key set' on a pinned device");
			goto out;
		}
		if (pinned && !wipe_ok) {
			ret = message_deny(ti, "message 'key wipe' not allowed by the profile");
			goto out;
		}
	}
	ret = (int)dmseal_hook_call(&message_hook, ti, argc, argv, result, maxlen);
out:
	dmseal_hook_done();
	return ret;
}

/* --- key setters -------------------------------------------------------------- */

/*
 * Called with key->sem held for reading, by dm-crypt's constructor (and by
 * "key set", which finds no build). The payload may not be what dm-crypt
 * accepts (wrong length): then dm-crypt fails the target anyway.
 */
static void key_seen(const void *data, size_t len)
{
	struct dmseal_build *b = dmseal_build_current();

	if (!b)
		return;
	b->key_reads++;
	if (data)
		dmseal_fingerprint(data, len, &b->key_fp);
}

static int dmseal_set_key_user(void *cc, struct key *key)
{
	const struct user_key_payload *ukp = user_key_payload_locked(key);
	int ret;

	key_seen(ukp ? ukp->data : NULL, ukp ? ukp->datalen : 0);
	ret = (int)dmseal_hook_call(&set_key_user_hook, cc, key, 0, 0, 0);
	dmseal_hook_done();
	return ret;
}

static int dmseal_set_key_encrypted(void *cc, struct key *key)
{
	const struct encrypted_key_payload *ekp = key->payload.data[0];
	int ret;

	key_seen(ekp ? ekp->decrypted_data : NULL,
		 ekp ? ekp->decrypted_datalen : 0);
	ret = (int)dmseal_hook_call(&set_key_encrypted_hook, cc, key, 0, 0, 0);
	dmseal_hook_done();
	return ret;
}

static int dmseal_set_key_trusted(void *cc, struct key *key)
{
	const struct trusted_key_payload *tkp = key->payload.data[0];
	int ret;

	key_seen(tkp ? tkp->key : NULL, tkp ? tkp->key_len : 0);
	ret = (int)dmseal_hook_call(&set_key_trusted_hook, cc, key, 0, 0, 0);
	dmseal_hook_done();
	return ret;
}

/* --- arming with dm_crypt ------------------------------------------------------ */

static int crypt_arm(void)
{
	int ret;

	mutex_lock(&crypt_lock);
	ret = dmseal_hooks_arm(crypt_hooks, ARRAY_SIZE(crypt_hooks));
	WRITE_ONCE(crypt_armed, !ret);
	mutex_unlock(&crypt_lock);
	return ret;
}

static void crypt_disarm(void)
{
	mutex_lock(&crypt_lock);
	WRITE_ONCE(crypt_armed, false);
	dmseal_hooks_disarm(crypt_hooks, ARRAY_SIZE(crypt_hooks));
	mutex_unlock(&crypt_lock);
}

static int dmseal_module_event(struct notifier_block *nb, unsigned long state,
			       void *data)
{
	struct module *mod = data;
	int ret;

	if (strcmp(mod->name, "dm_crypt"))
		return NOTIFY_DONE;
	/*
	 * COMING: text is final and ftrace knows its functions; no crypt
	 * target exists yet. A dm_crypt we cannot hook does not get to load.
	 */
	if (state == MODULE_STATE_COMING) {
		ret = crypt_arm();
		if (ret)
			pr_err("refusing dm_crypt: its key hooks cannot be armed (%d)\n",
			       ret);
		return notifier_from_errno(ret);
	}
	/* GOING: before ftrace forgets the module's functions */
	if (state == MODULE_STATE_GOING)
		crypt_disarm();
	return NOTIFY_DONE;
}

static struct notifier_block dmseal_module_nb = {
	.notifier_call = dmseal_module_event,
};

int __init dmseal_crypt_init(void)
{
	int ret;

	ret = register_module_notifier(&dmseal_module_nb);
	if (ret)
		return ret;
	/* loaded now if it can be: then arming must work, or dmseal fails */
	request_module("dm-crypt");
	ret = crypt_arm();
	if (ret == -ENOENT) {
		pr_info("dm_crypt not loaded: crypt targets are refused until it is\n");
		ret = 0;
	}
	if (ret)
		unregister_module_notifier(&dmseal_module_nb);
	return ret;
}

void dmseal_crypt_exit(void)
{
	unregister_module_notifier(&dmseal_module_nb);
	crypt_disarm();
}
