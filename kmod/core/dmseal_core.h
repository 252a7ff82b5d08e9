/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * dmseal core: the pure logic shared by the kernel module, dmsealctl, the
 * host unit tests and the fuzzers. No allocation, no I/O, no locking, no
 * dependency beyond a few libc/kernel string functions: everything here must
 * behave identically in kernel and userspace.
 *
 * Nothing in here ever writes to a caller's input buffer, and nothing keeps
 * key material: the parsers record the form and size of a key, never its
 * bytes.
 */
#ifndef DMSEAL_CORE_H
#define DMSEAL_CORE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/kernel.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
#ifndef BIT
#define BIT(n)			(1UL << (n))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
#endif

#define DMS_CIPHER_MAX		128	/* cipher spec, NUL included */
#define DMS_KEY_DESC_MAX	256	/* keyring key description */
#define DMS_PATH_MAX		256	/* device path in a table */
#define DMS_ALG_MAX		64	/* integrity hash/crypt algorithm name */
#define DMS_PROFILE_NAME_MAX	32
#define DMS_TARGET_NAME_MAX	16
#define DMS_SCOPE_PREFIX_MAX	129	/* DM_UUID_LEN */
#define DMS_REASON_MAX		160
#define DMS_SUMMARY_MAX		512

#define DMS_MAX_PROFILES	8
#define DMS_MAX_CIPHERS		8
#define DMS_MAX_AEAD_SIZES	4
#define DMS_MAX_ALGS		4
#define DMS_MAX_OTHER_TARGETS	4

/* Longest params string the parsers accept: dm-ioctl tables are small. */
#define DMS_PARAMS_MAX		4096

/* Key forms of a dm-crypt key argument. */
#define DMS_KEY_HEX		BIT(0)	/* inline hex bytes */
#define DMS_KEY_LOGON		BIT(1)	/* :size:logon:desc */
#define DMS_KEY_USER		BIT(2)	/* :size:user:desc */
#define DMS_KEY_ENCRYPTED	BIT(3)	/* :size:encrypted:desc */
#define DMS_KEY_TRUSTED		BIT(4)	/* :size:trusted:desc */
#define DMS_KEY_EMPTY		BIT(5)	/* "-": no key at all */
#define DMS_KEY_FORMS_ALL	0x3fu

/* dm-crypt optional parameters seen in a table. */
#define DMS_CRYPT_ALLOW_DISCARDS	BIT(0)
#define DMS_CRYPT_SAME_CPU		BIT(1)
#define DMS_CRYPT_SUBMIT_FROM_CPUS	BIT(2)
#define DMS_CRYPT_NO_READ_WQ		BIT(3)
#define DMS_CRYPT_NO_WRITE_WQ		BIT(4)
#define DMS_CRYPT_IV_LARGE_SECTORS	BIT(5)
#define DMS_CRYPT_HIGH_PRIORITY		BIT(6)
#define DMS_CRYPT_INTEGRITY		BIT(7)	/* integrity:N:type given */
#define DMS_CRYPT_SECTOR_SIZE		BIT(8)	/* sector_size:N given */

/* dm-integrity optional parameters seen in a table. */
#define DMS_INT_ALLOW_DISCARDS		BIT(0)
#define DMS_INT_FIX_PADDING		BIT(1)
#define DMS_INT_FIX_HMAC		BIT(2)
#define DMS_INT_LEGACY_RECALC		BIT(3)
#define DMS_INT_RECALC			BIT(4)
#define DMS_INT_RESET_RECALC		BIT(5)
#define DMS_INT_META_DEVICE		BIT(6)
#define DMS_INT_INTERNAL_HASH		BIT(7)
#define DMS_INT_JOURNAL_CRYPT		BIT(8)
#define DMS_INT_JOURNAL_MAC		BIT(9)

/* dm-integrity numeric options, kept so a pin catches any change. */
enum dms_int_num {
	DMS_INT_JOURNAL_SECTORS,
	DMS_INT_INTERLEAVE_SECTORS,
	DMS_INT_BUFFER_SECTORS,
	DMS_INT_JOURNAL_WATERMARK,
	DMS_INT_COMMIT_TIME,
	DMS_INT_BLOCK_SIZE,
	DMS_INT_SECTORS_PER_BIT,
	DMS_INT_BITMAP_FLUSH_INTERVAL,
	DMS_INT_NUM_MAX
};

/* Integrity modes as a mask: bit (mode - 'A'). 'R' is never allowed. */
#define DMS_MODE_BIT(c)		BIT((c) - 'A')

/*
 * A device argument of a table: either "MAJOR:MINOR" (resolved here) or a
 * path, which only the kernel can resolve (lookup_bdev); the kernel fills
 * major/minor and sets resolved.
 */
struct dms_devref {
	char path[DMS_PATH_MAX];
	u32 major;
	u32 minor;
	bool resolved;
};

struct dms_crypt {
	char cipher[DMS_CIPHER_MAX];
	u32 key_form;			/* exactly one DMS_KEY_* bit */
	u32 key_size;			/* bytes */
	char key_desc[DMS_KEY_DESC_MAX];	/* keyring forms only */
	u64 iv_offset;
	struct dms_devref dev;
	u64 offset;
	u32 flags;			/* DMS_CRYPT_* */
	u32 integrity_bytes;		/* with DMS_CRYPT_INTEGRITY */
	char integrity_type[16];	/* "aead" or "none" */
	u32 sector_size;		/* 512 unless sector_size:N */
};

