// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmseal_netlink: the module's life cycle and its generic-netlink contract
 * (include/uapi/linux/dmseal.h), in the guest.
 *
 * The tests run in this order on purpose, because the module can be unloaded
 * only while nothing is sealed:
 *
 *   a) `modprobe dmseal`, the family resolves, STATUS says unsealed;
 *   b) every command from a process without CAP_SYS_ADMIN fails with EPERM
 *      (as nobody, and as root with only CAP_SYS_ADMIN dropped), and such a
 *      process gets no events;
 *   c) strict attribute validation (EINVAL/ERANGE with an extended ack);
 *      GET_POLICY unsealed is ENOENT;
 *   d) unsealed, crypt and integrity tables are refused (EACCES), a linear
 *      one is fine;
 *   e) unload works unsealed; with expected_digest= a policy of another
 *      digest is refused (EPERM) and nothing is sealed;
 *   f) the test policy (the canonical encoding of data/policy.json) seals:
 *      STATUS, GET_POLICY and the seal event agree on its SHA-256, a second
 *      load is EBUSY, and the module can no longer be unloaded.
 *
 * The shell tests that follow (dmseal_enforce.sh, dmsealctl_*.sh) expect
 * exactly this policy sealed. Every test is its own process (the harness
 * forks), so nothing but the module's state carries from one to the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "dmseal_nl.h"

#define NOBODY		65534
#define OUTCAP		4096

/* A 64-byte (aes-xts-256) hex key for tables that must never load. */
#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" \
	      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* ---- helpers ------------------------------------------------------------- */

/*
 * These tests load, unload and seal the module and load dm tables on
 * /dev/vda: only in the guest that `make check` boots (its /init sets this
 * hostname), unless DMSEAL_SELFTEST_ANY_HOST is set.
 */
static bool in_test_guest(void)
{
	char h[65] = "";

	if (getenv("DMSEAL_SELFTEST_ANY_HOST"))
		return true;
	gethostname(h, sizeof(h) - 1);
	return !strcmp(h, "dmseal-guest");
}

#define GUEST_ONLY() do {						\
	if (!in_test_guest())						\
		SKIP(return, "not the dmseal test guest");		\
} while (0)

static bool module_loaded(void)
{
	return access("/sys/module/dmseal", F_OK) == 0;
}

static int run_cmd(const char *const argv[], char *out)
{
	return dmst_run(argv, out, OUTCAP);
}

/* The test policy's canonical bytes and digest. */
struct policy_blob {
	uint8_t *buf;
	size_t len;
	uint8_t digest[DMSEAL_DIGEST_LEN];
	char hex[2 * DMSEAL_DIGEST_LEN + 1];
	char err[256];
};

static bool policy_blob(struct policy_blob *b)
{
	memset(b, 0, sizeof(*b));
	b->len = dmst_test_policy_bytes(&b->buf, b->err, sizeof(b->err));
	if (!b->len)
		return false;
	dmst_sha256(b->buf, b->len, b->digest);
	dmst_hex(b->digest, DMSEAL_DIGEST_LEN, b->hex);
	return true;
}

/* Another valid policy: the test policy with the "plain" profile renamed. */
static size_t other_policy(uint8_t **out)
{
	struct dms_reason why = { "" };
	struct dms_policy *p = calloc(1, sizeof(*p));
	size_t n = 0;
	uint32_t i;

	*out = NULL;
	if (!p)
		return 0;
	if (!dmst_test_policy(p, &why)) {
		for (i = 0; i < p->n_profiles; i++)
			if (!strcmp(p->profiles[i].name, "plain"))
				strcpy(p->profiles[i].name, "other");
		dms_policy_normalize(p);
		if (!dms_policy_validate(p, &why))
			n = dmst_encode(p, out);
	}
	free(p);
	return n;
}

/* LOAD_POLICY with these bytes as DMSEAL_A_POLICY. */
static int load_policy(struct dmst_nl *nl, const void *buf, size_t len)
{
	struct dmst_attrs *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	dmst_put_attr(a, DMSEAL_A_POLICY, buf, len);
	r = dmst_req(nl, DMSEAL_CMD_LOAD_POLICY, false, a->data, a->len, NULL, NULL);
	free(a);
	return r;
}

struct got_policy {
	uint8_t *buf;
	size_t len;
	bool have_digest;
	uint8_t digest[DMSEAL_DIGEST_LEN];
};

static int get_policy_cb(const struct nlmsghdr *nlh, const void *attrs, size_t alen,
			 void *argp)
{
	struct got_policy *g = argp;
	const struct nlattr *tb[DMSEAL_A_MAX + 1];

	(void)nlh;
	dmst_parse(attrs, alen, tb, DMSEAL_A_MAX);
	if (tb[DMSEAL_A_POLICY] && !g->buf) {
		g->len = dmst_nla_len(tb[DMSEAL_A_POLICY]);
		g->buf = malloc(g->len ? g->len : 1);
		if (!g->buf)
			return -ENOMEM;
		memcpy(g->buf, dmst_nla_data(tb[DMSEAL_A_POLICY]), g->len);
	}
	if (tb[DMSEAL_A_DIGEST] && dmst_nla_len(tb[DMSEAL_A_DIGEST]) == DMSEAL_DIGEST_LEN) {
		g->have_digest = true;
		memcpy(g->digest, dmst_nla_data(tb[DMSEAL_A_DIGEST]), DMSEAL_DIGEST_LEN);
	}
	return 0;
}

