/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmseal_nl.h: what dmseal_netlink (the selftest) and dmseal_tool (its
 * helper for the shell tests) share.
 *
 *  - a raw AF_NETLINK generic-netlink client, no library: the malformed
 *    message tests need byte-exact control over what is sent, and the guest
 *    then needs no libnl;
 *  - the test policy: data/policy.json written out as a struct dms_policy and
 *    encoded by kmod/core (the kernel's own codec), so the bytes sealed are
 *    exactly the canonical encoding dmsealctl makes of that file (the
 *    selftest cross-checks the digest with `dmsealctl policy digest` when
 *    dmsealctl is in the guest);
 *  - a small SHA-256, to check the digest the kernel reports;
 *  - running a command and capturing what it prints.
 *
 * Everything is static and marked unused: each program uses a part of it.
 */
#ifndef DMSEAL_NL_H
#define DMSEAL_NL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/dmseal.h>
#include "dmseal_core.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define DMST_UNUSED __attribute__((unused))

/* ------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), small and slow: it hashes a few kB per test run.   */

struct dmst_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
};

static const uint32_t dmst_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t dmst_ror(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static DMST_UNUSED void dmst_sha256_block(struct dmst_sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (dmst_ror(w[i - 15], 7) ^ dmst_ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       (dmst_ror(w[i - 2], 17) ^ dmst_ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (dmst_ror(e, 6) ^ dmst_ror(e, 11) ^ dmst_ror(e, 25)) +
		     ((e & f) ^ (~e & g)) + dmst_sha256_k[i] + w[i];
		t2 = (dmst_ror(a, 2) ^ dmst_ror(a, 13) ^ dmst_ror(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static DMST_UNUSED void dmst_sha256(const void *data, size_t len,
				    uint8_t out[DMSEAL_DIGEST_LEN])
{
	static const uint32_t init[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	struct dmst_sha256 s;
	const uint8_t *p = data;
	uint64_t bits = (uint64_t)len * 8;
	int i;

	memcpy(s.h, init, sizeof(init));
	while (len >= 64) {
		dmst_sha256_block(&s, p);
		p += 64;
		len -= 64;
	}
	memset(s.buf, 0, sizeof(s.buf));
	memcpy(s.buf, p, len);
	s.buf[len] = 0x80;
	if (len >= 56) {
		dmst_sha256_block(&s, s.buf);
		memset(s.buf, 0, sizeof(s.buf));
	}
	for (i = 0; i < 8; i++)
		s.buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	dmst_sha256_block(&s, s.buf);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s.h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s.h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s.h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s.h[i];
	}
}

static DMST_UNUSED void dmst_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ------------------------------------------------------------------------ */
/* The test policy: selftests/data/policy.json, field by field.             */

static DMST_UNUSED void dmst_profile_common(struct dms_profile *pr)
{
	pr->n_ciphers = 1;
	strcpy(pr->ciphers[0].spec, "capi:authenc(hmac(sha256),xts(aes))-plain64");
	pr->ciphers[0].key_size = 96;
	pr->key_forms = DMS_KEY_LOGON;
	pr->integrity_required = true;
	pr->n_aead_sizes = 1;
	pr->aead_sizes[0] = 32;
	pr->crypt_allow = 0;		/* allow_discards, allow_iv_large_sectors: false */
	pr->allow_key_wipe = false;
	pr->int_modes = DMS_MODE_BIT('J') | DMS_MODE_BIT('D') | DMS_MODE_BIT('B');
	pr->n_tag_sizes = 1;
	pr->tag_sizes[0] = 32;
	pr->block_sizes = 4096 | 512;
	/* require_fix_padding and require_fix_hmac: true (also the defaults) */
	pr->int_require = DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC;
	pr->int_allow = 0;		/* every allow_* of "integrity": false */
}

/*
 * data/policy.json as a struct, normalized like dmsealctl does it
 * (policy_from_file: parse, dms_policy_normalize, dms_policy_validate).
 * Returns 0, or -EINVAL with the validator's reason.
 */
static DMST_UNUSED int dmst_test_policy(struct dms_policy *p, struct dms_reason *why)
{
	struct dms_profile *eph, *hex, *plain, *pers;

	memset(p, 0, sizeof(*p));
	p->scope = DMS_SCOPE_ALL;
	p->n_other_targets = 1;
	strcpy(p->other_targets[0], "zero");
	p->n_consumers = 1;
	strcpy(p->consumers[0], "linear");
	p->n_profiles = 4;

	eph = &p->profiles[0];
	dmst_profile_common(eph);
	strcpy(eph->name, "ephemeral");
	strcpy(eph->key_desc_prefix, "cryptsetup:");
	eph->sector_sizes = 4096;

	/* plain aes-xts with inline keys, and standalone dm-integrity */
	hex = &p->profiles[1];
	strcpy(hex->name, "hexkey");
	hex->n_ciphers = 1;
	strcpy(hex->ciphers[0].spec, "aes-xts-plain64");
	hex->ciphers[0].key_size = 64;
	hex->key_forms = DMS_KEY_HEX;
	hex->sector_sizes = 512 | 4096;
	hex->int_modes = DMS_MODE_BIT('J') | DMS_MODE_BIT('D') | DMS_MODE_BIT('B');
	hex->n_tag_sizes = 2;
	hex->tag_sizes[0] = 4;
	hex->tag_sizes[1] = 32;
	hex->block_sizes = 512 | 4096;
	hex->int_require = DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC;
	hex->n_internal_hash = 2;
	strcpy(hex->internal_hash[0], "crc32c");
	strcpy(hex->internal_hash[1], "hmac(sha256)");

	plain = &p->profiles[2];
	dmst_profile_common(plain);
	strcpy(plain->name, "plain");
	strcpy(plain->key_desc_prefix, "dmseal-test:");
	plain->sector_sizes = 512 | 4096;

	/* persistent volumes: keys from two KBS places only */
	pers = &p->profiles[3];
	dmst_profile_common(pers);
	strcpy(pers->name, "persistent");
	strcpy(pers->key_desc_prefix, "cryptsetup:");
	pers->sector_sizes = 4096;
	pers->int_modes = DMS_MODE_BIT('J') | DMS_MODE_BIT('D');
	pers->block_sizes = 4096;
	pers->n_key_uris = 2;
	strcpy(pers->key_uris[0], "kbs:///dmseal-test/volumes/");
	strcpy(pers->key_uris[1], "kbs:///dmseal-test/keys/disk-a");

	dms_policy_normalize(p);
	return dms_policy_validate(p, why);
}

/* Encode a policy into a malloc'ed buffer; 0 on failure. */
static DMST_UNUSED size_t dmst_encode(const struct dms_policy *p, uint8_t **out)
{
	size_t need = dms_policy_encode(p, NULL, 0);
	uint8_t *b;

	*out = NULL;
	if (!need)
		return 0;
	b = malloc(need);
	if (!b)
		return 0;
	if (dms_policy_encode(p, b, need) != need) {
		free(b);
		return 0;
	}
	*out = b;
	return need;
}

/* The canonical bytes of the test policy (malloc'ed); 0 on failure. */
static DMST_UNUSED size_t dmst_test_policy_bytes(uint8_t **out, char *err, size_t errcap)
{
	struct dms_reason why = { "" };
	struct dms_policy *p = calloc(1, sizeof(*p));
	size_t n = 0;

	*out = NULL;
	if (!p) {
		snprintf(err, errcap, "out of memory");
		return 0;
	}
	if (dmst_test_policy(p, &why))
		snprintf(err, errcap, "test policy invalid: %s", why.msg);
	else if (!(n = dmst_encode(p, out)))
		snprintf(err, errcap, "test policy does not encode");
	free(p);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Raw generic netlink.                                                     */

#define DMST_NL_BUF	(128 * 1024)

struct dmst_nl {
	int fd;
	uint16_t family;
	uint32_t events_grp;	/* 0 if the family has no "events" group */
	uint32_t seq;
	/* the last error's extended ack */
	char extack[512];
	int miss_type;		/* NLMSGERR_ATTR_MISS_TYPE, -1 if none */
	uint8_t *buf;
};

/* A growing byte buffer for attributes (or deliberately broken bytes). */
struct dmst_attrs {
	uint8_t data[DMSEAL_POLICY_MAX_LEN + 1024];
	size_t len;
};

static DMST_UNUSED void dmst_put_raw(struct dmst_attrs *a, const void *p, size_t n)
{
	if (a->len + n > sizeof(a->data))
		abort();
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

static DMST_UNUSED void dmst_put_attr(struct dmst_attrs *a, uint16_t type,
				      const void *p, size_t n)
{
	struct nlattr h = { .nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type };
	static const uint8_t zero[4];

	if (NLA_HDRLEN + n > 0xffff)
		abort();
	dmst_put_raw(a, &h, sizeof(h));
	if (n)
		dmst_put_raw(a, p, n);
	dmst_put_raw(a, zero, NLA_ALIGN(n) - n);
}

/* Attributes of one message, by type (only the last of a repeated type). */
struct dmst_tb {
	const struct nlattr *a[DMSEAL_A_MAX + 1];
};

static DMST_UNUSED void dmst_parse(const void *data, size_t len,
				   const struct nlattr **tb, int max)
{
	const uint8_t *p = data;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= NLA_HDRLEN) {
		const struct nlattr *nla = (const void *)p;
		int type = nla->nla_type & NLA_TYPE_MASK;

		if (nla->nla_len < NLA_HDRLEN || nla->nla_len > len)
			break;
		if (type <= max)
			tb[type] = nla;
		if ((size_t)NLA_ALIGN(nla->nla_len) >= len)
			break;
		len -= (size_t)NLA_ALIGN(nla->nla_len);
		p += NLA_ALIGN(nla->nla_len);
	}
}

static inline const void *dmst_nla_data(const struct nlattr *nla)
{
	return (const uint8_t *)nla + NLA_HDRLEN;
}

static inline size_t dmst_nla_len(const struct nlattr *nla)
{
	return nla->nla_len - NLA_HDRLEN;
}

static DMST_UNUSED uint64_t dmst_nla_uint(const struct nlattr *nla)
{
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	if (!nla)
		return 0;
	switch (dmst_nla_len(nla)) {
	case 1: return *(const uint8_t *)dmst_nla_data(nla);
	case 2: memcpy(&v16, dmst_nla_data(nla), 2); return v16;
	case 4: memcpy(&v32, dmst_nla_data(nla), 4); return v32;
	case 8: memcpy(&v64, dmst_nla_data(nla), 8); return v64;
	}
	return 0;
}

/* A string attribute, NUL-terminated into buf ("" when absent). */
static DMST_UNUSED const char *dmst_nla_str(const struct nlattr *nla, char *buf,
					    size_t cap)
{
	size_t n;

	buf[0] = '\0';
	if (!nla)
		return buf;
	n = strnlen(dmst_nla_data(nla), dmst_nla_len(nla));
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, dmst_nla_data(nla), n);
	buf[n] = '\0';
	return buf;
}

static DMST_UNUSED void dmst_nl_close(struct dmst_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
	free(nl->buf);
	nl->buf = NULL;
}

/* Open a NETLINK_GENERIC socket with extended acks; 0 or -errno. */
static DMST_UNUSED int dmst_nl_socket(struct dmst_nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 15 };
	int one = 1, rcv = 1 << 20;

	memset(nl, 0, sizeof(*nl));
	nl->miss_type = -1;
	nl->seq = (uint32_t)getpid() << 8;
	nl->buf = malloc(DMST_NL_BUF);
	if (!nl->buf)
		return -ENOMEM;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0) {
		int e = -errno;

		free(nl->buf);
		nl->buf = NULL;
		return e;
	}
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* never hang a test on a reply that does not come */
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		dmst_nl_close(nl);
		return e;
	}
	return 0;
}

/* The extended ack of an NLMSG_ERROR or NLMSG_DONE message. */
static DMST_UNUSED void dmst_parse_ack(struct dmst_nl *nl, const struct nlmsghdr *nlh,
				       size_t off)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	char tmp[sizeof(nl->extack)];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= nlh->nlmsg_len)
		return;
	dmst_parse((const uint8_t *)nlh + off, nlh->nlmsg_len - off, tb,
		   NLMSGERR_ATTR_MAX);
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->extack, sizeof(nl->extack), "%s",
			 dmst_nla_str(tb[NLMSGERR_ATTR_MSG], tmp, sizeof(tmp)));
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		nl->miss_type = (int)dmst_nla_uint(tb[NLMSGERR_ATTR_MISS_TYPE]);
}

