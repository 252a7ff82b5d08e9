// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: make the filesystem of an ephemeral volume, and zero ranges.
 *
 * dm-integrity fails the read of a sector that was never written (its tag
 * is garbage), so with no full wipe nothing may ever read a block before
 * writing it: mkfs runs with eager inode-table and journal init and no
 * journal, and the areas probed for old signatures are zeroed first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmsealctl.h"

/* Write zeros over [off, off+len) of the held device and make them durable. */
int zero_range(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];
	int r = 0;

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
	if (!r && fsync(fd))
		r = -errno;
	return r;
}

static bool power_of(uint64_t g, uint64_t b)
{
	while (g > 1 && g % b == 0)
		g /= b;
	return g == 1;
}

/*
 * Before mkfs with no full wipe: zero every block mke2fs may read before it
 * writes it. Those are the areas blkid probes for old signatures (first and
 * last MiB) and the superblock backups: a superblock is 1 KiB inside a 4 KiB
 * block, so writing one is a read-modify-write of a block nobody wrote yet
 * (seen: "INTEGRITY AEAD ERROR" at the start of group 1). With -b 4096 and
 * the default 32768 blocks per group, sparse_super keeps backups in groups
 * 1 and the powers of 3, 5 and 7.
 */
int ext4_prepare(int dev, uint64_t size)
{
	const uint64_t mib = 1024 * 1024, group = 32768ull * 4096;
	uint64_t head = size < mib ? size : mib, g;
	int r;

	r = zero_range(dev, 0, head);
	if (!r)
		r = zero_range(dev, size - head, head);
	for (g = 1; !r && g * group < size; g++) {
		if (g != 1 && !power_of(g, 3) && !power_of(g, 5) && !power_of(g, 7))
			continue;
		r = zero_range(dev, g * group, 4096);
	}
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
 * fork/exec, never a shell. mkfs gets the device we hold, as
 * /proc/self/fd/N of its inherited copy of @fd: it cannot open any other
 * device, whatever a path names by now. stdout/stderr of mkfs are captured
 * for the error.
 */
int run_mkfs_ext4(int fd, char *errbuf, size_t errcap)
{
	char path[64], dev[32];
	const char *mkfs = find_prog("mkfs.ext4", path, sizeof(path));
	char *const argv[] = {
		"mkfs.ext4", "-F", "-q", "-b", "4096", "-g", "32768",
		"-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard",
		"-O", "^has_journal", "-m", "0",
		dev, NULL,
	};
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
		execve(mkfs, argv, envp);
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
