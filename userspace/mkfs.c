// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: make the filesystem of a volume, and zero ranges.
 *
 * dm-integrity fails the read of a sector that was never written (its tag
 * is garbage), so with no full wipe nothing may ever read a block before
 * writing it: mkfs runs with eager inode-table init and no journal, and the
 * blocks mke2fs reads before writing them are zeroed first.
 *
 * Every block mkfs writes goes through dm-crypt and dm-integrity, which
 * under a TEE (and far more under TCG) costs many times a bare disk's write:
 * what makes setup slow is how much mkfs writes. An ephemeral volume lives
 * exactly as long as its pod and is never resized, checked offline or
 * recovered, so it is made without what only those need (see ext4_args).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmsealctl.h"
#include "ext4guard.h"

/*
 * Zero [off, off+len) of the held device; the caller makes it durable
 * (fsync) once for all its ranges. BLKZEROOUT first: the kernel submits
 * the whole range as many large bios at once, so dm-crypt encrypts on every
 * CPU, where a write() loop keeps one bio in flight. dm-crypt has no
 * REQ_OP_WRITE_ZEROES, so the kernel writes real zero pages through the
 * stack and every tag is valid afterwards. The range also leaves the page
 * cache, so no stale page hides what is on the volume.
 */
int zero_range(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];
	uint64_t range[2] = { off, len };
	int r = 0;

	if (!len)
		return 0;
	if (!ioctl(fd, BLKZEROOUT, range))
		return 0;
	if (errno != ENOTTY && errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	while (len && !r) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		off += w;
		len -= w;
	}
	return r;
}

/* Zero the whole device in steps small enough to stop between on a signal. */
int zero_all(int fd, uint64_t size)
{
	const uint64_t step = 256ull << 20;
	uint64_t off;
	int r = 0;

	for (off = 0; off < size && !r; off += step)
		r = zero_range(fd, off, size - off < step ? size - off : step);
	if (!r && fsync(fd))
		r = -errno;
	return r;
}

/*
 * The ranges ext4_prepare zeroes outside the layout: what blkid reads, with
 * the readahead behind each read. At the head that runs to the LUKS2
 * secondary-header slot at 2 MiB and its readahead: udev may probe between
 * mkfs and the guard (seen: block 512 read unwritten when the head zone
 * stopped at 2 MiB and only the guard covered what follows).
 */
size_t ext4_probe_zones(uint64_t size, struct ext4_zone *z)
{
	uint64_t edge = size < EXT4_PREPARE_EDGE ? size : EXT4_PREPARE_EDGE;
	uint64_t head = edge + EXT4_PREPARE_SHADOW < size ? edge + EXT4_PREPARE_SHADOW : size;
	size_t n = 0;

	z[n++] = (struct ext4_zone){ 0, head };
	z[n++] = (struct ext4_zone){ size - edge, edge };
	/* the LUKS2 probe also looks for a secondary header at 4 MiB */
	if (size >= EXT4_LUKS2_PROBE + EXT4_PREPARE_SHADOW + edge &&
	    EXT4_LUKS2_PROBE >= head)
		z[n++] = (struct ext4_zone){ EXT4_LUKS2_PROBE, EXT4_PREPARE_SHADOW };
	return n;
}

/*
 * Before mkfs with no full wipe: zero every block mke2fs, or blkid later,
 * may read before anything wrote it. Those are the areas blkid probes for
 * old signatures (ext4_probe_zones: both ends and 4 MiB in) and, if the
 * layout has them, the superblock backups: a superblock is 1 KiB inside a
 * 4 KiB block, so writing one is a read-modify-write of a block nobody
 * wrote yet (seen: "INTEGRITY AEAD ERROR" at the start of group 1). With
 * -b 4096 and -g 32768, sparse_super keeps backups in groups 1 and the
 * powers of 3, 5 and 7; the scratch layout has none.
 */
int ext4_prepare(int dev, uint64_t size, const struct ext4_opts *o)
{
	const uint64_t group = 32768ull * 4096;
	struct ext4_zone z[3];
	size_t i, n = ext4_probe_zones(size, z);
	uint64_t g;
	int r = 0;

	for (i = 0; !r && i < n; i++)
		r = zero_range(dev, z[i].off, z[i].len);
	for (g = 1; !r && !o->scratch && g * group < size; g++) {
		if (!ext4_sparse_super_group(g))
			continue;
		r = zero_range(dev, g * group, 4096);
	}
	if (!r && fsync(dev))
		r = -errno;
	return r;
}

static const char *find_prog(const char *name, char *buf, size_t cap)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(buf, cap, "%s/%s", dirs[i], name);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

