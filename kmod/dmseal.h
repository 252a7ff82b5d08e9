/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmseal internals shared between the module's files.
 */
#ifndef DMSEAL_H
#define DMSEAL_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/ftrace.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <net/netlink.h>

#include <linux/dmseal.h>
#include "dmseal_core.h"

/*
 * The version comes from the build (kmod/Kbuild: -DDMSEAL_VERSION from
 * scripts/version.sh, the top-level VERSION file); this is only for a build
 * that passed none.
 */
#ifndef DMSEAL_VERSION
#define DMSEAL_VERSION "unknown"
#endif

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
	const char *opens;
	dev_t backing;
};

int dmseal_netlink_init(void);
void dmseal_netlink_exit(void);
void dmseal_notify(u8 cmd, const struct dmseal_target_info *info, gfp_t gfp);
void dmseal_notify_enforcement(bool enforcing, const char *what);
int dmseal_fill_target(struct sk_buff *msg, const struct dmseal_target_info *t);
void *dmseal_dump_put(struct sk_buff *skb, struct netlink_callback *cb);

/* --- redirect.c: ftrace hooks that hand a call to a wrapper -------------- */

/*
 * A hook sends every call of a function to @wrapper, a function with the
 * same signature that runs as if the caller had called it. The wrapper
 * continues into the original through dmseal_hook_call(), which enters it
 * just past its ftrace call site and so is not redirected again. Every
 * wrapper ends with dmseal_hook_done().
 *
 * The ftrace_ops are permanent: while dmseal is loaded, the kernel refuses
 * to switch function tracing off (sysctl kernel.ftrace_enabled=0).
 */
struct dmseal_hook {
	const char *symbol;		/* "module:function" */
	void *wrapper;
	bool optional;			/* absent from some kernels' builds */
	struct ftrace_ops ops;
	unsigned long resume;		/* just past the ftrace call site */
	bool armed;
};

int dmseal_hook_arm(struct dmseal_hook *h);
void dmseal_hook_disarm(struct dmseal_hook *h);
int dmseal_hooks_arm(struct dmseal_hook *const *hooks, int n);
void dmseal_hooks_disarm(struct dmseal_hook *const *hooks, int n);
void dmseal_hook_done(void);
/* Wait until no wrapper runs any more (after every hook is disarmed). */
void dmseal_hooks_quiesce(void);
/* Call the original of @h with up to five register arguments. */
#define dmseal_hook_call(h, a1, a2, a3, a4, a5)				\
	dmseal_enter((unsigned long)(a1), (unsigned long)(a2),		\
		     (unsigned long)(a3), (unsigned long)(a4),		\
		     (unsigned long)(a5), READ_ONCE((h)->resume))
unsigned long dmseal_enter(unsigned long a1, unsigned long a2, unsigned long a3,
			   unsigned long a4, unsigned long a5, unsigned long entry);
/* The liveness of the mechanism itself (see redirect.c); 0 or an errno. */
int dmseal_canary_init(void);
void dmseal_watch_start(void);
void dmseal_watch_stop(void);
void dmseal_canary_exit(void);
bool dmseal_enforcing(char *what, size_t len);

/* --- describe.c: what a target is, as dmseal compares it ------------------ */

/* Storage behind one struct dms_tdesc (which points into it). */
struct dmseal_tinfo {
	void *cfg;			/* struct dms_crypt / dms_integrity */
	u32 *devs;			/* devices the target opened */
	int profile;			/* accepting profile, or -1 */
	bool described;			/* cfg read back from the built target */
};

/* A table, or the pinned live table of a device. */
struct dmseal_desc {
	u32 n;
	u32 cap;
	struct dms_tdesc *t;
	struct dmseal_tinfo *info;
};

int dmseal_desc_add(struct dmseal_desc *d, const char *type, sector_t start,
		    sector_t len);
void dmseal_desc_aim(struct dms_tdesc *t, const struct dmseal_tinfo *info);
int dmseal_desc_copy(struct dmseal_desc *dst, const struct dmseal_desc *src);
void dmseal_desc_free(struct dmseal_desc *d);
void dmseal_desc_summary(const struct dmseal_desc *d, u32 i, char *buf,
			 size_t len);
