// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the generic-netlink client of the "dmseal" family
 * (include/uapi/linux/dmseal.h is the contract).
 *
 * Errors come back as netlink errors carrying an extended-ack message: the
 * kernel's reason for refusing a policy is only ever there, so the socket
 * asks for NETLINK_EXT_ACK and the error handler digs NLMSGERR_ATTR_MSG out
 * of the error message. NETLINK_CAP_ACK keeps the kernel from echoing a
 * 60 kB policy back in every error.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "dmsealctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct dnl {
	struct nl_sock *sk;
	int family;
	char extack[512];
	/* per request */
	int err;
	bool done;
	dnl_msg_cb cb;
	void *arg;
	int cb_ret;
};

static const char *const cmd_names[] = {
	[DMSEAL_CMD_STATUS] = "status",
	[DMSEAL_CMD_LOAD_POLICY] = "load-policy",
	[DMSEAL_CMD_GET_POLICY] = "get-policy",
	[DMSEAL_CMD_LIST_PINS] = "pin",
	[DMSEAL_CMD_EVENT_DENY] = "deny",
	[DMSEAL_CMD_EVENT_PIN] = "pin",
	[DMSEAL_CMD_EVENT_UNPIN] = "unpin",
	[DMSEAL_CMD_EVENT_SEAL] = "seal",
	[DMSEAL_CMD_EVENT_ENFORCEMENT] = "enforcement",
};

const char *dnl_cmd_name(uint8_t cmd)
{
	if (cmd < ARRAY_SIZE(cmd_names) && cmd_names[cmd])
		return cmd_names[cmd];
	return "unknown";
}

/*
 * How each attribute is shown; DMSEAL_A_POLICY is never printed raw.
 *
 * A_WORD strings are chosen by whoever loads a table (dm names and uuids,
 * target types: any byte but '/') or are single words (profile, version):
 * in text, every byte that could end the word, forge a field or a line is
 * written \xHH (dms_escape with DMS_ESC_SPACE). A_TEXT strings are the
 * kernel's sentences (reason, summary, enforcement) and device lists: their
 * spaces stay, the value is quoted, and quotes, backslashes and control
 * bytes are escaped. Attributes a kernel does not send (an older module has
 * no ENFORCING, ENFORCEMENT or OPENS) are simply not shown.
 */
enum atype { A_NONE, A_WORD, A_TEXT, A_BOOL, A_U8, A_U32, A_U64, A_HEX };

/*
 * name: the key of text output (status lines, pins and monitor fields).
 * json: the JSON key, always the attribute's name in the spec with '-'
 * written '_' (Documentation/dmseal/json.rst).
 */
static const struct {
	const char *name;
	const char *json;
	enum atype type;
} attrs[DMSEAL_A_MAX + 1] = {
	[DMSEAL_A_VERSION] = { "version", "version", A_WORD },
	[DMSEAL_A_SEALED] = { "sealed", "sealed", A_BOOL },
	[DMSEAL_A_DIGEST] = { "digest", "digest", A_HEX },
	[DMSEAL_A_EXPECTED_DIGEST] = { "expected_digest", "expected_digest", A_HEX },
	[DMSEAL_A_ALLOWED] = { "allowed", "allowed", A_U64 },
	[DMSEAL_A_DENIED] = { "denied", "denied", A_U64 },
	[DMSEAL_A_PINS] = { "pins", "pins", A_U32 },
	[DMSEAL_A_DEV_MAJOR] = { "major", "dev_major", A_U32 },
	[DMSEAL_A_DEV_MINOR] = { "minor", "dev_minor", A_U32 },
	[DMSEAL_A_DEV_NAME] = { "name", "dev_name", A_WORD },
	[DMSEAL_A_DEV_UUID] = { "uuid", "dev_uuid", A_WORD },
	[DMSEAL_A_TARGET_TYPE] = { "target", "target_type", A_WORD },
	[DMSEAL_A_TARGET_START] = { "start", "target_start", A_U64 },
	[DMSEAL_A_TARGET_LEN] = { "length", "target_len", A_U64 },
	[DMSEAL_A_SUMMARY] = { "summary", "summary", A_TEXT },
	[DMSEAL_A_PROFILE] = { "profile", "profile", A_WORD },
	[DMSEAL_A_REASON] = { "reason", "reason", A_TEXT },
	[DMSEAL_A_BACKING_MAJOR] = { "backing_major", "backing_major", A_U32 },
	[DMSEAL_A_BACKING_MINOR] = { "backing_minor", "backing_minor", A_U32 },
	[DMSEAL_A_ENFORCING] = { "enforcing", "enforcing", A_BOOL },
	[DMSEAL_A_ENFORCEMENT] = { "enforcement", "enforcement", A_TEXT },
	[DMSEAL_A_OPENS] = { "opens", "opens", A_TEXT },
};

