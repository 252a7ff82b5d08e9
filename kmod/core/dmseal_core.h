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

/*
 * Field sizes, NUL included. They follow the kernel's own limits, so that a
 * table dm accepts is never refused for its length: a crypto API name is at
 * most CRYPTO_MAX_ALG_NAME (128) bytes, a dm-crypt cipher spec wraps one in
 * "capi:...-ivmode:ivopts", a key description is at most 4095 bytes
 * (KEY_MAX_DESC_SIZE), a path at most PATH_MAX, a target type name at most
 * DM_MAX_TYPE_NAME (16). A params string has no length limit here at all.
 */
#define DMS_CIPHER_MAX		256	/* cipher spec */
#define DMS_KEY_DESC_MAX	4096	/* keyring key description */
#define DMS_KEY_PREFIX_MAX	256	/* policy: key description prefix */
#define DMS_PATH_MAX		4096	/* device path in a table */
#define DMS_ALG_MAX		128	/* integrity hash/crypt algorithm name */
#define DMS_PROFILE_NAME_MAX	32
#define DMS_TARGET_NAME_MAX	16
#define DMS_SCOPE_PREFIX_MAX	129	/* DM_UUID_LEN */
#define DMS_KEY_URI_MAX		256	/* kbs:///repository/type/tag */
#define DMS_KBS_SEGMENT_MAX	128	/* one of repository, type, tag */
#define DMS_REASON_MAX		192
#define DMS_SUMMARY_MAX		512

/* Policy list sizes: a policy is a handful of rules, not a database. */
#define DMS_MAX_PROFILES	64
#define DMS_MAX_CIPHERS		16
#define DMS_MAX_AEAD_SIZES	16
#define DMS_MAX_TAG_SIZES	16
#define DMS_MAX_ALGS		16
#define DMS_MAX_OTHER_TARGETS	32
#define DMS_MAX_CONSUMERS	32
#define DMS_MAX_KEY_URIS	16

/* Key fingerprints: HMAC-SHA256 under a per-boot secret (kernel side). */
#define DMS_FP_LEN		32

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
#define DMS_CRYPT_INTEGRITY_KEY_SIZE	BIT(9)	/* integrity_key_size:N (6.12) */
/* Performance knobs: they may change on a reload (cryptsetup refresh). */
#define DMS_CRYPT_PERF_FLAGS	(DMS_CRYPT_SAME_CPU | DMS_CRYPT_SUBMIT_FROM_CPUS | \
				 DMS_CRYPT_NO_READ_WQ | DMS_CRYPT_NO_WRITE_WQ | \
				 DMS_CRYPT_HIGH_PRIORITY)

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
#define DMS_INT_ALLOW_DISCARDS_KEYED	BIT(10)	/* allow_discards_keyed (6.12) */
/* Operations, not configuration: they come and go (see dms_cmp_integrity). */
#define DMS_INT_TRANSIENT	(DMS_INT_RECALC | DMS_INT_RESET_RECALC)
/* Taken from the on-disk superblock once the device exists. */
#define DMS_INT_FROM_SB		(DMS_INT_FIX_PADDING | DMS_INT_FIX_HMAC)

/* The keyed algorithms of dm-integrity, in the order of their key slots. */
enum dms_int_alg {
	DMS_ALG_INTERNAL_HASH,
	DMS_ALG_JOURNAL_CRYPT,
	DMS_ALG_JOURNAL_MAC,
	DMS_ALG_COUNT
};

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
 * major/minor and sets resolved. A target's status always names its devices
 * by number.
 */
struct dms_devref {
	char path[DMS_PATH_MAX];
	u32 major;
	u32 minor;
	bool resolved;
};

/*
 * Where a key sits in the params string that was parsed: an offset and a
 * length, never the bytes. The kernel reads the key there to fingerprint it
 * and forgets it; nothing here ever holds key material.
 */
struct dms_span {
	u32 off;
	u32 len;			/* 0: no such key */
};

/*
 * A keyed fingerprint of a key (HMAC-SHA256 under a secret made at boot),
 * filled by the kernel. It tells whether two tables use the same key bytes
 * and nothing about the key itself.
 */
struct dms_fp {
	u8 mac[DMS_FP_LEN];
	bool set;
};

struct dms_crypt {
	char cipher[DMS_CIPHER_MAX];
	u32 key_form;			/* exactly one DMS_KEY_* bit */
	u32 key_size;			/* bytes */
	char key_desc[DMS_KEY_DESC_MAX];	/* keyring forms only */
	struct dms_span key_hex;	/* DMS_KEY_HEX: the hex digits */
	struct dms_fp key_fp;
	u64 iv_offset;
	struct dms_devref dev;
	u64 offset;
	u32 flags;			/* DMS_CRYPT_* */
	u32 integrity_bytes;		/* with DMS_CRYPT_INTEGRITY */
	char integrity_type[16];	/* "aead" or "none" */
	u32 integrity_key_size;		/* with DMS_CRYPT_INTEGRITY_KEY_SIZE */
	u32 sector_size;		/* 512 unless sector_size:N */
};

