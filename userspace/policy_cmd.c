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
		"       %s policy check [-j] FILE 'START LEN TYPE PARAMS'\n"
		"       %s policy check [-j] FILE --table TABLE\n"
		"                                    would FILE accept these targets? (offline)\n"
		"\n"
		"FILE is a JSON policy (Documentation/dmseal/policy.rst), '-' for stdin.\n"
		"A policy can be loaded once per boot; every later load is refused.\n"
		"`policy show > f; policy digest f` reproduces the sealed digest.\n"
		"With --json, `show` prints {\"dmsealctl_json\": 1, \"digest\": ...,\n"
		"\"policy\": {...}} (Documentation/dmseal/json.rst).\n"
		"`check` takes one target, a `dmsetup table` line (a \"NAME: \" in front is\n"
		"skipped) or, with --table, every line of TABLE ('-' for stdin), and gives\n"
		"the verdict of the policy and of each of its profiles, with the rule.\n",
		prog, prog, prog, prog, prog, prog, prog);
}

/* Options shared by the subcommands: -j and -h. Returns -1 to go on. */
/* `check --table FILE`: the dmsetup table to check, '-' for stdin */
static const char *opt_table;

static int sub_opts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "table", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "jht:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': opt_json = true; break;
		case 't': opt_table = optarg; break;
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
 * Offline: run the kernel's own parser and checker (kmod/core) on targets as
 * `dmsetup table` prints them. For policy authors: "would this table be
 * accepted, and by which profile; if not, which rule of each profile
 * refuses it?" without a guest. The verdict of the policy is
 * dms_check_crypt()/dms_check_integrity() on the whole policy (the first
 * profile that accepts wins, as in the kernel); each profile's verdict is the
 * same call on a policy holding that profile alone. Key material in the
 * parameters is parsed for its form and size only, never printed, and wiped.
 * The rules that need the running system (scope by name, the device below a
 * crypt target, consumers on a governed device, the target as built) are
 * the kernel's alone.
 */
struct chk {
	const struct dms_policy *p;
	struct dms_policy *one;		/* p with one profile, for each verdict */
	struct json_object *targets;	/* --json: one object per target */
	unsigned int n, denied;
};

/* One crypt/integrity target against the whole policy, or (one != NULL) */
static int chk_eval(const struct dms_policy *p, const char *type, const char *params,
		    struct dms_reason *why)
{
	int r;

	why->msg[0] = '\0';
	if (!strcmp(type, "crypt")) {
		struct dms_crypt *c = calloc(1, sizeof(*c));

		r = c ? dms_parse_crypt(params, strlen(params), c, why) : -ENOMEM;
		if (!r)
			r = dms_check_crypt(p, c, why);
		if (c)
			explicit_bzero(c, sizeof(*c));
		free(c);
	} else {
		struct dms_integrity *t = calloc(1, sizeof(*t));

		r = t ? dms_parse_integrity(params, strlen(params), t, why) : -ENOMEM;
		if (!r)
			r = dms_check_integrity(p, t, why);
		if (t)
			explicit_bzero(t, sizeof(*t));
		free(t);
	}
	if (r < 0 && !why->msg[0])
		snprintf(why->msg, sizeof(why->msg), "%s", strerror(-r));
	return r;
}

static void strip_profile(struct dms_reason *why, const char *name);

/* What the policy says about a target of another type (no profile decides). */
static const char *chk_other(const struct dms_policy *p, const char *type, bool *ok)
{
	bool other = dms_other_target_allowed(p, type);
	bool consumer = dms_consumer_allowed(p, type);

	*ok = other || consumer;
	if (other && consumer)
		return "listed in other_targets and consumers: allowed in a governed table and on top of a governed device";
	if (other)
		return "listed in other_targets: allowed in a governed table if it opens no governed device";
	if (consumer)
		return "listed in consumers: allowed on top of a governed device (and in a governed table)";
	return "not in other_targets nor consumers: not allowed in a governed table nor on top of a governed device (only on devices dmseal does not govern)";
}

/*
 * One target: NAME may be NULL (a bare target), START/LEN NULL for the
 * "TYPE PARAMS" form. Prints the verdicts; returns whether it is accepted.
 */
