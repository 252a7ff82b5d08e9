// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl ephemeral setup|teardown: an encrypted, integrity-protected
 * scratch volume on an untrusted disk, made only from the sealed policy.
 *
 * Why it looks the way it does:
 *  - The settings come from the policy the kernel holds (GET_POLICY), never
 *    from the command line: whoever can influence our arguments (the host,
 *    through the agent) cannot ask for a weaker cipher. The kernel checks
 *    every table anyway; we just ask for something it will accept.
 *  - The key is random, made here, and lives only in mlock()ed memory until
 *    libcryptsetup has it (secret.c). No keyslot, so no PBKDF cost and nothing
 *    on disk that could unlock the volume later.
 *  - The LUKS2 header is detached and kept on tmpfs under /run/dmseal: the
 *    host never sees it and cannot edit it (the null-cipher header attack of
 *    CVE-2025-59054 works by editing an on-disk header between uses).
 *  - Failure is clean: every step records what it created and a failing run
 *    undoes exactly that, in reverse order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libcryptsetup.h>
#include <linux/fs.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <netlink/attr.h>

#include "dmsealctl.h"

#define MIB			(1024ull * 1024)
/* below this, integrity metadata and ext4 leave nothing worth mounting */
#define MIN_DEVICE_BYTES	(16 * MIB)

enum wipe_mode { WIPE_NONE, WIPE_FULL };

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

/* ---- libcryptsetup log: keep the last error for our own message ------------ */