struct dms_integrity {
	struct dms_devref dev;
	u64 offset;
	u32 tag_size;
	char mode;			/* 'J', 'D', 'B', 'R', 'I' */
	u32 flags;			/* DMS_INT_* */
	u64 num[DMS_INT_NUM_MAX];	/* 0 where not given */
	/* algorithm names only; each optional key is a span, then a fingerprint */
	char alg[DMS_ALG_COUNT][DMS_ALG_MAX];
	struct dms_span alg_key[DMS_ALG_COUNT];
	struct dms_fp alg_fp[DMS_ALG_COUNT];
	struct dms_devref meta_dev;
};

/* The option name of a dm-integrity keyed algorithm ("internal_hash", ...). */
const char *dms_int_alg_name(enum dms_int_alg a);

struct dms_reason {
	char msg[DMS_REASON_MAX];
};

/* --- table parameter parsers (table.c) --------------------------------- */

/*
 * Parse the params string of a "crypt" / "integrity" target, exactly as
 * dm-crypt / dm-integrity would split it. Returns 0 or -EINVAL with a reason.
 * Tokens with backslash escapes are refused, not interpreted. The same
 * parsers read a target's status (STATUSTYPE_TABLE), which has the syntax of
 * a table line.
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
 * Decode @n hex digits (n even) into n / 2 bytes at @out; -EINVAL if a digit
 * is not hex. For the kernel to fingerprint a key it found with a span.
 */
/* one hex digit's value, or -1 */
int dms_hex_val(char c);
int dms_hex_decode(const char *hex, size_t n, u8 *out);

/* Constant-time comparison of two fingerprints; false unless both are set. */
bool dms_fp_equal(const struct dms_fp *a, const struct dms_fp *b);

/*
 * Pins: compare a target as pinned (@have) with a target that would replace
 * it (@want); 0 when @want keeps every pinned parameter, else -EPERM with the
 * first parameter that changed.
 *
 * DMS_CMP_EFFECTIVE: both sides describe constructed targets (parsed from
 * their status): parameters dm-integrity takes from its superblock
 * (journal_sectors, interleave_sectors, fix_padding, fix_hmac) are compared
 * too. Without it @want is a requested table line, which may leave those
 * out. Either way tuning knobs (buffer_sectors, journal_watermark,
 * commit_time, sectors_per_bit, bitmap_flush_interval, dm-crypt's workqueue
 * and CPU options) and operations in progress (recalculate,
 * reset_recalculate) may differ: they change neither the data layout, nor
 * the keys, nor what is checked.
 * DMS_CMP_KEYS: key fingerprints must be present on both sides and equal
 * (otherwise they are compared only where both are known).
 */
#define DMS_CMP_EFFECTIVE	BIT(0)
#define DMS_CMP_KEYS		BIT(1)
int dms_cmp_crypt(const struct dms_crypt *have, const struct dms_crypt *want,
		  unsigned int how, struct dms_reason *why);
int dms_cmp_integrity(const struct dms_integrity *have,
		      const struct dms_integrity *want, unsigned int how,
		      struct dms_reason *why);

/* --- policy (policy.c, codec.c) ---------------------------------------- */

struct dms_cipher_rule {
	char spec[DMS_CIPHER_MAX];	/* exact dm-crypt cipher spec */
	u32 key_size;			/* exact key size, bytes */
	u32 integrity_key_size;		/* 0: integrity_key_size:N refused */
};

struct dms_profile {
	char name[DMS_PROFILE_NAME_MAX];

	/* dm-crypt */
	u32 n_ciphers;
	struct dms_cipher_rule ciphers[DMS_MAX_CIPHERS];
	u32 key_forms;			/* DMS_KEY_* allowed */
	char key_desc_prefix[DMS_KEY_PREFIX_MAX];	/* required for keyring keys */
	bool integrity_required;
	u32 n_aead_sizes;
	u32 aead_sizes[DMS_MAX_AEAD_SIZES];	/* allowed integrity:N:aead */
	u32 sector_sizes;		/* mask: bit n allows 1 << n bytes */
	u32 crypt_allow;		/* DMS_CRYPT_ALLOW_DISCARDS, _IV_LARGE_SECTORS */
	bool allow_key_wipe;		/* "key wipe" message (suspend) */
	/*
	 * Where a persistent volume's key may come from: KBS resource URIs
	 * or prefixes ending in '/'. The kernel never fetches a key; these
	 * are sealed (and so attested) for dmsealctl, which refuses any other
	 * URI before making a request. None: no persistent volumes.
	 */
	u32 n_key_uris;
	char key_uris[DMS_MAX_KEY_URIS][DMS_KEY_URI_MAX];

