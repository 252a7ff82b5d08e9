// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dmseal generic-netlink family: the one channel to the sealed policy.
 *
 * Every command reveals or changes security state, so every one of them
 * wants CAP_SYS_ADMIN in the initial user namespace, and the family is not
 * offered in other network namespaces: a container's root must not read the
 * pins or race the guest's own agent to seal a policy.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>

#include "dmseal.h"

/*
 * Strict, per-command policies. Attributes a command does not take are left
 * NLA_UNSPEC, which strict validation rejects: a client that sends something
 * we would ignore learns so instead of believing it took effect.
 */
static const struct nla_policy dmseal_none_policy[DMSEAL_A_MAX + 1] = {
};

static const struct nla_policy dmseal_load_policy[DMSEAL_A_MAX + 1] = {
	[DMSEAL_A_POLICY] = { .type = NLA_BINARY, .len = DMSEAL_POLICY_MAX_LEN },
};

static struct genl_family dmseal_family __ro_after_init;

enum dmseal_mcgrp {
	DMSEAL_MCGRP_EVENTS_ID,
};

static const struct genl_multicast_group dmseal_mcgrps[] = {
	[DMSEAL_MCGRP_EVENTS_ID] = {
		.name = DMSEAL_MCGRP_EVENTS,
		/* Denials name devices and rules: root of the guest only. */
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
	},
};

static int dmseal_admin(struct sk_buff *skb, struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	NL_SET_ERR_MSG(extack,
		       "dmseal needs CAP_SYS_ADMIN in the initial user namespace");
	return -EPERM;
}

static int dmseal_put_digest(struct sk_buff *msg, int attr, const u8 *digest)
{
	return nla_put(msg, attr, DMSEAL_DIGEST_LEN, digest);
}

static int dmseal_fill_status(struct sk_buff *msg)
{
	const struct dmseal_sealed *s = dmseal_sealed_get();
	u8 expected[DMSEAL_DIGEST_LEN];
	char what[96];
	bool enforcing = dmseal_enforcing(what, sizeof(what));

	if (nla_put_string(msg, DMSEAL_A_VERSION, DMSEAL_VERSION) ||
	    nla_put_u8(msg, DMSEAL_A_ENFORCING, enforcing) ||
	    nla_put_string(msg, DMSEAL_A_ENFORCEMENT, what) ||
	    nla_put_u8(msg, DMSEAL_A_SEALED, !!s) ||
	    (s && dmseal_put_digest(msg, DMSEAL_A_DIGEST, s->digest)) ||
	    (dmseal_expected_digest(expected) &&
	     dmseal_put_digest(msg, DMSEAL_A_EXPECTED_DIGEST, expected)) ||
	    nla_put_u64_64bit(msg, DMSEAL_A_ALLOWED,
			      atomic64_read(&dmseal_stats.allowed), DMSEAL_A_PAD) ||
	    nla_put_u64_64bit(msg, DMSEAL_A_DENIED,
			      atomic64_read(&dmseal_stats.denied), DMSEAL_A_PAD) ||
	    nla_put_u32(msg, DMSEAL_A_PINS, atomic_read(&dmseal_stats.pins)))
		return -EMSGSIZE;
	return 0;
}

static int dmseal_reply(struct genl_info *info, u8 cmd, size_t size,
			int (*fill)(struct sk_buff *msg))
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	msg = genlmsg_new(size, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &dmseal_family, 0, cmd);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err;
	}
	ret = fill(msg);
	if (ret)
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

static int dmseal_nl_status(struct sk_buff *skb, struct genl_info *info)
{
	int ret = dmseal_admin(skb, info->extack);

	if (ret)
		return ret;
	return dmseal_reply(info, DMSEAL_CMD_STATUS, NLMSG_GOODSIZE,
			    dmseal_fill_status);
}

static void dmseal_notify_seal(const struct dmseal_sealed *s);

static int dmseal_nl_load_policy(struct sk_buff *skb, struct genl_info *info)
{
	const struct nlattr *attr;
	int ret;

	ret = dmseal_admin(skb, info->extack);
	if (ret)
		return ret;
	if (GENL_REQ_ATTR_CHECK(info, DMSEAL_A_POLICY))
		return -EINVAL;
	attr = info->attrs[DMSEAL_A_POLICY];
	if (!nla_len(attr)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "policy is empty");
		return -EINVAL;
	}
	ret = dmseal_seal(nla_data(attr), nla_len(attr), info->extack);
	if (!ret)
		dmseal_notify_seal(dmseal_sealed_get());
	return ret;
}

static int dmseal_fill_policy(struct sk_buff *msg)
{
	const struct dmseal_sealed *s = dmseal_sealed_get();

	if (nla_put(msg, DMSEAL_A_POLICY, s->len, s->blob) ||
	    dmseal_put_digest(msg, DMSEAL_A_DIGEST, s->digest))
		return -EMSGSIZE;
	return 0;
}

static int dmseal_nl_get_policy(struct sk_buff *skb, struct genl_info *info)
{
	const struct dmseal_sealed *s;
	int ret;

	ret = dmseal_admin(skb, info->extack);
	if (ret)
		return ret;
	s = dmseal_sealed_get();
	if (!s) {
		NL_SET_ERR_MSG(info->extack, "no policy is sealed yet");
		return -ENOENT;
	}
	return dmseal_reply(info, DMSEAL_CMD_GET_POLICY,
			    nla_total_size(s->len) + NLMSG_GOODSIZE,
			    dmseal_fill_policy);
}

