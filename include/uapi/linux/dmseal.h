/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * dmseal: a sealed storage policy for device-mapper crypt and integrity
 * targets, enforced by the kernel at every table load.
 *
 * This header is the one contract between the dmseal module and its
 * clients. Documentation/netlink/specs/dmseal.yaml describes the same family.
 *
 * Every command requires CAP_SYS_ADMIN in the initial user namespace (and,
 * through GENL_ADMIN_PERM, CAP_NET_ADMIN there too); so does joining the
 * events group. The family exists only in the initial network namespace.
 *
 * The policy travels as one binary attribute, DMSEAL_A_POLICY, holding the
 * policy's canonical encoding (see Documentation/dmseal/policy.rst). The
 * policy digest is the SHA-256 of exactly those bytes, so the digest a client
 * computes offline is the digest the kernel reports and attests.
 */
#ifndef _UAPI_LINUX_DMSEAL_H
#define _UAPI_LINUX_DMSEAL_H

#define DMSEAL_GENL_NAME	"dmseal"
#define DMSEAL_GENL_VERSION	1
#define DMSEAL_MCGRP_EVENTS	"events"

#define DMSEAL_DIGEST_LEN	32
#define DMSEAL_POLICY_MAX_LEN	60000	/* fits one netlink attribute */

enum dmseal_cmd {
	DMSEAL_CMD_UNSPEC,
	/* doit: module version, seal state, digest, counters */
	DMSEAL_CMD_STATUS,
	/* doit: DMSEAL_A_POLICY; seals it; refused once sealed */
	DMSEAL_CMD_LOAD_POLICY,
	/* doit: replies DMSEAL_A_POLICY and DMSEAL_A_DIGEST; -ENOENT if unsealed */
	DMSEAL_CMD_GET_POLICY,
	/* dumpit: one message per pinned target */
	DMSEAL_CMD_LIST_PINS,
	/* notifications on the "events" multicast group */
	DMSEAL_CMD_EVENT_DENY,
	DMSEAL_CMD_EVENT_PIN,
	DMSEAL_CMD_EVENT_UNPIN,
	DMSEAL_CMD_EVENT_SEAL,
	/* enforcement stopped or resumed (DMSEAL_A_ENFORCING says which) */
	DMSEAL_CMD_EVENT_ENFORCEMENT,

	__DMSEAL_CMD_MAX,
	DMSEAL_CMD_MAX = __DMSEAL_CMD_MAX - 1
};

enum dmseal_attr {
	DMSEAL_A_UNSPEC,
	DMSEAL_A_PAD,
	DMSEAL_A_VERSION,		/* string: module version */
	DMSEAL_A_SEALED,		/* u8: 1 once a policy is sealed */
	DMSEAL_A_DIGEST,		/* binary[32]: SHA-256 of the policy */
	DMSEAL_A_EXPECTED_DIGEST,	/* binary[32]: boot-time bound digest */
	DMSEAL_A_ALLOWED,		/* u64: targets allowed */
	DMSEAL_A_DENIED,		/* u64: targets and messages denied */
	DMSEAL_A_PINS,			/* u32: targets pinned right now */
	DMSEAL_A_POLICY,		/* binary: canonical policy encoding */
	DMSEAL_A_DEV_MAJOR,		/* u32 */
	DMSEAL_A_DEV_MINOR,		/* u32 */
	DMSEAL_A_DEV_NAME,		/* string: dm device name */
	DMSEAL_A_DEV_UUID,		/* string: dm device uuid, if any */
	DMSEAL_A_TARGET_TYPE,		/* string: "crypt", "integrity", ... */
	DMSEAL_A_TARGET_START,		/* u64: first sector of the target */
	DMSEAL_A_TARGET_LEN,		/* u64: sectors */
	DMSEAL_A_SUMMARY,		/* string: pinned parameters, no secrets */
	DMSEAL_A_PROFILE,		/* string: profile that accepted it */
	DMSEAL_A_REASON,		/* string: why a load was denied */
	DMSEAL_A_BACKING_MAJOR,		/* u32: resolved backing device */
	DMSEAL_A_BACKING_MINOR,		/* u32 */
	/*
	 * u8: 1 while every enforcement hook is live, proved by a call through
	 * the same mechanism at the time of the request; 0 otherwise.
	 */
	DMSEAL_A_ENFORCING,
	DMSEAL_A_ENFORCEMENT,		/* string: what enforces, or what broke */
	DMSEAL_A_OPENS,			/* string: devices the target opened, "M:m M:m" */

	__DMSEAL_A_MAX,
	DMSEAL_A_MAX = __DMSEAL_A_MAX - 1
};

#endif /* _UAPI_LINUX_DMSEAL_H */