	/* dm-integrity */
	u32 int_modes;			/* DMS_MODE_BIT('J') | ... */
	u32 n_tag_sizes;
	u32 tag_sizes[DMS_MAX_TAG_SIZES];
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
	u32 n_consumers;		/* types allowed on top of governed devs */
	char consumers[DMS_MAX_CONSUMERS][DMS_TARGET_NAME_MAX];
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
bool dms_consumer_allowed(const struct dms_policy *p, const char *type);

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
/*
 * KBS resource URIs: "kbs:///repository/type/tag", segments of
 * [A-Za-z0-9._-] (not "." or ".."), at most DMS_KBS_SEGMENT_MAX - 1 bytes
 * each. As a policy prefix, "kbs:///" followed by zero to two whole
 * segments each ending in '/' is accepted too. On error, why says what.
 */
int dms_kbs_uri_check(const char *uri, bool prefix, struct dms_reason *why);
/* uri is a full, valid KBS URI that one of the profile's key_uris allows */
bool dms_key_uri_allowed(const struct dms_profile *pr, const char *uri);

/*
 * The stack rule: a crypt target whose profile requires integrity must sit
 * on a dm-integrity device that dmseal governs, with tags of the size the
 * crypt target writes. @below is that device's integrity target (NULL if
 * the backing device is not such a device).
 */
int dms_check_stack(const struct dms_crypt *c, const struct dms_integrity *below,
		    struct dms_reason *why);

/* --- whole tables (layout.c) --------------------------------------------- */

enum dms_kind {
	DMS_KIND_OTHER,
	DMS_KIND_CRYPT,
	DMS_KIND_INTEGRITY,
};

/*
 * One target of a table, as dmseal describes it. For crypt and integrity the
 * description is parsed from the constructed target's status; other types
 * are described by a digest of their table line (or status) and the devices
 * they opened. devs are dev_t values in the order the target opened them.
 */
struct dms_tdesc {
	char type[DMS_TARGET_NAME_MAX];
	u64 start;
	u64 len;
	enum dms_kind kind;
	const struct dms_crypt *crypt;		/* DMS_KIND_CRYPT */
	const struct dms_integrity *integrity;	/* DMS_KIND_INTEGRITY */
	u8 digest[32];				/* DMS_KIND_OTHER */
	u32 n_devs;
	const u32 *devs;
};

/*
 * Whether @want may replace the live, pinned table @have of a device: the
 * same targets at the same starts with the same types and lengths (the last
 * target alone may change its length: online resize), each keeping its
 * pinned parameters and keys (dms_cmp_* with DMS_CMP_EFFECTIVE|DMS_CMP_KEYS)
 * and the same devices. 0, or -EPERM with the first difference.
 */
int dms_cmp_table(const struct dms_tdesc *have, u32 n_have,
		  const struct dms_tdesc *want, u32 n_want,
		  struct dms_reason *why);

/* Whether the device numbered @dev is governed by dmseal (kernel state). */
typedef bool (*dms_governed_fn)(u32 dev, void *arg);

/*
 * The rules for a table as a whole. A table is governed if its device is
 * (@dev_governed: pinned), if it holds crypt or integrity targets and its
 * device is in scope (@in_scope), or if any target opens a governed device.
 * A governed table that opens a governed device opens only governed devices;
 * a target of another type that opens one must be listed in consumers; any
 * other target of another type must be listed in other_targets or consumers.
 * Sets *@governed; returns 0 or -EACCES with the rule.
 */
int dms_check_table(const struct dms_policy *p, const struct dms_tdesc *t,
		    u32 n, bool dev_governed, bool in_scope,
		    dms_governed_fn governed_dev, void *arg, bool *governed,
		    struct dms_reason *why);

/* --- safe text for logs and line-oriented output (escape.c) -------------- */

/*
 * Copy @len bytes of @in into @out (@cap bytes, always NUL-terminated) with
 * every byte that could forge a field or a line written as "\xHH": control
 * bytes, non-ASCII, backslash and double quote, and with DMS_ESC_SPACE also
 * the space (for names and other single words). dm names, uuids and target
 * types are chosen by whoever loads a table. Returns the length the escaped
 * text needs, like snprintf.
 */
#define DMS_ESC_SPACE	BIT(0)
size_t dms_escape(const char *in, size_t len, char *out, size_t cap,
		  unsigned int flags);

#endif /* DMSEAL_CORE_H */
