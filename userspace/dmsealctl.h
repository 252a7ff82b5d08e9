/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmsealctl: shared declarations. Each .c file is named after the one thing
 * it does; this header is the only glue between them.
 */
#ifndef DMSEALCTL_H
#define DMSEALCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "dmseal_core.h"
#include <linux/dmseal.h>

/* From the build (userspace/Makefile: scripts/version.sh); else this. */
#ifndef DMSEALCTL_VERSION
#define DMSEALCTL_VERSION	"unknown"
#endif
#define DMSEAL_RUN_DIR		"/run/dmseal"

/*
 * Exit status, documented in dmsealctl.8; with --json the "kind" of the
 * error object names it (exit_kind()). Codes are never renumbered.
 */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the operation failed (policy file errors too) */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_DENIED = 3,	/* refused by the kernel (dmseal policy or seal) */
	EXIT_NOENT = 4,		/* not sealed / no such device or volume */
	EXIT_KEY = 5,		/* the volume key could not be fetched (CDH/KBS) */
	EXIT_VOLUME = 6,	/* the disk does not hold what was asked for */
	EXIT_PERM = 7,		/* not privileged enough (EPERM/EACCES, capabilities) */
	EXIT_NOMODULE = 8,	/* the dmseal module is not loaded and cannot be */
};

/* The version of every JSON output's schema (Documentation/dmseal/json.rst). */
#define DMSEALCTL_JSON_VERSION	1

/* Global options (main.c). */
extern bool opt_json;
extern bool opt_verbose;
extern bool opt_debug;
double since_start(void);
extern const char *prog;

/* util.c */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *exit_kind(int code);
void json_error_print(int code);
FILE *usage_err(const char *cmd);
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hex_encode(const uint8_t *in, size_t len, char *out);
double now_s(void);
bool name_ok(const char *name);
int parse_u64(const char *s, uint64_t *out);
int errno_exit(int err);

/* output.c: json-c helpers for -j/--json, and safe text for messages */
void json_print(struct json_object *o, bool pretty);
struct json_object *json_out_new(void);
struct json_object *json_hex(const uint8_t *buf, size_t len);
bool utf8_valid(const char *s, size_t len);
void json_add_bytes(struct json_object *o, const char *key, const char *s,
		    size_t len);
void json_add_str(struct json_object *o, const char *key, const char *s);
struct json_object *json_string_safe(const char *s);
const char *shown(const char *s);
const char *shown_word(const char *s);

/* secret.c: key material hygiene */
struct secret {
	uint8_t *buf;
	size_t len;
	size_t map_len;
};
int secret_alloc(struct secret *s, size_t len);
int secret_alloc_random(struct secret *s, size_t len);
void secret_free(struct secret *s);
/*
 * Before any key material exists: no core dumps, no ptrace by others, and
 * every page of the process locked in memory (mlockall). If the lock fails
 * that is an error, unless allow_unlocked (--allow-unlocked-memory), which
 * also lets secret_alloc_random() go on without mlock().
 */
int secret_harden(bool allow_unlocked);

/* pin.c: a block device held by file descriptor */
struct blkpin {
	const char *arg;	/* the path as given: messages, re-checks */
	int fd;			/* held until pin_close(); steps use path */
	int excl_fd;		/* O_EXCL claim until pin_release_excl() */
	dev_t rdev;
	char path[32];		/* "/proc/self/fd/N": cannot be re-pointed */
};
void pin_init(struct blkpin *p);
int pin_open(struct blkpin *p, const char *arg, int mode, bool excl,
	     char *why, size_t cap);
void pin_release_excl(struct blkpin *p);
void pin_close(struct blkpin *p);
int pin_check(const struct blkpin *p, char *why, size_t cap);
int pin_size(const struct blkpin *p, uint64_t *size);
int sysfs_dev_attr(dev_t dev, const char *attr, char *buf, size_t cap);
bool dev_stacks_on(dev_t top, dev_t bottom, int depth);

/* modload.c */
int modules_load(const char *const *names, size_t n, const char **failed);
int modules_load_dmseal(const char **failed);