/* Called for each reply message of the request (not for acks). */
typedef int (*dmst_msg_cb)(const struct nlmsghdr *nlh, const void *attrs,
			   size_t alen, void *arg);

/*
 * Send one request and read until its ack (or NLMSG_DONE for dumps).
 * attrs/alen are sent verbatim after the genl header (they may be broken on
 * purpose; alen need not be aligned). Returns the kernel's error (0 or
 * -errno), or a local -errno. The extended ack lands in nl->extack.
 */
static DMST_UNUSED int dmst_nl_xfer(struct dmst_nl *nl, uint16_t type, uint8_t cmd,
				    uint8_t version, uint16_t flags,
				    const void *attrs, size_t alen,
				    dmst_msg_cb cb, void *arg)
{
	size_t len = NLMSG_HDRLEN + GENL_HDRLEN + alen;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	uint32_t seq = ++nl->seq;
	bool dump = flags & NLM_F_DUMP;
	uint8_t *req;
	ssize_t n;

	nl->extack[0] = '\0';
	nl->miss_type = -1;
	req = calloc(1, NLMSG_ALIGN(len));
	if (!req)
		return -ENOMEM;
	nlh = (struct nlmsghdr *)req;
	nlh->nlmsg_len = (uint32_t)len;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = (struct genlmsghdr *)(req + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = version;
	if (alen)
		memcpy(req + NLMSG_HDRLEN + GENL_HDRLEN, attrs, alen);
	n = sendto(nl->fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	free(req);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;

	for (;;) {
		const struct nlmsghdr *h;
		size_t left;

		n = recv(nl->fd, nl->buf, DMST_NL_BUF, MSG_TRUNC);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n > DMST_NL_BUF)
			return -EMSGSIZE;
		left = (size_t)n;
		for (h = (const void *)nl->buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;	/* not ours (a late reply) */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				size_t off = NLMSG_HDRLEN + sizeof(*e);

				if (h->nlmsg_len < off)
					return -EIO;
				if (!(h->nlmsg_flags & NLM_F_CAPPED))
					off = NLMSG_ALIGN(off + e->msg.nlmsg_len - NLMSG_HDRLEN);
				dmst_parse_ack(nl, h, off);
				/* an ack (0) ends a doit; for a dump only an error does */
				if (e->error || !dump)
					return e->error;
				continue;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = 0;

				if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
					memcpy(&err, NLMSG_DATA(h), sizeof(int));
				dmst_parse_ack(nl, h, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)));
				return err;
			}
			if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN)
				continue;
			if (cb && h->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN) {
				int r = cb(h, (const uint8_t *)h + NLMSG_HDRLEN + GENL_HDRLEN,
					   h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, arg);

				if (r)
					return r;
			}
			/* a doit's reply without NLM_F_ACK would end here */
			if (!dump && !(flags & NLM_F_ACK))
				return 0;
		}
	}
}

