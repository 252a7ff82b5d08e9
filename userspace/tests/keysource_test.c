// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host test of the key source (keysource.c). tests/run.sh runs it against
 * real HTTP servers (busybox httpd, busybox nc) on loopback.
 *
 *   keysource_test uri              the kbs:/// URI table, TAP on stdout
 *   keysource_test url              the CDH URL table, TAP on stdout
 *   keysource_test config FILE|-    the configuration read from FILE (- for
 *                                   the default path), or "error: why"
 *   keysource_test fetch [-u URL] [-t TIMEOUT_MS] [-r RETRIES] [-b BACKOFF_MS]
 *                  [-m MAX_BODY] URI WANT_LEN
 *                                   one fetch; prints
 *                                     result=NAME elapsed_ms=N rss_growth_kb=N sha256=HEX|-
 *                                     why=MESSAGE
 *   keysource_test free-port        a TCP port free on 127.0.0.1 right now
 *   keysource_test wait-port PORT   wait (5 s at most) until 127.0.0.1:PORT accepts
 *
 * The key bytes themselves are never printed: only their SHA-256.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "../dmsealctl.h"
#include "tap.h"
#include "../keysource.h"

bool opt_json;
bool opt_verbose;
bool opt_debug;
const char *prog = "keysource_test";

/* a test name safe to print: control and non-ASCII bytes as \xNN */
static const char *vis(const char *s)
{
	static char buf[4][160];
	static int k;
	char *o = buf[k++ & 3];
	size_t n = 0;

	for (; *s && n < 72; s++) {
		unsigned char c = *s;

		if (c < 0x20 || c >= 0x7f)
			n += sprintf(o + n, "\\x%02x", c);
		else
			o[n++] = c;
	}
	if (*s)
		n += sprintf(o + n, "...");
	o[n] = '\0';
	return o;
}

static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- kbs:/// URIs ---------------------------------------------------------- */

struct uri_case {
	const char *uri;
	const char *want;	/* "repo|type|tag" or the exact message */
	bool good;
};