static bool chk_target(struct chk *k, const char *name, const char *start,
		       const char *len, const char *type, const char *params)
{
	const struct dms_policy *p = k->p;
	struct json_object *o = NULL, *profs = NULL;
	struct dms_reason why;
	bool ok, governed = !strcmp(type, "crypt") || !strcmp(type, "integrity");
	const char *verdict;
	u32 i;
	int r;

	k->n++;
	if (opt_json) {
		o = json_object_new_object();
		json_object_object_add(o, "target", json_object_new_int((int)k->n));
		if (name)
			json_add_str(o, "dev_name", name);
		if (start)
			json_object_object_add(o, "target_start", json_object_new_string(start));
		if (len)
			json_object_object_add(o, "target_len", json_object_new_string(len));
		json_add_str(o, "target_type", type);
	} else {
		/* name and type escaped as single words: a hostile name cannot
		 * forge a field or a line */
		printf("target %u:", k->n);
		if (name)
			printf(" %s:", shown_word(name));
		if (start && len)
			printf(" %s %s", start, len);
		printf(" %s\n", shown_word(type));
	}
	if (!governed) {
		verdict = chk_other(p, type, &ok);
		if (opt_json) {
			json_object_object_add(o, "accepted", json_object_new_boolean(ok));
			json_add_str(o, "rule", verdict);
		} else {
			printf("  policy: %s: %s\n", ok ? "accepted" : "denied", verdict);
		}
		goto out;
	}
	r = chk_eval(p, type, params, &why);
	ok = r >= 0;
	if (opt_json) {
		json_object_object_add(o, "accepted", json_object_new_boolean(ok));
		if (ok)
			json_add_str(o, "profile", p->profiles[r].name);
		else
			json_add_str(o, "reason", why.msg);
		profs = json_object_new_array();
	} else if (ok) {
		printf("  policy: accepted by profile %s\n", shown_word(p->profiles[r].name));
	} else {
		/* the reason may quote the parameters: one line, whatever they hold */
		printf("  policy: denied: %s\n", shown(why.msg));
	}
	for (i = 0; i < p->n_profiles && i < DMS_MAX_PROFILES; i++) {
		int pr;

		k->one->profiles[0] = p->profiles[i];
		pr = chk_eval(k->one, type, params, &why);
		/* the profile is named already: drop the core's "profile 'x': " */
		if (pr < 0)
			strip_profile(&why, p->profiles[i].name);
		if (opt_json) {
			struct json_object *po = json_object_new_object();

			json_add_str(po, "name", p->profiles[i].name);
			json_object_object_add(po, "accepted", json_object_new_boolean(pr >= 0));
			if (pr < 0)
				json_add_str(po, "reason", why.msg);
			json_object_array_add(profs, po);
		} else if (pr >= 0) {
			printf("  profile %s: accepted\n", shown_word(p->profiles[i].name));
		} else {
			printf("  profile %s: denied: %s\n", shown_word(p->profiles[i].name),
			       shown(why.msg));
		}
	}
	if (opt_json)
		json_object_object_add(o, "profiles", profs);
out:
	if (!ok)
		k->denied++;
	if (opt_json)
		json_object_array_add(k->targets, o);
	return ok;
}

static void strip_profile(struct dms_reason *why, const char *name)
{
	char pre[DMS_PROFILE_NAME_MAX + 16];
	size_t n = (size_t)snprintf(pre, sizeof(pre), "profile '%s': ", name);

	if (n < sizeof(pre) && !strncmp(why->msg, pre, n))
		memmove(why->msg, why->msg + n, strlen(why->msg + n) + 1);
}

static bool is_number(const char *s)
{
	uint64_t v;

	return *s && !parse_u64(s, &v);
}

/*
 * One `dmsetup table` line: [NAME: ]START LEN TYPE [PARAMS...]. The line is
 * modified in place. Returns 0, or -EINVAL if it is not such a line.
 */
