// SPDX-License-Identifier: GPL-2.0-only
/*
 * Table descriptions: the targets of a table as the core compares them.
 *
 * A description holds, per target, the struct dms_tdesc the core's rules
 * read and the storage it points into: the parsed configuration of a crypt
 * or integrity target, the devices the target opened. Table records
 * (tables.c) build one while device-mapper builds a table; a device's pins
 * (pins.c) keep a copy of the one that went live.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/kdev_t.h>

#include "dmseal.h"

static size_t cfg_size(enum dms_kind kind)
{
	switch (kind) {
	case DMS_KIND_CRYPT:
		return sizeof(struct dms_crypt);
	case DMS_KIND_INTEGRITY:
		return sizeof(struct dms_integrity);
	default:
		return 0;
	}
}

static enum dms_kind kind_of(const char *type)
{
	if (!strcmp(type, "crypt"))
		return DMS_KIND_CRYPT;
	if (!strcmp(type, "integrity"))
		return DMS_KIND_INTEGRITY;
	return DMS_KIND_OTHER;
}

/* Point the core's view of a target at the configuration stored for it. */
void dmseal_desc_aim(struct dms_tdesc *t, const struct dmseal_tinfo *info)
{
	t->crypt = t->kind == DMS_KIND_CRYPT ? info->cfg : NULL;
	t->integrity = t->kind == DMS_KIND_INTEGRITY ? info->cfg : NULL;
	t->devs = info->devs;
}

/* Make room for one more target: the arrays grow, pointers are re-aimed. */
static int desc_grow(struct dmseal_desc *d)
{
	u32 cap = d->cap ? 2 * d->cap : 4;
	struct dms_tdesc *t;
	struct dmseal_tinfo *info;

	t = krealloc_array(d->t, cap, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	d->t = t;
	info = krealloc_array(d->info, cap, sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	d->info = info;
	d->cap = cap;
	return 0;
}

/* A new target at the end; its configuration is zeroed, not yet known. */
int dmseal_desc_add(struct dmseal_desc *d, const char *type, sector_t start,
		    sector_t len)
{
	struct dms_tdesc *t;
	struct dmseal_tinfo *info;
	size_t size;

	if (d->n == d->cap && desc_grow(d))
		return -ENOMEM;
	t = &d->t[d->n];
	info = &d->info[d->n];
	memset(t, 0, sizeof(*t));
	memset(info, 0, sizeof(*info));
	strscpy(t->type, type, sizeof(t->type));
	t->start = start;
	t->len = len;
	t->kind = kind_of(type);
	info->profile = -1;
	size = cfg_size(t->kind);
	d->n++;
	if (size) {
		info->cfg = kzalloc(size, GFP_KERNEL);
		if (!info->cfg)
			return -ENOMEM;
		dmseal_desc_aim(t, info);
	}
	return 0;
}

static void tinfo_free(struct dms_tdesc *t, struct dmseal_tinfo *info)
{
	/* a configuration holds key fingerprints: nothing of it lingers */
	kfree_sensitive(info->cfg);
	kfree(info->devs);
	info->cfg = NULL;
	info->devs = NULL;
	t->crypt = NULL;
	t->integrity = NULL;
	t->devs = NULL;
}

void dmseal_desc_free(struct dmseal_desc *d)
{
	u32 i;

	for (i = 0; i < d->n; i++)
		tinfo_free(&d->t[i], &d->info[i]);
	kfree(d->t);
	kfree(d->info);
	memset(d, 0, sizeof(*d));
}

static int copy_one(struct dmseal_desc *dst, const struct dmseal_desc *src,
		    u32 i)
{
	struct dms_tdesc *t = &dst->t[i];
	struct dmseal_tinfo *info = &dst->info[i];
	size_t size = cfg_size(src->t[i].kind);

	*t = src->t[i];
	*info = src->info[i];
	info->cfg = NULL;
	info->devs = NULL;
	dmseal_desc_aim(t, info);
	if (size) {
		info->cfg = kmemdup(src->info[i].cfg, size, GFP_KERNEL);
		if (!info->cfg)
			return -ENOMEM;
	}
	if (src->t[i].n_devs) {
		info->devs = kmemdup(src->info[i].devs,
				     src->t[i].n_devs * sizeof(u32), GFP_KERNEL);
		if (!info->devs)
			return -ENOMEM;
	}
	dmseal_desc_aim(t, info);
	return 0;
}

int dmseal_desc_copy(struct dmseal_desc *dst, const struct dmseal_desc *src)
{
	u32 i;

	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return 0;
	dst->t = kcalloc(src->n, sizeof(*dst->t), GFP_KERNEL);
	dst->info = kcalloc(src->n, sizeof(*dst->info), GFP_KERNEL);
	if (!dst->t || !dst->info)
		goto err;
	dst->cap = src->n;
	for (i = 0; i < src->n; i++) {
		dst->n = i + 1;
		if (copy_one(dst, src, i))
			goto err;
	}
	return 0;
err:
	dmseal_desc_free(dst);
	return -ENOMEM;
}

/* Secret-free, one line: what `dmsealctl pins` shows of a target. */
void dmseal_desc_summary(const struct dmseal_desc *d, u32 i, char *buf,
			 size_t len)
{
	const struct dms_tdesc *t = &d->t[i];

	switch (t->kind) {
	case DMS_KIND_CRYPT:
		dms_crypt_summary(t->crypt, buf, len);
		break;
	case DMS_KIND_INTEGRITY:
		dms_integrity_summary(t->integrity, buf, len);
		break;
	default:
		snprintf(buf, len, "%s params sha256:%*phN", t->type, 8,
			 t->digest);
		break;
	}
}

void dmseal_desc_opens(const struct dmseal_desc *d, u32 i, char *buf,
		       size_t len)
{
	const struct dms_tdesc *t = &d->t[i];
	size_t n = 0;
	u32 k;

	buf[0] = '\0';
	for (k = 0; k < t->n_devs && n < len; k++) {
		dev_t dev = t->devs[k];

		n += scnprintf(buf + n, len - n, "%s%u:%u", k ? " " : "",
			       MAJOR(dev), MINOR(dev));
	}
}

/* The device a target maps to: the first one it opened. */
dev_t dmseal_desc_backing(const struct dmseal_desc *d, u32 i)
{
	return d->t[i].n_devs ? d->t[i].devs[0] : 0;
}
