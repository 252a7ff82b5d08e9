// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: load the kernel modules we need with libkmod, the way
 * modprobe(8) would (dependencies, aliases, the installed module tree of the
 * running kernel), so a guest needs no modprobe call before dmsealctl.
 */
#include <errno.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "dmsealctl.h"

static int load_one(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL, *l;
	int r, n = 0;

	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r < 0 || !list) {
		struct utsname u;

		uname(&u);
		err_msg("kernel module %s not found in /lib/modules/%s", name,
			u.release);
		return r < 0 ? r : -ENOENT;
	}
	kmod_list_foreach(l, list) {
		struct kmod_module *m = kmod_module_get_module(l);

		r = kmod_module_probe_insert_module(m, 0, NULL, NULL, NULL, NULL);
		if (r < 0)
			err_msg("cannot load kernel module %s: %s",
				kmod_module_get_name(m), strerror(-r));
		else
			verbose("module %s loaded", kmod_module_get_name(m));
		kmod_module_unref(m);
		if (r >= 0)
			n++;
		if (r < 0)
			break;
	}
	kmod_module_unref_list(list);
	return r < 0 ? r : 0;
}

int modules_load(const char *const *names, size_t n)
{
	struct kmod_ctx *ctx;
	size_t i;
	int r = 0;

	ctx = kmod_new(NULL, NULL);
	if (!ctx) {
		err_msg("libkmod: cannot open the module tree");
		return -ENOMEM;
	}
	kmod_load_resources(ctx);
	for (i = 0; i < n && !r; i++)
		r = load_one(ctx, names[i]);
	kmod_unref(ctx);
	return r;
}

int modules_load_dmseal(void)
{
	static const char *const mods[] = {
		"dm_mod", "dm_crypt", "dm_integrity", "dmseal",
	};

	return modules_load(mods, ARRAY_SIZE(mods));
}
