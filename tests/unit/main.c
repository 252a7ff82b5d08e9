// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Test runner and shared helpers for the dmseal core host tests. */
#include <stdarg.h>
#include <stdlib.h>
#include "check.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int cur_failed;

void test_register(const char *name, test_fn fn)
{
	if (n_tests >= MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cur_failed++;
}

int parse_c(const char *s, struct dms_crypt *c, struct dms_reason *why)
{
	return dms_parse_crypt(s, strlen(s), c, why);
}

int parse_i(const char *s, struct dms_integrity *t, struct dms_reason *why)
{
	return dms_parse_integrity(s, strlen(s), t, why);
}

void crypt_bad(const char *file, int line, const char *s, const char *want)
{
	struct dms_crypt c;
	struct dms_reason why = { "" };
	int r = parse_c(s, &c, &why);

	if (r != -EINVAL)
		test_fail(file, line, "crypt '%s' parsed (r=%d)", s, r);
	else if (!strstr(why.msg, want))
		test_fail(file, line, "crypt '%s': reason '%s' lacks '%s'", s,
			  why.msg, want);
}

void int_bad(const char *file, int line, const char *s, const char *want)
{
	struct dms_integrity t;
	struct dms_reason why = { "" };
	int r = parse_i(s, &t, &why);

	if (r != -EINVAL)
		test_fail(file, line, "integrity '%s' parsed (r=%d)", s, r);
	else if (!strstr(why.msg, want))
		test_fail(file, line, "integrity '%s': reason '%s' lacks '%s'", s,
			  why.msg, want);
}

int main(int argc, char **argv)
{
	int i, passed = 0, failed = 0;

	for (i = 0; i < n_tests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		cur_failed = 0;
		tests[i].fn();
		if (cur_failed) {
			printf("not ok %d - %s\n", passed + failed + 1, tests[i].name);
			failed++;
		} else {
			printf("ok %d - %s\n", passed + failed + 1, tests[i].name);
			passed++;
		}
	}
	printf("1..%d\n", passed + failed);
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