/* Attribute values are checked for size before use: a short one is skipped. */
static bool attr_sized(struct nlattr *a, enum atype t)
{
	int len = nla_len(a);

	switch (t) {
	case A_BOOL:
	case A_U8: return len >= 1;
	case A_U32: return len >= 4;
	case A_U64: return len >= 8;
	case A_WORD:
	case A_TEXT: return len >= 1 && memchr(nla_data(a), '\0', len);
	case A_HEX: return len > 0 && len <= 64;
	default: return false;
	}
}

static bool attr_shown(struct nlattr **tb, int i)
{
	return tb[i] && attrs[i].type != A_NONE && attr_sized(tb[i], attrs[i].type);
}

/*
 * The text of one attribute, malloc'ed, safe for line-oriented output: no
 * byte of it can start a new line or a new key=value field.
 */
static char *attr_text(struct nlattr *a, enum atype t)
{
	char num[32];
	char *out;
	size_t n;

	switch (t) {
	case A_BOOL:
		return strdup(nla_get_u8(a) ? "yes" : "no");
	case A_U8:
		snprintf(num, sizeof(num), "%u", nla_get_u8(a));
		return strdup(num);
	case A_U32:
		snprintf(num, sizeof(num), "%u", nla_get_u32(a));
		return strdup(num);
	case A_U64:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)nla_get_u64(a));
		return strdup(num);
	case A_HEX:
		out = malloc(2 * (size_t)nla_len(a) + 1);
		if (out)
			hex_encode(nla_data(a), nla_len(a), out);
		return out;
	case A_WORD:
	case A_TEXT: {
		const char *s = nla_data(a);
		size_t len = strlen(s);
		unsigned int flags = t == A_WORD ? DMS_ESC_SPACE : 0;

		n = dms_escape(s, len, NULL, 0, flags) + 1;
		out = malloc(n);
		if (out)
			dms_escape(s, len, out, n, flags);
		return out;
	}
	default:
		return NULL;
	}
}

void dnl_attrs_each(struct nlattr **tb, dnl_attr_fn fn, void *arg)
{
	int i;

	for (i = 0; i <= DMSEAL_A_MAX; i++) {
		char *v;

		if (!attr_shown(tb, i))
			continue;
		v = attr_text(tb[i], attrs[i].type);
		if (!v)
			continue;
		fn(attrs[i].name, v, attrs[i].type == A_TEXT, arg);
		free(v);
	}
}

static void line_add(const char *key, const char *text, bool sentence, void *arg)
{
	FILE *f = arg;

	if (ftell(f) > 0)
		fputc(' ', f);
	/* a sentence keeps its spaces inside quotes; a word never has one */
	if (sentence || !text[0])
		fprintf(f, "%s=\"%s\"", key, text);
	else
		fprintf(f, "%s=%s", key, text);
}