static int count_cb(const struct nlmsghdr *nlh, const void *attrs, size_t alen,
		    void *argp)
{
	char line[2048];

	(void)nlh;
	dmst_target_line(attrs, alen, line, sizeof(line));
	fprintf(stderr, "#   pin %s\n", line);
	(*(int *)argp)++;
	return 0;
}

/* Waiting for one event: by command and (for target events) device name. */
struct want_event {
	uint8_t cmd;
	const char *name;
	bool found;
	char line[2048];
	bool have_digest;
	uint8_t digest[DMSEAL_DIGEST_LEN];
	int seen;		/* every event, matching or not */
};

static int want_event_cb(uint8_t cmd, const void *attrs, size_t alen, void *argp)
{
	struct want_event *w = argp;
	const struct nlattr *tb[DMSEAL_A_MAX + 1];
	char name[256];

	w->seen++;
	if (cmd != w->cmd)
		return 0;
	dmst_parse(attrs, alen, tb, DMSEAL_A_MAX);
	if (w->name && strcmp(dmst_nla_str(tb[DMSEAL_A_DEV_NAME], name, sizeof(name)),
			      w->name))
		return 0;
	w->found = true;
	dmst_target_line(attrs, alen, w->line, sizeof(w->line));
	if (tb[DMSEAL_A_DIGEST] && dmst_nla_len(tb[DMSEAL_A_DIGEST]) == DMSEAL_DIGEST_LEN) {
		w->have_digest = true;
		memcpy(w->digest, dmst_nla_data(tb[DMSEAL_A_DIGEST]), DMSEAL_DIGEST_LEN);
	}
	return 1;
}

static bool wait_event(struct dmst_nl *mon, struct want_event *w, int timeout_ms)
{
	w->found = false;
	w->seen = 0;
	dmst_nl_events(mon, timeout_ms, want_event_cb, w);
	return w->found;
}

static bool dm_exists(const char *name)
{
	char out[OUTCAP];

	return run_cmd((const char *[]){ "dmsetup", "info", name, NULL }, out) == 0;
}

static void dm_remove_quiet(const char *name)
{
	char out[OUTCAP];

	if (dm_exists(name))
		run_cmd((const char *[]){ "dmsetup", "remove", name, NULL }, out);
}

/* Log a command's output as diagnostics, line by line. */
static void log_output(const char *what, const char *out)
{
	const char *p = out, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		fprintf(stderr, "#   %s: %.*s\n", what, nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* ---- the requests an unprivileged process tries -------------------------- */

struct unpriv_result {
	int open_err;
	int err[4];		/* STATUS, LOAD_POLICY, GET_POLICY, LIST_PINS */
	char extack[4][sizeof(((struct dmst_nl *)0)->extack)];
	int join_err;
	int events_seen;	/* only if the join succeeded */
};

static const char *const unpriv_cmds[4] = { "STATUS", "LOAD_POLICY", "GET_POLICY",
					    "LIST_PINS" };

static void unpriv_requests(struct unpriv_result *res)
{
	static const char not_a_policy[] = "not a policy";
	struct dmst_nl nl;
	int i;

	res->open_err = dmst_nl_open(&nl);
	if (res->open_err)
		return;
	for (i = 0; i < 4; i++) {
		switch (i) {
		case 0:
			res->err[i] = dmst_req(&nl, DMSEAL_CMD_STATUS, false, NULL, 0, NULL, NULL);
			break;
		case 1:
			/* never the real policy: a missing check must not seal */
			res->err[i] = load_policy(&nl, not_a_policy, sizeof(not_a_policy));
			break;
		case 2:
			res->err[i] = dmst_req(&nl, DMSEAL_CMD_GET_POLICY, false, NULL, 0,
					       NULL, NULL);
			break;
		case 3:
			res->err[i] = dmst_req(&nl, DMSEAL_CMD_LIST_PINS, true, NULL, 0,
					       NULL, NULL);
			break;
		}
		snprintf(res->extack[i], sizeof(res->extack[i]), "%s", nl.extack);
	}
	res->join_err = dmst_nl_join_events(&nl);
	dmst_nl_close(&nl);
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -errno;
	return geteuid() == NOBODY ? 0 : -EPERM;
}

/* Root, minus CAP_SYS_ADMIN (effective, permitted, inheritable, bounding). */
static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const uint32_t bit = 1u << (CAP_SYS_ADMIN % 32);
	const int i = CAP_SYS_ADMIN / 32;

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[i].effective &= ~bit;
	d[i].permitted &= ~bit;
	d[i].inheritable &= ~bit;
	if (syscall(SYS_capset, &h, d))
		return -errno;
	prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0);
	return 0;
}

