// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: load the kernel modules we need with libkmod, the way
 * modprobe(8) would (dependencies, aliases, the installed module tree of the
 * running kernel), so a guest needs no modprobe call before dmsealctl.
 */
#include <errno.h>
#include <stdbool.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dmsealctl.h"

/* Loaded or built in: /sys/module/NAME exists (no module index needed). */
static bool module_present(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/module/%s", name);
	return !access(p, F_OK);
}

/*
 * Load one module (and what it depends on) unless it is built in or live
 * already. Silent but for --verbose: whether a failure matters is the
 * caller's to say (dm_mod built into the kernel is no failure at all, and
 * a missing dm_crypt shows where it is used).
 */
static int load_one(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL, *l;
	int r;

	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r < 0 || !list) {
		struct utsname u;

		/* built in (with parameters, or no modules.builtin around) */
		if (module_present(name))
			return 0;
		uname(&u);
		verbose("kernel module %s not found in /lib/modules/%s", name, u.release);
		return r < 0 ? r : -ENOENT;
	}
	kmod_list_foreach(l, list) {
		struct kmod_module *m = kmod_module_get_module(l);
		int st = kmod_module_get_initstate(m);

		if (st == KMOD_MODULE_BUILTIN || st == KMOD_MODULE_LIVE) {
			r = 0;
		} else {
			r = kmod_module_probe_insert_module(m, 0, NULL, NULL, NULL, NULL);
			if (r < 0)
				verbose("cannot load kernel module %s: %s",
					kmod_module_get_name(m), strerror(-r));
			else
				verbose("module %s loaded", kmod_module_get_name(m));
		}
		kmod_module_unref(m);
		if (r < 0)
			break;
	}
	kmod_module_unref_list(list);
	return r < 0 ? r : 0;
}

static bool all_present(const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!module_present(names[i]))
			return false;
	return true;
}

/* Load every module of names; the last error, its module in *failed. */
int modules_load(const char *const *names, size_t n, const char **failed)
{
	struct kmod_ctx *ctx;
	size_t i;
	int r, last = 0;

	*failed = NULL;
	/*
	 * The usual case, every command after the first: nothing to load, and
	 * libkmod's indexes (read in full by kmod_load_resources) would cost
	 * an ephemeral setup tens of milliseconds under TCG for nothing.
	 */
	if (all_present(names, n))
		return 0;
	ctx = kmod_new(NULL, NULL);
	if (!ctx) {
		verbose("libkmod: cannot open the module tree");
		*failed = names[n - 1];
		return -ENOMEM;
	}
	kmod_load_resources(ctx);
	for (i = 0; i < n; i++) {
		r = load_one(ctx, names[i]);
		if (r) {	/* the last: dmseal, when it is the one */
			last = r;
			*failed = names[i];
		}
	}
	kmod_unref(ctx);
	return last;
}

int modules_load_dmseal(const char **failed)
{
	static const char *const mods[] = {
		"dm_mod", "dm_crypt", "dm_integrity", "dmseal",
	};

	return modules_load(mods, ARRAY_SIZE(mods), failed);
}
