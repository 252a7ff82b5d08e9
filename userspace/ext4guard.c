// SPDX-License-Identifier: GPL-2.0-only
/*
 * The readahead guard of a volume made without a full wipe (ext4guard.h).
 *
 * mkfs writes every block the filesystem will read on purpose; the kernel
 * also reads blocks nobody asked for. A buffered read of the volume (e2fsck,
 * blkid, debugfs) and ext4's own directory reads go through the block
 * device's page cache, whose readahead fetches up to twice read_ahead_kb
 * past the block asked for. Past the end of the metadata mkfs wrote lie
 * free blocks nobody wrote: their tags are not valid, the readahead fails
 * with "INTEGRITY AEAD ERROR" in the kernel log (seen with e2fsck -fn and
 * ls on a fresh volume). Zeroing those few blocks through the volume, once,
 * before the first mount, makes them valid.
 *
 * Layout knowledge is ext4's on-disk format only (no libext2fs): the
 * superblock, the group descriptors and the block bitmaps mkfs wrote.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext4guard.h"

#define BLOCK			4096u
#define SB_OFFSET		1024u
#define SB_MAGIC		0xEF53u
#define COMPAT_SPARSE_SUPER2	0x0200u
#define RO_COMPAT_SPARSE_SUPER	0x0001u
#define INCOMPAT_META_BG	0x0010u
#define INCOMPAT_64BIT		0x0080u
#define BG_INODE_UNINIT		0x0001u
#define BG_BLOCK_UNINIT		0x0002u
#define BG_INODE_ZEROED		0x0004u
#define MAX_GROUPS		(1u << 20)	/* 128 TiB of 4 KiB blocks */

struct group {
	uint64_t bb, ib, it;	/* block bitmap, inode bitmap, first inode table block */
	uint16_t flags;
};

struct fs {
	uint64_t blocks;	/* s_blocks_count */
	uint32_t first;		/* s_first_data_block */
	uint32_t bpg;		/* blocks per group */
	uint32_t it_blocks;	/* inode table blocks per group */
	uint32_t ngroups;
	uint32_t gdt_blocks;	/* group descriptor blocks */
	uint32_t rsv_gdt;	/* reserved GDT blocks (resize inode) */
	uint32_t compat, ro_compat;
	uint32_t backup_bgs[2];	/* sparse_super2 */
	struct group *g;
	/*
	 * Every group's bitmaps and inode table, bucketed by the groups they
	 * lie in (flex_bg puts sixteen groups' metadata in one, a large inode
	 * table spans several): ext[at[gi]] .. ext[at[gi + 1] - 1] is what lies
	 * in group gi, so a group's view costs what is in it, not a pass over
	 * all groups (that was quadratic: minutes for a TiB disk under TCG).
	 */
	struct extent *ext;
	uint32_t *at;
};

struct extent {
	uint64_t start;
	uint32_t len;		/* at most one group's inode table */
	bool unwritten;		/* allocated, but mkfs did not write it */
};

static uint16_t le16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }

static bool power_of(uint64_t g, uint64_t b)
{
	while (g > 1 && g % b == 0)
		g /= b;
	return g == 1;
}

bool ext4_sparse_super_group(uint64_t g)
{
	return g <= 1 || power_of(g, 3) || power_of(g, 5) || power_of(g, 7);
}

/* Does group @g hold a superblock backup (and its GDT copy)? */
static bool has_super(const struct fs *fs, uint32_t g)
{
	if (g == 0)
		return true;
	if (fs->compat & COMPAT_SPARSE_SUPER2)
		return g == fs->backup_bgs[0] || g == fs->backup_bgs[1];
	if (!(fs->ro_compat & RO_COMPAT_SPARSE_SUPER))
		return true;
	return ext4_sparse_super_group(g);
}

static int read_super(ext4_read_fn rd, void *rctx, struct fs *fs, char *why, size_t cap)
{
	uint8_t sb[1024];
	uint32_t incompat, desc, ipg, isz;
	int r = rd(rctx, SB_OFFSET, sb, sizeof(sb));

	if (r)
		return snprintf(why, cap, "read the superblock: %s", strerror(-r)), r;
	if (le16(sb + 56) != SB_MAGIC)
		return snprintf(why, cap, "no ext4 superblock"), -EINVAL;
	incompat = le32(sb + 96);
	fs->compat = le32(sb + 92);
	fs->ro_compat = le32(sb + 100);
	fs->blocks = le32(sb + 4);
	if (incompat & INCOMPAT_64BIT)
		fs->blocks |= (uint64_t)le32(sb + 0x150) << 32;
	fs->first = le32(sb + 20);
	fs->bpg = le32(sb + 32);
	ipg = le32(sb + 40);
	isz = le16(sb + 88);
	desc = incompat & INCOMPAT_64BIT ? le16(sb + 0xFE) : 32;
	fs->rsv_gdt = le16(sb + 0xCE);
	fs->backup_bgs[0] = le32(sb + 0x24C);
	fs->backup_bgs[1] = le32(sb + 0x250);
	if (le32(sb + 24) != 2)
		return snprintf(why, cap, "block size is not 4 KiB"), -EINVAL;
	if (incompat & INCOMPAT_META_BG)
		return snprintf(why, cap, "meta_bg layout"), -EINVAL;
	if (!fs->bpg || fs->bpg > 8 * BLOCK || fs->blocks <= fs->first)
		return snprintf(why, cap, "bad blocks per group or block count"), -EINVAL;
	if (desc < 32 || desc > 1024 || (desc & (desc - 1)) || !isz || isz > BLOCK ||
	    (isz & (isz - 1)) || !ipg || ipg > 8 * BLOCK)
		return snprintf(why, cap, "bad descriptor or inode size"), -EINVAL;
	if ((fs->blocks - fs->first + fs->bpg - 1) / fs->bpg > MAX_GROUPS)
		return snprintf(why, cap, "too many groups"), -EINVAL;
	fs->ngroups = (fs->blocks - fs->first + fs->bpg - 1) / fs->bpg;
	fs->it_blocks = (uint32_t)(((uint64_t)ipg * isz + BLOCK - 1) / BLOCK);
	fs->gdt_blocks = (uint32_t)(((uint64_t)fs->ngroups * desc + BLOCK - 1) / BLOCK);
	return desc;
}