/* Fork, drop privileges with @drop, run the requests; results via shared memory. */
static int unpriv_run(int (*drop)(void), struct unpriv_result *out)
{
	struct unpriv_result *res;
	int status;
	pid_t pid;

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (res == MAP_FAILED)
		return -errno;
	memset(res, 0, sizeof(*res));
	res->open_err = -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int r = drop();

		if (r) {
			res->open_err = r;
			_exit(1);
		}
		unpriv_requests(res);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	*out = *res;
	munmap(res, sizeof(*res));
	return 0;
}

/* ======================================================================= */
/* a) load and first contact                                               */

/* The struct in dmseal_nl.h must be data/policy.json: same digest as dmsealctl. */
TEST(test_policy_is_policy_json)
{
	struct policy_blob b;
	char exe[PATH_MAX], json[PATH_MAX + 32], out[OUTCAP];
	ssize_t n;
	char *slash;
	int rc;

	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	TH_LOG("test policy: %zu bytes, sha256 %s", b.len, b.hex);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	ASSERT_NE(NULL, slash);
	*slash = '\0';
	snprintf(json, sizeof(json), "%s/data/policy.json", exe);
	rc = run_cmd((const char *[]){ "dmsealctl", "policy", "digest", json, NULL }, out);
	if (rc == 127) {
		free(b.buf);
		SKIP(return, "dmsealctl is not installed: no cross-check with data/policy.json");
	}
	ASSERT_EQ(0, rc) log_output("dmsealctl", out);
	out[strcspn(out, "\n")] = '\0';
	EXPECT_STREQ(b.hex, out) {
		TH_LOG("dmseal_nl.h's test policy is not data/policy.json any more: update dmst_test_policy()");
	}
	free(b.buf);
}

TEST(modprobe_dmseal)
{
	char out[OUTCAP];
	struct dmst_nl nl;
	int rc;

	GUEST_ONLY();
	rc = run_cmd((const char *[]){ "modprobe", "dmseal", NULL }, out);
	ASSERT_EQ(0, rc) log_output("modprobe", out);
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, dmst_nl_open(&nl));
	EXPECT_NE(0, nl.family);
	EXPECT_NE(0u, nl.events_grp) TH_LOG("no \"%s\" multicast group", DMSEAL_MCGRP_EVENTS);
	TH_LOG("family id %u, events group %u", nl.family, nl.events_grp);
	dmst_nl_close(&nl);
}

TEST(status_unsealed)
{
	struct dmst_status st;
	struct dmst_nl nl;

	GUEST_ONLY();
	ASSERT_EQ(0, dmst_nl_open(&nl));
	ASSERT_EQ(0, dmst_status(&nl, &st)) TH_LOG("extack: %s", nl.extack);
	TH_LOG("version %s sealed %d allowed %llu denied %llu pins %u", st.version,
	       st.sealed, (unsigned long long)st.allowed, (unsigned long long)st.denied,
	       st.pins);
	EXPECT_TRUE(st.have_version);
	EXPECT_NE(0u, strlen(st.version));
	EXPECT_TRUE(st.have_sealed);
	EXPECT_EQ(0, st.sealed);
	EXPECT_FALSE(st.have_digest);
	EXPECT_FALSE(st.have_expected);
	EXPECT_TRUE(st.have_counters);
	EXPECT_EQ(0u, st.pins);
	dmst_nl_close(&nl);
}

/* ======================================================================= */
/* b) privilege                                                            */

static void check_unpriv(struct __test_metadata *_metadata,
			 const struct unpriv_result *res, const char *who)
{
	int i;

	ASSERT_EQ(0, res->open_err) TH_LOG("%s: cannot open/resolve: %s", who,
					   strerror(-res->open_err));
	for (i = 0; i < 4; i++) {
		TH_LOG("%s: %s -> %d (%s) extack \"%s\"", who, unpriv_cmds[i], res->err[i],
		       strerror(-res->err[i]), res->extack[i]);
		EXPECT_EQ(-EPERM, res->err[i]);
	}
	TH_LOG("%s: join \"events\" -> %d (%s)", who, res->join_err, strerror(-res->join_err));
	EXPECT_EQ(-EPERM, res->join_err);
}

TEST(unprivileged_nobody_eperm)
{
	struct unpriv_result res;

	GUEST_ONLY();
	ASSERT_EQ(0, unpriv_run(become_nobody, &res));
	check_unpriv(_metadata, &res, "uid 65534");
}

/* Root keeping CAP_NET_ADMIN: genetlink's own check passes, dmseal's must not. */
TEST(root_without_cap_sys_admin_eperm)
{
	struct unpriv_result res;

	GUEST_ONLY();
	ASSERT_EQ(0, unpriv_run(drop_cap_sys_admin, &res));
	check_unpriv(_metadata, &res, "root -CAP_SYS_ADMIN");
}

/*
 * Events name devices and denial reasons: an unprivileged listener must not
 * get them. Either the join is refused, or nothing arrives while a denial
 * (unsealed: every crypt table is denied) goes out to a privileged listener.
 */
