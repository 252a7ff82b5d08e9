/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What ephemeral and persistent volumes share: the plan derived from a
 * policy profile, the record of what a setup created (so a failure undoes
 * exactly that), the held disk and volume, libcryptsetup's log, and the
 * teardown. Both setups ask libcryptsetup for LUKS2 with the header kept in
 * guest memory (DMSEAL_RUN_DIR); they differ in where the key comes from and
 * whether the header has a copy on the disk.
 */
#ifndef DMSEALCTL_VOLUME_H
#define DMSEALCTL_VOLUME_H

#include <libcryptsetup.h>
#include <stdio.h>

#include "dmsealctl.h"

#define MIB			(1024ull * 1024)
/* below this, integrity metadata and ext4 leave nothing worth mounting */
#define MIN_DEVICE_BYTES	(16 * MIB)


/* What we will ask libcryptsetup for, derived from one policy profile. */
struct plan {
	const struct dms_profile *pr;
	char cipher[16];		/* "aes" */
	char mode[32];			/* "xts-plain64" */
	char integrity[32];		/* "hmac(sha256)" or "" */
	uint32_t key_size;		/* volume key bytes (cipher + hmac keys) */
	uint32_t tag_size;		/* integrity tag bytes, 0 without */
	uint32_t sector_size;
	uint32_t act_flags;		/* CRYPT_ACTIVATE_* */
	const char *journal;		/* "J", "D", "B" or "-" */
	bool keyring;			/* logon key vs hex key in the table */
};

/* Everything a run created, so a failure can undo exactly that. */
struct run {
	const char *kind;		/* "ephemeral" or "persistent" */
	const char *name;
	const char *device;
	const char *mount_dir;
	struct blkpin disk;		/* --device, held from the check on */
	struct blkpin vol;		/* /dev/mapper/NAME, held once checked */
	char mapper[256];
	char header[256];
	char uuid[40];
	char key_desc[96];
	struct crypt_device *cd;
	bool header_created;
	bool activated;
	bool mounted;
	bool dir_created;
	char cs_err[512];		/* last libcryptsetup error message */
	double t_step[8];
};

/* the LUKS2 key digest of a random volume key: PBKDF2, 1000, no benchmark */
extern const struct crypt_pbkdf_type vol_pbkdf_nobench;

struct nlattr;
struct denies {
	int n;
};

void cs_log(int level, const char *msg, void *usrptr);
int drop_keyring_key(const char *desc);
int make_plan(const struct dms_profile *pr, struct plan *pl, char *why, size_t cap);
int uuid_random(char out[40]);
bool inject(const char *step);
void test_run_at(const char *point);
bool path_exists(const char *p);
bool dm_exists(const char *name);
bool rollback(struct run *run);
int deny_cb(struct nlattr **tb, uint8_t cmd, void *arg);
void step_done(struct run *run, int i, const char *name, double *t0);
int check_disk(struct run *run, char *why, size_t cap);
int open_volume(struct run *run, char *why, size_t cap);
int check_volume(struct run *run, char *why, size_t cap);
/* unmount, remove the dm devices and the in-memory header of volume NAME */
int volume_teardown(int argc, char **argv, const char *kind, void (*usage)(FILE *f));

#endif
