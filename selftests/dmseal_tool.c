// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmseal_tool: a small dmseal netlink client for the shell selftests, so they
 * do not depend on dmsealctl (built and installed with the selftests, but not
 * a test itself).
 *
 *   dmseal_tool status        one line: sealed=0|1 digest=HEX|- expected=HEX|-
 *                             allowed=N denied=N pins=N version=V
 *                             enforcing=0|1|- enforcement=TEXT
 *   dmseal_tool pins          one line per pinned target:
 *                             pin dev=M:m type=T start=N len=N backing=M:m
 *                                 profile=P opens=M:m,... uuid=U name=NAME
 *                                 summary=...
 *                             (type, uuid and name with dms_escape(), so that
 *                             a name cannot forge a field or a line)
 *   dmseal_tool monitor [S]   join "events"; print "ready", then one line per
 *                             event for S seconds (default 600):
 *                             deny|pin|unpin dev=... name=NAME reason|summary=...
 *                             seal digest=HEX
 *                             enforcement enforcing=0|1 what=TEXT
 *   dmseal_tool digest        SHA-256 of the built-in test policy (the canonical
 *                             encoding of data/policy.json)
 *   dmseal_tool seal          load (seal) the built-in test policy
 *
 * Exit: 0 ok, 1 error, 2 usage, 3 refused by the kernel.
 */
#include <signal.h>

#include "dmseal_nl.h"

static int usage(void)
{
	fprintf(stderr, "usage: dmseal_tool status|pins|monitor [SECONDS]|digest|seal\n");
	return 2;
}

static int open_or_die(struct dmst_nl *nl)
{
	int r = dmst_nl_open(nl);

	if (r)
		fprintf(stderr, "dmseal_tool: cannot open the dmseal family: %s\n",
			strerror(-r));
	return r;
}

static int cmd_status(void)
{
	char d[2 * DMSEAL_DIGEST_LEN + 1] = "-", e[2 * DMSEAL_DIGEST_LEN + 1] = "-";
	struct dmst_status st;
	struct dmst_nl nl;
	int r;

	if (open_or_die(&nl))
		return 1;
	r = dmst_status(&nl, &st);
	if (r) {
		fprintf(stderr, "dmseal_tool: STATUS: %s %s\n", strerror(-r), nl.extack);
		dmst_nl_close(&nl);
		return 1;
	}
	if (st.have_digest)
		dmst_hex(st.digest, DMSEAL_DIGEST_LEN, d);
	if (st.have_expected)
		dmst_hex(st.expected, DMSEAL_DIGEST_LEN, e);
	printf("sealed=%d digest=%s expected=%s allowed=%llu denied=%llu pins=%u version=%s enforcing=%s enforcement=%s\n",
	       st.sealed, d, e, (unsigned long long)st.allowed,
	       (unsigned long long)st.denied, st.pins, st.version,
	       st.enforcing < 0 ? "-" : st.enforcing ? "1" : "0",
	       st.enforcement[0] ? st.enforcement : "-");
	dmst_nl_close(&nl);
	return 0;
}

static int pin_cb(const struct nlmsghdr *nlh, const void *attrs, size_t alen, void *arg)
{
	char line[2048];

	(void)nlh;
	(void)arg;
	dmst_target_line(attrs, alen, line, sizeof(line));
	printf("pin %s\n", line);
	return 0;
}

static int cmd_pins(void)
{
	struct dmst_nl nl;
	int r;

	if (open_or_die(&nl))
		return 1;
	r = dmst_req(&nl, DMSEAL_CMD_LIST_PINS, true, NULL, 0, pin_cb, NULL);
	if (r)
		fprintf(stderr, "dmseal_tool: LIST_PINS: %s %s\n", strerror(-r), nl.extack);
	dmst_nl_close(&nl);
	return r ? 1 : 0;
}

