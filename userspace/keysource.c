// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the volume key of a persistent volume, a Key Broker Service
 * resource fetched through the Confidential Data Hub's REST bridge
 * (GET http://127.0.0.1:8006/cdh/resource/<repository>/<type>/<tag>).
 *
 * Why it looks the way it does:
 *  - The endpoint is plain http on loopback, checked when the configuration
 *    is read and again before every fetch, with no proxy (an http_proxy in
 *    our environment must not divert a key request) and no redirect:
 *    whoever can choose the endpoint could serve a key it knows, and the
 *    guest would format a volume the host can read.
 *  - The body lands in one locked buffer allocated before the transfer
 *    (secret_alloc) and never grown; more than max_body bytes stops the
 *    transfer. On success the key is copied into a locked buffer of its own
 *    size and the big one is wiped.
 *  - Only what can pass is retried: no CDH yet, no answer in time, a 5xx.
 *    A 404 or a refusal is an answer; asking again changes nothing.
 *  - libcurl's receive buffer and the socket buffers hold the bytes in
 *    passing, where we cannot wipe them: dmsealctl locks the whole process
 *    and makes it undumpable (secret_harden) before any key exists.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
/* the calls go through the table below, not curl's type-checking macros */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "dmsealctl.h"
#include "keysource.h"

/*
 * libcurl is loaded when a key is first fetched, not when dmsealctl starts:
 * only a persistent volume with a key from CDH needs it, and its ~30 shared
 * libraries (TLS stacks, Kerberos, LDAP, ...) made every other command,
 * ephemeral setup included, load, relocate and mlock() them: `dmsealctl
 * --version` took about 1 s under TCG with libcurl linked, most of it that.
 * By its soname, like the linker would, and never given to anything else.
 */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode r);
} lc;

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init lc.global_init
#define curl_easy_init lc.easy_init
#define curl_easy_setopt lc.easy_setopt
#define curl_easy_perform lc.easy_perform
#define curl_easy_getinfo lc.easy_getinfo
#define curl_easy_cleanup lc.easy_cleanup
#define curl_easy_strerror lc.easy_strerror

#define DEFAULT_CDH_URL		"http://127.0.0.1:8006/cdh/resource"
#define BACKOFF_CAP_MS		5000u
#define CONF_LINE_MAX		1024

/* ---- small text helpers ---------------------------------------------------- */

static void why_set(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!why || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

static void why_append(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why_append(char *why, size_t cap, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!why || !cap)
		return;
	n = strnlen(why, cap);
	if (n + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(why + n, cap - n, fmt, ap);
	va_end(ap);
}

/* "0x25 ('%')" for a visible character, "0x0a" for anything else */
static const char *char_desc(unsigned char c, char buf[16])
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "0x%02x ('%c')", c, c);
	else
		snprintf(buf, 16, "0x%02x", c);
	return buf;
}

static bool seg_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/*
 * Bytes no URI of ours may hold anywhere: they are decoded ('%'), cut the
 * path ('?', '#'), split words or lines, or are not ASCII. Refusing them
 * first also makes the rest of a refused URI safe to quote in a message.
 */
static bool uri_byte_bad(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#';
}