static void cs_log(int level, const char *msg, void *usrptr)
{
	struct run *run = usrptr;

	if (level == CRYPT_LOG_ERROR && run) {
		snprintf(run->cs_err, sizeof(run->cs_err), "%s", msg);
		run->cs_err[strcspn(run->cs_err, "\n")] = '\0';
	}
	if (opt_verbose && level != CRYPT_LOG_DEBUG)
		fprintf(stderr, "%s: libcryptsetup: %s%s", prog, msg,
			msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* ---- kernel keyring: drop the volume key libcryptsetup may have left ------- */

static long keyctl(int cmd, unsigned long a, unsigned long b, unsigned long c,
		   unsigned long d)
{
	return syscall(SYS_keyctl, cmd, a, b, c, d);
}

/*
 * dm-crypt copies the key out of the keyring at table load; nothing needs
 * the keyring copy afterwards, so invalidate it wherever it is reachable.
 * Returns how many keys were dropped.
 */
static int drop_keyring_key(const char *desc)
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

static uint32_t largest_size(uint32_t mask)
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
static int map_cipher(const struct dms_cipher_rule *rule, struct plan *pl,
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

static int make_plan(const struct dms_profile *pr, struct plan *pl, char *why, size_t cap)
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

/* The profile: --profile, else the only one, else the one named "ephemeral". */
static const struct dms_profile *pick_profile(const struct dms_policy *p, const char *want)
{
	const char *name = want;
	uint32_t i;

	if (!name && p->n_profiles == 1)
		return &p->profiles[0];
	if (!name)
		name = "ephemeral";
	for (i = 0; i < p->n_profiles; i++)
		if (!strcmp(p->profiles[i].name, name))
			return &p->profiles[i];
	fprintf(stderr, "%s: no profile '%s' in the sealed policy; available:", prog, name);
	for (i = 0; i < p->n_profiles; i++)
		fprintf(stderr, " %s", p->profiles[i].name);
	fputc('\n', stderr);
	return NULL;
}

/* ---- helpers ------------------------------------------------------------------- */

static int uuid_random(char out[40])
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
static bool inject(const char *step)
{
	const char *s = getenv("DMSEALCTL_TEST_FAIL_STEP");

	return s && !strcmp(s, step);
}
#else
static bool inject(const char *step)
{
	(void)step;
	return false;
}
#endif

static bool path_exists(const char *p)
{
	struct stat st;

	return !lstat(p, &st);
}

static bool dm_exists(const char *name)
{
	crypt_status_info st = crypt_status(NULL, name);

	return st == CRYPT_ACTIVE || st == CRYPT_BUSY;
}

/* ---- rollback -------------------------------------------------------------------- */

/*
 * Undo what the run created, newest first. Returns true if all of it is
 * gone. If the dm devices cannot be removed, the header stays, so that
 * `ephemeral teardown` can finish the job later.
 */
static bool rollback(struct run *run)
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
		err_msg("rollback: keeping %s for `%s ephemeral teardown --name %s`",
			run->header, prog, run->name);
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

struct denies {
	int n;
};

/* A string attribute, NUL-terminated within its length, or "". */
static const char *nla_str(struct nlattr *a)
{
	if (!a || nla_len(a) < 1 || !memchr(nla_data(a), '\0', nla_len(a)))
		return "";
	return nla_data(a);
}

static const char *attr_word(struct nlattr *a, const char *none)
{
	return a ? shown_word(nla_str(a)) : none;
}

static int deny_cb(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct denies *d = arg;

	if (cmd != DMSEAL_CMD_EVENT_DENY)
		return 0;
	d->n++;
	/* one line, whatever the device's name holds */
	fprintf(stderr, "%s: denied by dmseal: %s target on %s: %s\n", prog,
		attr_word(tb[DMSEAL_A_TARGET_TYPE], "?"),
		attr_word(tb[DMSEAL_A_DEV_NAME], "?"),
		tb[DMSEAL_A_REASON] ? shown(nla_str(tb[DMSEAL_A_REASON])) : "(no reason)");
	return 0;
}

static void setup_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s ephemeral setup --device DEV --name NAME --mount DIR\n"
		"                 [--profile P] [--fs ext4] [--wipe none|full]\n"
		"                 [--mount-options OPTS] [--allow-unlocked-memory] [-j] [-v]\n"
		"       %s ephemeral teardown --name NAME [-j] [-v]\n"
		"\n"
		"setup: make an ephemeral LUKS2 volume on DEV with a fresh random key and\n"
		"a detached header kept in guest memory (" DMSEAL_RUN_DIR "/NAME.hdr), open it\n"
		"as /dev/mapper/NAME, make a filesystem and mount it on DIR. The cipher,\n"
		"key size, integrity, sector size and journal mode all come from a profile\n"
		"of the sealed dmseal policy; nothing on the command line can weaken them.\n"
		"\n"
		"  -d, --device DEV         the untrusted disk (its contents are destroyed)\n"
		"  -n, --name NAME          volume name: [A-Za-z0-9_.-], at most 64\n"
		"  -m, --mount DIR          mount point (absolute; created if missing)\n"
		"  -p, --profile P          policy profile (default: the only one, else\n"
		"                           the one named \"ephemeral\")\n"
		"      --fs ext4            filesystem (only ext4)\n"
		"      --wipe none|full     none (default): write only what mkfs needs;\n"
		"                           full: zero the whole volume through the\n"
		"                           integrity layer first (slow, every sector readable)\n"
		"  -o, --mount-options OPTS extra mount options (nodev,nosuid always; e.g.\n"
		"                           noexec,noatime); dev, suid and discard are refused\n"
		"      --allow-unlocked-memory\n"
		"                           go on if the process cannot be locked in memory\n"
		"                           (mlockall); without it that is an error, because\n"
		"                           key material could be swapped to the host's disk\n"
		"\n"
		"DEV is opened once, exclusively, and every step uses that open device:\n"
		"if the path DEV names another device during setup (a re-pointed link or\n"
		"node), setup stops and undoes what it did (exit 1).\n"
		"\n"
		"teardown: unmount NAME wherever it is mounted, remove the dm devices\n"
		"(the key goes with them) and the header. The data is gone for good.\n"
		"\n"
		"Exit: 0 ok, 1 failed (all undone; also: DEV in use or changed, memory not\n"
		"lockable), 2 usage, 3 refused by dmseal, 4 no policy sealed / no such\n"
		"device or volume.\n", prog, prog);
}

static void step_done(struct run *run, int i, const char *name, double *t0)
{
	double t = now_s();

	run->t_step[i] = t - *t0;
	verbose("step %s: %.3f s", name, run->t_step[i]);
	*t0 = t;
}

static const char *const step_names[] = {
	"policy", "header", "format", "activate", "wipe", "mkfs", "mount",
};

/*
 * The disk is opened once, exclusively, before anything is created: a disk
 * that is mounted or held by a dm device is refused, and the open file is
 * what every later step gets (pin.c). The exclusive claim is held until the
 * first step that gives the disk to device-mapper (format loads a
 * dm-integrity table, which must claim the disk itself); the disk stays
 * held, non-exclusively, to the end. Before each step, the path the caller
 * gave must still name that disk.
 */
static int check_disk(struct run *run, char *why, size_t cap)
{
	return pin_check(&run->disk, why, cap);
}

/*
 * The mapper device that activation made: opened by its name, then proved
 * to be ours (its dm name, the uuid we formatted with, built on the held
 * disk) before any byte is written to it, and held from then on.
 */
static int open_volume(struct run *run, char *why, size_t cap)
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

static int check_volume(struct run *run, char *why, size_t cap)
{
	int r = check_disk(run, why, cap);

	return r ? r : pin_check(&run->vol, why, cap);
}

static int ephemeral_setup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "mount", required_argument, NULL, 'm' },
		{ "profile", required_argument, NULL, 'p' },
		{ "fs", required_argument, NULL, 'f' },
		{ "wipe", required_argument, NULL, 'w' },
		{ "mount-options", required_argument, NULL, 'o' },
		{ "allow-unlocked-memory", no_argument, NULL, 'U' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *device = NULL, *name = NULL, *dir = NULL, *profile = NULL;
	const char *fs = "ext4", *mopts = NULL;
	enum wipe_mode wipe = WIPE_NONE;
	bool allow_unlocked = false;
	struct run run = { 0 };
	struct mount_opts mo;
	struct plan pl;
	struct dms_policy *pol = NULL;
	struct dms_reason dwhy = { "" };
	struct crypt_params_luks2 params = { 0 };
	struct secret vk = { 0 };
	struct dnl *nl = NULL, *ev = NULL;
	struct denies den = { 0 };
	uint8_t *pbuf = NULL, digest[DMSEAL_DIGEST_LEN];
	char why[1024] = "", failed_step[16] = "";
	double t_start, t0;
	uint64_t dev_size, vol_size;
	size_t plen;
	struct stat st;
	struct statfs sfs;
	int c, r, fd, ret = EXIT_FAIL, step = 0;

	pin_init(&run.disk);
	pin_init(&run.vol);
	while ((c = getopt_long(argc, argv, "d:n:m:p:o:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': device = optarg; break;
		case 'n': name = optarg; break;
		case 'm': dir = optarg; break;
		case 'p': profile = optarg; break;
		case 'f': fs = optarg; break;
		case 'o': mopts = optarg; break;
		case 'U': allow_unlocked = true; break;
		case 'w':
			if (!strcmp(optarg, "none"))
				wipe = WIPE_NONE;
			else if (!strcmp(optarg, "full"))
				wipe = WIPE_FULL;
			else {
				err_msg("--wipe: none or full");
				return EXIT_USAGE;
			}
			break;
		case 'j': opt_json = true; break;
		case 'v': opt_verbose = true; break;
		case 'h': setup_usage(stdout); return EXIT_OK;
		default: setup_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || !device || !name || !dir) {
		err_msg("ephemeral setup needs --device, --name and --mount (see --help)");
		return EXIT_USAGE;
	}
	if (!name_ok(name)) {
		err_msg("--name '%s': use 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'",
			shown(name));
		return EXIT_USAGE;
	}
	if (dir[0] != '/' || strlen(dir) >= 4096) {
		err_msg("--mount: an absolute path");
		return EXIT_USAGE;
	}
	if (strcmp(fs, "ext4")) {
		err_msg("--fs: only ext4 is supported");
		return EXIT_USAGE;
	}
	if (mount_opts_parse(mopts, &mo))
		return EXIT_USAGE;
	/* before any key material exists, and before anything is created */
	if (secret_harden(allow_unlocked))
		return EXIT_FAIL;

	run.name = name;
	run.device = device;
	run.mount_dir = dir;
	snprintf(run.mapper, sizeof(run.mapper), "/dev/mapper/%s", name);
	snprintf(run.header, sizeof(run.header), DMSEAL_RUN_DIR "/%s.hdr", name);
	crypt_set_log_callback(NULL, cs_log, &run);

	/* nothing is created before every check that can fail has passed */
	if (path_exists(run.mapper) || path_exists(run.header) || dm_exists(name)) {
		err_msg("volume '%s' already exists (%s or %s); nothing changed", name,
			run.mapper, run.header);
		return EXIT_FAIL;
	}
	/* the check: this open file is the disk from now on (see check_disk) */
	r = pin_open(&run.disk, device, O_RDONLY, true, why, sizeof(why));
	if (r) {
		err_msg("--device %s", why);
		return r == -ENOENT || r == -ENXIO || r == -ENODEV ? EXIT_NOENT : EXIT_FAIL;
	}
	verbose("--device %s is %u:%u, held (exclusively until format)", shown(device),
		major(run.disk.rdev), minor(run.disk.rdev));
	t_start = t0 = now_s();

	/* -- policy: what the kernel sealed, not what anyone tells us -- */
	if (dnl_connect(&nl, false))
		goto out_early;
	/* subscribed before anything is loaded, so no DENY is missed */
	ev = dnl_open(true);
	if (!ev)
		verbose("cannot subscribe to dmseal events; deny reasons will be missing");
	r = dnl_get_policy(nl, &pbuf, &plen, digest);
	dnl_close(nl);
	nl = NULL;
	if (r == -ENOENT) {
		err_msg("no dmseal policy is sealed: load one first (dmsealctl policy load FILE)");
		ret = EXIT_NOENT;
		goto out_early;
	}
	if (r) {
		err_msg("cannot read the sealed policy: %s", strerror(-r));
		goto out_early;
	}
	pol = calloc(1, sizeof(*pol));
	if (!pol || dms_policy_decode(pbuf, plen, pol, &dwhy)) {
		err_msg("cannot decode the sealed policy: %s", shown(dwhy.msg));
		goto out_early;
	}
	pl.pr = pick_profile(pol, profile);
	if (!pl.pr) {
		ret = EXIT_USAGE;
		goto out_early;
	}
	if (make_plan(pl.pr, &pl, why, sizeof(why))) {
		err_msg("profile '%s': %s", pl.pr->name, why);
		goto out_early;
	}
	verbose("profile %s: %s-%s%s%s, %u-byte key, %u-byte sectors, integrity mode %s, key %s",
		pl.pr->name, pl.cipher, pl.mode, pl.integrity[0] ? " + " : "", pl.integrity,
		pl.key_size, pl.sector_size, pl.journal,
		pl.keyring ? "in the kernel keyring (logon)" : "as hex in the table");
	r = pin_size(&run.disk, &dev_size);
	if (r) {
		err_msg("--device %s: %s", shown(device), strerror(-r));
		goto out_early;
	}
	if (dev_size < MIN_DEVICE_BYTES) {
		err_msg("--device %s: %llu bytes is too small (at least %llu MiB); nothing changed",
			shown(device), (unsigned long long)dev_size, MIN_DEVICE_BYTES / MIB);
		goto out_early;
	}
	step_done(&run, step++, "policy", &t0);

	/* -- header: on tmpfs only, never on a disk the host can read -- */
	if (mkdir(DMSEAL_RUN_DIR, 0700) && errno != EEXIST) {
		snprintf(why, sizeof(why), "mkdir %s: %s", DMSEAL_RUN_DIR, strerror(errno));
		goto fail;
	}
	if (statfs(DMSEAL_RUN_DIR, &sfs) ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != RAMFS_MAGIC)) {
		snprintf(why, sizeof(why), "%s is not on tmpfs/ramfs: the header must stay in memory",
			 DMSEAL_RUN_DIR);
		goto fail;
	}
	fd = open(run.header, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, sizeof(why), "create %s: %s", run.header, strerror(errno));
		goto fail;
	}
	run.header_created = true;
	/* libcryptsetup wants one 4 KiB block to exist; it grows the file itself */
	if (ftruncate(fd, 4096)) {
		snprintf(why, sizeof(why), "size %s: %s", run.header, strerror(errno));
		close(fd);
		goto fail;
	}
	close(fd);
	step_done(&run, step++, "header", &t0);

	/* -- format: LUKS2, detached header, no keyslot -- */
	if (check_disk(&run, why, sizeof(why)))
		goto fail;
	/* device-mapper claims the disk from here (the format's dm-integrity) */
	pin_release_excl(&run.disk);
	r = crypt_init_data_device(&run.cd, run.header, run.disk.path);
	if (r < 0) {
		snprintf(why, sizeof(why), "crypt_init: %s", strerror(-r));
		goto fail;
	}
	crypt_set_log_callback(run.cd, cs_log, &run);
	crypt_volume_key_keyring(run.cd, pl.keyring);
	/* no keyslots: the smallest LUKS2 metadata (2 x 16 KiB + 4 KiB) in RAM */
	r = crypt_set_metadata_size(run.cd, 16384, 4096);
	if (r < 0)
		verbose("cannot shrink the LUKS2 metadata: %s", strerror(-r));
	if (uuid_random(run.uuid)) {
		snprintf(why, sizeof(why), "getrandom failed");
		goto fail;
	}
	snprintf(run.key_desc, sizeof(run.key_desc), "cryptsetup:%s-d0", run.uuid);
	if (pl.keyring && strncmp(run.key_desc, pl.pr->key_desc_prefix,
				  strlen(pl.pr->key_desc_prefix))) {
		snprintf(why, sizeof(why), "key description would not match the profile's prefix");
		goto fail;
	}
	params.integrity = pl.integrity[0] ? pl.integrity : NULL;
	params.sector_size = pl.sector_size;
	params.data_alignment = 0;
	r = secret_alloc_random(&vk, pl.key_size);
	if (r) {
		snprintf(why, sizeof(why), "volume key: %s", strerror(-r));
		goto fail;
	}
	if (inject("format"))
		r = -EIO;
	else
		r = crypt_format(run.cd, CRYPT_LUKS2, pl.cipher, pl.mode, run.uuid,
				 (const char *)vk.buf, vk.len, &params);
	if (r < 0) {
		secret_free(&vk);
		snprintf(why, sizeof(why), "crypt_format: %s%s%s", strerror(-r),
			 run.cs_err[0] ? ": " : "", run.cs_err);
		goto fail;
	}
	/*
	 * Activate the way `cryptsetup open` would: from a fresh context that
	 * loads the (in-memory) header we just wrote and reads the dm-integrity
	 * superblock, so the tables are built from what is on record, and a
	 * header libcryptsetup cannot read back fails here, before any table.
	 * (Seen with cryptsetup 2.6.1: the integrity table carries fix_padding
	 * but not fix_hmac either way; fix_hmac only concerns dm-integrity's
	 * own hmac, which LUKS2 AEAD does not use.)
	 */
	crypt_free(run.cd);
	run.cd = NULL;
	r = check_disk(&run, why, sizeof(why));
	if (r) {
		secret_free(&vk);
		goto fail;
	}
	r = crypt_init_data_device(&run.cd, run.header, run.disk.path);
	if (r >= 0) {
		crypt_set_log_callback(run.cd, cs_log, &run);
		crypt_volume_key_keyring(run.cd, pl.keyring);
		r = crypt_load(run.cd, CRYPT_LUKS2, NULL);
	}
	if (r < 0) {
		secret_free(&vk);
		snprintf(why, sizeof(why), "reload of the new header: %s%s%s", strerror(-r),
			 run.cs_err[0] ? ": " : "", run.cs_err);
		goto fail;
	}
	step_done(&run, step++, "format", &t0);

	/* -- activate: this is where the kernel checks the tables -- */
	run.cs_err[0] = '\0';
	if (check_disk(&run, why, sizeof(why))) {
		secret_free(&vk);
		goto fail;
	}
	if (inject("activate"))
		r = -EIO;
	else
		r = crypt_activate_by_volume_key(run.cd, name, (const char *)vk.buf, vk.len,
						 pl.act_flags);
	/* our copy goes now, success or not: libcryptsetup and dm-crypt have theirs */
	secret_free(&vk);
	if (r < 0) {
		snprintf(why, sizeof(why), "crypt_activate: %s%s%s", strerror(-r),
			 run.cs_err[0] ? ": " : "", run.cs_err);
		goto fail;
	}
	run.activated = true;
	if (drop_keyring_key(run.key_desc))
		verbose("dropped the volume key from the keyring (dm-crypt holds its own copy)");
	r = open_volume(&run, why, sizeof(why));
	if (r)
		goto fail;
	step_done(&run, step++, "activate", &t0);

	/* -- wipe: integrity tags must be valid before anything reads a sector -- */
	r = pin_size(&run.vol, &vol_size);
	if (r) {
		snprintf(why, sizeof(why), "%s: %s", run.mapper, strerror(-r));
		goto fail;
	}
	if (check_volume(&run, why, sizeof(why)))
		goto fail;
	if (inject("wipe")) {
		r = -EIO;
	} else if (wipe == WIPE_FULL) {
		r = crypt_wipe(run.cd, run.vol.path, CRYPT_WIPE_ZERO, 0, vol_size, MIB, 0,
			       NULL, NULL);
	} else {
		/* only what mkfs would read before writing it (mkfs.c) */
		r = ext4_prepare(run.vol.fd, vol_size);
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "wipe: %s", strerror(-r));
		goto fail;
	}
	step_done(&run, step++, "wipe", &t0);

	/* -- mkfs: on the held volume, which mkfs inherits -- */
	if (check_volume(&run, why, sizeof(why)))
		goto fail;
	if (inject("mkfs"))
		r = -EIO, snprintf(why, sizeof(why), "mkfs: injected failure");
	else
		r = run_mkfs_ext4(run.vol.fd, why, sizeof(why));
	if (r) {
		why[strcspn(why, "\n")] = '\0';
		goto fail;
	}
	step_done(&run, step++, "mkfs", &t0);

	/* -- mount -- */
	r = mkdir_p(dir, 0755, &run.dir_created);
	if (r) {
		snprintf(why, sizeof(why), "mkdir %s: %s", shown(dir), strerror(-r));
		goto fail;
	}
	/*
	 * By its /dev/mapper name, so the mount table reads as usual: that name
	 * must name the volume we hold right before the mount, and the mounted
	 * filesystem must be on it right after (else it comes off again).
	 */
	if (check_volume(&run, why, sizeof(why)))
		goto fail;
	if (mount(run.mapper, dir, fs, mo.flags, mo.data[0] ? mo.data : NULL)) {
		snprintf(why, sizeof(why), "mount %s on %s: %s", run.mapper, shown(dir),
			 strerror(errno));
		goto fail;
	}
	run.mounted = true;
	if (stat(dir, &st) || st.st_dev != run.vol.rdev) {
		snprintf(why, sizeof(why), "what got mounted on %s is not %s (%u:%u); refusing to go on",
			 shown(dir), run.mapper, major(run.vol.rdev), minor(run.vol.rdev));
		goto fail;
	}
	if (inject("mount")) {
		snprintf(why, sizeof(why), "mount: injected failure");
		goto fail;
	}
	step_done(&run, step++, "mount", &t0);

	verbose("ready: %s on %s in %.3f s", run.mapper, shown(dir), now_s() - t_start);
	if (opt_json) {
		struct json_object *o = json_object_new_object();
		struct json_object *steps = json_object_new_object();
		char hex[2 * DMSEAL_DIGEST_LEN + 1];
		int i;

		hex_encode(digest, sizeof(digest), hex);
		json_object_object_add(o, "name", json_object_new_string(name));
		json_add_str(o, "device", device);
		json_object_object_add(o, "mapper", json_object_new_string(run.mapper));
		json_add_str(o, "mount", dir);
		json_object_object_add(o, "header", json_object_new_string(run.header));
		json_object_object_add(o, "uuid", json_object_new_string(run.uuid));
		json_object_object_add(o, "profile", json_object_new_string(pl.pr->name));
		json_object_object_add(o, "policy_digest", json_object_new_string(hex));
		json_object_object_add(o, "cipher", json_object_new_string(pl.pr->ciphers[0].spec));
		json_object_object_add(o, "key_size", json_object_new_int(pl.key_size));
		json_object_object_add(o, "sector_size", json_object_new_int(pl.sector_size));
		json_object_object_add(o, "integrity_mode", json_object_new_string(pl.journal));
		json_object_object_add(o, "key_in_keyring", json_object_new_boolean(pl.keyring));
		json_object_object_add(o, "wipe", json_object_new_string(wipe == WIPE_FULL ? "full" : "none"));
		json_object_object_add(o, "size", json_object_new_uint64(vol_size));
		for (i = 0; i < step; i++)
			json_object_object_add(steps, step_names[i],
					       json_object_new_double(run.t_step[i]));
		json_object_object_add(o, "seconds", steps);
		json_object_object_add(o, "total_seconds",
				       json_object_new_double(now_s() - t_start));
		json_print(o, false);
		json_object_put(o);
	} else {
		printf("%s: %s mounted on %s (profile %s, %.2f s)\n", name, run.mapper,
		       shown(dir), pl.pr->name, now_s() - t_start);
	}
	crypt_free(run.cd);
	run.cd = NULL;
	ret = EXIT_OK;
	goto out;

