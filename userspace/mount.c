// SPDX-License-Identifier: GPL-2.0-only
/* dmsealctl: mount options, finding a device's mounts, mkdir -p. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dmsealctl.h"

/*
 * --mount-options: flags we know become MS_* bits, anything else is passed
 * to the filesystem. nodev,nosuid are always on: an untrusted disk never
 * carries device nodes or set-uid programs we honour. "dev", "suid" and
 * "discard" are refused (discard leaks the allocation map to the host).
 */
int mount_opts_parse(const char *s, struct mount_opts *mo)
{
	static const struct {
		const char *name;
		unsigned long set;
	} flags[] = {
		{ "noexec", MS_NOEXEC }, { "ro", MS_RDONLY }, { "noatime", MS_NOATIME },
		{ "nodiratime", MS_NODIRATIME }, { "relatime", MS_RELATIME },
		{ "sync", MS_SYNCHRONOUS }, { "dirsync", MS_DIRSYNC },
		{ "nodev", MS_NODEV }, { "nosuid", MS_NOSUID }, { "exec", 0 },
		{ "rw", 0 }, { "defaults", 0 },
	};
	char *copy, *tok, *save = NULL;
	size_t used = 0, i;
	int r = 0;

	mo->flags = MS_NODEV | MS_NOSUID;
	mo->data[0] = '\0';
	if (!s || !*s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "dev") || !strcmp(tok, "suid") || !strcmp(tok, "discard") ||
		    !strncmp(tok, "discard=", 8)) {
			err_msg("--mount-options: '%s' is not allowed on an ephemeral volume",
				tok);
			r = -EINVAL;
			break;
		}
		for (i = 0; i < ARRAY_SIZE(flags); i++)
			if (!strcmp(tok, flags[i].name))
				break;
		if (i < ARRAY_SIZE(flags)) {
			mo->flags |= flags[i].set;
			continue;
		}
		if (used + strlen(tok) + 2 > sizeof(mo->data)) {
			err_msg("--mount-options: too long");
			r = -EINVAL;
			break;
		}
		used += snprintf(mo->data + used, sizeof(mo->data) - used, "%s%s",
				 used ? "," : "", tok);
	}
	free(copy);
	return r;
}

/* Undo the escaping of /proc/self/mountinfo (\040 for a space, ...). */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * Mount points of a block device, found by its device number (field 3 of
 * mountinfo), not by name: the source name can be /dev/dm-N or a symlink.
 * Returned newest first, the order to unmount them in.
 */
int find_mounts(dev_t dev, char ***mps, size_t *n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	char **list = NULL;
	size_t cnt = 0;

	*mps = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned int maj, min;
		char mp[4096];
		char **nl;

		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mp) != 3)
			continue;
		if (makedev(maj, min) != dev)
			continue;
		unescape(mp);
		nl = realloc(list, (cnt + 1) * sizeof(*list));
		if (!nl)
			break;
		list = nl;
		list[cnt] = strdup(mp);
		if (list[cnt])
			cnt++;
	}
	free(line);
	fclose(f);
	/* reverse: the last mounted comes off first */
	for (size_t i = 0; i < cnt / 2; i++) {
		char *t = list[i];

		list[i] = list[cnt - 1 - i];
		list[cnt - 1 - i] = t;
	}
	*mps = list;
	*n = cnt;
	return 0;
}

void free_mounts(char **mps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(mps[i]);
	free(mps);
}

/* mkdir -p; *created tells whether the last component was made by us. */
int mkdir_p(const char *path, mode_t mode, bool *created)
{
	char buf[4096];
	size_t i, len = strlen(path);

	*created = false;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) == 0) {
			if (i == len || (i == len - 1 && path[len - 1] == '/'))
				*created = true;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (i < len)
			buf[i] = '/';
	}
	{
		struct stat st;

		if (stat(path, &st))
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}
