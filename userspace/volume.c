// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the machinery ephemeral and persistent volumes share
 * (volume.h says what and why).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libcryptsetup.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <netlink/attr.h>

#include "volume.h"

const struct crypt_pbkdf_type vol_pbkdf_nobench = {
	.type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
	.flags = CRYPT_PBKDF_NO_BENCHMARK,
};

/* ---- libcryptsetup log: keep the last error for our own message ------------ */

void cs_log(int level, const char *msg, void *usrptr)
{
	struct run *run = usrptr;

	if (level == CRYPT_LOG_ERROR && run) {
		snprintf(run->cs_err, sizeof(run->cs_err), "%s", msg);
		run->cs_err[strcspn(run->cs_err, "\n")] = '\0';
	}
	if (opt_debug)
		fprintf(stderr, "[%8.4f] ", since_start());
	if (opt_debug || (opt_verbose && level != CRYPT_LOG_DEBUG))
		fprintf(stderr, "%s: libcryptsetup: %s%s", prog, msg,
			msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* ---- kernel keyring: drop the volume key libcryptsetup may have left ------- */

long keyctl(int cmd, unsigned long a, unsigned long b, unsigned long c,
		   unsigned long d)
{
	return syscall(SYS_keyctl, cmd, a, b, c, d);
}

/*
 * dm-crypt copies the key out of the keyring at table load; nothing needs
 * the keyring copy afterwards, so invalidate it wherever it is reachable.
 * Returns how many keys were dropped.
 */
int drop_keyring_key(const char *desc)
{
	static const long rings[] = {
		KEY_SPEC_THREAD_KEYRING, KEY_SPEC_PROCESS_KEYRING,
		KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING,
	};
	size_t i;
	int n = 0;

	if (!desc[0])
		return 0;
	for (i = 0; i < ARRAY_SIZE(rings); i++) {
		long id;

		while ((id = keyctl(KEYCTL_SEARCH, rings[i], (unsigned long)"logon",
				    (unsigned long)desc, 0)) > 0) {
			if (keyctl(KEYCTL_INVALIDATE, id, 0, 0, 0) &&
			    keyctl(KEYCTL_UNLINK, id, rings[i], 0, 0))
				break;
			n++;
		}
	}
	return n;
}

/* ---- the plan ----------------------------------------------------------------- */

uint32_t largest_size(uint32_t mask)
{
	int b;

	for (b = 12; b >= 9; b--)
		if (mask & (1u << b))
			return 1u << b;
	return 0;
}

/*
 * The dm-crypt cipher specs libcryptsetup produces for LUKS2, and how to ask
 * for them. Anything else is refused rather than guessed.
 */
int map_cipher(const struct dms_cipher_rule *rule, struct plan *pl,
		      char *why, size_t cap)
{
	static const struct {
		const char *hash;
		uint32_t bytes;
	} hmacs[] = { { "sha256", 32 }, { "sha512", 64 } };
	const char *s = rule->spec;
	size_t i;

	/*
	 * A rule with integrity_key_size only accepts tables that carry
	 * dm-crypt's integrity_key_size:N option, which the LUKS2 tables of
	 * libcryptsetup do not: say so rather than load a table that is denied.
	 */
	if (rule->integrity_key_size) {
		snprintf(why, cap,
			 "cipher rule '%s' requires integrity_key_size:%u, which libcryptsetup's LUKS2 tables do not use",
			 s, rule->integrity_key_size);
		return -EOPNOTSUPP;
	}
	if (!strcmp(s, "aes-xts-plain64")) {
		if (rule->key_size != 32 && rule->key_size != 64) {
			snprintf(why, cap, "aes-xts-plain64 needs a 32 or 64 byte key, the policy says %u",
				 rule->key_size);
			return -EINVAL;
		}
		strcpy(pl->cipher, "aes");
		strcpy(pl->mode, "xts-plain64");
		pl->integrity[0] = '\0';
		pl->key_size = rule->key_size;
		pl->tag_size = 0;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(hmacs); i++) {
		char want[96];
		uint32_t ck;

		snprintf(want, sizeof(want), "capi:authenc(hmac(%s),xts(aes))-plain64",
			 hmacs[i].hash);
		if (strcmp(s, want))
			continue;
		ck = rule->key_size - hmacs[i].bytes;
		if (rule->key_size <= hmacs[i].bytes || (ck != 32 && ck != 64)) {
			snprintf(why, cap,
				 "%s needs a key of %u + 32 or 64 bytes, the policy says %u",
				 s, hmacs[i].bytes, rule->key_size);
			return -EINVAL;
		}
		strcpy(pl->cipher, "aes");
		strcpy(pl->mode, "xts-plain64");
		snprintf(pl->integrity, sizeof(pl->integrity), "hmac(%s)", hmacs[i].hash);
		pl->key_size = rule->key_size;
		pl->tag_size = hmacs[i].bytes;
		return 0;
	}
	snprintf(why, cap,
		 "cipher spec '%s' cannot be set up by dmsealctl (supported: aes-xts-plain64, "
		 "capi:authenc(hmac(sha256|sha512),xts(aes))-plain64)", s);
	return -EOPNOTSUPP;
}

int make_plan(const struct dms_profile *pr, struct plan *pl, char *why, size_t cap)
{
	uint32_t sizes = pr->sector_sizes;
	uint32_t k;
	bool aead_ok = false, tag_ok = false;

	memset(pl, 0, sizeof(*pl));
	pl->pr = pr;
	/* the first rule in canonical order: the policy decides, not the caller */
	if (map_cipher(&pr->ciphers[0], pl, why, cap))
		return -EINVAL;
	if (pl->tag_size) {
		for (k = 0; k < pr->n_aead_sizes; k++)
			if (pr->aead_sizes[k] == pl->tag_size)
				aead_ok = true;
		for (k = 0; k < pr->n_tag_sizes; k++)
			if (pr->tag_sizes[k] == pl->tag_size)
				tag_ok = true;
		if (!aead_ok || !tag_ok) {
			snprintf(why, cap, "%s gives %u-byte tags; the profile's aead_bytes and tag_sizes do not both allow them",
				 pl->integrity, pl->tag_size);
			return -EINVAL;
		}
		/* LUKS2 uses the encryption sector size as the integrity block size */
		sizes &= pr->block_sizes;
		if (pr->int_modes & DMS_MODE_BIT('D')) {
			/* dm-crypt's AEAD already makes each sector atomic */
			pl->act_flags |= CRYPT_ACTIVATE_NO_JOURNAL;
			pl->journal = "D";
		} else if (pr->int_modes & DMS_MODE_BIT('J')) {
			pl->journal = "J";
		} else if (pr->int_modes & DMS_MODE_BIT('B')) {
			pl->act_flags |= CRYPT_ACTIVATE_NO_JOURNAL_BITMAP;
			pl->journal = "B";
		} else {
			snprintf(why, cap, "the profile allows no integrity mode libcryptsetup can use");
			return -EINVAL;
		}
	} else {
		if (pr->integrity_required) {
			snprintf(why, cap, "the profile requires integrity but its first cipher '%s' has none",
				 pr->ciphers[0].spec);
			return -EINVAL;
		}
		pl->journal = "-";
	}
	pl->sector_size = largest_size(sizes);
	if (!pl->sector_size) {
		snprintf(why, cap, "no sector size is allowed both by sector_sizes and block_sizes");
		return -EINVAL;
	}
	/*
	 * LUKS2 hands dm-crypt the key as a logon key "cryptsetup:<uuid>-d0"; if
	 * the profile does not allow that, fall back to a hex key in the table.
	 */
	if ((pr->key_forms & DMS_KEY_LOGON) &&
	    !strncmp("cryptsetup:", pr->key_desc_prefix,
		     strnlen(pr->key_desc_prefix, sizeof(pr->key_desc_prefix)) < 11 ?
		     strnlen(pr->key_desc_prefix, sizeof(pr->key_desc_prefix)) : 11)) {
		pl->keyring = true;
	} else if (pr->key_forms & DMS_KEY_HEX) {
		pl->keyring = false;
	} else {
		snprintf(why, cap,
			 "the profile allows neither logon keys named 'cryptsetup:...' nor hex keys");
		return -EINVAL;
	}
	return 0;
}


/* ---- helpers ------------------------------------------------------------------- */

int uuid_random(char out[40])
{
	uint8_t u[16];

	if (getrandom(u, sizeof(u), 0) != sizeof(u))
		return -EIO;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 40,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		 u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

#ifdef DMSEALCTL_TEST_HOOKS
/*
 * Failure injection for the selftests: DMSEALCTL_TEST_FAIL_STEP=<step>.
 * Only in dmsealctl-test (make builds both); the installed dmsealctl has no
 * such hook, and its build checks that the variable's name is not in it.
 */
bool inject(const char *step)
{
	const char *s = getenv("DMSEALCTL_TEST_FAIL_STEP");

	return s && !strcmp(s, step);
}

/*
 * DMSEALCTL_TEST_RUN_AT=<point> DMSEALCTL_TEST_RUN_CMD=<shell command>:
 * what a host does to the disk at that point (e.g. edit its header after
 * dmsealctl checked it). Test build only, like inject().
 */
void test_run_at(const char *point)
{
	const char *at = getenv("DMSEALCTL_TEST_RUN_AT");
	const char *cmd = getenv("DMSEALCTL_TEST_RUN_CMD");

	if (at && cmd && !strcmp(at, point) && system(cmd))
		err_msg("test hook at %s: '%s' failed", point, cmd);
}
#else
bool inject(const char *step)
{
	(void)step;
	return false;
}

void test_run_at(const char *point)
{
	(void)point;
}
#endif

bool path_exists(const char *p)
{
	struct stat st;

	return !lstat(p, &st);
}

bool dm_exists(const char *name)
{
	crypt_status_info st = crypt_status(NULL, name);

	return st == CRYPT_ACTIVE || st == CRYPT_BUSY;
}

/* ---- rollback -------------------------------------------------------------------- */

/*
 * Undo what the run created, newest first. Returns true if all of it is
 * gone. If the dm devices cannot be removed, the header stays, so that
 * `<kind> teardown` can finish the job later.
 */
bool rollback(struct run *run)
{
	bool all = true;
	int r;

	if (run->mounted) {
		if (umount2(run->mount_dir, 0) && umount2(run->mount_dir, MNT_DETACH)) {
			err_msg("rollback: cannot unmount %s: %s", shown(run->mount_dir),
				strerror(errno));
			all = false;
		} else {
			verbose("rollback: unmounted %s", shown(run->mount_dir));
		}
	}
	/* our own descriptors would keep the devices busy */
	pin_close(&run->vol);
	pin_close(&run->disk);
	if (run->activated || (run->cd && dm_exists(run->name))) {
		r = crypt_deactivate(run->cd, run->name);
		if (r < 0) {
			err_msg("rollback: cannot remove %s: %s", run->mapper, strerror(-r));
			all = false;
		} else {
			verbose("rollback: removed %s", run->mapper);
		}
	}
	if (drop_keyring_key(run->key_desc))
		verbose("rollback: dropped the volume key from the keyring");
	if (run->cd) {
		crypt_free(run->cd);
		run->cd = NULL;
	}
	if (run->header_created && !all)
		err_msg("rollback: keeping %s for `%s %s teardown --name %s`",
			run->header, prog, run->kind, run->name);
	else if (run->header_created && unlink(run->header)) {
		err_msg("rollback: cannot remove %s: %s", run->header, strerror(errno));
		all = false;
	}
	if (run->dir_created && rmdir(run->mount_dir)) {
		err_msg("rollback: cannot remove %s: %s", shown(run->mount_dir),
			strerror(errno));
		all = false;
	}
	return all;
}

/* ---- setup ------------------------------------------------------------------------- */

/* A string attribute, NUL-terminated within its length, or "". */
const char *nla_str(struct nlattr *a)
{
	if (!a || nla_len(a) < 1 || !memchr(nla_data(a), '\0', nla_len(a)))
		return "";
	return nla_data(a);
}

const char *attr_word(struct nlattr *a, const char *none)
{
	return a ? shown_word(nla_str(a)) : none;
}

int deny_cb(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct denies *d = arg;

	if (cmd != DMSEAL_CMD_EVENT_DENY)
		return 0;
	d->n++;
	/* one line, whatever the device's name holds */
	err_msg("denied by dmseal: %s target on %s: %s",
		attr_word(tb[DMSEAL_A_TARGET_TYPE], "?"),
		attr_word(tb[DMSEAL_A_DEV_NAME], "?"),
		tb[DMSEAL_A_REASON] ? shown(nla_str(tb[DMSEAL_A_REASON])) : "(no reason)");
	return 0;
}

void step_done(struct run *run, int i, const char *name, double *t0)
{
	double t = now_s();

	run->t_step[i] = t - *t0;
	verbose("step %s: %.3f s", name, run->t_step[i]);
	*t0 = t;
}

/*
 * The disk is opened once, exclusively, before anything is created: a disk
 * that is mounted or held by a dm device is refused, and the open file is
 * what every later step gets (pin.c). The exclusive claim is held until the
 * first step that gives the disk to device-mapper (format loads a
 * dm-integrity table, which must claim the disk itself); the disk stays
 * held, non-exclusively, to the end. Before each step, the path the caller
 * gave must still name that disk.
 */
int check_disk(struct run *run, char *why, size_t cap)
{
	return pin_check(&run->disk, why, cap);
}

/*
 * The mapper device that activation made: opened by its name, then proved
 * to be ours (its dm name, the uuid we formatted with, built on the held
 * disk) before any byte is written to it, and held from then on.
 */
int open_volume(struct run *run, char *why, size_t cap)
{
	char buf[256], want[40];
	size_t i, n = 0;
	int r;

	r = pin_open(&run->vol, run->mapper, O_RDWR, false, why, cap);
	if (r)
		return r;
	/* LUKS2's dm uuid: CRYPT-LUKS2-<uuid without dashes>-<name> */
	for (i = 0; run->uuid[i] && n < sizeof(want) - 1; i++)
		if (run->uuid[i] != '-')
			want[n++] = run->uuid[i];
	want[n] = '\0';
	if (sysfs_dev_attr(run->vol.rdev, "dm/name", buf, sizeof(buf)) ||
	    strcmp(buf, run->name) ||
	    sysfs_dev_attr(run->vol.rdev, "dm/uuid", buf, sizeof(buf)) ||
	    !strstr(buf, want) ||
	    !dev_stacks_on(run->vol.rdev, run->disk.rdev, 3)) {
		snprintf(why, cap, "%s is not the volume just activated on %s; refusing to go on",
			 run->mapper, shown(run->device));
		pin_close(&run->vol);
		return -ESTALE;
	}
	return 0;
}

int check_volume(struct run *run, char *why, size_t cap)
{
	int r = check_disk(run, why, cap);

	return r ? r : pin_check(&run->vol, why, cap);
}

/* ---- teardown ------------------------------------------------------------------------ */

int volume_teardown(int argc, char **argv, const char *kind, void (*usage)(FILE *f))
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL;
	char mapper[256], header[256];
	struct crypt_device *cd = NULL;
	struct json_object *unmounted = json_object_new_array();
	struct stat st;
	bool have_dev, have_hdr;
	char **mps = NULL;
	size_t n = 0, i;
	int c, r, ret = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "n:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'j': opt_json = true; break;
		case 'v': opt_verbose = true; break;
		case 'h': usage(stdout); ret = EXIT_OK; goto out;
		default: usage(usage_err(NULL)); ret = EXIT_USAGE; goto out;
		}
	}
	if (optind != argc || !name) {
		err_msg("%s teardown needs --name (see --help)", kind);
		ret = EXIT_USAGE;
		goto out;
	}
	if (!name_ok(name)) {
		err_msg("--name '%s': not a valid volume name", name);
		ret = EXIT_USAGE;
		goto out;
	}
	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", name);
	snprintf(header, sizeof(header), DMSEAL_RUN_DIR "/%s.hdr", name);
	crypt_set_log_callback(NULL, cs_log, NULL);
	have_dev = dm_exists(name);
	have_hdr = path_exists(header);
	if (!have_dev && !have_hdr) {
		err_msg("no %s volume '%s'", kind, name);
		ret = EXIT_NOENT;
		goto out;
	}
	/* only what `setup` made: a volume without our header is someone else's */
	if (have_dev && !have_hdr) {
		err_msg("'%s' has no header in %s: not a %s volume of dmsealctl; "
			"nothing changed", name, DMSEAL_RUN_DIR, kind);
		goto out;
	}
	if (have_dev) {
		if (stat(mapper, &st) == 0 && S_ISBLK(st.st_mode) &&
		    find_mounts(st.st_rdev, &mps, &n) == 0) {
			for (i = 0; i < n; i++) {
				if (umount2(mps[i], 0)) {
					err_msg("cannot unmount %s: %s", shown(mps[i]),
						errno == EBUSY ? "busy (files still open?)" :
								 strerror(errno));
					goto out;
				}
				verbose("unmounted %s", shown(mps[i]));
				json_object_array_add(unmounted, json_string_safe(mps[i]));
			}
		}
		r = crypt_init_by_name_and_header(&cd, name, header);
		if (r < 0)
			r = crypt_init_by_name(&cd, name);
		if (r < 0) {
			err_msg("cannot open %s: %s", mapper, strerror(-r));
			goto out;
		}
		/* removes the integrity device below it too; dm-crypt wipes its key */
		r = crypt_deactivate(cd, name);
		if (r < 0) {
			err_msg("cannot remove %s: %s", mapper, strerror(-r));
			goto out;
		}
		verbose("removed %s", mapper);
	}
	if (unlink(header) && errno != ENOENT) {
		err_msg("cannot remove %s: %s", header, strerror(errno));
		goto out;
	}
	verbose("removed %s", header);
	if (opt_json) {
		struct json_object *o = json_out_new();

		json_object_object_add(o, "dev_name", json_object_new_string(name));
		json_object_object_add(o, "unmounted", json_object_get(unmounted));
		json_object_object_add(o, "removed", json_object_new_boolean(1));
		json_print(o, false);
		json_object_put(o);
	} else {
		printf("%s: removed\n", name);
	}
	ret = EXIT_OK;
out:
	crypt_set_log_callback(NULL, NULL, NULL);
	if (cd)
		crypt_free(cd);
	free_mounts(mps, n);
	json_object_put(unmounted);
	return ret;
}