fail:
	snprintf(failed_step, sizeof(failed_step), "%s",
		 step < (int)ARRAY_SIZE(step_names) ? step_names[step] : "?");
	secret_free(&vk);
	err_msg("ephemeral setup of '%s' failed at step '%s': %s", name, failed_step,
		shown(why));
	if (ev)
		dnl_drain_events(ev, deny_cb, &den);
	if (rollback(&run))
		err_msg("rolled back: nothing of '%s' is left", name);
	else
		err_msg("rollback of '%s' incomplete: see above", name);
	ret = den.n || strstr(why, strerror(EACCES)) ? EXIT_DENIED : EXIT_FAIL;
	goto out;
out_early:
	if (ev)
		dnl_drain_events(ev, deny_cb, &den);
out:
	crypt_set_log_callback(NULL, NULL, NULL);
	pin_close(&run.vol);
	pin_close(&run.disk);
	dnl_close(ev);
	dnl_close(nl);
	free(pbuf);
	free(pol);
	return ret;
}

/* ---- teardown ------------------------------------------------------------------------ */

static int ephemeral_teardown(int argc, char **argv)
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
		case 'h': setup_usage(stdout); ret = EXIT_OK; goto out;
		default: setup_usage(stderr); ret = EXIT_USAGE; goto out;
		}
	}
	if (optind != argc || !name) {
		err_msg("ephemeral teardown needs --name (see --help)");
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
		err_msg("no ephemeral volume '%s'", name);
		ret = EXIT_NOENT;
		goto out;
	}
	/* only what `setup` made: a volume without our header is someone else's */
	if (have_dev && !have_hdr) {
		err_msg("'%s' has no header in %s: not an ephemeral volume of dmsealctl; "
			"nothing changed", name, DMSEAL_RUN_DIR);
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
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(name));
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

int cmd_ephemeral(int argc, char **argv)
{
	if (argc < 2) {
		setup_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		setup_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "setup"))
		return ephemeral_setup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "teardown"))
		return ephemeral_teardown(argc - 1, argv + 1);
	err_msg("unknown ephemeral command '%s' (setup, teardown)", argv[1]);
	return EXIT_USAGE;
}