static bool dot_seg(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* ---- kbs:/// URIs ------------------------------------------------------------ */

static int uri_chars(const char *uri, size_t n, char *why, size_t cap)
{
	char cd[16];
	size_t i;

	if (!n) {
		why_set(why, cap, "the URI is empty: expected kbs:///<repository>/<type>/<tag>");
		return -EINVAL;
	}
	if (n > KBS_URI_MAX) {
		why_set(why, cap, "the URI is %zu characters; at most %d", n, KBS_URI_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (uri_byte_bad(uri[i])) {
			why_set(why, cap, "character %s at offset %zu is not allowed",
				char_desc(uri[i], cd), i);
			return -EINVAL;
		}
	}
	return 0;
}

static int uri_segment(const char *uri, const char *s, size_t n, int k, char *dst,
		       char *why, size_t cap)
{
	char cd[16];
	size_t i;

	if (!n) {
		why_set(why, cap, "segment %d is empty", k);
		return -EINVAL;
	}
	if (n > KBS_SEG_MAX) {
		why_set(why, cap, "segment %d is %zu characters; at most %d", k, n, KBS_SEG_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!seg_char(s[i])) {
			why_set(why, cap,
				"character %s at offset %zu is not allowed (segment %d: only A-Z a-z 0-9 . _ -)",
				char_desc(s[i], cd), (size_t)(s + i - uri), k);
			return -EINVAL;
		}
	}
	if (dot_seg(s, n)) {
		why_set(why, cap, "segment %d is '%.*s': '.' and '..' are not allowed", k, (int)n, s);
		return -EINVAL;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

int kbs_uri_parse(const char *uri, struct kbs_uri *out, char *why, size_t cap)
{
	char *dst[3] = { out->repo, out->type, out->tag };
	size_t n = strlen(uri), alen;
	const char *p, *q;
	int k, nseg = 1;

	memset(out, 0, sizeof(*out));
	if (uri_chars(uri, n, why, cap))
		return -EINVAL;
	if (strncmp(uri, "kbs:", 4)) {
		q = strchr(uri, ':');
		if (q && q - uri <= 16)
			why_set(why, cap, "scheme '%.*s' is not kbs: expected kbs:///<repository>/<type>/<tag>",
				(int)(q - uri), uri);
		else
			why_set(why, cap, "not a kbs URI: expected kbs:///<repository>/<type>/<tag>");
		return -EINVAL;
	}
	p = uri + 4;
	if (strncmp(p, "//", 2)) {
		why_set(why, cap, "'kbs:' must be followed by '//' and an empty authority: write kbs:///<repository>/<type>/<tag>");
		return -EINVAL;
	}
	p += 2;
	alen = strcspn(p, "/");
	if (alen) {
		/* the KBS is whichever one CDH was configured with, never the URI's */
		why_set(why, cap, "authority '%.*s' must be empty: write kbs:///<repository>/<type>/<tag>",
			(int)alen, p);
		return -EINVAL;
	}
	if (!*p) {
		why_set(why, cap, "no path: expected kbs:///<repository>/<type>/<tag>");
		return -EINVAL;
	}
	p++;
	for (q = p; *q; q++)
		nseg += *q == '/';
	if (nseg != 3) {
		why_set(why, cap, "%d path segment%s; need exactly 3: <repository>/<type>/<tag>",
			nseg, nseg == 1 ? "" : "s");
		return -EINVAL;
	}
	for (k = 0; k < 3; k++) {
		size_t len = strcspn(p, "/");

		if (uri_segment(uri, p, len, k + 1, dst[k], why, cap)) {
			memset(out, 0, sizeof(*out));
			return -EINVAL;
		}
		p += len + (p[len] == '/');
	}
	why_set(why, cap, "%s", "");
	return 0;
}

/* ---- the CDH base URL ------------------------------------------------------- */

/* a strict dotted quad (no octal, hex or short forms) in 127.0.0.0/8 */
static bool ipv4_loopback(const char *h, size_t n)
{
	unsigned int part[4];
	size_t i = 0;
	int k;

	for (k = 0; k < 4; k++) {
		size_t start = i;

		part[k] = 0;
		while (i < n && h[i] >= '0' && h[i] <= '9' && i - start < 3)
			part[k] = part[k] * 10 + (h[i++] - '0');
		if (i == start || part[k] > 255 || (h[start] == '0' && i - start > 1))
			return false;
		if (k < 3 && (i >= n || h[i++] != '.'))
			return false;
	}
	return i == n && part[0] == 127;
}

static int url_host(const char *auth, size_t alen, size_t *hlen, char *why, size_t cap)
{
	const char *h = auth;
	size_t n;

	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);

		n = close ? (size_t)(close - auth) + 1 : alen;
	} else {
		n = strcspn(auth, ":");
		if (n > alen)
			n = alen;
	}
	*hlen = n;
	if (!n) {
		why_set(why, cap, "no host in the CDH URL");
		return -EINVAL;
	}
	/*
	 * "localhost" never reaches DNS or /etc/hosts: libcurl (>= 7.78)
	 * resolves it to the loopback addresses itself.
	 */
	if ((n == 9 && !memcmp(h, "localhost", 9)) || (n == 5 && !memcmp(h, "[::1]", 5)) ||
	    ipv4_loopback(h, n))
		return 0;
	why_set(why, cap,
		"host '%.*s' is not loopback: the CDH URL must name 127.0.0.0/8 (dotted quad), [::1] or localhost, "
		"since whoever chooses the endpoint could serve a key it knows", (int)n, h);
	return -EINVAL;
}

static int url_port(const char *s, size_t n, char *why, size_t cap)
{
	unsigned long v = 0;
	size_t i;

	if (!n)
		return 0;
	if (s[0] != ':' || n < 2 || n > 6)
		goto bad;
	for (i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (s[i] - '0');
	}
	if (v >= 1 && v <= 65535)
		return 0;
bad:
	why_set(why, cap, "port '%.*s' must be ':' and a number 1..65535", (int)n, s);
	return -EINVAL;
}

static int url_path(const char *url, const char *p, char *why, size_t cap)
{
	char cd[16];
	const char *s;

	if (*p != '/') {
		why_set(why, cap, "no path: the CDH URL names its resource path, e.g. %s", DEFAULT_CDH_URL);
		return -EINVAL;
	}
	for (s = p; *s; s++) {
		if (*s != '/' && !seg_char(*s)) {
			why_set(why, cap, "character %s at offset %zu is not allowed in the path",
				char_desc(*s, cd), (size_t)(s - url));
			return -EINVAL;
		}
	}
	for (s = p + 1; *s; ) {
		size_t n = strcspn(s, "/");

		if ((!n && s[n]) || dot_seg(s, n)) {
			why_set(why, cap, "the path '%s' has an empty, '.' or '..' segment", p);
			return -EINVAL;
		}
		s += n + (s[n] == '/');
	}
	return 0;
}

int keysrc_url_check(const char *url, char *why, size_t cap)
{
	size_t n = strlen(url), i, alen, hlen;
	const char *auth;
	char cd[16];

	if (n >= sizeof(((struct keysrc_cfg *)0)->cdh_url)) {
		why_set(why, cap, "the CDH URL is %zu characters; at most %zu", n,
			sizeof(((struct keysrc_cfg *)0)->cdh_url) - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (url[i] == '?' || url[i] == '#') {
			why_set(why, cap, "a %s ('%c' at offset %zu) is not allowed in the CDH URL",
				url[i] == '?' ? "query" : "fragment", url[i], i);
			return -EINVAL;
		}
		if (uri_byte_bad(url[i])) {
			why_set(why, cap, "character %s at offset %zu is not allowed in the CDH URL",
				char_desc(url[i], cd), i);
			return -EINVAL;
		}
	}
	if (strncmp(url, "http://", 7)) {
		if (!strncmp(url, "https://", 8))
			why_set(why, cap, "https:// is not supported: CDH's REST bridge is plain http on loopback, e.g. %s",
				DEFAULT_CDH_URL);
		else
			why_set(why, cap, "the CDH URL must start with http://, e.g. %s", DEFAULT_CDH_URL);
		return -EINVAL;
	}
	auth = url + 7;
	alen = strcspn(auth, "/");
	if (memchr(auth, '@', alen)) {
		/* not quoted: it could be a password */
		why_set(why, cap, "userinfo (user@ or user:password@) is not allowed in the CDH URL");
		return -EINVAL;
	}
	if (url_host(auth, alen, &hlen, why, cap) ||
	    url_port(auth + hlen, alen - hlen, why, cap) ||
	    url_path(url, auth + alen, why, cap))
		return -EINVAL;
	why_set(why, cap, "%s", "");
	return 0;
}

/* ---- configuration ------------------------------------------------------------ */

void keysrc_cfg_default(struct keysrc_cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->cdh_url, sizeof(c->cdh_url), "%s", DEFAULT_CDH_URL);
	c->timeout_ms = 10000;
	c->retries = 3;
	c->backoff_ms = 200;
	c->max_body = 65536;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

struct cfg_key {
	const char *name;
	size_t off;		/* of an unsigned int in struct keysrc_cfg */
	unsigned long lo, hi;
};

static const struct cfg_key cfg_keys[] = {
	/* 0 would mean "no timeout" to libcurl */
	{ "timeout_ms", offsetof(struct keysrc_cfg, timeout_ms), 1, 600000 },
	{ "retries", offsetof(struct keysrc_cfg, retries), 0, 20 },
	{ "backoff_ms", offsetof(struct keysrc_cfg, backoff_ms), 0, BACKOFF_CAP_MS },
};

/* one "key = value" line into c; seen: a bit per key, given at most once */
static int cfg_line(struct keysrc_cfg *c, char *key, char *val, unsigned int *seen,
		    const char *where, char *why, size_t cap)
{
	char uwhy[256];
	uint64_t v;
	size_t i;

	if (!strcmp(key, "cdh_url")) {
		if (*seen & 1)
			goto twice;
		*seen |= 1;
		if (keysrc_url_check(val, uwhy, sizeof(uwhy))) {
			why_set(why, cap, "%s: cdh_url: %s", where, uwhy);
			return -EINVAL;
		}
		snprintf(c->cdh_url, sizeof(c->cdh_url), "%s", val);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(cfg_keys); i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (strcmp(key, k->name))
			continue;
		if (*seen & (2u << i))
			goto twice;
		*seen |= 2u << i;
		if (parse_u64(val, &v) || v < k->lo || v > k->hi) {
			why_set(why, cap, "%s: %s: '%s' is not a number in %lu..%lu", where, key,
				printable(val) ? val : "(unprintable)", k->lo, k->hi);
			return -EINVAL;
		}
		*(unsigned int *)((char *)c + k->off) = (unsigned int)v;
		return 0;
	}
	why_set(why, cap, "%s: unknown key '%s' (known: cdh_url, timeout_ms, retries, backoff_ms)",
		where, printable(key) ? key : "(unprintable)");
	return -EINVAL;
twice:
	why_set(why, cap, "%s: %s is given twice", where, key);
	return -EINVAL;
}

static int cfg_parse(FILE *f, const char *path, struct keysrc_cfg *c, char *why, size_t cap)
{
	char line[CONF_LINE_MAX], where[300];
	unsigned int lineno = 0, seen = 0;

	while (fgets(line, sizeof(line), f)) {
		char *s, *eq;

		snprintf(where, sizeof(where), "%s:%u", path, ++lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			why_set(why, cap, "%s: line longer than %d characters", where, CONF_LINE_MAX - 2);
			return -EINVAL;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			why_set(why, cap, "%s: expected 'key = value'", where);
			return -EINVAL;
		}
		*eq = '\0';
		if (cfg_line(c, trim(s), trim(eq + 1), &seen, where, why, cap))
			return -EINVAL;
	}
	if (ferror(f)) {
		why_set(why, cap, "%s: read error: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

int keysrc_cfg_load(struct keysrc_cfg *c, const char *path, char *why, size_t cap)
{
	const char *p = path ? path : DMSEALCTL_CONF;
	struct keysrc_cfg tmp = *c;
	FILE *f = fopen(p, "re");
	int ret;

	if (!f) {
		int e = errno;

		if (!path && e == ENOENT)
			return 0;
		why_set(why, cap, "cannot open %s: %s", p, strerror(e));
		return -e;
	}
	ret = cfg_parse(f, p, &tmp, why, cap);
	fclose(f);
	if (!ret)
		*c = tmp;
	return ret;
}

/* ---- errors ------------------------------------------------------------------- */

const char *keysrc_err_name(enum keysrc_err e)
{
	static const char *const names[] = {
		[KS_OK] = "ok",
		[KS_EURI] = "bad-uri",
		[KS_ECONFIG] = "config",
		[KS_EUNREACHABLE] = "unreachable",
		[KS_ETIMEOUT] = "timeout",
		[KS_ENOTFOUND] = "not-found",
		[KS_EFORBIDDEN] = "forbidden",
		[KS_EHTTP] = "http-error",
		[KS_ELENGTH] = "wrong-length",
		[KS_ETOOBIG] = "too-big",
		[KS_ENOMEM] = "no-memory",
	};

	if ((unsigned int)e < ARRAY_SIZE(names) && names[e])
		return names[e];
	return "unknown";
}

/* ---- the CDH REST fetch ------------------------------------------------------ */

/* Where the body goes: a locked buffer of max bytes, never grown. */
struct sink {
	CURL *h;
	struct secret *buf;
	size_t max;
	size_t len;		/* bytes kept */
	size_t seen;		/* bytes received, kept or not */
	bool too_big;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	long code = 0;

	s->seen += n;
	/* an error status's body is of no use: count it, keep nothing */
	if (curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code) || code != 200)
		return s->seen > s->max ? 0 : n;
	if (n > s->max - s->len) {
		s->too_big = true;
		return 0;	/* CURLE_WRITE_ERROR: the transfer stops here */
	}
	memcpy(s->buf->buf + s->len, data, n);
	s->len += n;
	return n;
}

/* "http://127.0.0.1:8006" of a checked base URL, for messages */
static void url_origin(const char *url, char *out, size_t cap)
{
	size_t n = 7 + strcspn(url + 7, "/");

	snprintf(out, cap, "%.*s", (int)n, url);
}

static bool curl_load(char *why, size_t cap)
{
	static const char *const names[] = {
		"curl_global_init", "curl_easy_init", "curl_easy_setopt", "curl_easy_perform",
		"curl_easy_getinfo", "curl_easy_cleanup", "curl_easy_strerror",
	};
	void **slots[] = {
		(void **)&lc.global_init, (void **)&lc.easy_init, (void **)&lc.easy_setopt,
		(void **)&lc.easy_perform, (void **)&lc.easy_getinfo, (void **)&lc.easy_cleanup,
		(void **)&lc.easy_strerror,
	};
	void *lib;
	size_t i;

	if (lc.easy_strerror)
		return true;
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		why_set(why, cap, "cannot load libcurl.so.4 (package libcurl4), which fetching a key from CDH needs: %s",
			dlerror());
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		*slots[i] = dlsym(lib, names[i]);
		if (!*slots[i]) {
			why_set(why, cap, "libcurl.so.4 has no %s", names[i]);
			memset(&lc, 0, sizeof(lc));
			dlclose(lib);
			return false;
		}
	}
	return true;
}

static bool curl_init_once(char *why, size_t cap)
{
	static bool done;

	if (done)
		return true;
	if (!curl_load(why, cap))
		return false;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		why_set(why, cap, "libcurl cannot be initialised");
		return false;
	}
	done = true;
	return true;
}

/* everything that keeps the request on loopback http, set or fail */
static CURLcode curl_setup(CURL *h, const struct keysrc_cfg *cfg, const char *url,
			   struct sink *s, char *errbuf)
{
	CURLcode r = CURLE_OK;

#define SET(opt, val) do { if (r == CURLE_OK) r = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85.0 */
	SET(CURLOPT_PROTOCOLS_STR, "http");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http");
#else
	SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
	SET(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	/* neither http_proxy nor all_proxy from the environment */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->timeout_ms);
	SET(CURLOPT_FAILONERROR, 0L);
	SET(CURLOPT_HTTPGET, 1L);
	SET(CURLOPT_USERAGENT, "dmsealctl/" DMSEALCTL_VERSION);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, sink_write);
	SET(CURLOPT_WRITEDATA, s);
#undef SET
	return r;
}

/* a transfer that did not end in a status: why, and which error it is */
static enum keysrc_err curl_failure(CURL *h, CURLcode cc, const struct keysrc_cfg *cfg,
				    const char *errbuf, char *why, size_t cap)
{
	char origin[sizeof(cfg->cdh_url)], os[128] = "";
	long oserr = 0;

	url_origin(cfg->cdh_url, origin, sizeof(origin));
	if (!curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr) && oserr) {
		snprintf(os, sizeof(os), "%s", strerror(oserr));
		if (os[0] >= 'A' && os[0] <= 'Z')
			os[0] += 'a' - 'A';
	}
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		why_set(why, cap, "no answer from CDH at %s within %u ms", origin, cfg->timeout_ms);
		return KS_ETIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		why_set(why, cap, "no CDH at %s (%s): is confidential-data-hub running with its REST API there?",
			origin, os[0] ? os : errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return KS_EUNREACHABLE;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		/* CDH going away mid-request is worth another attempt */
		why_set(why, cap, "CDH at %s dropped the connection (%s)", origin,
			errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return KS_EUNREACHABLE;
	default:
		why_set(why, cap, "request to CDH at %s failed: %s", origin,
			errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return KS_EHTTP;
	}
}

/* an answer other than 200 */
static enum keysrc_err http_failure(long code, const char *shown_uri, char *why, size_t cap)
{
	if (code == 404) {
		why_set(why, cap, "resource %s not found (HTTP 404): no such resource in the KBS", shown_uri);
		return KS_ENOTFOUND;
	}
	if (code == 401 || code == 403) {
		why_set(why, cap, "resource %s refused by CDH/KBS (HTTP %ld): attestation or the KBS resource policy denies it",
			shown_uri, code);
		return KS_EFORBIDDEN;
	}
	if (code >= 300 && code < 400)
		why_set(why, cap, "resource %s: CDH answered HTTP %ld, a redirect (not followed)",
			shown_uri, code);
	else
		why_set(why, cap, "resource %s: CDH answered HTTP %ld", shown_uri, code);
	return KS_EHTTP;
}

/* One GET into s. *code: the status, 0 without one. */
static enum keysrc_err cdh_get_once(const struct keysrc_cfg *cfg, const char *url,
				    const char *shown_uri, size_t want_len, struct sink *s,
				    long *code, char *why, size_t cap)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	enum keysrc_err e;
	CURLcode cc;
	CURL *h;

	*code = 0;
	explicit_bzero(s->buf->buf, s->len);
	s->len = 0;
	s->seen = 0;
	s->too_big = false;
	h = curl_easy_init();
	if (!h) {
		why_set(why, cap, "cannot start a libcurl request");
		return KS_ENOMEM;
	}
	s->h = h;
	cc = curl_setup(h, cfg, url, s, errbuf);
	if (cc != CURLE_OK) {
		why_set(why, cap, "libcurl refused a setting that keeps the request on loopback http: %s",
			curl_easy_strerror(cc));
		curl_easy_cleanup(h);
		return KS_ECONFIG;
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	if (s->too_big) {
		why_set(why, cap, "resource %s is larger than the %zu-byte limit (max_body); transfer stopped after %zu bytes",
			shown_uri, s->max, s->seen);
		e = KS_ETOOBIG;
	} else if (*code && *code != 200) {
		e = http_failure(*code, shown_uri, why, cap);
	} else if (cc != CURLE_OK) {
		e = curl_failure(h, cc, cfg, errbuf, why, cap);
	} else if (s->len != want_len) {
		why_set(why, cap, "resource %s is %zu bytes; the profile's volume key is %zu bytes",
			shown_uri, s->len, want_len);
		e = KS_ELENGTH;
	} else {
		e = KS_OK;
	}
	curl_easy_cleanup(h);
	return e;
}

static bool retryable(enum keysrc_err e, long code)
{
	return e == KS_EUNREACHABLE || e == KS_ETIMEOUT ||
	       (e == KS_EHTTP && code >= 500 && code <= 599);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static enum keysrc_err cdh_rest_fetch(const struct keysrc_cfg *cfg, const struct kbs_uri *u,
				      size_t want_len, struct secret *out, char *why, size_t cap)
{
	char url[sizeof(cfg->cdh_url) + 3 * (KBS_SEG_MAX + 1)];
	char shown_uri[8 + 3 * (KBS_SEG_MAX + 1)];
	struct secret body = { 0 };
	struct sink s = { .buf = &body };
	unsigned int attempt, delay = cfg->backoff_ms;
	size_t blen = strlen(cfg->cdh_url);
	enum keysrc_err e;
	double t0 = now_s();
	long code;
	int ret;

	memset(out, 0, sizeof(*out));
	if (keysrc_url_check(cfg->cdh_url, why, cap))
		return KS_ECONFIG;
	if (!cfg->timeout_ms || !want_len || want_len > cfg->max_body) {
		why_set(why, cap, "bad key source settings: timeout_ms %u, key of %zu bytes, max_body %zu",
			cfg->timeout_ms, want_len, cfg->max_body);
		return KS_ECONFIG;
	}
	/* no libcurl is an installation problem: the key source, not memory */
	if (!curl_init_once(why, cap))
		return KS_ECONFIG;
	/* the check allows a trailing '/': no double slash */
	if (cfg->cdh_url[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof(url), "%.*s/%s/%s/%s", (int)blen, cfg->cdh_url, u->repo, u->type, u->tag);
	snprintf(shown_uri, sizeof(shown_uri), "kbs:///%s/%s/%s", u->repo, u->type, u->tag);

	ret = secret_alloc(&body, cfg->max_body);
	if (ret) {
		why_set(why, cap, "cannot allocate %zu bytes of locked memory for the resource: %s "
			"(RLIMIT_MEMLOCK?)", cfg->max_body, strerror(-ret));
		return KS_ENOMEM;
	}
	s.max = cfg->max_body;
	for (attempt = 1; ; attempt++) {
		e = cdh_get_once(cfg, url, shown_uri, want_len, &s, &code, why, cap);
		if (e == KS_OK || !retryable(e, code) || attempt > cfg->retries)
			break;
		verbose("%s; attempt %u of %u, next in %u ms", why, attempt, cfg->retries + 1, delay);
		sleep_ms(delay);
		delay = delay > BACKOFF_CAP_MS / 2 ? BACKOFF_CAP_MS : delay * 2;
	}
	if (e == KS_OK) {
		ret = secret_alloc(out, want_len);
		if (ret) {
			why_set(why, cap, "cannot allocate %zu bytes of locked memory for the key: %s",
				want_len, strerror(-ret));
			e = KS_ENOMEM;
		} else {
			memcpy(out->buf, body.buf, want_len);
		}
	}
	if (e != KS_OK && e != KS_ENOMEM)
		why_append(why, cap, " (%u attempt%s in %.1f s)", attempt, attempt == 1 ? "" : "s",
			   now_s() - t0);
	secret_free(&body);
	return e;
}

const struct keysrc_ops keysrc_cdh_rest = {
	.name = "cdh-rest",
	.fetch = cdh_rest_fetch,
};

enum keysrc_err keysrc_fetch(const struct keysrc_cfg *cfg, const char *uri, size_t want_len,
			     struct secret *out, char *why, size_t cap)
{
	struct kbs_uri u;

	memset(out, 0, sizeof(*out));
	if (kbs_uri_parse(uri, &u, why, cap))
		return KS_EURI;
	return keysrc_cdh_rest.fetch(cfg, &u, want_len, out, why, cap);
}
