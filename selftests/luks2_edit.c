// SPDX-License-Identifier: GPL-2.0-only
/*
 * luks2_edit DEV OLD NEW: what a hostile host does to a LUKS2 header between
 * two boots. Replaces the first OLD in the JSON area of both header copies
 * with NEW (NEW may be shorter or longer; the area is NUL-padded) and
 * recomputes both checksums, so the result is a header libcryptsetup loads.
 * Used by dmsealctl_persistent.sh; never key material, never a test of its
 * own. Exit 0 edited, 1 OLD not found or I/O error, 2 usage.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#define BIN	4096
#define CSUM	448

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int edit(uint8_t *h, size_t hsz, const char *old, const char *new)
{
	char *json = (char *)h + BIN, *at;
	size_t area = hsz - BIN, len = strnlen(json, area);
	size_t lo = strlen(old), ln = strlen(new);
	unsigned int n;

	if (len == area)
		return -1;
	at = strstr(json, old);
	if (!at || len - lo + ln >= area)
		return -1;
	memmove(at + ln, at + lo, len - (at - json) - lo + 1);
	memcpy(at, new, ln);
	memset(json + strlen(json), 0, area - strlen(json));
	memset(h + CSUM, 0, 64);
	return EVP_Digest(h, hsz, h + CSUM, &n, EVP_sha256(), NULL) ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint8_t *buf;
	uint64_t hsz;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: luks2_edit DEV OLD NEW\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	buf = malloc(4u << 20);
	if (fd < 0 || !buf || pread(fd, buf, BIN, 0) != BIN)
		return perror(argv[1]), 1;
	hsz = be64(buf + 8);
	if (hsz < 2 * BIN || hsz > (2u << 20) ||
	    pread(fd, buf, 2 * hsz, 0) != (ssize_t)(2 * hsz))
		return fprintf(stderr, "%s: no LUKS2 header\n", argv[1]), 1;
	if (edit(buf, hsz, argv[2], argv[3]) || edit(buf + hsz, hsz, argv[2], argv[3]))
		return fprintf(stderr, "%s: '%s' not in both JSON areas\n", argv[1], argv[2]), 1;
	if (pwrite(fd, buf, 2 * hsz, 0) != (ssize_t)(2 * hsz) || fsync(fd))
		return perror(argv[1]), 1;
	return 0;
}