static int read_groups(ext4_read_fn rd, void *rctx, struct fs *fs, uint32_t desc, char *why,
		       size_t cap)
{
	uint64_t len = (uint64_t)fs->gdt_blocks * BLOCK;
	uint8_t *gdt = malloc(len);
	uint32_t i;
	int r;

	fs->g = calloc(fs->ngroups, sizeof(*fs->g));
	if (!gdt || !fs->g) {
		free(gdt);
		return snprintf(why, cap, "out of memory"), -ENOMEM;
	}
	r = rd(rctx, ((uint64_t)fs->first + 1) * BLOCK, gdt, len);
	if (r) {
		free(gdt);
		return snprintf(why, cap, "read the group descriptors: %s", strerror(-r)), r;
	}
	for (i = 0; i < fs->ngroups; i++) {
		const uint8_t *d = gdt + (uint64_t)i * desc;
		struct group *g = &fs->g[i];

		g->bb = le32(d);
		g->ib = le32(d + 4);
		g->it = le32(d + 8);
		g->flags = le16(d + 0x12);
		if (desc >= 64) {
			g->bb |= (uint64_t)le32(d + 0x20) << 32;
			g->ib |= (uint64_t)le32(d + 0x24) << 32;
			g->it |= (uint64_t)le32(d + 0x28) << 32;
		}
		if (g->bb >= fs->blocks || g->ib >= fs->blocks ||
		    g->it + fs->it_blocks > fs->blocks) {
			free(gdt);
			return snprintf(why, cap, "group %u: metadata beyond the end", i), -EINVAL;
		}
	}
	free(gdt);
	return 0;
}

static void set_range(uint8_t *map, uint64_t gs, uint64_t ge, uint64_t s, uint64_t n)
{
	uint64_t b, e = s + n;

	for (b = s > gs ? s : gs; b < e && b < ge; b++)
		map[(b - gs) / 8] |= 1u << ((b - gs) % 8);
}

static bool bit(const uint8_t *map, uint64_t i) { return map[i / 8] >> (i % 8) & 1; }

static uint32_t group_of(const struct fs *fs, uint64_t b)
{
	return b < fs->first ? 0 : (uint32_t)((b - fs->first) / fs->bpg);
}

/* fs->ext and fs->at: each group's bitmaps and inode table, in every group they touch */
static int index_extents(struct fs *fs, char *why, size_t cap)
{
	uint64_t total = 0;
	uint32_t h, gi, *fill = NULL;
	int pass;

	fs->at = calloc((size_t)fs->ngroups + 1, sizeof(*fs->at));
	if (!fs->at)
		goto oom;
	/* pass 0 counts per group, pass 1 places (at[] then holds each bucket's start) */
	for (pass = 0; pass < 2; pass++) {
		for (h = 0; h < fs->ngroups; h++) {
			const struct group *g = &fs->g[h];
			const struct extent e[3] = {
				{ g->bb, 1, g->flags & BG_BLOCK_UNINIT },
				{ g->ib, 1, g->flags & BG_INODE_UNINIT },
				{ g->it, fs->it_blocks, !(g->flags & BG_INODE_ZEROED) },
			};
			unsigned int k;

			for (k = 0; k < 3; k++) {
				uint32_t last = group_of(fs, e[k].start + e[k].len - 1);

				for (gi = group_of(fs, e[k].start); gi <= last && gi < fs->ngroups; gi++) {
					if (pass)
						fs->ext[fill[gi]++] = e[k];
					else
						fs->at[gi + 1]++;
				}
			}
		}
		if (pass)
			break;
		for (gi = 0; gi < fs->ngroups; gi++)
			fs->at[gi + 1] += fs->at[gi];
		total = fs->at[fs->ngroups];
		fs->ext = calloc(total ? total : 1, sizeof(*fs->ext));
		fill = malloc((size_t)fs->ngroups * sizeof(*fill));
		if (!fs->ext || !fill)
			goto oom;
		memcpy(fill, fs->at, (size_t)fs->ngroups * sizeof(*fill));
	}
	free(fill);
	return 0;
oom:
	free(fill);
	return snprintf(why, cap, "out of memory"), -ENOMEM;
}

