// SPDX-License-Identifier: GPL-2.0-only
/* dmsealctl: small helpers shared by every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmsealctl.h"

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --verbose goes to stderr so stdout stays parseable (and JSON stays JSON). */
void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!opt_verbose)
		return;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Volume names end up in /dev/mapper/, in the header file name under
 * /run/dmseal and in dm-crypt's key description: keep them to a plain,
 * path-safe character set (no '/', no leading '.', bounded length).
 */
bool name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Map a (negative or positive) errno from the kernel to our exit status. */
int errno_exit(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return EXIT_OK;
	case EACCES:
	case EPERM:
		return EXIT_DENIED;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return EXIT_NOENT;
	default:
		return EXIT_FAIL;
	}
}