static void uri_table(void)
{
	char *s128 = rep('s', 128), *s129 = rep('s', 129), *c390 = rep('c', 390);
	char long_ok[400], seg_long[160], too_long[420], good_long[420];
	const struct uri_case cases[] = {
		{ "kbs:///default/key/volume1", "default|key|volume1", true },
		{ "kbs:///a/b/c", "a|b|c", true },
		{ "kbs:///A-Z_0.9/t-y_p.e/..x", "A-Z_0.9|t-y_p.e|..x", true },
		{ "kbs:///default/key/.hidden", "default|key|.hidden", true },
		{ long_ok, good_long, true },
		{ "", "the URI is empty: expected kbs:///<repository>/<type>/<tag>", false },
		{ "kbs:///default/ke%79/x", "character 0x25 ('%') at offset 17 is not allowed", false },
		{ "kbs:///a/b/c?x", "character 0x3f ('?') at offset 12 is not allowed", false },
		{ "kbs:///a/b/c#x", "character 0x23 ('#') at offset 12 is not allowed", false },
		{ "kbs:///a/b/c ", "character 0x20 at offset 12 is not allowed", false },
		{ "kbs:///a/b/\nc", "character 0x0a at offset 11 is not allowed", false },
		{ "kbs:///a/\tb/c", "character 0x09 at offset 9 is not allowed", false },
		{ "kbs:///a/b/c\x7f", "character 0x7f at offset 12 is not allowed", false },
		{ "kbs:///a/b/\xc3\xa9", "character 0xc3 at offset 11 is not allowed", false },
		{ "kbs://evil.example:8080/a/b/c",
		  "authority 'evil.example:8080' must be empty: write kbs:///<repository>/<type>/<tag>", false },
		{ "kbs://@/a/b/c", "authority '@' must be empty: write kbs:///<repository>/<type>/<tag>", false },
		{ "KBS:///a/b/c", "scheme 'KBS' is not kbs: expected kbs:///<repository>/<type>/<tag>", false },
		{ "http://127.0.0.1/a/b/c", "scheme 'http' is not kbs: expected kbs:///<repository>/<type>/<tag>", false },
		{ "kbs:/a/b/c",
		  "'kbs:' must be followed by '//' and an empty authority: write kbs:///<repository>/<type>/<tag>", false },
		{ "kbs:a/b/c",
		  "'kbs:' must be followed by '//' and an empty authority: write kbs:///<repository>/<type>/<tag>", false },
		{ "a/b/c", "not a kbs URI: expected kbs:///<repository>/<type>/<tag>", false },
		{ "kbs://", "no path: expected kbs:///<repository>/<type>/<tag>", false },
		{ "kbs:///", "1 path segment; need exactly 3: <repository>/<type>/<tag>", false },
		{ "kbs:///a/b", "2 path segments; need exactly 3: <repository>/<type>/<tag>", false },
		{ "kbs:///a/b/c/", "4 path segments; need exactly 3: <repository>/<type>/<tag>", false },
		{ "kbs:///a/b/c/d", "4 path segments; need exactly 3: <repository>/<type>/<tag>", false },
		{ "kbs:///a//c", "segment 2 is empty", false },
		{ "kbs:////b/c", "segment 1 is empty", false },
		{ "kbs:///a/b/", "segment 3 is empty", false },
		{ "kbs:///a/../c", "segment 2 is '..': '.' and '..' are not allowed", false },
		{ "kbs:///./b/c", "segment 1 is '.': '.' and '..' are not allowed", false },
		{ "kbs:///a/b:c/d",
		  "character 0x3a (':') at offset 10 is not allowed (segment 2: only A-Z a-z 0-9 . _ -)", false },
		{ "kbs:///a/b/c@d",
		  "character 0x40 ('@') at offset 12 is not allowed (segment 3: only A-Z a-z 0-9 . _ -)", false },
		{ "kbs:///a\\b/c/d",
		  "character 0x5c ('\\') at offset 8 is not allowed (segment 1: only A-Z a-z 0-9 . _ -)", false },
		{ seg_long, "segment 2 is 129 characters; at most 128", false },
		{ too_long, "the URI is 401 characters; at most 400", false },
	};
	size_t i;

	snprintf(long_ok, sizeof(long_ok), "kbs:///%s/%s/%s", s128, s128, s128);
	snprintf(good_long, sizeof(good_long), "%s|%s|%s", s128, s128, s128);
	snprintf(seg_long, sizeof(seg_long), "kbs:///a/%s/c", s129);
	snprintf(too_long, sizeof(too_long), "kbs:///a/b/%s", c390);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct uri_case *c = &cases[i];
		struct kbs_uri u;
		char why[512] = "", got[420];
		int r = kbs_uri_parse(c->uri, &u, why, sizeof(why));

		if (c->good) {
			snprintf(got, sizeof(got), "%s|%s|%s", u.repo, u.type, u.tag);
			result(!r && !strcmp(got, c->want), "uri '%s' parses", vis(c->uri));
		} else {
			result(r == -EINVAL && !strcmp(why, c->want) && !u.repo[0],
			       "uri '%s' refused: %s", vis(c->uri), vis(c->want));
		}
		if ((c->good && (r || strcmp(got, c->want))) || (!c->good && strcmp(why, c->want)))
			printf("#   got %d: %s\n", r, vis(why));
	}
	free(s128);
	free(s129);
	free(c390);
}

/* ---- the CDH URL ----------------------------------------------------------- */

struct url_case {
	const char *url;
	const char *want;	/* NULL: accepted; else a part of the message */
};