/*
 * The mke2fs arguments. Every layout: 4 KiB blocks and 32768 blocks per
 * group (ext4_prepare counts on both), 256-byte inodes (nanosecond
 * timestamps, which make and friends need, and dates past 2038; mke2fs
 * calls 128-byte inodes deprecated), no journal (dm-integrity's AEAD
 * already makes every block write atomic, and a journal doubles the
 * writes), eager inode tables (ext4's lazy init reads blocks nobody
 * wrote), no discard (it would show the host which blocks are in use)
 * and no reserved blocks.
 *
 * The scratch layout adds: no resize inode (its reserved descriptor blocks
 * are written into every backup group, and an ephemeral volume is never
 * grown) and sparse_super2 with no backup superblocks (they serve only the
 * offline repair of a volume that does not outlive its pod).
 */
static void ext4_args(const struct ext4_opts *o, char *ratio, size_t cap, const char *dev,
		      const char *argv[], size_t n)
{
	size_t i = 0;

#define ARG(s) do { if (i < n - 1) argv[i++] = (s); } while (0)
	ARG("mkfs.ext4");
	ARG("-F");
	ARG("-q");
	ARG("-b");
	ARG("4096");
	ARG("-g");
	ARG("32768");
	ARG("-I");
	ARG("256");
	ARG("-m");
	ARG("0");
	if (o->inode_ratio) {
		snprintf(ratio, cap, "%u", o->inode_ratio);
		ARG("-i");
		ARG(ratio);
	}
	if (o->scratch) {
		ARG("-O");
		ARG("^has_journal,^resize_inode,sparse_super2");
		ARG("-E");
		ARG("lazy_itable_init=0,lazy_journal_init=0,nodiscard,num_backup_sb=0");
	} else {
		ARG("-O");
		ARG("^has_journal");
		ARG("-E");
		ARG("lazy_itable_init=0,lazy_journal_init=0,nodiscard");
	}
	ARG(dev);
#undef ARG
	argv[i] = NULL;
}

/*
 * fork/exec, never a shell. mkfs gets the device we hold, as
 * /proc/self/fd/N of its inherited copy of @fd: it cannot open any other
 * device, whatever a path names by now. stdout/stderr of mkfs are captured
 * for the error.
 */
int run_mkfs_ext4(int fd, const struct ext4_opts *o, char *errbuf, size_t errcap)
{
	char path[64], dev[32], ratio[16];
	const char *mkfs = find_prog("mkfs.ext4", path, sizeof(path));
	const char *argv[32];
	char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	int pfd[2], status;
	size_t n = 0;
	pid_t pid;

	if (errcap)
		errbuf[0] = '\0';
	if (!mkfs) {
		snprintf(errbuf, errcap, "mkfs.ext4 not found");
		return -ENOENT;
	}
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (!pid) {
		/* the device, and only it, survives the exec (F_DUPFD: no CLOEXEC) */
		int devnull = open("/dev/null", O_RDONLY);
		int dfd = fcntl(fd, F_DUPFD, 3);

		if (dfd < 0)
			_exit(127);
		snprintf(dev, sizeof(dev), "/proc/self/fd/%d", dfd);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		ext4_args(o, ratio, sizeof(ratio), dev, argv, ARRAY_SIZE(argv));
		execve(mkfs, (char *const *)argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char tmp[256];
		ssize_t got = read(pfd[0], tmp, sizeof(tmp));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (errcap && n < errcap - 1) {
			size_t k = (size_t)got < errcap - 1 - n ? (size_t)got : errcap - 1 - n;

			memcpy(errbuf + n, tmp, k);
			n += k;
			errbuf[n] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (errcap && !errbuf[0])
		snprintf(errbuf, errcap, "mkfs.ext4 failed (status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return -EIO;
}

static int guard_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

static int guard_zero(void *ctx, uint64_t off, uint64_t len)
{
	return zero_range(*(int *)ctx, off, len);
}

/*
 * After mkfs, before the first mount: make valid every block readahead can
 * reach from what mkfs wrote (ext4guard.c). Readahead goes up to twice the
 * volume's read_ahead_kb past a read (the async window); never less than
 * 256 KiB, should something raise read_ahead_kb later. Our own reads of the
 * descriptors and bitmaps must not read ahead either: POSIX_FADV_RANDOM.
 */
int ext4_guard(int fd, uint64_t size, char *why, size_t cap)
{
	struct ext4_zone z[3];
	size_t n = ext4_probe_zones(size, z);
	long ra = 0;
	uint64_t shadow = EXT4_PREPARE_SHADOW;
	int r;

	if (!ioctl(fd, BLKRAGET, &ra) && ra > 0 && (uint64_t)ra * 512 * 2 > shadow)
		shadow = (uint64_t)ra * 512 * 2;
	r = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (r)
		return snprintf(why, cap, "fadvise: %s", strerror(r)), -r;
	r = ext4_guard_walk(guard_read, &fd, z, n, shadow, guard_zero, &fd, why, cap);
	if (!r && fsync(fd))
		r = -errno;
	if (r && !why[0])
		snprintf(why, cap, "readahead guard: %s", strerror(-r));
	return r;
}