struct dmst_family_arg {
	struct dmst_nl *nl;
	const char *grp;
	bool found;
};

static DMST_UNUSED int dmst_family_cb(const struct nlmsghdr *nlh, const void *attrs,
				      size_t alen, void *argp)
{
	struct dmst_family_arg *arg = argp;
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const uint8_t *p, *end;

	(void)nlh;
	dmst_parse(attrs, alen, tb, CTRL_ATTR_MAX);
	if (!tb[CTRL_ATTR_FAMILY_ID])
		return 0;
	arg->found = true;
	arg->nl->family = (uint16_t)dmst_nla_uint(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	p = dmst_nla_data(tb[CTRL_ATTR_MCAST_GROUPS]);
	end = p + dmst_nla_len(tb[CTRL_ATTR_MCAST_GROUPS]);
	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *grp = (const void *)p;
		const struct nlattr *gt[CTRL_ATTR_MCAST_GRP_MAX + 1];
		char name[GENL_NAMSIZ];

		if (grp->nla_len < NLA_HDRLEN || p + grp->nla_len > end)
			break;
		dmst_parse(dmst_nla_data(grp), dmst_nla_len(grp), gt, CTRL_ATTR_MCAST_GRP_MAX);
		dmst_nla_str(gt[CTRL_ATTR_MCAST_GRP_NAME], name, sizeof(name));
		if (gt[CTRL_ATTR_MCAST_GRP_ID] && !strcmp(name, arg->grp))
			arg->nl->events_grp = (uint32_t)dmst_nla_uint(gt[CTRL_ATTR_MCAST_GRP_ID]);
		p += NLA_ALIGN(grp->nla_len);
	}
	return 0;
}

