// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl policy digest|load|show.
 *
 * `digest` is offline and is the number to attest: SHA-256 over the exact
 * canonical bytes `load` sends, which are the bytes the kernel hashes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmsealctl.h"

static void policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s policy digest [-j] FILE   SHA-256 of the canonical policy (offline)\n"
		"       %s policy load [-j] FILE     load the policy into dmseal and seal it\n"
		"       %s policy show [-j]          print the sealed policy as JSON\n"
		"       %s policy format [-j] FILE   print FILE in canonical, complete form (offline)\n"
		"       %s policy check [-j] FILE crypt|integrity PARAMS\n"
		"                                    would FILE accept this target? (offline)\n"
		"\n"
		"FILE is a JSON policy (Documentation/dmseal/policy.rst), '-' for stdin.\n"
		"A policy can be loaded once per boot; every later load is refused.\n"
		"`policy show > f; policy digest f` reproduces the sealed digest.\n"
		"With --json, `show` prints {\"dmsealctl_json\": 1, \"digest\": ...,\n"
		"\"policy\": {...}} (Documentation/dmseal/json.rst).\n",
		prog, prog, prog, prog, prog);
}

/* Options shared by the subcommands: -j and -h. Returns -1 to go on. */
static int sub_opts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': opt_json = true; break;
		case 'h': policy_usage(stdout); return EXIT_OK;
		default: policy_usage(usage_err("policy")); return EXIT_USAGE;
		}
	}
	return -1;
}

static int load_file(const char *path, uint8_t **buf, size_t *len,
		     uint8_t digest[DMSEAL_DIGEST_LEN])
{
	struct dms_policy *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	r = policy_from_file(path, p);
	if (!r)
		r = policy_encode_alloc(p, buf, len);
	free(p);
	if (!r)
		policy_digest(*buf, *len, digest);
	return r;
}

static void print_digest(const uint8_t d[DMSEAL_DIGEST_LEN], const char *extra_key,
			 bool extra)
{
	char hex[2 * DMSEAL_DIGEST_LEN + 1];

	hex_encode(d, DMSEAL_DIGEST_LEN, hex);
	if (opt_json) {
		struct json_object *o = json_out_new();

		json_object_object_add(o, "digest", json_object_new_string(hex));
		if (extra_key)
			json_object_object_add(o, extra_key, json_object_new_boolean(extra));
		json_print(o, false);
		json_object_put(o);
	} else {
		puts(hex);
	}
}

static int policy_digest_cmd(int argc, char **argv)
{
	uint8_t *buf, d[DMSEAL_DIGEST_LEN];
	size_t len;

	if (argc != 1) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	if (load_file(argv[0], &buf, &len, d))
		return EXIT_FAIL;
	free(buf);
	print_digest(d, NULL, false);
	return EXIT_OK;
}

static int load_reply(struct nlattr **tb, uint8_t cmd, void *arg)
{
	(void)tb;
	(void)cmd;
	(void)arg;
	return 0;
}

static int policy_load_cmd(int argc, char **argv)
{
	uint8_t *buf, d[DMSEAL_DIGEST_LEN], kd[DMSEAL_DIGEST_LEN];
	uint8_t *kbuf;
	struct dnl *nl;
	size_t len, klen;
	int r;

	if (argc != 1) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	if (load_file(argv[0], &buf, &len, d))
		return EXIT_FAIL;
	r = dnl_connect(&nl, false);
	if (r) {
		free(buf);
		return r;
	}
	r = dnl_request(nl, DMSEAL_CMD_LOAD_POLICY, false, buf, len, load_reply, NULL);
	free(buf);
	if (r) {
		const char *why = dnl_extack(nl);

		err_msg("the kernel refused the policy: %s%s%s", strerror(-r),
			why ? ": " : "", why ? shown(why) : "");
		dnl_close(nl);
		/*
		 * EPERM is the caller's privilege (CAP_NET_ADMIN, checked by the
		 * genetlink core without a message; CAP_SYS_ADMIN, by dmseal)
		 * unless the kernel says the digest differs from
		 * dmseal.expected_digest: that, EBUSY (already sealed) and
		 * EINVAL (invalid policy) are refusals.
		 */
		if ((r == -EPERM || r == -EACCES) && !(why && strstr(why, "expected_digest")))
			return EXIT_PERM;
		return r == -ENOMEM || r == -EIO ? EXIT_FAIL : EXIT_DENIED;
	}
	/* read it back: what is sealed must be exactly what we sent */
	r = dnl_get_policy(nl, &kbuf, &klen, kd);
	dnl_close(nl);
	if (r) {
		err_msg("policy loaded, but reading it back failed: %s", strerror(-r));
		return EXIT_FAIL;
	}
	free(kbuf);
	if (memcmp(kd, d, sizeof(d))) {
		err_msg("the sealed policy's digest differs from the file's");
		return EXIT_FAIL;
	}
	verbose("policy sealed");
	print_digest(d, "sealed", true);
	return EXIT_OK;
}

