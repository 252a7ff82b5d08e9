// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * What dmseal's pure core costs per table target, as a ratio against what
 * device-mapper does with the same string anyway (copy it and split it into
 * words, as dm_split_args does before the constructor runs). Both are
 * measured here, in the same run, so the ratio holds on any machine; the
 * absolute numbers are printed only for orientation.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmseal_core.h"
#include "../unit/check.h"

#define ITERS	200000
#define ROUNDS	5

static const char crypt_tbl[] =
	"capi:authenc(hmac(sha256),xts(aes))-random :96:logon:dmseal:vol-0123456789abcdef 0 "
	"253:0 0 2 integrity:32:aead sector_size:4096";
static const char int_tbl[] =
	"/dev/vda 32768 32 J 3 block_size:4096 fix_padding fix_hmac";

static volatile unsigned long sink;
static struct dms_policy *policy;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The baseline: copy and split into argv, like dm_split_args. */
static void split(const char *s)
{
	char buf[4096], *argv[64], *p = buf;
	int argc = 0;

	strcpy(buf, s);
	while (*p && argc < 64) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	sink += argc + (unsigned long)argv[argc - 1][0];
}

static void crypt_check(const char *s)
{
	static struct dms_crypt c;
	struct dms_reason why;

	if (dms_parse_crypt(s, strlen(s), &c, &why) ||
	    dms_check_crypt(policy, &c, &why) < 0) {
		fprintf(stderr, "bench: crypt table refused: %s\n", why.msg);
		exit(1);
	}
	sink += c.key_size;
}

static void int_check(const char *s)
{
	static struct dms_integrity t;
	struct dms_reason why;

	if (dms_parse_integrity(s, strlen(s), &t, &why) ||
	    dms_check_integrity(policy, &t, &why) < 0) {
		fprintf(stderr, "bench: integrity table refused: %s\n", why.msg);
		exit(1);
	}
	sink += t.tag_size;
}

/* Best of ROUNDS: the least disturbed run is the closest to the cost. */
static double ns_per_op(void (*fn)(const char *), const char *s)
{
	double best = 1e30;
	int r, i;

	for (r = 0; r < ROUNDS; r++) {
		double t0 = now();

		for (i = 0; i < ITERS; i++)
			fn(s);
		t0 = (now() - t0) * 1e9 / ITERS;
		if (t0 < best)
			best = t0;
	}
	return best;
}

static void report(const char *what, void (*fn)(const char *), const char *s)
{
	double base = ns_per_op(split, s);
	double cost = ns_per_op(fn, s);

	printf("bench: %-22s %6.2fx the split baseline (%.0f ns vs %.0f ns per target)\n",
	       what, cost / base, cost, base);
}

int main(void)
{
	policy = sample_policy();
	report("crypt parse+check", crypt_check, crypt_tbl);
	report("integrity parse+check", int_check, int_tbl);
	return 0;
}