/*
 * Look the family up (this makes the kernel autoload dmseal through its
 * family alias if it is not loaded: never call it after an unload that must
 * stick). 0 or -errno (-ENOENT: no such family).
 */
static DMST_UNUSED int dmst_nl_resolve(struct dmst_nl *nl)
{
	struct dmst_family_arg arg = { .nl = nl, .grp = DMSEAL_MCGRP_EVENTS };
	struct dmst_attrs *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	dmst_put_attr(a, CTRL_ATTR_FAMILY_NAME, DMSEAL_GENL_NAME,
		      sizeof(DMSEAL_GENL_NAME));
	r = dmst_nl_xfer(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK,
			 a->data, a->len, dmst_family_cb, &arg);
	free(a);
	if (!r && !arg.found)
		r = -ENOENT;
	return r;
}

/* socket + resolve; 0 or -errno */
static DMST_UNUSED int dmst_nl_open(struct dmst_nl *nl)
{
	int r = dmst_nl_socket(nl);

	if (r)
		return r;
	r = dmst_nl_resolve(nl);
	if (r)
		dmst_nl_close(nl);
	return r;
}

/* A dmseal request: doit (with ack) or dump. */
static DMST_UNUSED int dmst_req(struct dmst_nl *nl, uint8_t cmd, bool dump,
				const void *attrs, size_t alen,
				dmst_msg_cb cb, void *arg)
{
	return dmst_nl_xfer(nl, nl->family, cmd, DMSEAL_GENL_VERSION,
			    dump ? NLM_F_DUMP : NLM_F_ACK, attrs, alen, cb, arg);
}

