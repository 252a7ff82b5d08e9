/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * After mkfs on a volume that was not wiped: which blocks must still be
 * written so that nothing, including the kernel's readahead, ever reads a
 * block nobody wrote. Pure logic over a reader callback: dmsealctl feeds it
 * the held volume, the host test a mkfs'd image file.
 */
#ifndef DMSEALCTL_EXT4GUARD_H
#define DMSEALCTL_EXT4GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* read @len bytes at byte offset @off; 0 or -errno */
typedef int (*ext4_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);
/* a byte range to zero, in ascending order; 0 or -errno stops the walk */
typedef int (*ext4_zero_fn)(void *ctx, uint64_t off, uint64_t len);

/*
 * Walk the ext4 filesystem mkfs just made (not mounted) and emit:
 *  - metadata blocks mkfs allocates but leaves unwritten (the bitmaps of
 *    groups flagged BLOCK_UNINIT / INODE_UNINIT, inode tables not flagged
 *    zeroed, the reserved GDT blocks of backup groups): the kernel and e2fsck never read them on purpose, but
 *    readahead of their written neighbours does;
 *  - the free blocks within @shadow bytes after every run of used blocks,
 *    and after each of the @n @zones (byte ranges zeroed before mkfs, which
 *    blkid reads): where readahead from the end of that run can reach.
 * Needs 4 KiB blocks and no meta_bg (what dmsealctl's mke2fs arguments
 * give). Returns 0, or -errno with @why saying what was wrong.
 */
/* sparse_super: groups 0, 1 and the powers of 3, 5 and 7 hold a backup */
bool ext4_sparse_super_group(uint64_t g);

struct ext4_zone {
	uint64_t off, len;
};

int ext4_guard_walk(ext4_read_fn rd, void *rctx, const struct ext4_zone *zones, size_t n,
		    uint64_t shadow, ext4_zero_fn zero, void *zctx, char *why, size_t cap);

#endif
