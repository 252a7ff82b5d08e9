/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmseal internals shared between the module's files.
 */
#ifndef DMSEAL_H
#define DMSEAL_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <net/netlink.h>

#include <linux/dmseal.h>
#include "dmseal_core.h"

#define DMSEAL_VERSION "0.1.0"

/* --- seal.c: the one sealed policy ------------------------------------- */

struct dmseal_sealed {
	u8 digest[DMSEAL_DIGEST_LEN];
	size_t len;
	u8 *blob;			/* the canonical encoding, as loaded */
	struct dms_policy policy;	/* its decoded form */
};

const struct dmseal_sealed *dmseal_sealed_get(void);
int dmseal_seal(const u8 *blob, size_t len, struct netlink_ext_ack *extack);
bool dmseal_expected_digest(u8 digest[DMSEAL_DIGEST_LEN]);
const struct dms_profile *dmseal_profile(int index);
int dmseal_seal_init(void);
void dmseal_seal_exit(void);

/* --- counters ------------------------------------------------------------ */

struct dmseal_stats {
	atomic64_t allowed;
	atomic64_t denied;
	atomic_t pins;
};

extern struct dmseal_stats dmseal_stats;

/* --- netlink.c -------------------------------------------------------------- */

/* Facts about one target, for events and pin listings; never secrets. */
struct dmseal_target_info {
	dev_t devt;
	const char *name;
	const char *uuid;
	const char *type;
	sector_t start;
	sector_t len;
	const char *summary;
	const char *profile;
	const char *reason;
	dev_t backing;
};

int dmseal_netlink_init(void);
void dmseal_netlink_exit(void);
void dmseal_notify(u8 cmd, const struct dmseal_target_info *info, gfp_t gfp);
int dmseal_fill_target(struct sk_buff *msg, const struct dmseal_target_info *t);
void *dmseal_dump_put(struct sk_buff *skb, struct netlink_callback *cb);

/* --- redirect.c: kprobe that hands a call to a process-context wrapper -- */

#include <linux/kprobes.h>

/*
 * A probe on a function's entry whose handler only moves the instruction
 * pointer to @wrapper (same signature). The wrapper decides with the full
 * kernel available and calls the original through dmseal_redirect_call_*;
 * the passing mark lets that one call through the probe.
 */
struct dmseal_redirect {
	struct kprobe kp;
	const char *symbol;
	void *wrapper;
	unsigned long func;		/* entry of the original function */
	bool armed;
};

struct dmseal_passing {
	struct list_head node;
	struct task_struct *task;
	const struct dmseal_redirect *r;
};

int dmseal_redirect_arm(struct dmseal_redirect *r);
void dmseal_redirect_disarm(struct dmseal_redirect *r);
void dmseal_pass_begin(struct dmseal_passing *p, const struct dmseal_redirect *r);
void dmseal_pass_end(struct dmseal_passing *p);
/* Every wrapper ends with this: the probe took a module reference for it. */
void dmseal_redirect_done(void);
void dmseal_redirect_quiesce(void);
/* Call the redirected function itself (enter.S): see there why not by pointer. */
unsigned long dmseal_enter(unsigned long a1, unsigned long a2, unsigned long a3,
			   unsigned long a4, unsigned long a5, unsigned long entry);

/* --- pins.c -------------------------------------------------------------- */

enum dmseal_pin_kind {
	DMSEAL_PIN_CRYPT,
	DMSEAL_PIN_INTEGRITY,
	DMSEAL_PIN_OTHER,
};

/* One accepted target: identity plus its parsed, secret-free parameters. */
struct dmseal_pin {
	struct list_head node;		/* in the live pins, once committed */
	struct list_head pending;	/* in its table's pending pins */
	u64 id;				/* 0 until committed */
	const struct mapped_device *md;
	dev_t devt;
	sector_t start;
	sector_t len;
	enum dmseal_pin_kind kind;
	char type[DMS_TARGET_NAME_MAX];
	union {
		struct dms_crypt crypt;
		struct dms_integrity integrity;
		u8 params_digest[DMSEAL_DIGEST_LEN];	/* other types */
	};
	dev_t backing;
	int profile;
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	char summary[DMS_SUMMARY_MAX];
};

struct dmseal_pin *dmseal_pin_alloc(void);
void dmseal_pin_free(struct dmseal_pin *pin);
int dmseal_pin_check(const struct dmseal_pin *want, struct dms_reason *why);
bool dmseal_pin_is_integrity(dev_t devt, u32 tag_size, struct dms_reason *why);
bool dmseal_device_pinned(const struct mapped_device *md, sector_t start,
			  int *profile);
void dmseal_pins_commit(struct mapped_device *md, struct list_head *pending);
void dmseal_pins_discard(struct list_head *pending);
void dmseal_unpin_device(const struct mapped_device *md);
int dmseal_pins_dump(struct sk_buff *skb, struct netlink_callback *cb);
void dmseal_pins_exit(void);

/* --- hook.c, message.c: the enforcement points ----------------------------- */

int dmseal_hook_init(void);
void dmseal_hook_exit(void);
int dmseal_message_init(void);
void dmseal_message_exit(void);
void dmseal_deny(const struct dmseal_target_info *info);
bool dmseal_md_names(struct mapped_device *md, char *name, char *uuid);

#endif /* DMSEAL_H */