/* Join the "events" group; 0 or -errno. */
static DMST_UNUSED int dmst_nl_join_events(struct dmst_nl *nl)
{
	int grp = (int)nl->events_grp;

	if (!grp)
		return -ENOENT;
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		return -errno;
	return 0;
}

/* STATUS, decoded. */
struct dmst_status {
	bool have_version, have_sealed, have_counters;
	char version[64];
	int sealed;
	bool have_digest, have_expected;
	uint8_t digest[DMSEAL_DIGEST_LEN];
	uint8_t expected[DMSEAL_DIGEST_LEN];
	uint64_t allowed, denied;
	uint32_t pins;
	int enforcing;			/* -1: not reported */
	char enforcement[256];
};

static DMST_UNUSED int dmst_status_cb(const struct nlmsghdr *nlh, const void *attrs,
				      size_t alen, void *argp)
{
	struct dmst_status *st = argp;
	const struct nlattr *tb[DMSEAL_A_MAX + 1];

	(void)nlh;
	dmst_parse(attrs, alen, tb, DMSEAL_A_MAX);
	st->have_version = tb[DMSEAL_A_VERSION] != NULL;
	dmst_nla_str(tb[DMSEAL_A_VERSION], st->version, sizeof(st->version));
	st->have_sealed = tb[DMSEAL_A_SEALED] && dmst_nla_len(tb[DMSEAL_A_SEALED]) == 1;
	st->sealed = (int)dmst_nla_uint(tb[DMSEAL_A_SEALED]);
	st->have_digest = tb[DMSEAL_A_DIGEST] &&
			  dmst_nla_len(tb[DMSEAL_A_DIGEST]) == DMSEAL_DIGEST_LEN;
	if (st->have_digest)
		memcpy(st->digest, dmst_nla_data(tb[DMSEAL_A_DIGEST]), DMSEAL_DIGEST_LEN);
	st->have_expected = tb[DMSEAL_A_EXPECTED_DIGEST] &&
			    dmst_nla_len(tb[DMSEAL_A_EXPECTED_DIGEST]) == DMSEAL_DIGEST_LEN;
	if (st->have_expected)
		memcpy(st->expected, dmst_nla_data(tb[DMSEAL_A_EXPECTED_DIGEST]),
		       DMSEAL_DIGEST_LEN);
	st->have_counters = tb[DMSEAL_A_ALLOWED] && dmst_nla_len(tb[DMSEAL_A_ALLOWED]) == 8 &&
			    tb[DMSEAL_A_DENIED] && dmst_nla_len(tb[DMSEAL_A_DENIED]) == 8 &&
			    tb[DMSEAL_A_PINS] && dmst_nla_len(tb[DMSEAL_A_PINS]) == 4;
	st->allowed = dmst_nla_uint(tb[DMSEAL_A_ALLOWED]);
	st->denied = dmst_nla_uint(tb[DMSEAL_A_DENIED]);
	st->pins = (uint32_t)dmst_nla_uint(tb[DMSEAL_A_PINS]);
	st->enforcing = tb[DMSEAL_A_ENFORCING] ?
			(int)dmst_nla_uint(tb[DMSEAL_A_ENFORCING]) : -1;
	dmst_nla_str(tb[DMSEAL_A_ENFORCEMENT], st->enforcement,
		     sizeof(st->enforcement));
	return 0;
}