/*
 * Group @gi's view: @used (what the block bitmap says, or, for a group
 * whose bitmap mkfs left uninitialised, what the kernel would compute:
 * its backup and any group's metadata inside it) and @unwritten (allocated
 * metadata mkfs did not write).
 */
static int group_maps(ext4_read_fn rd, void *rctx, const struct fs *fs, uint32_t gi,
		      uint8_t *used, uint8_t *unwritten, char *why, size_t cap)
{
	uint64_t gs = fs->first + (uint64_t)gi * fs->bpg, ge = gs + fs->bpg;
	const struct extent *e, *end = fs->ext + fs->at[gi + 1];
	int r;

	if (ge > fs->blocks)
		ge = fs->blocks;
	memset(unwritten, 0, BLOCK);
	for (e = fs->ext + fs->at[gi]; e < end; e++)
		if (e->unwritten)
			set_range(unwritten, gs, ge, e->start, e->len);
	/* mke2fs writes the reserved GDT blocks of the primary only */
	if (gi && has_super(fs, gi))
		set_range(unwritten, gs, ge, gs + 1 + fs->gdt_blocks, fs->rsv_gdt);
	if (!(fs->g[gi].flags & BG_BLOCK_UNINIT)) {
		r = rd(rctx, fs->g[gi].bb * BLOCK, used, BLOCK);
		if (r)
			return snprintf(why, cap, "read the block bitmap of group %u: %s", gi,
					strerror(-r)), r;
		return 0;
	}
	memset(used, 0, BLOCK);
	if (has_super(fs, gi))
		set_range(used, gs, ge, gs, 1 + fs->gdt_blocks + fs->rsv_gdt);
	for (e = fs->ext + fs->at[gi]; e < end; e++)
		set_range(used, gs, ge, e->start, e->len);
	return 0;
}

struct emit {
	ext4_zero_fn zero;
	void *ctx;
	uint64_t start, len;	/* pending run, in blocks */
};

static int emit_block(struct emit *e, uint64_t b)
{
	int r = 0;

	if (e->len && e->start + e->len == b) {
		e->len++;
		return 0;
	}
	if (e->len)
		r = e->zero(e->ctx, e->start * BLOCK, e->len * BLOCK);
	e->start = b;
	e->len = 1;
	return r;
}

static bool in_zone(const struct ext4_zone *z, size_t n, uint64_t b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b >= z[i].off / BLOCK && b < (z[i].off + z[i].len + BLOCK - 1) / BLOCK)
			return true;
	return false;
}

int ext4_guard_walk(ext4_read_fn rd, void *rctx, const struct ext4_zone *zones, size_t n,
		    uint64_t shadow, ext4_zero_fn zero, void *zctx, char *why, size_t cap)
{
	struct fs fs = { 0 };
	struct emit e = { zero, zctx, 0, 0 };
	uint64_t left = 0, shadow_blocks = (shadow + BLOCK - 1) / BLOCK;
	uint8_t *used = malloc(BLOCK), *unwritten = malloc(BLOCK);
	uint32_t gi;
	int r;

	if (cap)
		why[0] = '\0';
	if (!used || !unwritten) {
		r = -ENOMEM;
		snprintf(why, cap, "out of memory");
		goto out;
	}
	r = read_super(rd, rctx, &fs, why, cap);
	if (r < 0)
		goto out;
	r = read_groups(rd, rctx, &fs, (uint32_t)r, why, cap);
	if (!r)
		r = index_extents(&fs, why, cap);
	for (gi = 0; !r && gi < fs.ngroups; gi++) {
		uint64_t gs = fs.first + (uint64_t)gi * fs.bpg, b;

		r = group_maps(rd, rctx, &fs, gi, used, unwritten, why, cap);
		for (b = gs; !r && b < gs + fs.bpg && b < fs.blocks; b++) {
			bool u;

			/* nothing used, nothing pending: skip the byte (most of a disk) */
			if (!left && !((b - gs) % 8) && b + 8 <= fs.blocks &&
			    !used[(b - gs) / 8] && !unwritten[(b - gs) / 8] &&
			    !in_zone(zones, n, b) && !in_zone(zones, n, b + 7)) {
				b += 7;
				continue;
			}
			u = bit(used, b - gs) || in_zone(zones, n, b);

			if (bit(unwritten, b - gs) || (!u && left))
				r = emit_block(&e, b);
			if (u)
				left = shadow_blocks;
			else if (left)
				left--;
		}
	}
	if (!r && e.len)
		r = zero(zctx, e.start * BLOCK, e.len * BLOCK);
	if (r && !why[0])
		snprintf(why, cap, "zeroing: %s", strerror(-r));
out:
	free(fs.g);
	free(fs.ext);
	free(fs.at);
	free(used);
	free(unwritten);
	return r;
}
