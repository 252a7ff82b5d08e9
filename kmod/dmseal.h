/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmseal internals shared between the module's files.
 */
#ifndef DMSEAL_H
#define DMSEAL_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/device-mapper.h>
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

/* --- pins.c -------------------------------------------------------------- */

enum dmseal_pin_kind {
	DMSEAL_PIN_CRYPT,
	DMSEAL_PIN_INTEGRITY,
	DMSEAL_PIN_OTHER,
};

/* What a pin holds besides identity: the parsed, secret-free parameters. */
struct dmseal_pin_params {
	enum dmseal_pin_kind kind;
	char type[DMS_TARGET_NAME_MAX];
	union {
		struct dms_crypt crypt;
		struct dms_integrity integrity;
		u8 params_digest[DMSEAL_DIGEST_LEN];	/* other types */
	};
	dev_t backing;
	int profile;
};

struct mapped_device;

int dmseal_pin_check(const struct mapped_device *md, dev_t devt, sector_t start,
		     const struct dmseal_pin_params *p, struct dms_reason *why);
bool dmseal_pin_is_integrity(dev_t devt, u32 tag_size, struct dms_reason *why);
bool dmseal_device_pinned(const struct mapped_device *md, int *profile);
int dmseal_pin_add(const struct mapped_device *md, const struct dmseal_target_info *info,
		   const struct dmseal_pin_params *p);
void dmseal_unpin_device(const struct mapped_device *md, gfp_t gfp);
int dmseal_pins_dump(struct sk_buff *skb, struct netlink_callback *cb);
void dmseal_pins_exit(void);

/* --- hook.c, message.c: the enforcement points ----------------------------- */

int dmseal_hook_init(void);
void dmseal_hook_exit(void);
int dmseal_message_init(void);
void dmseal_message_exit(void);

#endif /* DMSEAL_H */
