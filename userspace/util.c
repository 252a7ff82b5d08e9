// SPDX-License-Identifier: GPL-2.0-only
/* dmsealctl: small helpers shared by every command. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmsealctl.h"

/*
 * Error messages. As text each is one line on stderr at once ("dmsealctl:
 * ..." for err_msg, as given for err_line). With --json they are kept
 * instead, and main() writes them as one JSON object on stderr when the
 * command fails (json_error_print; Documentation/dmseal/json.rst).
 */
static char *err_kept[16];
static size_t n_err_kept;

static void err_emit(bool prefix, const char *fmt, va_list ap)
{
	char *m = NULL;

	if (!opt_json) {
		if (prefix)
			fprintf(stderr, "%s: ", prog);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		return;
	}
	if (n_err_kept < ARRAY_SIZE(err_kept) && vasprintf(&m, fmt, ap) >= 0)
		err_kept[n_err_kept++] = m;
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_emit(true, fmt, ap);
	va_end(ap);
}

/* The same, without the "dmsealctl: " prefix ("FILE:LINE:COL: ..."). */
void err_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_emit(false, fmt, ap);
	va_end(ap);
}

/* A warning is not an error: always text on stderr, --json or not. */
void warn_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *const exit_kinds[] = {
	[EXIT_OK] = "ok",
	[EXIT_FAIL] = "failed",
	[EXIT_USAGE] = "usage",
	[EXIT_DENIED] = "denied",
	[EXIT_NOENT] = "not-found",
	[EXIT_KEY] = "key",
	[EXIT_VOLUME] = "volume",
	[EXIT_PERM] = "permission",
	[EXIT_NOMODULE] = "no-module",
};

const char *exit_kind(int code)
{
	if (code >= 0 && (size_t)code < ARRAY_SIZE(exit_kinds) && exit_kinds[code])
		return exit_kinds[code];
	return "failed";
}

/*
 * With --json, a failed command's errors as one line on stderr:
 * {"dmsealctl_json":1,"error":{"code":N,"kind":"...","message":"...",
 * "messages":[...]}}: message is the first error, messages all of them in
 * order. Without --json (or on success) only the kept messages are freed.
 */
void json_error_print(int code)
{
	struct json_object *o, *e, *all;
	size_t i;

	if (opt_json && code != EXIT_OK) {
		o = json_out_new();
		e = json_object_new_object();
		all = json_object_new_array();
		json_object_object_add(e, "code", json_object_new_int(code));
		json_object_object_add(e, "kind", json_object_new_string(exit_kind(code)));
		json_object_object_add(e, "message", n_err_kept ?
				       json_string_safe(err_kept[0]) :
				       json_object_new_string(exit_kind(code)));
		for (i = 0; i < n_err_kept; i++)
			json_object_array_add(all, json_string_safe(err_kept[i]));
		json_object_object_add(e, "messages", all);
		json_object_object_add(o, "error", e);
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		fflush(stderr);
		json_object_put(o);
	}
	for (i = 0; i < n_err_kept; i++)
		free(err_kept[i]);
	n_err_kept = 0;
}

/*
 * Where a usage text goes after a bad command line: stderr, or with --json
 * nowhere (the error object says "usage" and where to look).
 */
FILE *usage_err(const char *cmd)
{
	static FILE *null;

	if (!opt_json)
		return stderr;
	/* getopt's own complaint is off with --json (main.c): say it here */
	if (optopt > 0 && optopt < 128 && optopt != '?')
		err_msg("invalid option -%c, or it needs an argument", optopt);
	err_msg("invalid command line (see %s %s%s--help)", prog, cmd ? cmd : "",
		cmd ? " " : "");
	if (!null)
		null = fopen("/dev/null", "w");
	return null ? null : stderr;
}

/* Seconds since the first call: --debug's time stamps. */
double since_start(void)
{
	static double t0;

	if (!t0)
		t0 = now_s();
	return now_s() - t0;
}

/* --verbose goes to stderr so stdout stays parseable (and JSON stays JSON). */
void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!opt_verbose)
		return;
	if (opt_debug)
		fprintf(stderr, "[%8.4f] ", since_start());
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

/*
 * Map a (negative or positive) errno from a dmseal request that reads state
 * (status, list-pins, get-policy) to our exit status: there EPERM/EACCES
 * only ever mean the caller lacks the privilege. (A refused load-policy is
 * policy_cmd.c's to map: there EPERM can be the boot-time digest.)
 */
int errno_exit(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return EXIT_OK;
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return EXIT_NOENT;
	default:
		return EXIT_FAIL;
	}
}