TEST(events_not_for_unprivileged)
{
	const char *name = "dmst-nl-ev";
	const char *table = "0 8 crypt aes-xts-plain64 " HEX64 " 0 /dev/vda 0";
	struct unpriv_result *res;
	struct want_event w = { .cmd = DMSEAL_CMD_EVENT_DENY, .name = name };
	struct dmst_nl mon;
	char out[OUTCAP], c;
	int pfd[2], rc, status;
	pid_t pid;

	GUEST_ONLY();
	ASSERT_EQ(0, dmst_nl_open(&mon));
	ASSERT_EQ(0, dmst_nl_join_events(&mon));
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct want_event any = { .cmd = 0xff };
		struct dmst_nl nl;

		close(pfd[0]);
		res->open_err = become_nobody();
		if (!res->open_err)
			res->open_err = dmst_nl_open(&nl);
		if (!res->open_err)
			res->join_err = dmst_nl_join_events(&nl);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		if (!res->open_err && !res->join_err) {
			wait_event(&nl, &any, 3000);
			res->events_seen = any.seen;
		}
		_exit(0);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	close(pfd[0]);

	rc = run_cmd((const char *[]){ "dmsetup", "create", name, "--table", table, NULL }, out);
	EXPECT_NE(0, rc);
	dm_remove_quiet(name);
	EXPECT_TRUE(wait_event(&mon, &w, 3000))
		TH_LOG("no deny event for %s reached a privileged listener", name);
	waitpid(pid, &status, 0);

	EXPECT_EQ(0, res->open_err) TH_LOG("nobody: %s", strerror(-res->open_err));
	TH_LOG("nobody: join -> %d (%s), events seen %d", res->join_err,
	       strerror(-res->join_err), res->events_seen);
	EXPECT_TRUE(res->join_err == -EPERM || (res->join_err == 0 && res->events_seen == 0));
	munmap(res, sizeof(*res));
	dmst_nl_close(&mon);
}

/* ======================================================================= */
/* c) strict validation                                                    */

/* One request on a fresh socket; logs and returns the error and the extack. */
static int malformed(struct __test_metadata *_metadata, uint8_t cmd, bool dump,
		     const struct dmst_attrs *a, const char *what, char *extack,
		     size_t cap)
{
	struct dmst_nl nl;
	int r;

	if (dmst_nl_open(&nl)) {
		TH_LOG("%s: cannot open the dmseal family", what);
		return INT_MIN;
	}
	r = dmst_req(&nl, cmd, dump, a ? a->data : NULL, a ? a->len : 0, NULL, NULL);
	TH_LOG("%s -> %d (%s) extack \"%s\"", what, r, strerror(-r), nl.extack);
	if (extack)
		snprintf(extack, cap, "%s", nl.extack);
	dmst_nl_close(&nl);
	return r;
}

static bool unsealed_now(void)
{
	struct dmst_status st;
	struct dmst_nl nl;
	bool ok;

	if (dmst_nl_open(&nl))
		return false;
	ok = !dmst_status(&nl, &st) && st.sealed == 0;
	dmst_nl_close(&nl);
	return ok;
}

TEST(status_with_unknown_attribute_einval)
{
	struct dmst_attrs *a = calloc(1, sizeof(*a));
	uint8_t one = 1;

	GUEST_ONLY();
	ASSERT_NE(NULL, a);
	/* a known attribute STATUS does not take */
	dmst_put_attr(a, DMSEAL_A_SEALED, &one, 1);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_STATUS, false, a,
				     "STATUS + SEALED", NULL, 0));
	/* an attribute type beyond DMSEAL_A_MAX */
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_MAX + 50, &one, 1);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_STATUS, false, a,
				     "STATUS + type A_MAX+50", NULL, 0));
	/* GET_POLICY takes no attributes either */
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_POLICY, "x", 1);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_GET_POLICY, false, a,
				     "GET_POLICY + POLICY", NULL, 0));
	/* neither does the LIST_PINS dump */
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_DEV_NAME, "x", 2);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LIST_PINS, true, a,
				     "LIST_PINS dump + DEV_NAME", NULL, 0));
	free(a);
}

TEST(broken_attribute_headers_einval)
{
	struct dmst_attrs *a = calloc(1, sizeof(*a));
	struct nlattr h;
	uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	GUEST_ONLY();
	ASSERT_NE(NULL, a);
	/* nla_len shorter than the header itself */
	h.nla_len = 3;
	h.nla_type = DMSEAL_A_POLICY;
	dmst_put_raw(a, &h, sizeof(h));
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "LOAD_POLICY, nla_len 3", NULL, 0));
	/* nla_len past the end of the message */
	a->len = 0;
	h.nla_len = 200;
	dmst_put_raw(a, &h, sizeof(h));
	dmst_put_raw(a, junk, sizeof(junk));
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "LOAD_POLICY, nla_len past the end", NULL, 0));
	/* two stray bytes after a valid (empty-payload) attribute on STATUS */
	a->len = 0;
	dmst_put_raw(a, junk, 2);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_STATUS, false, a,
				     "STATUS + 2 trailing bytes", NULL, 0));
	/* the policy flagged as a nested attribute */
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_POLICY | NLA_F_NESTED, junk, sizeof(junk));
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "LOAD_POLICY, POLICY with NLA_F_NESTED", NULL, 0));
	free(a);
	EXPECT_TRUE(unsealed_now());
}

