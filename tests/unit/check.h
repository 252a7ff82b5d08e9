/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Minimal TAP-style test harness for the dmseal core host tests.
 *
 * TEST(name) { ... } registers a test; CHECK*() record failures without
 * aborting the test so one run shows every broken expectation.
 */
#ifndef DMSEAL_TEST_CHECK_H
#define DMSEAL_TEST_CHECK_H

#include <stdio.h>
#include <string.h>
#include "dmseal_core.h"

typedef void (*test_fn)(void);

void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void reg_##name(void)	\
	{								\
		test_register(#name, name);				\
	}								\
	static void name(void)

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			test_fail(__FILE__, __LINE__, "%s", #cond);	\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b)						\
			test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
				  #a, #b, _a, _b);			\
	} while (0)

#define CHECK_STR(a, b)							\
	do {								\
		const char *_a = (a), *_b = (b);			\
		if (strcmp(_a, _b))					\
			test_fail(__FILE__, __LINE__, "%s: '%s' != '%s'", \
				  #a, _a, _b);				\
	} while (0)

/* The reason must contain the given substring. */
#define CHECK_HAS(hay, needle)						\
	do {								\
		const char *_h = (hay), *_n = (needle);			\
		if (!strstr(_h, _n))					\
			test_fail(__FILE__, __LINE__, "'%s' lacks '%s'", _h, _n); \
	} while (0)

/* Parse helpers: NUL-terminated literal, whole length. */
int parse_c(const char *s, struct dms_crypt *c, struct dms_reason *why);
int parse_i(const char *s, struct dms_integrity *t, struct dms_reason *why);

/* Expect a parse failure whose reason contains want. */
void crypt_bad(const char *file, int line, const char *s, const char *want);
void int_bad(const char *file, int line, const char *s, const char *want);
#define CRYPT_BAD(s, want) crypt_bad(__FILE__, __LINE__, s, want)
#define INT_BAD(s, want) int_bad(__FILE__, __LINE__, s, want)

/* A valid sample policy (heap-free: static storage), normalized. */
struct dms_policy *sample_policy(void);

#endif
