/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmsealctl: where the volume key of a persistent volume comes from.
 *
 * The key is a Key Broker Service resource, named by a kbs:/// URI and
 * fetched through the Confidential Data Hub of the guest. Only CDH's REST
 * bridge on loopback is implemented (keysrc_cdh_rest); struct keysrc_ops
 * is the seam for a ttrpc client of CDH's GetResource later.
 *
 * Every function that can fail fills why (cap bytes) with what exactly was
 * wrong. Key bytes are never in a message.
 */
#ifndef DMSEALCTL_KEYSOURCE_H
#define DMSEALCTL_KEYSOURCE_H

#include <stddef.h>

struct secret;				/* dmsealctl.h, secret.c */

#define DMSEALCTL_CONF		"/etc/dmseal/dmsealctl.conf"
#define KBS_SEG_MAX		128
#define KBS_URI_MAX		400

struct kbs_uri {
	char repo[KBS_SEG_MAX + 1];
	char type[KBS_SEG_MAX + 1];
	char tag[KBS_SEG_MAX + 1];
};

/*
 * Parse "kbs:///repo/type/tag" strictly: scheme kbs, an empty authority,
 * exactly 3 non-empty segments of [A-Za-z0-9._-], none "." or "..", each at
 * most 128 characters; no '%', '?', '#', whitespace or control characters;
 * at most 400 characters in all. 0 or -EINVAL.
 */
int kbs_uri_parse(const char *uri, struct kbs_uri *out, char *why, size_t cap);

struct keysrc_cfg {
	char cdh_url[512];	/* base, default "http://127.0.0.1:8006/cdh/resource" */
	unsigned int timeout_ms;	/* per attempt, total incl. connect; default 10000 */
	unsigned int retries;	/* extra attempts after the first, default 3 */
	unsigned int backoff_ms;	/* first backoff, doubled each retry, capped 5000; default 200 */
	size_t max_body;	/* default 65536 */
};

void keysrc_cfg_default(struct keysrc_cfg *c);
/*
 * "key = value" lines, whole-line '#' comments, blank lines; keys cdh_url,
 * timeout_ms, retries, backoff_ms, each at most once. path NULL: the
 * default DMSEALCTL_CONF, which may be missing; a missing file given
 * explicitly, an unknown key, a bad number or URL (with the line number)
 * are errors. c is changed only on success. 0 or a negative errno.
 */
int keysrc_cfg_load(struct keysrc_cfg *c, const char *path, char *why, size_t cap);
/*
 * The base URL must be http:// to a loopback host (a 127.0.0.0/8 literal,
 * [::1] or "localhost"), an optional port, a path; no userinfo, query or
 * fragment. 0 or -EINVAL.
 */
int keysrc_url_check(const char *url, char *why, size_t cap);

enum keysrc_err {
	KS_OK = 0, KS_EURI, KS_ECONFIG, KS_EUNREACHABLE, KS_ETIMEOUT, KS_ENOTFOUND,
	KS_EFORBIDDEN, KS_EHTTP, KS_ELENGTH, KS_ETOOBIG, KS_ENOMEM,
};
/* "ok", "bad-uri", "config", "unreachable", "timeout", "not-found", ... (JSON) */
const char *keysrc_err_name(enum keysrc_err e);

struct keysrc_ops {
	const char *name;	/* "cdh-rest" */
	/*
	 * On KS_OK out holds exactly want_len bytes in locked memory (free it
	 * with secret_free); on anything else out is empty.
	 */
	enum keysrc_err (*fetch)(const struct keysrc_cfg *cfg, const struct kbs_uri *u,
				 size_t want_len, struct secret *out, char *why, size_t cap);
};
extern const struct keysrc_ops keysrc_cdh_rest;

/* parse the URI, fetch through keysrc_cdh_rest */
enum keysrc_err keysrc_fetch(const struct keysrc_cfg *cfg, const char *uri, size_t want_len,
			     struct secret *out, char *why, size_t cap);

#endif