char *dnl_attrs_line(struct nlattr **tb)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	dnl_attrs_each(tb, line_add, f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct json_object *dnl_attrs_json(struct nlattr **tb)
{
	struct json_object *o = json_object_new_object();

	dnl_attrs_json_into(o, tb);
	return o;
}

void dnl_attrs_json_into(struct json_object *o, struct nlattr **tb)
{
	int i;

	for (i = 0; i <= DMSEAL_A_MAX; i++) {
		struct nlattr *a = tb[i];
		struct json_object *v = NULL;
		char *s;

		if (!attr_shown(tb, i))
			continue;
		switch (attrs[i].type) {
		case A_BOOL: v = json_object_new_boolean(nla_get_u8(a)); break;
		case A_U8: v = json_object_new_int(nla_get_u8(a)); break;
		case A_U32: v = json_object_new_int64(nla_get_u32(a)); break;
		case A_U64: v = json_object_new_uint64(nla_get_u64(a)); break;
		case A_WORD:
		case A_TEXT:
			/* the exact bytes: json-c escapes quotes and controls */
			json_add_bytes(o, attrs[i].json, nla_data(a), strlen(nla_data(a)));
			continue;
		default:
			s = attr_text(a, attrs[i].type);
			v = s ? json_object_new_string(s) : NULL;
			free(s);
		}
		if (v)
			json_object_object_add(o, attrs[i].json, v);
	}
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct dnl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[DMSEAL_A_MAX + 1];

	if (genlmsg_parse(nlh, 0, tb, DMSEAL_A_MAX, NULL) < 0)
		return NL_SKIP;
	if (nl->cb && !nl->cb_ret)
		nl->cb_ret = nl->cb(tb, gh->cmd, nl->arg);
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct dnl *nl = arg;

	(void)msg;
	nl->done = true;
	return NL_STOP;
}

/* The extack TLVs follow the nlmsgerr (and the echoed request unless capped). */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct dnl *nl = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	struct nlattr *tlv;
	int rem;

	(void)nla;
	nl->err = e->error;
	nl->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	if (off >= nlh->nlmsg_len)
		return NL_STOP;
	tlv = (struct nlattr *)((char *)nlh + off);
	rem = nlh->nlmsg_len - off;
	nla_for_each_attr(tlv, tlv, rem, rem) {
		if (nla_type(tlv) == NLMSGERR_ATTR_MSG && nla_len(tlv) > 0) {
			snprintf(nl->extack, sizeof(nl->extack), "%.*s",
				 nla_len(tlv), (char *)nla_data(tlv));
			/* the kernel's string ends in NUL; drop a trailing newline */
			nl->extack[strcspn(nl->extack, "\n")] = '\0';
		}
	}
	return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct dnl *nl = arg;

	(void)msg;
	nl->done = true;
	return NL_STOP;
}

struct dnl *dnl_open(bool events)
{
	struct dnl *nl = calloc(1, sizeof(*nl));
	int one = 1, grp;

	if (!nl)
		return NULL;
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		goto fail;
	if (genl_connect(nl->sk))
		goto fail;
	/* big enough for a whole policy in one message */
	nl_socket_enable_msg_peek(nl->sk);
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->family = genl_ctrl_resolve(nl->sk, DMSEAL_GENL_NAME);
	if (nl->family < 0) {
		errno = ENOENT;
		goto fail;
	}
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, on_valid, nl);
	nl_socket_modify_cb(nl->sk, NL_CB_ACK, NL_CB_CUSTOM, on_ack, nl);
	nl_socket_modify_cb(nl->sk, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, nl);
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, on_error, nl);
	if (events) {
		grp = genl_ctrl_resolve_grp(nl->sk, DMSEAL_GENL_NAME, DMSEAL_MCGRP_EVENTS);
		if (grp < 0) {
			errno = grp == -NLE_OBJ_NOTFOUND ? ENOENT : EPROTO;
			goto fail;
		}
		/* joining needs CAP_SYS_ADMIN: say so, not "protocol error" */
		if (nl_socket_add_membership(nl->sk, grp)) {
			errno = EPERM;
			goto fail;
		}
		/* multicast notifications carry sequence number 0 */
		nl_socket_disable_seq_check(nl->sk);
	}
	return nl;
fail:
	dnl_close(nl);
	return NULL;
}

int dnl_connect(struct dnl **out, bool events)
{
	const char *failed;
	int r = modules_load_dmseal(&failed);

	*out = dnl_open(events);
	if (*out)
		return EXIT_OK;
	if (errno == ENOENT) {
		/* loading needs CAP_SYS_MODULE: a privilege problem, not a missing module */
		if (r == -EPERM || r == -EACCES) {
			err_msg("the dmseal module is not loaded and loading %s was not permitted (%s): run as root, or load it first with `modprobe dmseal`",
				failed, strerror(-r));
			return EXIT_PERM;
		}
		if (r)
			err_msg("the dmseal module is not loaded, and loading %s failed (%s): load dmseal with `modprobe dmseal`",
				failed, strerror(-r));
		else
			err_msg("the dmseal generic netlink family is not registered: load the dmseal module with `modprobe dmseal`");
		return EXIT_NOMODULE;
	}
	if (errno == EPERM || errno == EACCES) {
		err_msg("cannot join dmseal's events group: %s (needs CAP_SYS_ADMIN)",
			strerror(errno));
		return EXIT_PERM;
	}
	err_msg("cannot open the dmseal netlink socket: %s", strerror(errno));
	return EXIT_FAIL;
}