void dmseal_desc_opens(const struct dmseal_desc *d, u32 i, char *buf,
		       size_t len);
dev_t dmseal_desc_backing(const struct dmseal_desc *d, u32 i);

/* The key fingerprints (keys.c). */
int dmseal_keys_init(void);
void dmseal_fingerprint(const u8 *key, size_t len, struct dms_fp *fp);
int dmseal_fingerprint_hex(const char *s, const struct dms_span *span,
			   struct dms_fp *fp);

/* --- build.c: the target dm is constructing, per task ---------------------- */

/*
 * While dm_table_add_target() runs a target's constructor, the hooks inside
 * it (dm_get_device, dm-crypt's key setters) find what to record here.
 */
struct dmseal_build {
	struct list_head node;
	struct task_struct *task;
	const struct dmseal_sealed *sealed;
	const char *type;
	struct dm_target *ti;		/* the target being constructed */
	u32 *devs;
	u32 n_devs;
	u32 cap_devs;
	struct dms_fp key_fp;		/* from dm-crypt's key setter */
	int key_reads;
	int denied;			/* -EACCES from a hook, with why */
	struct dms_reason why;
};

void dmseal_build_begin(struct dmseal_build *b, const struct dmseal_sealed *s,
			const char *type);
void dmseal_build_end(struct dmseal_build *b);
struct dmseal_build *dmseal_build_current(void);
int dmseal_devices_init(void);
void dmseal_devices_exit(void);

/* --- pins.c: what is live on governed devices ----------------------------- */

/* Lookups for the checks made while a table is built (spinlock inside). */
bool dmseal_dev_governed(dev_t devt);
bool dmseal_md_pinned(const struct mapped_device *md);
int dmseal_pin_compare(const struct mapped_device *md, const struct dmseal_desc *d,
		       u32 i, bool whole, struct dms_reason *why);
int dmseal_check_stack(const struct dms_crypt *c, struct dms_reason *why);
bool dmseal_key_wipe_allowed(const struct mapped_device *md, sector_t start,
			     bool *pinned);
int dmseal_pins_dump(struct sk_buff *skb, struct netlink_callback *cb);
int dmseal_pins_init(void);
void dmseal_pins_exit(void);
void dmseal_pins_free(void);
bool dmseal_governed_fn(u32 dev, void *arg);
int dmseal_table_rules(const struct dmseal_sealed *s, const struct dmseal_desc *d,
		       bool pinned, bool in_scope, bool *governed,
		       struct dms_reason *why);

/* --- tables.c: table loads, and the table records swap checks read -------- */

struct dmseal_table;
int dmseal_tables_init(void);
void dmseal_tables_exit(void);
void dmseal_tables_free(void);
struct dmseal_table *dmseal_table_find(struct dm_table *t);
const struct dmseal_desc *dmseal_table_desc(const struct dmseal_table *tab);
bool dmseal_table_usable(const struct dmseal_table *tab, struct dms_reason *why);
bool dmseal_table_in_scope(const struct dmseal_table *tab);
int dmseal_check_governed_table(const struct dmseal_sealed *s,
				struct dmseal_desc *d, struct dms_reason *why);

/* --- message.c: dm-crypt's key messages and key setters ------------------- */

int dmseal_crypt_init(void);
void dmseal_crypt_exit(void);
bool dmseal_crypt_hooks_armed(void);
const char *dmseal_crypt_hooks_state(void);

/* --- denials -------------------------------------------------------------- */

void dmseal_deny(const struct dmseal_target_info *info);
bool dmseal_md_names(struct mapped_device *md, char *name, char *uuid);

/* --- attest.c: IMA and audit -------------------------------------------- */

void dmseal_attest_seal(const struct dmseal_sealed *s);
void dmseal_audit_deny(const struct dmseal_target_info *info);

#endif /* DMSEAL_H */