static int dmseal_nl_pins_start(struct netlink_callback *cb)
{
	return dmseal_admin(cb->skb, cb->extack);
}

static const struct genl_ops dmseal_ops[] = {
	{
		.cmd = DMSEAL_CMD_STATUS,
		.doit = dmseal_nl_status,
		.policy = dmseal_none_policy,
		.maxattr = DMSEAL_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DMSEAL_CMD_LOAD_POLICY,
		.doit = dmseal_nl_load_policy,
		.policy = dmseal_load_policy,
		.maxattr = DMSEAL_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DMSEAL_CMD_GET_POLICY,
		.doit = dmseal_nl_get_policy,
		.policy = dmseal_none_policy,
		.maxattr = DMSEAL_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DMSEAL_CMD_LIST_PINS,
		.start = dmseal_nl_pins_start,
		.dumpit = dmseal_pins_dump,
		.policy = dmseal_none_policy,
		.maxattr = DMSEAL_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family dmseal_family __ro_after_init = {
	.name = DMSEAL_GENL_NAME,
	.version = DMSEAL_GENL_VERSION,
	.maxattr = DMSEAL_A_MAX,
	.netnsok = false,
	.module = THIS_MODULE,
	.ops = dmseal_ops,
	.n_ops = ARRAY_SIZE(dmseal_ops),
	.mcgrps = dmseal_mcgrps,
	.n_mcgrps = ARRAY_SIZE(dmseal_mcgrps),
};

/* --- messages about targets: pin dumps and events ------------------------- */

static int dmseal_put_dev(struct sk_buff *msg, int major_attr, int minor_attr,
			  dev_t devt)
{
	if (nla_put_u32(msg, major_attr, MAJOR(devt)) ||
	    nla_put_u32(msg, minor_attr, MINOR(devt)))
		return -EMSGSIZE;
	return 0;
}

static int dmseal_put_str(struct sk_buff *msg, int attr, const char *s)
{
	if (!s || !*s)
		return 0;
	return nla_put_string(msg, attr, s);
}

int dmseal_fill_target(struct sk_buff *msg, const struct dmseal_target_info *t)
{
	if (dmseal_put_dev(msg, DMSEAL_A_DEV_MAJOR, DMSEAL_A_DEV_MINOR, t->devt) ||
	    dmseal_put_str(msg, DMSEAL_A_DEV_NAME, t->name) ||
	    dmseal_put_str(msg, DMSEAL_A_DEV_UUID, t->uuid) ||
	    dmseal_put_str(msg, DMSEAL_A_TARGET_TYPE, t->type) ||
	    nla_put_u64_64bit(msg, DMSEAL_A_TARGET_START, t->start, DMSEAL_A_PAD) ||
	    nla_put_u64_64bit(msg, DMSEAL_A_TARGET_LEN, t->len, DMSEAL_A_PAD) ||
	    dmseal_put_str(msg, DMSEAL_A_SUMMARY, t->summary) ||
	    dmseal_put_str(msg, DMSEAL_A_PROFILE, t->profile) ||
	    dmseal_put_str(msg, DMSEAL_A_REASON, t->reason) ||
	    dmseal_put_str(msg, DMSEAL_A_OPENS, t->opens) ||
	    (t->backing && dmseal_put_dev(msg, DMSEAL_A_BACKING_MAJOR,
					  DMSEAL_A_BACKING_MINOR, t->backing)))
		return -EMSGSIZE;
	return 0;
}

void *dmseal_dump_put(struct sk_buff *skb, struct netlink_callback *cb)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &dmseal_family, NLM_F_MULTI, DMSEAL_CMD_LIST_PINS);
}

static bool dmseal_listening(void)
{
	return genl_has_listeners(&dmseal_family, &init_net,
				  DMSEAL_MCGRP_EVENTS_ID);
}

static void dmseal_multicast(struct sk_buff *msg, gfp_t gfp)
{
	genlmsg_multicast(&dmseal_family, msg, 0, DMSEAL_MCGRP_EVENTS_ID, gfp);
}

void dmseal_notify(u8 cmd, const struct dmseal_target_info *info, gfp_t gfp)
{
	struct sk_buff *msg;
	void *hdr;

	if (!dmseal_listening())
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, gfp);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &dmseal_family, 0, cmd);
	if (!hdr || dmseal_fill_target(msg, info)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	dmseal_multicast(msg, gfp);
}

void dmseal_notify_enforcement(bool enforcing, const char *what)
{
	struct sk_buff *msg;
	void *hdr;

	if (!dmseal_listening())
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &dmseal_family, 0,
			  DMSEAL_CMD_EVENT_ENFORCEMENT);
	if (!hdr || nla_put_u8(msg, DMSEAL_A_ENFORCING, enforcing) ||
	    nla_put_string(msg, DMSEAL_A_ENFORCEMENT, what)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	dmseal_multicast(msg, GFP_KERNEL);
}

static void dmseal_notify_seal(const struct dmseal_sealed *s)
{
	struct sk_buff *msg;
	void *hdr;

	if (!s || !dmseal_listening())
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &dmseal_family, 0, DMSEAL_CMD_EVENT_SEAL);
	if (!hdr || dmseal_put_digest(msg, DMSEAL_A_DIGEST, s->digest)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	dmseal_multicast(msg, GFP_KERNEL);
}

int __init dmseal_netlink_init(void)
{
	return genl_register_family(&dmseal_family);
}

void dmseal_netlink_exit(void)
{
	genl_unregister_family(&dmseal_family);
}