static int event_cb(uint8_t cmd, const void *attrs, size_t alen, void *arg)
{
	const struct nlattr *tb[DMSEAL_A_MAX + 1];
	char line[2048];

	(void)arg;
	if (cmd == DMSEAL_CMD_EVENT_SEAL) {
		char hex[2 * DMSEAL_DIGEST_LEN + 1] = "-";

		dmst_parse(attrs, alen, tb, DMSEAL_A_MAX);
		if (tb[DMSEAL_A_DIGEST] && dmst_nla_len(tb[DMSEAL_A_DIGEST]) == DMSEAL_DIGEST_LEN)
			dmst_hex(dmst_nla_data(tb[DMSEAL_A_DIGEST]), DMSEAL_DIGEST_LEN, hex);
		printf("seal digest=%s\n", hex);
	} else if (cmd == DMSEAL_CMD_EVENT_ENFORCEMENT) {
		char what[512];

		dmst_parse(attrs, alen, tb, DMSEAL_A_MAX);
		printf("enforcement enforcing=%d what=%s\n",
		       (int)dmst_nla_uint(tb[DMSEAL_A_ENFORCING]),
		       dmst_nla_esc(tb[DMSEAL_A_ENFORCEMENT], what, sizeof(what), 0));
	} else {
		dmst_target_line(attrs, alen, line, sizeof(line));
		printf("%s %s\n", dmst_event_name(cmd), line);
	}
	fflush(stdout);
	return 0;
}

static int cmd_monitor(int argc, char **argv)
{
	long secs = 600;
	struct dmst_nl nl;
	int r;

	if (argc > 2) {
		char *end;

		secs = strtol(argv[2], &end, 10);
		if (*end || secs <= 0 || secs > 86400)
			return usage();
	}
	if (open_or_die(&nl))
		return 1;
	r = dmst_nl_join_events(&nl);
	if (r) {
		fprintf(stderr, "dmseal_tool: join \"events\": %s\n", strerror(-r));
		dmst_nl_close(&nl);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	r = dmst_nl_events(&nl, (int)(secs * 1000), event_cb, NULL);
	if (r < 0) {
		/* -ENOBUFS: the socket overflowed and events were lost */
		printf("error %s\n", strerror(-r));
		fflush(stdout);
	}
	dmst_nl_close(&nl);
	return r < 0 ? 1 : 0;
}

static int cmd_digest(void)
{
	uint8_t *buf, d[DMSEAL_DIGEST_LEN];
	char hex[2 * DMSEAL_DIGEST_LEN + 1], err[256];
	size_t len = dmst_test_policy_bytes(&buf, err, sizeof(err));

	if (!len) {
		fprintf(stderr, "dmseal_tool: %s\n", err);
		return 1;
	}
	dmst_sha256(buf, len, d);
	dmst_hex(d, DMSEAL_DIGEST_LEN, hex);
	printf("%s\n", hex);
	free(buf);
	return 0;
}

static int cmd_seal(void)
{
	struct dmst_attrs *a;
	struct dmst_nl nl;
	char err[256];
	uint8_t *buf;
	size_t len = dmst_test_policy_bytes(&buf, err, sizeof(err));
	int r;

	if (!len) {
		fprintf(stderr, "dmseal_tool: %s\n", err);
		return 1;
	}
	a = calloc(1, sizeof(*a));
	if (!a || open_or_die(&nl)) {
		free(a);
		free(buf);
		return 1;
	}
	dmst_put_attr(a, DMSEAL_A_POLICY, buf, len);
	r = dmst_req(&nl, DMSEAL_CMD_LOAD_POLICY, false, a->data, a->len, NULL, NULL);
	if (r)
		fprintf(stderr, "dmseal_tool: LOAD_POLICY: %s %s\n", strerror(-r), nl.extack);
	dmst_nl_close(&nl);
	free(a);
	free(buf);
	return r ? 3 : cmd_digest();
}

int main(int argc, char **argv)
{
	/* line by line even into a file: the shell tests poll what we print */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "status") && argc == 2)
		return cmd_status();
	if (!strcmp(argv[1], "pins") && argc == 2)
		return cmd_pins();
	if (!strcmp(argv[1], "monitor") && argc <= 3)
		return cmd_monitor(argc, argv);
	if (!strcmp(argv[1], "digest") && argc == 2)
		return cmd_digest();
	if (!strcmp(argv[1], "seal") && argc == 2)
		return cmd_seal();
	return usage();
}