static void url_table(void)
{
	static const struct url_case cases[] = {
		{ "http://127.0.0.1:8006/cdh/resource", NULL },
		{ "http://127.0.0.1/cdh/resource", NULL },
		{ "http://127.1.2.3:1/x", NULL },
		{ "http://127.255.255.255:65535/a", NULL },
		{ "http://[::1]:8006/cdh/resource", NULL },
		{ "http://localhost:8006/cdh/resource", NULL },
		{ "http://127.0.0.1:8006/cdh/resource/", NULL },
		{ "http://10.0.0.1:8006/cdh/resource", "host '10.0.0.1' is not loopback" },
		{ "https://127.0.0.1:8006/cdh/resource", "https:// is not supported" },
		{ "http://evil@127.0.0.1:8006/cdh/resource", "userinfo (user@ or user:password@) is not allowed" },
		{ "http://user:s3cret@127.0.0.1/x", "userinfo (user@ or user:password@) is not allowed" },
		{ "http://127.0.0.1.evil.com/cdh", "host '127.0.0.1.evil.com' is not loopback" },
		{ "http://127.0.0.1@evil.com/cdh", "userinfo" },
		{ "http://localhost.evil/cdh", "host 'localhost.evil' is not loopback" },
		{ "http://LOCALHOST/cdh", "host 'LOCALHOST' is not loopback" },
		{ "http://0x7f.1/cdh", "host '0x7f.1' is not loopback" },
		{ "http://0177.0.0.1/x", "host '0177.0.0.1' is not loopback" },
		{ "http://127.1/x", "host '127.1' is not loopback" },
		{ "http://2130706433/x", "host '2130706433' is not loopback" },
		{ "http://127.0.0.256/x", "host '127.0.0.256' is not loopback" },
		{ "http://128.0.0.1/x", "host '128.0.0.1' is not loopback" },
		{ "http://[::2]/x", "host '[::2]' is not loopback" },
		{ "http://[::ffff:127.0.0.1]/x", "host '[::ffff:127.0.0.1]' is not loopback" },
		{ "http://[::1/x", "host '[::1' is not loopback" },
		{ "http:///cdh/resource", "no host in the CDH URL" },
		{ "http://127.0.0.1:8006/cdh/resource?x=1", "a query ('?' at offset 34) is not allowed" },
		{ "http://127.0.0.1:8006/cdh/resource#f", "a fragment ('#' at offset 34) is not allowed" },
		{ "http://127.0.0.1:0/x", "port ':0' must be ':' and a number 1..65535" },
		{ "http://127.0.0.1:65536/x", "port ':65536' must be" },
		{ "http://127.0.0.1:/x", "port ':' must be" },
		{ "http://127.0.0.1:80a/x", "port ':80a' must be" },
		{ "http://[::1]x/y", "port 'x' must be" },
		{ "http://127.0.0.1", "no path: the CDH URL names its resource path" },
		{ "http://127.0.0.1:8006", "no path" },
		{ "http://127.0.0.1:8006/cdh/../x", "has an empty, '.' or '..' segment" },
		{ "http://127.0.0.1:8006//x", "has an empty, '.' or '..' segment" },
		{ "http://127.0.0.1:8006/a:b", "character 0x3a (':') at offset 23 is not allowed in the path" },
		{ "http://127.0.0.1/a b", "character 0x20 at offset 18 is not allowed" },
		{ "http://127.0.0.1/a%2e", "character 0x25 ('%') at offset 18 is not allowed" },
		{ "http://127.0.0.1/a\n", "character 0x0a at offset 18 is not allowed" },
		{ "ftp://127.0.0.1/x", "must start with http://" },
		{ "HTTP://127.0.0.1/x", "must start with http://" },
		{ "", "must start with http://" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct url_case *c = &cases[i];
		char why[512] = "";
		int r = keysrc_url_check(c->url, why, sizeof(why));
		bool ok = c->want ? r == -EINVAL && strstr(why, c->want) && !strstr(why, "s3cret")
				  : r == 0;

		if (c->want)
			result(ok, "url '%s' refused: ...%s...", vis(c->url), c->want);
		else
			result(ok, "url '%s' accepted", vis(c->url));
		if (!ok)
			printf("#   got %d: %s\n", r, vis(why));
	}
}

/* ---- configuration --------------------------------------------------------- */

static int config(const char *path)
{
	struct keysrc_cfg c;
	char why[512];

	keysrc_cfg_default(&c);
	if (keysrc_cfg_load(&c, strcmp(path, "-") ? path : NULL, why, sizeof(why))) {
		printf("error: %s\n", why);
		return 1;
	}
	printf("cdh_url=%s timeout_ms=%u retries=%u backoff_ms=%u max_body=%zu\n",
	       c.cdh_url, c.timeout_ms, c.retries, c.backoff_ms, c.max_body);
	return 0;
}

/* ---- one fetch ------------------------------------------------------------- */

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static unsigned int num(const char *s)
{
	uint64_t v;

	if (parse_u64(s, &v) || v > 100000000) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return (unsigned int)v;
}

static int fetch(int argc, char **argv)
{
	struct keysrc_cfg cfg;
	struct secret key;
	unsigned char md[EVP_MAX_MD_SIZE];
	char why[1024] = "", hex[2 * EVP_MAX_MD_SIZE + 1] = "-";
	unsigned int mdlen = 0;
	enum keysrc_err e;
	long rss0;
	double t0;
	int opt;

	keysrc_cfg_default(&cfg);
	while ((opt = getopt(argc, argv, "u:t:r:b:m:")) != -1) {
		switch (opt) {
		case 'u':
			snprintf(cfg.cdh_url, sizeof(cfg.cdh_url), "%s", optarg);
			break;
		case 't':
			cfg.timeout_ms = num(optarg);
			break;
		case 'r':
			cfg.retries = num(optarg);
			break;
		case 'b':
			cfg.backoff_ms = num(optarg);
			break;
		case 'm':
			cfg.max_body = num(optarg);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2)
		return 2;
	/* libcurl's (and OpenSSL's) one-time setup is not the fetch's memory */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rss0 = max_rss_kb();
	t0 = now_s();
	e = keysrc_fetch(&cfg, argv[optind], num(argv[optind + 1]), &key, why, sizeof(why));
	if (e == KS_OK) {
		EVP_Digest(key.buf, key.len, md, &mdlen, EVP_sha256(), NULL);
		hex_encode(md, mdlen, hex);
		secret_free(&key);
	} else if (key.buf || key.len) {
		printf("result=bug: a failed fetch left a buffer behind\n");
		return 1;
	}
	printf("result=%s elapsed_ms=%.0f rss_growth_kb=%ld sha256=%s\nwhy=%s\n",
	       keysrc_err_name(e), (now_s() - t0) * 1000, max_rss_kb() - rss0, hex, why);
	return 0;
}

/* ---- ports ----------------------------------------------------------------- */

static int lo_socket(struct sockaddr_in *a, unsigned int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = lo_socket(&a, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		perror("free-port");
		return 1;
	}
	printf("%u\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

static int wait_port(const char *p)
{
	unsigned int port = num(p);
	int i;

	for (i = 0; i < 100; i++) {
		struct sockaddr_in a;
		int fd = lo_socket(&a, port), r;

		r = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (!r)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "%s: nothing listens on 127.0.0.1:%u\n", prog, port);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "uri")) {
		uri_table();
	} else if (argc >= 2 && !strcmp(argv[1], "url")) {
		url_table();
	} else if (argc == 3 && !strcmp(argv[1], "config")) {
		return config(argv[2]);
	} else if (argc >= 2 && !strcmp(argv[1], "fetch")) {
		return fetch(argc - 1, argv + 1);
	} else if (argc == 2 && !strcmp(argv[1], "free-port")) {
		return free_port();
	} else if (argc == 3 && !strcmp(argv[1], "wait-port")) {
		return wait_port(argv[2]);
	} else {
		fprintf(stderr, "usage: %s uri|url|config FILE|fetch ...|free-port|wait-port PORT\n", prog);
		return 2;
	}
	return tap_done();
}