TEST(load_policy_missing_attribute_einval)
{
	struct dmst_nl nl;
	int r;

	GUEST_ONLY();
	ASSERT_EQ(0, dmst_nl_open(&nl));
	r = dmst_req(&nl, DMSEAL_CMD_LOAD_POLICY, false, NULL, 0, NULL, NULL);
	TH_LOG("LOAD_POLICY without POLICY -> %d (%s) extack \"%s\" missing type %d", r,
	       strerror(-r), nl.extack, nl.miss_type);
	EXPECT_EQ(-EINVAL, r);
	/* GENL_REQ_ATTR_CHECK names the missing attribute */
	if (nl.miss_type != -1)
		EXPECT_EQ(DMSEAL_A_POLICY, nl.miss_type);
	dmst_nl_close(&nl);
	EXPECT_TRUE(unsealed_now());
}

TEST(load_policy_empty_or_garbage_einval)
{
	static const char text[] = "this is not a dmseal policy";
	struct dmst_attrs *a = calloc(1, sizeof(*a));
	struct policy_blob b;
	char extack[512];
	uint8_t rnd[4096];
	unsigned int i;

	GUEST_ONLY();
	ASSERT_NE(NULL, a);
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);

	dmst_put_attr(a, DMSEAL_A_POLICY, NULL, 0);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "empty policy", extack, sizeof(extack)));
	EXPECT_NE(0u, strlen(extack)) TH_LOG("no extack message for an empty policy");

	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_POLICY, text, sizeof(text) - 1);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "text policy", extack, sizeof(extack)));
	EXPECT_NE(0u, strlen(extack)) TH_LOG("no extack message for a garbage policy");

	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 2654435761u >> 13);
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_POLICY, rnd, sizeof(rnd));
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "4 KiB pseudo-random policy", extack, sizeof(extack)));

	/* the right magic and header, then nothing */
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_POLICY, b.buf, b.len < 8 ? b.len : 8);
	EXPECT_EQ(-EINVAL, malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
				     "policy header only", extack, sizeof(extack)));
	EXPECT_NE(0u, strlen(extack)) TH_LOG("no extack message for a truncated policy");
	free(a);
	free(b.buf);
	EXPECT_TRUE(unsealed_now());
}

TEST(load_policy_oversized)
{
	struct dmst_attrs *a = calloc(1, sizeof(*a));
	static uint8_t big[DMSEAL_POLICY_MAX_LEN + 1];
	int r;

	GUEST_ONLY();
	ASSERT_NE(NULL, a);
	memset(big, 'A', sizeof(big));
	dmst_put_attr(a, DMSEAL_A_POLICY, big, DMSEAL_POLICY_MAX_LEN + 1);
	r = malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
		      "policy of DMSEAL_POLICY_MAX_LEN + 1 bytes", NULL, 0);
	EXPECT_TRUE(r == -EINVAL || r == -ERANGE);
	/* the largest allowed size gets through validation to the decoder */
	a->len = 0;
	dmst_put_attr(a, DMSEAL_A_POLICY, big, DMSEAL_POLICY_MAX_LEN);
	r = malformed(_metadata, DMSEAL_CMD_LOAD_POLICY, false, a,
		      "policy of DMSEAL_POLICY_MAX_LEN bytes of 'A'", NULL, 0);
	EXPECT_EQ(-EINVAL, r);
	free(a);
	EXPECT_TRUE(unsealed_now());
}