/* Print a decoded policy: stdout is a policy file, the digest on stderr. */
static void print_policy(const struct dms_policy *p, const uint8_t d[DMSEAL_DIGEST_LEN])
{
	char hex[2 * DMSEAL_DIGEST_LEN + 1];
	struct json_object *o = policy_to_json(p);

	hex_encode(d, DMSEAL_DIGEST_LEN, hex);
	if (opt_json) {
		struct json_object *w = json_out_new();

		json_object_object_add(w, "digest", json_object_new_string(hex));
		json_object_object_add(w, "policy", o);
		json_print(w, false);
		json_object_put(w);
	} else {
		json_print(o, true);
		json_object_put(o);
		fprintf(stderr, "digest: %s\n", hex);
	}
}

static int policy_format_cmd(int argc, char **argv)
{
	struct dms_policy *p;
	uint8_t *buf, d[DMSEAL_DIGEST_LEN];
	size_t len;

	if (argc != 1) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return EXIT_FAIL;
	if (policy_from_file(argv[0], p) || policy_encode_alloc(p, &buf, &len)) {
		free(p);
		return EXIT_FAIL;
	}
	policy_digest(buf, len, d);
	free(buf);
	print_policy(p, d);
	free(p);
	return EXIT_OK;
}

/*
 * Offline: run the kernel's own parser and checker (kmod/core) on one target
 * line, e.g. what `dmsetup table` prints after the start/length/type. For
 * policy authors: "would this table be accepted?" without a guest.
 * Key material in PARAMS is parsed for its form and size only, never printed.
 */
static int policy_check_cmd(int argc, char **argv)
{
	struct dms_policy *p;
	struct dms_reason why = { "" };
	const char *type, *params;
	int r, prof = -1;

	if (argc != 3) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	type = argv[1];
	params = argv[2];
	if (strcmp(type, "crypt") && strcmp(type, "integrity")) {
		err_msg("policy check: target type is crypt or integrity");
		return EXIT_USAGE;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return EXIT_FAIL;
	if (policy_from_file(argv[0], p)) {
		free(p);
		return EXIT_FAIL;
	}
	if (!strcmp(type, "crypt")) {
		struct dms_crypt *c = calloc(1, sizeof(*c));

		r = c ? dms_parse_crypt(params, strlen(params), c, &why) : -ENOMEM;
		if (!r)
			prof = r = dms_check_crypt(p, c, &why);
		if (c)
			explicit_bzero(c, sizeof(*c));
		free(c);
	} else {
		struct dms_integrity *t = calloc(1, sizeof(*t));

		r = t ? dms_parse_integrity(params, strlen(params), t, &why) : -ENOMEM;
		if (!r)
			prof = r = dms_check_integrity(p, t, &why);
		free(t);
	}
	if (opt_json) {
		struct json_object *o = json_out_new();

		json_object_object_add(o, "accepted", json_object_new_boolean(r >= 0));
		if (r >= 0)
			json_object_object_add(o, "profile",
					       json_object_new_string(p->profiles[prof].name));
		else
			json_add_str(o, "reason", why.msg);
		json_print(o, false);
		json_object_put(o);
	} else if (r >= 0) {
		printf("accepted by profile %s\n", p->profiles[prof].name);
	} else {
		/* the reason may quote PARAMS: one line, whatever they hold */
		printf("denied: %s\n", why.msg[0] ? shown(why.msg) : strerror(-r));
	}
	free(p);
	return r >= 0 ? EXIT_OK : EXIT_DENIED;
}

static int policy_show_cmd(int argc, char **argv)
{
	uint8_t *buf, d[DMSEAL_DIGEST_LEN];
	struct dms_reason why = { "" };
	struct dms_policy *p;
	struct dnl *nl;
	size_t len;
	int r;

	(void)argv;
	if (argc != 0) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	r = dnl_connect(&nl, false);
	if (r)
		return r;
	r = dnl_get_policy(nl, &buf, &len, d);
	dnl_close(nl);
	if (r == -ENOENT) {
		err_msg("no policy is sealed");
		return EXIT_NOENT;
	}
	if (r) {
		err_msg("cannot read the sealed policy: %s", strerror(-r));
		return errno_exit(r);
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		free(buf);
		return EXIT_FAIL;
	}
	r = dms_policy_decode(buf, len, p, &why);
	free(buf);
	if (r) {
		err_msg("cannot decode the sealed policy: %s", shown(why.msg));
		free(p);
		return EXIT_FAIL;
	}
	print_policy(p, d);
	free(p);
	return EXIT_OK;
}

int cmd_policy(int argc, char **argv)
{
	const char *sub;
	int r;

	if (argc < 2) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		policy_usage(stdout);
		return EXIT_OK;
	}
	argc--;
	argv++;
	r = sub_opts(argc, argv);
	if (r >= 0)
		return r;
	argc -= optind;
	argv += optind;
	if (!strcmp(sub, "digest"))
		return policy_digest_cmd(argc, argv);
	if (!strcmp(sub, "load"))
		return policy_load_cmd(argc, argv);
	if (!strcmp(sub, "show"))
		return policy_show_cmd(argc, argv);
	if (!strcmp(sub, "format"))
		return policy_format_cmd(argc, argv);
	if (!strcmp(sub, "check"))
		return policy_check_cmd(argc, argv);
	err_msg("unknown policy command '%s'", shown(sub));
	policy_usage(usage_err("policy"));
	return EXIT_USAGE;
}