static DMST_UNUSED int dmst_status(struct dmst_nl *nl, struct dmst_status *st)
{
	memset(st, 0, sizeof(*st));
	st->sealed = -1;
	return dmst_req(nl, DMSEAL_CMD_STATUS, false, NULL, 0, dmst_status_cb, st);
}

/* A pin or event message as one line of text (secret-free by contract). */
/*
 * A string attribute, escaped for a "key=value" line: names, uuids and
 * types are chosen by whoever loads a table (dms_escape). "-" if absent.
 */
static DMST_UNUSED const char *dmst_nla_esc(const struct nlattr *a, char *out,
					   size_t cap, unsigned int flags)
{
	char raw[4096];

	if (!dmst_nla_str(a, raw, sizeof(raw))[0])
		return "-";
	dms_escape(raw, strlen(raw), out, cap, flags);
	return out;
}

static DMST_UNUSED void dmst_target_line(const void *attrs, size_t alen, char *out,
					 size_t cap)
{
	const struct nlattr *tb[DMSEAL_A_MAX + 1];
	char name[1024], uuid[1024], type[128], profile[64], text[4096], opens[512];
	char *c;

	dmst_parse(attrs, alen, tb, DMSEAL_A_MAX);
	dmst_nla_esc(tb[DMSEAL_A_OPENS], opens, sizeof(opens), 0);
	for (c = opens; *c; c++)
		if (*c == ' ')
			*c = ',';
	snprintf(out, cap,
		 "dev=%u:%u type=%s start=%llu len=%llu backing=%u:%u profile=%s opens=%s uuid=%s name=%s %s=%s",
		 (unsigned int)dmst_nla_uint(tb[DMSEAL_A_DEV_MAJOR]),
		 (unsigned int)dmst_nla_uint(tb[DMSEAL_A_DEV_MINOR]),
		 dmst_nla_esc(tb[DMSEAL_A_TARGET_TYPE], type, sizeof(type), DMS_ESC_SPACE),
		 (unsigned long long)dmst_nla_uint(tb[DMSEAL_A_TARGET_START]),
		 (unsigned long long)dmst_nla_uint(tb[DMSEAL_A_TARGET_LEN]),
		 (unsigned int)dmst_nla_uint(tb[DMSEAL_A_BACKING_MAJOR]),
		 (unsigned int)dmst_nla_uint(tb[DMSEAL_A_BACKING_MINOR]),
		 dmst_nla_esc(tb[DMSEAL_A_PROFILE], profile, sizeof(profile), DMS_ESC_SPACE),
		 opens,
		 dmst_nla_esc(tb[DMSEAL_A_DEV_UUID], uuid, sizeof(uuid), DMS_ESC_SPACE),
		 dmst_nla_esc(tb[DMSEAL_A_DEV_NAME], name, sizeof(name), DMS_ESC_SPACE),
		 tb[DMSEAL_A_REASON] ? "reason" : "summary",
		 dmst_nla_esc(tb[DMSEAL_A_REASON] ? tb[DMSEAL_A_REASON] :
			      tb[DMSEAL_A_SUMMARY], text, sizeof(text), 0));
}