/* netlink.c: the dmseal generic-netlink client */
struct nlattr;
struct dnl;
typedef int (*dnl_msg_cb)(struct nlattr **tb, uint8_t cmd, void *arg);
struct dnl *dnl_open(bool events);
void dnl_close(struct dnl *nl);
int dnl_request(struct dnl *nl, uint8_t cmd, bool dump, const void *policy,
		size_t policy_len, dnl_msg_cb cb, void *arg);
const char *dnl_extack(struct dnl *nl);
int dnl_wait_event(struct dnl *nl, int timeout_ms, dnl_msg_cb cb, void *arg);
int dnl_drain_events(struct dnl *nl, dnl_msg_cb cb, void *arg);
const char *dnl_cmd_name(uint8_t cmd);
/*
 * The attributes of a message, in attribute order, as text safe for
 * line-oriented output (see netlink.c): fn gets each key, its escaped text
 * and whether it is a sentence (spaces kept) rather than a single word.
 */
typedef void (*dnl_attr_fn)(const char *key, const char *text, bool sentence,
			    void *arg);
void dnl_attrs_each(struct nlattr **tb, dnl_attr_fn fn, void *arg);
/* "key=value key=\"a sentence\" ...", malloc'ed (NULL on ENOMEM) */
char *dnl_attrs_line(struct nlattr **tb);
/* the same attributes as JSON, strings exact (json_add_bytes) */
struct json_object *dnl_attrs_json(struct nlattr **tb);
void dnl_attrs_json_into(struct json_object *o, struct nlattr **tb);
/* GET_POLICY: the sealed policy's canonical bytes (malloc'ed) and digest */
int dnl_get_policy(struct dnl *nl, uint8_t **buf, size_t *len,
		   uint8_t digest[DMSEAL_DIGEST_LEN]);
/*
 * Open a socket after loading modules; prints the error itself and returns
 * an exit status: EXIT_OK, EXIT_NOMODULE, EXIT_PERM or EXIT_FAIL.
 */
int dnl_connect(struct dnl **out, bool events);

/* policy_json.c */
int policy_from_file(const char *path, struct dms_policy *p);
struct json_object *policy_to_json(const struct dms_policy *p);
int policy_encode_alloc(const struct dms_policy *p, uint8_t **buf, size_t *len);
void policy_digest(const uint8_t *buf, size_t len, uint8_t out[DMSEAL_DIGEST_LEN]);

/* commands */
int cmd_policy(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_pins(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_ephemeral(int argc, char **argv);
int cmd_persistent(int argc, char **argv);
int print_event(struct nlattr **tb, uint8_t cmd, void *arg);

/* mkfs.c: on a held descriptor, never a path looked up again */
struct ext4_opts {
	uint32_t inode_ratio;	/* bytes per inode; 0: mke2fs's own default */
	bool scratch;		/* ephemeral: no backup superblocks, no resize inode */
};
#define EXT4_INODE_RATIO_MIN 4096u		/* one inode per block */
#define EXT4_INODE_RATIO_MAX (64u << 20)	/* mke2fs's limit */
int run_mkfs_ext4(int fd, const struct ext4_opts *o, char *errbuf, size_t errcap);
int zero_range(int fd, uint64_t off, uint64_t len);
int zero_all(int fd, uint64_t size);
/* zeroed at both ends before mkfs: blkid's deepest probe from the end is
 * 3087 sectors back (promise_fasttrack_raid), plus its readahead; the head
 * runs on by EXT4_PREPARE_SHADOW, for the LUKS2 slot at 2 MiB */
#define EXT4_PREPARE_EDGE (2ull << 20)
#define EXT4_LUKS2_PROBE (4ull << 20)
/* the least readahead reach guarded: twice the default read_ahead_kb */
#define EXT4_PREPARE_SHADOW (256ull << 10)
int ext4_prepare(int fd, uint64_t size, const struct ext4_opts *o);
int ext4_guard(int fd, uint64_t size, char *why, size_t cap);
struct ext4_zone;
/* the ranges ext4_prepare zeroes outside the layout (at most 3, into @z) */
size_t ext4_probe_zones(uint64_t size, struct ext4_zone *z);

/* mount.c */
struct mount_opts {
	unsigned long flags;
	char data[512];
};
int mount_opts_parse(const char *s, struct mount_opts *mo);
int find_mounts(dev_t dev, char ***mps, size_t *n);
void free_mounts(char **mps, size_t n);
int mkdir_p(const char *path, mode_t mode, bool *created);

#endif
