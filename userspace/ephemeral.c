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

#include "volume.h"

enum wipe_mode { WIPE_NONE, WIPE_FULL };

/*
 * Bytes per inode unless --inode-ratio says otherwise: the ratio Kata's
 * encrypted emptyDir (CDH) uses, so a pod gets as many files as it does
 * there; setup time grows with the inode count (Documentation/dmseal/
 * benchmark.rst has the figures).
 */
#define EPHEMERAL_INODE_RATIO 163840u
#define EPHEMERAL_JOURNAL_BYTES (64u << 10)

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
	{
		char avail[DMS_MAX_PROFILES * (DMS_PROFILE_NAME_MAX + 1) + 1] = "";
		size_t n = 0;

		for (i = 0; i < p->n_profiles; i++)
			n += snprintf(avail + n, sizeof(avail) - n, " %s", p->profiles[i].name);
		err_msg("no profile '%s' in the sealed policy; available:%s", shown(name), avail);
	}
	return NULL;
}

static void setup_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s ephemeral setup --device DEV --name NAME --mount DIR\n"
		"                 [--profile P] [--fs ext4] [--wipe none|full]\n"
		"                 [--inode-ratio BYTES] [--mount-options OPTS]\n"
		"                 [--allow-unlocked-memory] [-j] [-v]\n"
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
		"                           integrity layer first (every sector readable;\n"
		"                           costs a write of the whole disk)\n"
		"      --inode-ratio BYTES  one inode per BYTES of volume (4096..67108864,\n"
		"                           default %u, as Kata's encrypted emptyDir):\n"
		"                           the number of files the volume can hold. Every\n"
		"                           inode table block is written through the\n"
		"                           integrity layer at setup, so a smaller ratio\n"
		"                           (more files) makes setup slower; 16384 is\n"
		"                           mke2fs's own default\n"
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
		"device or volume.\n", prog, prog, EPHEMERAL_INODE_RATIO);
}

static const char *const step_names[] = {
	"policy", "header", "format", "activate", "wipe", "mkfs", "mount",
};

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
		{ "inode-ratio", required_argument, NULL, 'i' },
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
	struct ext4_opts fs_opts = { .inode_ratio = EPHEMERAL_INODE_RATIO, .scratch = true };
	struct plan pl;
	struct dms_policy *pol = NULL;
	struct dms_reason dwhy = { "" };
	struct crypt_params_luks2 params = { 0 };
	struct crypt_params_integrity iparams = { 0 };
	struct secret vk = { 0 };
	struct dnl *nl = NULL, *ev = NULL;
	struct denies den = { 0 };
	uint8_t *pbuf = NULL, digest[DMSEAL_DIGEST_LEN];
	char why[1024] = "", failed_step[16] = "";
	double t_start, t0;
	uint64_t dev_size, vol_size, ratio;
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
		case 'i':
			if (parse_u64(optarg, &ratio) || ratio < EXT4_INODE_RATIO_MIN ||
			    ratio > EXT4_INODE_RATIO_MAX) {
				err_msg("--inode-ratio '%s': bytes per inode, %u..%u", shown(optarg),
					EXT4_INODE_RATIO_MIN, EXT4_INODE_RATIO_MAX);
				return EXIT_USAGE;
			}
			fs_opts.inode_ratio = (uint32_t)ratio;
			break;
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
		default: setup_usage(usage_err("ephemeral")); return EXIT_USAGE;
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

	run.kind = "ephemeral";
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
		return r == -ENOENT || r == -ENXIO || r == -ENODEV ? EXIT_NOENT :
		       r == -EACCES || r == -EPERM ? EXIT_PERM : EXIT_FAIL;
	}
	verbose("--device %s is %u:%u, held (exclusively until format)", shown(device),
		major(run.disk.rdev), minor(run.disk.rdev));
	t_start = t0 = now_s();

	/* -- policy: what the kernel sealed, not what anyone tells us -- */
	ret = dnl_connect(&nl, false);
	if (ret)
		goto out_early;
	ret = EXIT_FAIL;
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
	/*
	 * The key is random and there is no keyslot: nothing to stretch. Without
	 * this, libcryptsetup benchmarks PBKDF2 to size the LUKS2 key digest.
	 */
	r = crypt_set_pbkdf_type(run.cd, &vol_pbkdf_nobench);
	if (r < 0)
		verbose("cannot skip the PBKDF benchmark: %s", strerror(-r));
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
	/*
	 * Mode D never uses dm-integrity's journal, yet the kernel writes all
	 * of it at format and reads all of it back at every activation: 32 MiB
	 * by default, through the emulated disk of a TEE. One section is the
	 * least dm-integrity takes.
	 */
	if (!strcmp(pl.journal, "D")) {
		iparams.journal_size = EPHEMERAL_JOURNAL_BYTES;
		params.integrity_params = &iparams;
	}
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
		r = zero_all(run.vol.fd, vol_size);
	} else {
		/* only what mkfs would read before writing it (mkfs.c) */
		r = ext4_prepare(run.vol.fd, vol_size, &fs_opts);
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
		r = run_mkfs_ext4(run.vol.fd, &fs_opts, why, sizeof(why));
	/* before anything mounts or probes it: what readahead can reach is valid */
	if (!r && wipe != WIPE_FULL)
		r = ext4_guard(run.vol.fd, vol_size, why, sizeof(why));
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
		struct json_object *o = json_out_new();
		struct json_object *steps = json_object_new_object();
		char hex[2 * DMSEAL_DIGEST_LEN + 1];
		int i;

		hex_encode(digest, sizeof(digest), hex);
		json_object_object_add(o, "dev_name", json_object_new_string(name));
		json_add_str(o, "device", device);
		json_object_object_add(o, "mapper", json_object_new_string(run.mapper));
		json_add_str(o, "mount", dir);
		json_object_object_add(o, "header", json_object_new_string(run.header));
		json_object_object_add(o, "luks_uuid", json_object_new_string(run.uuid));
		json_object_object_add(o, "profile", json_object_new_string(pl.pr->name));
		json_object_object_add(o, "digest", json_object_new_string(hex));
		json_object_object_add(o, "cipher", json_object_new_string(pl.pr->ciphers[0].spec));
		json_object_object_add(o, "key_size", json_object_new_int(pl.key_size));
		json_object_object_add(o, "sector_size", json_object_new_int(pl.sector_size));
		json_object_object_add(o, "integrity_mode", json_object_new_string(pl.journal));
		json_object_object_add(o, "key_in_keyring", json_object_new_boolean(pl.keyring));
		json_object_object_add(o, "wipe", json_object_new_string(wipe == WIPE_FULL ? "full" : "none"));
		json_object_object_add(o, "size", json_object_new_uint64(vol_size));
		json_object_object_add(o, "inode_ratio", json_object_new_int64(fs_opts.inode_ratio));
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

int cmd_ephemeral(int argc, char **argv)
{
	if (argc < 2) {
		setup_usage(usage_err("ephemeral"));
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		setup_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "setup"))
		return ephemeral_setup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "teardown"))
		return volume_teardown(argc - 1, argv + 1, "ephemeral", setup_usage);
	err_msg("unknown ephemeral command '%s' (setup, teardown)", argv[1]);
	return EXIT_USAGE;
}
