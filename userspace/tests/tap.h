/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TAP lines of dmsealctl's host test programs (attrs, keysource_test):
 * one "ok N - name" / "not ok N - name" per result(), then tap_done() prints
 * the plan and gives the exit status.
 */
#ifndef DMSEALCTL_TESTS_TAP_H
#define DMSEALCTL_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int n_test, n_fail;

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		n_fail++;
}

static int tap_done(void)
{
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}

#endif
