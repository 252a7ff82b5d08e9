// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target for whole-table rules and escaping: tables built from
 * the input are compared with themselves and with a mutated copy, run
 * through the table rules of the sample policy, and every escaped word must
 * come out free of bytes that could forge a field or a line.
 */
#include <stdlib.h>
#include <string.h>
#include "dmseal_core.h"

struct dms_policy *sample_policy(void);

#define MAXT 8

static struct dms_crypt crypts[MAXT];
static struct dms_integrity ints[MAXT];
static u32 devs[MAXT][4];

static bool governed(u32 dev, void *arg)
{
	(void)arg;
	return dev & 1;
}

static void build(const u8 *d, size_t n, struct dms_tdesc *t, u32 *nt)
{
	static const char *types[] = { "crypt", "integrity", "linear", "zero",
				       "cache", "error" };
	u64 start = 0;
	u32 i, j;

	*nt = n / 8 < MAXT ? (u32)(n / 8) : MAXT;
	for (i = 0; i < *nt; i++, d += 8) {
		u32 ty = d[0] % 6;

		memset(&t[i], 0, sizeof(t[i]));
		strcpy(t[i].type, types[ty]);
		t[i].start = start;
		t[i].len = 1 + d[1];
		start += t[i].len;
		t[i].kind = ty == 0 ? DMS_KIND_CRYPT :
			    ty == 1 ? DMS_KIND_INTEGRITY : DMS_KIND_OTHER;
		memset(&crypts[i], 0, sizeof(crypts[i]));
		memset(&ints[i], 0, sizeof(ints[i]));
		crypts[i].dev.resolved = ints[i].dev.resolved = true;
		crypts[i].dev.minor = ints[i].dev.minor = d[2];
		crypts[i].key_fp.set = d[3] & 1;
		crypts[i].key_fp.mac[0] = d[3];
		ints[i].tag_size = d[4];
		ints[i].mode = 'J';
		t[i].crypt = &crypts[i];
		t[i].integrity = &ints[i];
		memset(t[i].digest, d[5], sizeof(t[i].digest));
		t[i].n_devs = d[6] % 5;
		for (j = 0; j < t[i].n_devs; j++)
			devs[i][j] = d[7] + j;
		t[i].devs = devs[i];
	}
}

static void check_escape(const u8 *d, size_t n)
{
	char out[256];
	size_t need, i, k;

	for (k = 0; k < 2; k++) {
		need = dms_escape((const char *)d, n, out, sizeof(out),
				  k ? DMS_ESC_SPACE : 0);
		if (need < n || strlen(out) > need || strlen(out) >= sizeof(out))
			abort();
		for (i = 0; out[i]; i++) {
			unsigned char c = out[i];

			if (c < 0x20 || c > 0x7e || c == '"' || (k && c == ' '))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct dms_tdesc a[MAXT], b[MAXT];
	struct dms_reason why;
	u32 na, nb;
	bool gov;
	int r;

	check_escape(data, size);
	build(data, size, a, &na);
	why.msg[0] = '\0';
	r = dms_cmp_table(a, na, a, na, &why);
	/* a table keeps its own pin unless a crypt key was never captured */
	for (nb = 0; nb < na; nb++)
		if (a[nb].kind == DMS_KIND_CRYPT && !crypts[nb].key_fp.set)
			break;
	if (nb == na && r)
		abort();
	memcpy(b, a, sizeof(a));
	nb = na;
	if (size && nb) {
		b[data[0] % nb].len += 1 + data[size - 1];
		dms_cmp_table(a, na, b, nb, &why);
	}
	dms_check_table(sample_policy(), a, na, size & 1, size & 2, governed,
			NULL, &gov, &why);
	if (strnlen(why.msg, sizeof(why.msg)) == sizeof(why.msg))
		abort();
	return 0;
}