TEST(unknown_commands_eopnotsupp)
{
	GUEST_ONLY();
	EXPECT_EQ(-EOPNOTSUPP, malformed(_metadata, DMSEAL_CMD_MAX + 10, false, NULL,
					 "command DMSEAL_CMD_MAX+10", NULL, 0));
	/* event numbers are notifications, not requests */
	EXPECT_EQ(-EOPNOTSUPP, malformed(_metadata, DMSEAL_CMD_EVENT_SEAL, false, NULL,
					 "command EVENT_SEAL", NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, malformed(_metadata, DMSEAL_CMD_UNSPEC, false, NULL,
					 "command UNSPEC", NULL, 0));
}

TEST(get_policy_unsealed_enoent)
{
	char extack[512];

	GUEST_ONLY();
	EXPECT_EQ(-ENOENT, malformed(_metadata, DMSEAL_CMD_GET_POLICY, false, NULL,
				     "GET_POLICY unsealed", extack, sizeof(extack)));
}

TEST(list_pins_unsealed_empty)
{
	struct dmst_nl nl;
	int n = 0;

	GUEST_ONLY();
	ASSERT_EQ(0, dmst_nl_open(&nl));
	EXPECT_EQ(0, dmst_req(&nl, DMSEAL_CMD_LIST_PINS, true, NULL, 0, count_cb, &n))
		TH_LOG("extack: %s", nl.extack);
	EXPECT_EQ(0, n);
	dmst_nl_close(&nl);
}

/* ======================================================================= */
/* d) unsealed: fail closed                                                */

/* dmsetup create @name with @table must fail with EACCES and a deny event. */
static void expect_refused(struct __test_metadata *_metadata, struct dmst_nl *mon,
			   const char *name, const char *table)
{
	struct want_event w = { .cmd = DMSEAL_CMD_EVENT_DENY, .name = name };
	char out[OUTCAP];
	int rc;

	dm_remove_quiet(name);
	rc = run_cmd((const char *[]){ "dmsetup", "create", name, "--table", table, NULL }, out);
	log_output(name, out);
	EXPECT_NE(0, rc);
	/* the ioctl's errno, as dmsetup prints it */
	EXPECT_NE(NULL, strstr(out, "Permission denied"));
	EXPECT_TRUE(wait_event(mon, &w, 3000)) TH_LOG("no deny event for %s", name);
	if (w.found)
		TH_LOG("event: %s", w.line);
	EXPECT_FALSE(dm_exists(name)) TH_LOG("%s was left behind", name);
	dm_remove_quiet(name);
}

TEST(unsealed_crypt_and_integrity_refused)
{
	struct dmst_status before, after;
	struct dmst_nl nl, mon;

	GUEST_ONLY();
	ASSERT_EQ(0, dmst_nl_open(&nl));
	ASSERT_EQ(0, dmst_nl_open(&mon));
	ASSERT_EQ(0, dmst_nl_join_events(&mon));
	ASSERT_EQ(0, dmst_status(&nl, &before));
	ASSERT_EQ(0, before.sealed);

	expect_refused(_metadata, &mon, "dmst-nl-crypt",
		       "0 8 crypt aes-xts-plain64 " HEX64 " 0 /dev/vda 0");
	expect_refused(_metadata, &mon, "dmst-nl-int",
		       "0 8 integrity /dev/vda 0 32 J 1 fix_padding");

	ASSERT_EQ(0, dmst_status(&nl, &after));
	TH_LOG("denied counter %llu -> %llu", (unsigned long long)before.denied,
	       (unsigned long long)after.denied);
	EXPECT_LE(before.denied + 2, after.denied);
	EXPECT_EQ(0u, after.pins);
	dmst_nl_close(&mon);
	dmst_nl_close(&nl);
}

TEST(unsealed_linear_loads)
{
	const char *name = "dmst-nl-lin";
	char out[OUTCAP];
	int rc;

	GUEST_ONLY();
	dm_remove_quiet(name);
	rc = run_cmd((const char *[]){ "dmsetup", "create", name, "--table",
				       "0 8 linear /dev/vda 0", NULL }, out);
	EXPECT_EQ(0, rc) log_output(name, out);
	EXPECT_TRUE(dm_exists(name));
	rc = run_cmd((const char *[]){ "dmsetup", "remove", name, NULL }, out);
	EXPECT_EQ(0, rc) log_output(name, out);
}

/* ======================================================================= */
/* e) unload while unsealed; expected_digest                               */

static int modprobe_r(char *out)
{
	return run_cmd((const char *[]){ "modprobe", "-r", "dmseal", NULL }, out);
}

/* An unsealed dmseal unloads, and is gone (no netlink lookup: it would autoload). */
static void expect_unload(struct __test_metadata *_metadata)
{
	char out[OUTCAP];
	int rc = modprobe_r(out);

	EXPECT_EQ(0, rc) log_output("modprobe -r", out);
	EXPECT_FALSE(module_loaded());
}

TEST(unload_unsealed)
{
	char out[OUTCAP];
	int rc;

	const char *name = "dmst-nl-live";

	GUEST_ONLY();
	ASSERT_TRUE(module_loaded());
	ASSERT_TRUE(unsealed_now());
	/* a live (ungoverned) device does not hold an unsealed module */
	dm_remove_quiet(name);
	rc = run_cmd((const char *[]){ "dmsetup", "create", name, "--table",
				       "0 8 linear /dev/vda 0", NULL }, out);
	ASSERT_EQ(0, rc) log_output(name, out);
	expect_unload(_metadata);
	/* the device outlives the module, and goes away cleanly without it */
	EXPECT_TRUE(dm_exists(name));
	rc = run_cmd((const char *[]){ "dmsetup", "remove", name, NULL }, out);
	EXPECT_EQ(0, rc) log_output(name, out);
	EXPECT_FALSE(dm_exists(name));
}

TEST(expected_digest_malformed_parameter)
{
	char out[OUTCAP];
	int rc;

	GUEST_ONLY();
	if (module_loaded())
		modprobe_r(out);
	ASSERT_FALSE(module_loaded());
	rc = run_cmd((const char *[]){ "modprobe", "dmseal", "expected_digest=abc", NULL }, out);
	log_output("modprobe expected_digest=abc", out);
	EXPECT_NE(0, rc);
	EXPECT_FALSE(module_loaded());
	if (module_loaded())
		modprobe_r(out);
}

/* Load the module with expected_digest=@hex; 0 or modprobe's status. */
static int modprobe_expected(const char *hex, char *out)
{
	char param[128];

	snprintf(param, sizeof(param), "expected_digest=%s", hex);
	return run_cmd((const char *[]){ "modprobe", "dmseal", param, NULL }, out);
}

TEST(expected_digest_other_policy_eperm)
{
	uint8_t other_digest[DMSEAL_DIGEST_LEN];
	char other[2 * DMSEAL_DIGEST_LEN + 1];
	struct dmst_status st;
	struct policy_blob b;
	struct dmst_nl nl;
	char out[OUTCAP], hex[2 * DMSEAL_DIGEST_LEN + 1];
	int rc, r;

	GUEST_ONLY();
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	/* "some other digest": the test policy's, one bit flipped */
	memcpy(other_digest, b.digest, sizeof(other_digest));
	other_digest[DMSEAL_DIGEST_LEN - 1] ^= 1;
	dmst_hex(other_digest, DMSEAL_DIGEST_LEN, other);
	if (module_loaded())
		modprobe_r(out);
	ASSERT_FALSE(module_loaded());
	rc = modprobe_expected(other, out);
	ASSERT_EQ(0, rc) log_output("modprobe", out);

	ASSERT_EQ(0, dmst_nl_open(&nl));
	EXPECT_EQ(0, dmst_status(&nl, &st));
	EXPECT_TRUE(st.have_expected);
	dmst_hex(st.expected, DMSEAL_DIGEST_LEN, hex);
	EXPECT_STREQ(other, hex);
	r = load_policy(&nl, b.buf, b.len);
	TH_LOG("load of the test policy (%s) -> %d (%s) extack \"%s\"", b.hex, r,
	       strerror(-r), nl.extack);
	EXPECT_EQ(-EPERM, r);
	EXPECT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ(0, st.sealed);
	EXPECT_FALSE(st.have_digest);
	EXPECT_EQ(-ENOENT, dmst_req(&nl, DMSEAL_CMD_GET_POLICY, false, NULL, 0, NULL, NULL));
	dmst_nl_close(&nl);
	free(b.buf);

	/* still unsealed, so it unloads */
	expect_unload(_metadata);
}

/*
 * With expected_digest= the test policy's own digest, policies that are
 * almost the test policy cannot seal by accident even if the decoder let them
 * through: near misses must be EINVAL (decoder), other valid ones EPERM.
 */
TEST(expected_digest_near_misses)
{
	struct dmst_status st;
	struct policy_blob b;
	struct dmst_nl nl;
	uint8_t *other, *longer;
	size_t olen;
	char out[OUTCAP];
	int rc, r;

	GUEST_ONLY();
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	olen = other_policy(&other);
	ASSERT_NE(0ul, olen);
	longer = malloc(b.len + 1);
	ASSERT_NE(NULL, longer);
	memcpy(longer, b.buf, b.len);
	longer[b.len] = 0;
	if (module_loaded())
		modprobe_r(out);
	ASSERT_FALSE(module_loaded());
	rc = modprobe_expected(b.hex, out);
	ASSERT_EQ(0, rc) log_output("modprobe", out);

	ASSERT_EQ(0, dmst_nl_open(&nl));
	r = load_policy(&nl, b.buf, b.len - 1);
	TH_LOG("test policy minus its last byte -> %d (%s) extack \"%s\"", r, strerror(-r),
	       nl.extack);
	EXPECT_EQ(-EINVAL, r);
	r = load_policy(&nl, longer, b.len + 1);
	TH_LOG("test policy plus a zero byte -> %d (%s) extack \"%s\"", r, strerror(-r),
	       nl.extack);
	EXPECT_EQ(-EINVAL, r);
	r = load_policy(&nl, other, olen);
	TH_LOG("another valid policy -> %d (%s) extack \"%s\"", r, strerror(-r), nl.extack);
	EXPECT_EQ(-EPERM, r);
	EXPECT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ(0, st.sealed);
	dmst_nl_close(&nl);
	free(longer);
	free(other);
	free(b.buf);

	expect_unload(_metadata);
}

TEST(modprobe_again_without_parameter)
{
	struct dmst_status st;
	struct dmst_nl nl;
	char out[OUTCAP];
	int rc;

	GUEST_ONLY();
	if (module_loaded() && unsealed_now())
		modprobe_r(out);
	rc = run_cmd((const char *[]){ "modprobe", "dmseal", NULL }, out);
	ASSERT_EQ(0, rc) log_output("modprobe", out);
	ASSERT_EQ(0, dmst_nl_open(&nl));
	ASSERT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ(0, st.sealed);
	EXPECT_FALSE(st.have_expected);
	dmst_nl_close(&nl);
}

/* ======================================================================= */
/* f) seal                                                                 */

TEST(seal_test_policy)
{
	struct want_event w = { .cmd = DMSEAL_CMD_EVENT_SEAL };
	struct policy_blob b;
	struct dmst_nl nl, mon;
	char exe[PATH_MAX], json[PATH_MAX + 32], out[OUTCAP], hex[2 * DMSEAL_DIGEST_LEN + 1];
	ssize_t n;
	int r;

	GUEST_ONLY();
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	/* never seal something else than data/policy.json: later tests need it */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(json, sizeof(json), "%s/data/policy.json", exe);
	r = run_cmd((const char *[]){ "dmsealctl", "policy", "digest", json, NULL }, out);
	if (r != 127) {
		out[strcspn(out, "\n")] = '\0';
		ASSERT_STREQ(b.hex, out) TH_LOG("not sealing: differs from data/policy.json");
	}

	ASSERT_EQ(0, dmst_nl_open(&nl));
	ASSERT_EQ(0, dmst_nl_open(&mon));
	ASSERT_EQ(0, dmst_nl_join_events(&mon));
	r = load_policy(&nl, b.buf, b.len);
	ASSERT_EQ(0, r) TH_LOG("LOAD_POLICY -> %d (%s) extack \"%s\"", r, strerror(-r),
			       nl.extack);
	TH_LOG("sealed %zu bytes, sha256 %s", b.len, b.hex);
	EXPECT_TRUE(wait_event(&mon, &w, 3000)) TH_LOG("no seal event");
	EXPECT_TRUE(w.have_digest);
	if (w.have_digest) {
		dmst_hex(w.digest, DMSEAL_DIGEST_LEN, hex);
		EXPECT_STREQ(b.hex, hex);
	}
	dmst_nl_close(&mon);
	dmst_nl_close(&nl);
	free(b.buf);
}

TEST(sealed_status_digest)
{
	struct dmst_status st;
	struct policy_blob b;
	struct dmst_nl nl;
	char hex[2 * DMSEAL_DIGEST_LEN + 1];

	GUEST_ONLY();
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	ASSERT_EQ(0, dmst_nl_open(&nl));
	ASSERT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ(1, st.sealed);
	ASSERT_TRUE(st.have_digest);
	dmst_hex(st.digest, DMSEAL_DIGEST_LEN, hex);
	TH_LOG("kernel digest %s", hex);
	EXPECT_STREQ(b.hex, hex);
	EXPECT_FALSE(st.have_expected);
	EXPECT_TRUE(st.have_counters);
	dmst_nl_close(&nl);
	free(b.buf);
}

TEST(sealed_get_policy_exact_bytes)
{
	struct got_policy g = { 0 };
	struct policy_blob b;
	struct dmst_nl nl;
	int r;

	GUEST_ONLY();
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	ASSERT_EQ(0, dmst_nl_open(&nl));
	r = dmst_req(&nl, DMSEAL_CMD_GET_POLICY, false, NULL, 0, get_policy_cb, &g);
	ASSERT_EQ(0, r) TH_LOG("GET_POLICY -> %d extack \"%s\"", r, nl.extack);
	ASSERT_NE(NULL, g.buf);
	EXPECT_EQ(b.len, g.len);
	if (g.len == b.len)
		EXPECT_EQ(0, memcmp(g.buf, b.buf, b.len));
	EXPECT_TRUE(g.have_digest);
	EXPECT_EQ(0, memcmp(g.digest, b.digest, DMSEAL_DIGEST_LEN));
	free(g.buf);
	dmst_nl_close(&nl);
	free(b.buf);
}

TEST(sealed_list_pins_matches_count)
{
	struct dmst_status st;
	struct dmst_nl nl;
	int n = 0;

	GUEST_ONLY();
	ASSERT_EQ(0, dmst_nl_open(&nl));
	EXPECT_EQ(0, dmst_req(&nl, DMSEAL_CMD_LIST_PINS, true, NULL, 0, count_cb, &n))
		TH_LOG("extack: %s", nl.extack);
	ASSERT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ((int)st.pins, n);
	dmst_nl_close(&nl);
}

TEST(second_load_ebusy)
{
	struct dmst_status st;
	struct policy_blob b;
	struct dmst_nl nl;
	uint8_t *other;
	size_t olen;
	int r;

	GUEST_ONLY();
	ASSERT_TRUE(policy_blob(&b)) TH_LOG("%s", b.err);
	olen = other_policy(&other);
	ASSERT_NE(0ul, olen);
	ASSERT_EQ(0, dmst_nl_open(&nl));
	r = load_policy(&nl, b.buf, b.len);
	TH_LOG("same policy again -> %d (%s) extack \"%s\"", r, strerror(-r), nl.extack);
	EXPECT_EQ(-EBUSY, r);
	r = load_policy(&nl, other, olen);
	TH_LOG("another policy -> %d (%s) extack \"%s\"", r, strerror(-r), nl.extack);
	EXPECT_EQ(-EBUSY, r);
	ASSERT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ(1, st.sealed);
	EXPECT_EQ(0, memcmp(st.digest, b.digest, DMSEAL_DIGEST_LEN));
	dmst_nl_close(&nl);
	free(other);
	free(b.buf);
}

TEST(sealed_module_cannot_unload)
{
	struct dmst_status st;
	struct dmst_nl nl;
	char out[OUTCAP];
	int rc;

	GUEST_ONLY();
	ASSERT_TRUE(module_loaded());
	rc = modprobe_r(out);
	log_output("modprobe -r", out);
	EXPECT_NE(0, rc);
	rc = run_cmd((const char *[]){ "rmmod", "dmseal", NULL }, out);
	log_output("rmmod", out);
	EXPECT_NE(0, rc);
	EXPECT_TRUE(module_loaded());
	ASSERT_EQ(0, dmst_nl_open(&nl));
	ASSERT_EQ(0, dmst_status(&nl, &st));
	EXPECT_EQ(1, st.sealed);
	dmst_nl_close(&nl);
}

TEST_HARNESS_MAIN