static int chk_line(struct chk *k, char *line, unsigned int lineno)
{
	char *name = NULL, *f[3], *params, *q = line;
	size_t l = strlen(line);
	int i;

	while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
		line[--l] = '\0';
	q += strspn(q, " \t");
	if (!*q || *q == '#')
		return 0;
	/* "NAME: " as `dmsetup table` prints it for every device */
	if (!(*q >= '0' && *q <= '9')) {
		char *colon = strstr(q, ": ");

		if (!colon) {
			err_msg("line %u: not a table line (START LEN TYPE PARAMS)", lineno);
			return -EINVAL;
		}
		*colon = '\0';
		name = q;
		q = colon + 2;
	}
	for (i = 0; i < 3; i++) {
		q += strspn(q, " \t");
		f[i] = q;
		q += strcspn(q, " \t");
		if (*q)
			*q++ = '\0';
	}
	params = q + strspn(q, " \t");
	if (!is_number(f[0]) || !is_number(f[1]) || !*f[2]) {
		err_msg("line %u: not a table line (START LEN TYPE PARAMS)", lineno);
		return -EINVAL;
	}
	chk_target(k, name, f[0], f[1], f[2], params);
	return 0;
}

static int chk_table_file(struct chk *k, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	int r = 0;

	if (!f) {
		err_msg("%s: %s", shown(path), strerror(errno));
		return -errno;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		r = chk_line(k, line, lineno);
		explicit_bzero(line, cap);	/* it may hold a hex key */
		if (r)
			break;
	}
	if (!r && ferror(f)) {
		err_msg("%s: read error", shown(path));
		r = -EIO;
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	if (f != stdin)
		fclose(f);
	if (!r && !k->n) {
		err_msg("%s: no table lines", shown(path));
		r = -EINVAL;
	}
	return r;
}

static int policy_check_cmd(int argc, char **argv)
{
	struct chk k = { 0 };
	struct dms_policy *p;
	char *line = NULL;
	int r = 0;

	if (opt_table ? argc != 1 : (argc != 2 && argc != 3)) {
		policy_usage(usage_err("policy"));
		return EXIT_USAGE;
	}
	if (argc == 3 && strcmp(argv[1], "crypt") && strcmp(argv[1], "integrity")) {
		err_msg("policy check: target type is crypt or integrity");
		return EXIT_USAGE;
	}
	if (opt_table && !strcmp(opt_table, "-") && !strcmp(argv[0], "-")) {
		err_msg("policy check: the policy and the table cannot both be stdin");
		return EXIT_USAGE;
	}
	p = calloc(1, sizeof(*p));
	k.one = calloc(1, sizeof(*k.one));
	if (!p || !k.one) {
		free(p);
		free(k.one);
		return EXIT_FAIL;
	}
	if (policy_from_file(argv[0], p)) {
		free(p);
		free(k.one);
		return EXIT_FAIL;
	}
	k.p = p;
	*k.one = *p;
	k.one->n_profiles = 1;
	if (opt_json)
		k.targets = json_object_new_array();
	if (opt_table) {
		r = chk_table_file(&k, opt_table);
	} else if (argc == 3) {
		chk_target(&k, NULL, NULL, NULL, argv[1], argv[2]);
	} else {
		line = strdup(argv[1]);
		r = line ? chk_line(&k, line, 1) : -ENOMEM;
		if (!r && !k.n) {
			err_msg("policy check: no table line given");
			r = -EINVAL;
		}
		if (line)
			explicit_bzero(line, strlen(line));
		free(line);
	}
	if (opt_json) {
		if (!r) {
			struct json_object *o = json_out_new();

			json_object_object_add(o, "accepted", json_object_new_boolean(!k.denied));
			if (argc == 3 && k.n == 1) {
				/* the one-target form keeps its flat fields */
				struct json_object *t = json_object_array_get_idx(k.targets, 0), *v;

				if (json_object_object_get_ex(t, "profile", &v))
					json_object_object_add(o, "profile", json_object_get(v));
				if (json_object_object_get_ex(t, "reason", &v))
					json_object_object_add(o, "reason", json_object_get(v));
			}
			json_object_object_add(o, "targets", json_object_get(k.targets));
			json_print(o, false);
			json_object_put(o);
		}
		json_object_put(k.targets);
	} else if (!r && k.n > 1) {
		printf("%u targets: %u accepted, %u denied\n", k.n, k.n - k.denied, k.denied);
	}
	explicit_bzero(k.one, sizeof(*k.one));
	free(k.one);
	free(p);
	if (r)	/* not a table line: usage; no such file, no memory: failure */
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	return k.denied ? EXIT_DENIED : EXIT_OK;
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