struct dms_integrity {
	struct dms_devref dev;
	u64 offset;
	u32 tag_size;
	char mode;			/* 'J', 'D', 'B', 'R', 'I' */
	u32 flags;			/* DMS_INT_* */
	u64 num[DMS_INT_NUM_MAX];	/* 0 where not given */
	char internal_hash[DMS_ALG_MAX];	/* algorithm only, key dropped */
	char journal_crypt[DMS_ALG_MAX];
	char journal_mac[DMS_ALG_MAX];
	struct dms_devref meta_dev;
};

struct dms_reason {
	char msg[DMS_REASON_MAX];
};

/* --- table parameter parsers (table.c) --------------------------------- */

/*
 * Parse the params string of a "crypt" / "integrity" target, exactly as
 * dm-crypt / dm-integrity would split it. Returns 0 or -EINVAL with a reason.
 * Tokens with backslash escapes are refused, not interpreted.
 */
int dms_parse_crypt(const char *params, size_t len, struct dms_crypt *out,
		    struct dms_reason *why);
int dms_parse_integrity(const char *params, size_t len,
			struct dms_integrity *out, struct dms_reason *why);

/* Human-readable, secret-free summaries of parsed targets (for pins). */
size_t dms_crypt_summary(const struct dms_crypt *c, char *buf, size_t cap);
size_t dms_integrity_summary(const struct dms_integrity *t, char *buf,
			     size_t cap);

/*
 * Pins: 0 when b keeps every pinned (non-secret) parameter of a, else
 * -EPERM with the first parameter that changed.
 */
int dms_pin_cmp_crypt(const struct dms_crypt *a, const struct dms_crypt *b,
		      struct dms_reason *why);
int dms_pin_cmp_integrity(const struct dms_integrity *a,
			  const struct dms_integrity *b,
			  struct dms_reason *why);

/* --- policy (policy.c, codec.c) ---------------------------------------- */

struct dms_cipher_rule {
	char spec[DMS_CIPHER_MAX];	/* exact dm-crypt cipher spec */
	u32 key_size;			/* exact key size, bytes */
};

struct dms_profile {
	char name[DMS_PROFILE_NAME_MAX];

	/* dm-crypt */
	u32 n_ciphers;
	struct dms_cipher_rule ciphers[DMS_MAX_CIPHERS];
	u32 key_forms;			/* DMS_KEY_* allowed */
	char key_desc_prefix[DMS_KEY_DESC_MAX];	/* required for keyring keys */
	bool integrity_required;
	u32 n_aead_sizes;
	u32 aead_sizes[DMS_MAX_AEAD_SIZES];	/* allowed integrity:N:aead */
	u32 sector_sizes;		/* mask: bit n allows 1 << n bytes */
	u32 crypt_allow;		/* DMS_CRYPT_ALLOW_DISCARDS, _IV_LARGE_SECTORS */
	bool allow_key_wipe;		/* "key wipe" message (suspend) */

	/* dm-integrity */
	u32 int_modes;			/* DMS_MODE_BIT('J') | ... */
	u32 tag_size;
	u32 block_sizes;		/* mask like sector_sizes */
	u32 int_require;		/* DMS_INT_FIX_PADDING, DMS_INT_FIX_HMAC */
	/* DMS_INT_ALLOW_DISCARDS, _RECALC, _RESET_RECALC, _LEGACY_RECALC, _META_DEVICE */
	u32 int_allow;
	u32 n_internal_hash;
	char internal_hash[DMS_MAX_ALGS][DMS_ALG_MAX];
	u32 n_journal_crypt;
	char journal_crypt[DMS_MAX_ALGS][DMS_ALG_MAX];
	u32 n_journal_mac;
	char journal_mac[DMS_MAX_ALGS][DMS_ALG_MAX];
};

#define DMS_SCOPE_ALL		0u	/* every crypt/integrity target */
#define DMS_SCOPE_NAME_PREFIX	BIT(0)
#define DMS_SCOPE_UUID_PREFIX	BIT(1)

struct dms_policy {
	u32 scope;
	char scope_name_prefix[DMS_SCOPE_PREFIX_MAX];
	char scope_uuid_prefix[DMS_SCOPE_PREFIX_MAX];
	u32 n_other_targets;		/* other types allowed on governed devs */
	char other_targets[DMS_MAX_OTHER_TARGETS][DMS_TARGET_NAME_MAX];
	u32 n_profiles;
	struct dms_profile profiles[DMS_MAX_PROFILES];
};

/*
 * Canonical encoding. dms_policy_encode() returns the encoded length; it
 * writes only when cap is large enough. dms_policy_decode() accepts only a
 * canonical, valid encoding: decoding then re-encoding yields the same bytes.
 */
size_t dms_policy_encode(const struct dms_policy *p, u8 *buf, size_t cap);
int dms_policy_decode(const u8 *buf, size_t len, struct dms_policy *p,
		      struct dms_reason *why);
int dms_policy_validate(const struct dms_policy *p, struct dms_reason *why);
/* Sort every list of a policy into canonical order (before encoding). */
void dms_policy_normalize(struct dms_policy *p);

/* --- evaluation (eval.c) ------------------------------------------------ */

/* Whether a device with this name/uuid is governed by the policy. */
bool dms_scope_match(const struct dms_policy *p, const char *name,
		     const char *uuid);
bool dms_other_target_allowed(const struct dms_policy *p, const char *type);

/*
 * Check a parsed target against the policy's profiles. On success returns
 * the index of the first profile that accepts it. On failure returns -EACCES
 * with the reason the best-matching profile gave.
 */
int dms_check_crypt(const struct dms_policy *p, const struct dms_crypt *c,
		    struct dms_reason *why);
int dms_check_integrity(const struct dms_policy *p,
			const struct dms_integrity *t, struct dms_reason *why);

/* Ciphers that are never acceptable, whatever a policy says. */
bool dms_cipher_is_null(const char *spec);

#endif /* DMSEAL_CORE_H */