/*
 * Read multicast events for up to timeout_ms, calling cb(cmd, attrs, alen,
 * arg) for each until it returns non-zero (returned here). 0 on timeout,
 * -errno on a socket error (-ENOBUFS: events were lost).
 */
typedef int (*dmst_event_cb)(uint8_t cmd, const void *attrs, size_t alen, void *arg);

static DMST_UNUSED int dmst_nl_events(struct dmst_nl *nl, int timeout_ms,
				      dmst_event_cb cb, void *arg)
{
	struct timespec start, now;
	int left = timeout_ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = nl->fd, .events = POLLIN };
		const struct nlmsghdr *h;
		ssize_t n;
		size_t rem;
		int r;

		r = poll(&pfd, 1, left < 0 ? -1 : left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0) {
			n = recv(nl->fd, nl->buf, DMST_NL_BUF, MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			rem = n > 0 ? (size_t)n : 0;
			for (h = (const void *)nl->buf; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
				const struct genlmsghdr *g;

				if (h->nlmsg_type != nl->family ||
				    h->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
					continue;
				g = NLMSG_DATA(h);
				r = cb(g->cmd, (const uint8_t *)h + NLMSG_HDRLEN + GENL_HDRLEN,
				       h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, arg);
				if (r)
					return r;
			}
		}
		if (timeout_ms < 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
					  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
	}
}

static DMST_UNUSED const char *dmst_event_name(uint8_t cmd)
{
	switch (cmd) {
	case DMSEAL_CMD_EVENT_DENY: return "deny";
	case DMSEAL_CMD_EVENT_PIN: return "pin";
	case DMSEAL_CMD_EVENT_UNPIN: return "unpin";
	case DMSEAL_CMD_EVENT_SEAL: return "seal";
	case DMSEAL_CMD_EVENT_ENFORCEMENT: return "enforcement";
	}
	return "other";
}

/* ------------------------------------------------------------------------ */
/* Commands.                                                                */

/*
 * Run argv, stdout and stderr into out (NUL-terminated, truncated to cap).
 * Returns the exit status, 128 + signal, or -1.
 */
static DMST_UNUSED int dmst_run(const char *const argv[], char *out, size_t cap)
{
	int pfd[2], status;
	size_t have = 0;
	pid_t pid;

	if (out && cap)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char tmp[512];
		ssize_t n = read(pfd[0], tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && cap && have < cap - 1) {
			size_t k = (size_t)n < cap - 1 - have ? (size_t)n : cap - 1 - have;

			memcpy(out + have, tmp, k);
			have += k;
			out[have] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

#endif /* DMSEAL_NL_H */
