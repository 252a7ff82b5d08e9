// SPDX-License-Identifier: GPL-2.0-only
/*
 * The readahead guard (ext4guard.c) against a real mkfs, on the host:
 *
 *   ext4guard_test IMAGE SIZE scratch|full RATIO [sparse]
 *
 * fills IMAGE with a poison byte (a block still all poison afterwards is
 * one nobody wrote: on a volume, its tag would be invalid), then runs
 * exactly what setup runs: ext4_prepare, mkfs.ext4 with dmsealctl's
 * arguments, ext4_guard_walk, the zeroing. Passes if
 *  - safe: every block the guard zeroes was poison or already zero, so it
 *    never changes a byte the filesystem wrote;
 *  - complete: no block is still poison within the readahead shadow after
 *    a block mkfs wrote (what anything reads on purpose);
 * and prints the zeroed byte count. run.sh then runs e2fsck -fn on IMAGE.
 *
 * With "sparse", IMAGE is a sparse file instead (no poison, no completeness
 * pass): a disk of many TiB and its hundred thousand groups, to show the
 * walk's cost follows the groups, not their square.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dmsealctl.h"
#include "../ext4guard.h"

#define BLK 4096u
#define POISON 0xA5
#define SHADOW (256u << 10)

const char *prog = "ext4guard_test";

static int fd;
static uint64_t zeroed, unsafe;

static bool all(const uint8_t *b, uint8_t v)
{
	unsigned int i;

	for (i = 0; i < BLK; i++)
		if (b[i] != v)
			return false;
	return true;
}

static int rd(void *ctx, uint64_t off, void *buf, size_t len)
{
	(void)ctx;
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/* check that the range holds nothing, then zero it as setup would */
static int zero(void *ctx, uint64_t off, uint64_t len)
{
	uint8_t b[BLK];
	uint64_t o;

	(void)ctx;
	for (o = off; o < off + len; o += BLK) {
		if (pread(fd, b, BLK, (off_t)o) != BLK)
			return -EIO;
		if (!all(b, POISON) && !all(b, 0)) {
			fprintf(stderr, "unsafe: block %llu has content\n",
				(unsigned long long)(o / BLK));
			unsafe++;
		}
	}
	zeroed += len;
	return zero_range(fd, off, len);
}

/*
 * Right after the prepare step, before mkfs, every place blkid probes must
 * read back written blocks, readahead included: udev runs blkid on the new
 * volume whenever it likes (seen: a probe of the LUKS2 secondary-header slot
 * at 2 MiB, between mkfs and the guard). The LUKS2 slots from 16 KiB to 4 MiB
 * and the deepest probe from the end (promise_fasttrack_raid, 3087 sectors).
 */
static int probes_unready(uint64_t size)
{
	static const uint64_t luks2[] = { 0, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10,
					  512 << 10, 1 << 20, 2 << 20, 4 << 20 };
	uint64_t at[sizeof(luks2) / sizeof(luks2[0]) + 1], o;
	uint8_t b[BLK];
	unsigned int i, n = 0, bad = 0;

	for (i = 0; i < sizeof(luks2) / sizeof(luks2[0]); i++)
		at[n++] = luks2[i];
	at[n++] = (size - 3087 * 512) & ~(uint64_t)(BLK - 1);
	for (i = 0; i < n; i++) {
		for (o = at[i]; o < at[i] + SHADOW && o < size; o += BLK) {
			if (pread(fd, b, BLK, (off_t)o) != BLK)
				return perror("read"), 1;
			if (all(b, POISON) && bad++ < 10)
				fprintf(stderr, "probe at %llu KiB: block %llu unwritten after prepare\n",
					(unsigned long long)(at[i] >> 10),
					(unsigned long long)(o / BLK));
		}
	}
	return bad != 0;
}

int main(int argc, char **argv)
{
	struct ext4_opts o = { 0 };
	uint8_t b[BLK];
	uint64_t size, blk, last_written = 0, gaps = 0;
	bool any_written = false, sparse;
	uint8_t *mkfs_wrote;
	struct ext4_zone zones[3];
	size_t nz;
	char why[512] = "";
	int r;

	if (argc != 5 && (argc != 6 || strcmp(argv[5], "sparse"))) {
		fprintf(stderr, "usage: %s IMAGE SIZE scratch|full RATIO [sparse]\n", prog);
		return 2;
	}
	sparse = argc == 6;
	size = strtoull(argv[2], NULL, 0);
	o.scratch = !strcmp(argv[3], "scratch");
	o.inode_ratio = (uint32_t)strtoul(argv[4], NULL, 0);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || size % BLK)
		return perror(argv[1]), 1;
	memset(b, POISON, BLK);
	for (blk = 0; !sparse && blk < size / BLK; blk++)
		if (pwrite(fd, b, BLK, (off_t)(blk * BLK)) != BLK)
			return perror("poison"), 1;
	if (sparse && ftruncate(fd, (off_t)size))
		return perror("truncate"), 1;
	r = ext4_prepare(fd, size, &o);
	if (!r && !sparse && probes_unready(size))
		return 1;
	if (!r)
		r = run_mkfs_ext4(fd, &o, why, sizeof(why));
	if (r)
		return fprintf(stderr, "prepare/mkfs: %s %s\n", strerror(-r), why), 1;
	if (sparse) {
		nz = ext4_probe_zones(size, zones);
		r = ext4_guard_walk(rd, NULL, zones, nz, SHADOW, zero, NULL, why, sizeof(why));
		if (r)
			return fprintf(stderr, "guard: %s\n", why), 1;
		printf("zeroed %llu KiB, %llu unsafe blocks (sparse image)\n",
		       (unsigned long long)(zeroed >> 10), (unsigned long long)unsafe);
		return unsafe ? 1 : 0;
	}
	/* what mkfs and the prepare step wrote: what anything reads on purpose */
	mkfs_wrote = calloc(size / BLK, 1);
	if (!mkfs_wrote)
		return 1;
	for (blk = 0; blk < size / BLK; blk++) {
		if (pread(fd, b, BLK, (off_t)(blk * BLK)) != BLK)
			return perror("read"), 1;
		mkfs_wrote[blk] = !all(b, POISON);
	}
	nz = ext4_probe_zones(size, zones);
	r = ext4_guard_walk(rd, NULL, zones, nz, SHADOW, zero, NULL, why, sizeof(why));
	if (r)
		return fprintf(stderr, "guard: %s\n", why), 1;
	for (blk = 0; blk < size / BLK; blk++) {
		if (pread(fd, b, BLK, (off_t)(blk * BLK)) != BLK)
			return perror("read back"), 1;
		if (mkfs_wrote[blk]) {
			last_written = blk;
			any_written = true;
		} else if (all(b, POISON) && any_written && (blk - last_written) * BLK <= SHADOW) {
			if (gaps++ < 10)
				fprintf(stderr, "gap: block %llu never written, %llu blocks after written block %llu\n",
					(unsigned long long)blk,
					(unsigned long long)(blk - last_written),
					(unsigned long long)last_written);
		}
	}
	printf("zeroed %llu KiB, %llu unsafe blocks, %llu unguarded blocks\n",
	       (unsigned long long)(zeroed >> 10), (unsigned long long)unsafe,
	       (unsigned long long)gaps);
	close(fd);
	free(mkfs_wrote);
	return unsafe || gaps ? 1 : 0;
}
