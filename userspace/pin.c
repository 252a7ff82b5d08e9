// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: hold a block device by file descriptor, so that the device a
 * command checked is the device every later step uses.
 *
 * A path is a name, looked up again at every open: a /dev/disk/by-* link
 * that udev rewrites when the host hot-plugs a disk with a matching serial,
 * or a node replaced between two opens, would make a later step (format,
 * mkfs) act on another disk than the one that was checked. So the device is
 * opened once, and every step is given /proc/self/fd/N of that open file:
 * the kernel (device-mapper's table load, mount) and libcryptsetup follow
 * that link to the very inode that was opened, whatever the path names by
 * then. Before each step the held descriptor is checked with fstat() and the
 * path the caller gave is checked to still name the same device; if it does
 * not, someone re-pointed it while we worked, and the caller refuses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dmsealctl.h"

void pin_init(struct blkpin *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->excl_fd = -1;
}

static int pin_fail(struct blkpin *p, int err, char *why, size_t cap,
		    const char *msg)
{
	snprintf(why, cap, "%s: %s", shown(p->arg), msg ? msg : strerror(err));
	pin_close(p);
	return -err;
}

/*
 * Open @arg and hold it. With @excl, also claim it exclusively (O_EXCL):
 * the kernel then refuses it to mounts and device-mapper, and refuses us if
 * either already has it. The claim is held until pin_release_excl(); the
 * non-exclusive descriptor that every step uses is opened through
 * /proc/self/fd of the claiming one, so both are the same inode.
 */
int pin_open(struct blkpin *p, const char *arg, int mode, bool excl,
	     char *why, size_t cap)
{
	char self[32];
	struct stat st, st2;
	int fd;

	pin_init(p);
	p->arg = arg;
	fd = open(arg, mode | O_CLOEXEC | (excl ? O_EXCL : 0));
	if (fd < 0)
		return pin_fail(p, errno, why, cap, errno == EBUSY ?
				"in use (mounted or held by another device)" : NULL);
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		close(fd);
		return pin_fail(p, ENOTBLK, why, cap, "not a block device");
	}
	p->rdev = st.st_rdev;
	if (!excl) {
		p->fd = fd;
	} else {
		p->excl_fd = fd;
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		p->fd = open(self, mode | O_CLOEXEC);
		if (p->fd < 0)
			return pin_fail(p, errno, why, cap,
					"cannot reopen it through /proc/self/fd (is /proc mounted?)");
		if (fstat(p->fd, &st2) || st2.st_rdev != st.st_rdev)
			return pin_fail(p, ESTALE, why, cap,
					"reopened through /proc/self/fd, it is another device");
	}
	snprintf(p->path, sizeof(p->path), "/proc/self/fd/%d", p->fd);
	return 0;
}

/* Give up the O_EXCL claim: device-mapper is about to claim the device. */
void pin_release_excl(struct blkpin *p)
{
	if (p->excl_fd >= 0)
		close(p->excl_fd);
	p->excl_fd = -1;
}

void pin_close(struct blkpin *p)
{
	pin_release_excl(p);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->path[0] = '\0';
}

/*
 * Is the device still the one that was checked? The held descriptor cannot
 * change; the caller's path can, and if it no longer names the device,
 * someone re-pointed it under us: -ESTALE, with the reason in @why.
 */
int pin_check(const struct blkpin *p, char *why, size_t cap)
{
	struct stat st;

	if (p->fd < 0 || fstat(p->fd, &st) || !S_ISBLK(st.st_mode) ||
	    st.st_rdev != p->rdev) {
		snprintf(why, cap, "%s: the device held since the check is gone",
			 shown(p->arg));
		return -ESTALE;
	}
	if (stat(p->arg, &st)) {
		snprintf(why, cap, "%s changed while in use: it was %u:%u when checked and no longer exists (%s); refusing to go on",
			 shown(p->arg), major(p->rdev), minor(p->rdev), strerror(errno));
		return -ESTALE;
	}
	if (!S_ISBLK(st.st_mode) || st.st_rdev != p->rdev) {
		snprintf(why, cap, "%s changed while in use: it was %u:%u when checked and now names %s%u:%u; refusing to go on",
			 shown(p->arg), major(p->rdev), minor(p->rdev),
			 S_ISBLK(st.st_mode) ? "" : "a non-block file, ",
			 major(st.st_rdev), minor(st.st_rdev));
		return -ESTALE;
	}
	return 0;
}

int pin_size(const struct blkpin *p, uint64_t *size)
{
	return ioctl(p->fd, BLKGETSIZE64, size) ? -errno : 0;
}

/* Read a one-line sysfs attribute of block device @dev ("dm/name", "dev"). */
int sysfs_dev_attr(dev_t dev, const char *attr, char *buf, size_t cap)
{
	char path[128];
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(dev),
		 minor(dev), attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Whether block device @top is built, through at most @depth layers of
 * device-mapper, on block device @bottom (sysfs "slaves" of each layer).
 */
bool dev_stacks_on(dev_t top, dev_t bottom, int depth)
{
	char path[128], buf[32];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (depth <= 0)
		return false;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/slaves", major(top),
		 minor(top));
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char sub[128 + 256 + 8];
		unsigned int ma, mi;
		int fd;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/dev", path, e->d_name);
		fd = open(sub, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (sscanf(buf, "%u:%u", &ma, &mi) != 2)
			continue;
		found = makedev(ma, mi) == bottom ||
			dev_stacks_on(makedev(ma, mi), bottom, depth - 1);
	}
	closedir(d);
	return found;
}