void dnl_close(struct dnl *nl)
{
	if (!nl)
		return;
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl);
}

const char *dnl_extack(struct dnl *nl)
{
	return nl->extack[0] ? nl->extack : NULL;
}

int dnl_request(struct dnl *nl, uint8_t cmd, bool dump, const void *policy,
		size_t policy_len, dnl_msg_cb cb, void *arg)
{
	struct nl_msg *msg;
	int r;

	nl->extack[0] = '\0';
	nl->err = 0;
	nl->done = false;
	nl->cb = cb;
	nl->arg = arg;
	nl->cb_ret = 0;

	msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + policy_len + 64);
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, DMSEAL_GENL_VERSION) ||
	    (policy && nla_put(msg, DMSEAL_A_POLICY, policy_len, policy) < 0)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	r = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return -EIO;
	while (!nl->done) {
		r = nl_recvmsgs_default(nl->sk);
		if (r < 0 && !nl->err) {
			nl->err = -EIO;
			if (r == -NLE_PERM)
				nl->err = -EPERM;
			break;
		}
	}
	if (nl->err)
		return nl->err;
	return nl->cb_ret;
}

struct getpol {
	uint8_t *buf;
	size_t len;
	uint8_t *digest;
	bool have_digest;
};

static int getpol_cb(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct getpol *g = arg;

	(void)cmd;
	if (!tb[DMSEAL_A_POLICY] || g->buf)
		return -EPROTO;
	g->len = nla_len(tb[DMSEAL_A_POLICY]);
	g->buf = malloc(g->len ? g->len : 1);
	if (!g->buf)
		return -ENOMEM;
	memcpy(g->buf, nla_data(tb[DMSEAL_A_POLICY]), g->len);
	if (tb[DMSEAL_A_DIGEST] && nla_len(tb[DMSEAL_A_DIGEST]) == DMSEAL_DIGEST_LEN) {
		memcpy(g->digest, nla_data(tb[DMSEAL_A_DIGEST]), DMSEAL_DIGEST_LEN);
		g->have_digest = true;
	}
	return 0;
}

/*
 * The sealed policy as the kernel holds it. The digest the kernel reports is
 * checked against our own SHA-256 of the bytes: both must agree or we trust
 * neither.
 */
int dnl_get_policy(struct dnl *nl, uint8_t **buf, size_t *len,
		   uint8_t digest[DMSEAL_DIGEST_LEN])
{
	struct getpol g = { .digest = digest };
	uint8_t mine[DMSEAL_DIGEST_LEN];
	int r;

	r = dnl_request(nl, DMSEAL_CMD_GET_POLICY, false, NULL, 0, getpol_cb, &g);
	if (!r && !g.buf)
		r = -EPROTO;
	if (r) {
		free(g.buf);
		return r;
	}
	policy_digest(g.buf, g.len, mine);
	if (!g.have_digest)
		memcpy(digest, mine, sizeof(mine));
	else if (memcmp(mine, digest, sizeof(mine))) {
		err_msg("the kernel's policy digest does not match its policy bytes");
		free(g.buf);
		return -EBADMSG;
	}
	*buf = g.buf;
	*len = g.len;
	return 0;
}

/* Wait for one event (or timeout_ms, -1 forever); 0 on timeout, 1 on event. */
int dnl_wait_event(struct dnl *nl, int timeout_ms, dnl_msg_cb cb, void *arg)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(nl->sk), .events = POLLIN };
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	nl->cb = cb;
	nl->arg = arg;
	nl->cb_ret = 0;
	r = nl_recvmsgs_default(nl->sk);
	if (r < 0 && r != -NLE_AGAIN)
		return -EIO;
	return nl->cb_ret < 0 ? nl->cb_ret : 1;
}

/* Read every event already queued, without blocking. */
int dnl_drain_events(struct dnl *nl, dnl_msg_cb cb, void *arg)
{
	int r, n = 0;

	while ((r = dnl_wait_event(nl, 0, cb, arg)) > 0)
		n++;
	return r < 0 ? r : n;
}
