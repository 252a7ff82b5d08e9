// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl persistent setup|teardown: a volume that a later guest reopens,
 * with its key from the Key Broker Service.
 *
 * Why it looks the way it does (Documentation/dmseal/persistent.rst):
 *  - The key is a KBS resource fetched through the Confidential Data Hub,
 *    which does the attestation; the URI must be one the sealed profile
 *    lists, checked before any request, so whoever steers the request cannot
 *    point the guest at a key of its own.
 *  - The LUKS2 header on the disk has no keyslots: the KBS key is the volume
 *    key itself and the only way in, so the keyslot variant of the 2025
 *    header attacks has nothing to act on. The header is read once, whole,
 *    into guest memory, checked against the profile (luks2check.c), and that
 *    checked copy is what libcryptsetup activates from (a file on tmpfs, like
 *    the ephemeral header): the disk's header is never read again.
 *  - A reopen failure is never permission to format. Only --init formats,
 *    and only a disk whose metadata area reads as zeros. Every failure before
 *    activation leaves the disk byte for byte as it was.
 *  - The kernel checks every table anyway: this only asks for what the
 *    policy allows, and tells a refusal apart from a broken volume.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libcryptsetup.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "keysource.h"
#include "luks2check.h"
#include "volume.h"

/* --init formats only if this much of the disk reads as zeros: the LUKS2
 * header area and the dm-integrity superblock and journal start after it */
#define PV_BLANK_BYTES		(2 * MIB)
#define PV_MAX_REQUEST		(64 * 1024)

struct pv_args {
	const char *device;
	const char *name;
	const char *dir;
	const char *uri;
	const char *profile;
	const char *cdh_url;
	const char *config;
	const char *mopts;
	bool init;
	bool allow_unlocked;
	bool by_id;		/* the request's deviceId, which wins over devicePath */
	/* storage for what a request file gave */
	char s_device[4096], s_name[128], s_dir[4096], s_uri[DMS_KEY_URI_MAX];
};

static const char *const step_names[] = {
	"policy", "check", "key", "header", "activate", "mkfs", "mount",
};

static void pv_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s persistent setup --device DEV --name NAME --mount DIR --key URI\n"
		"                  [--init] [--profile P] [--cdh-url URL] [--config FILE]\n"
		"                  [--mount-options OPTS] [--allow-unlocked-memory] [-j] [-v]\n"
		"       %s persistent setup --request FILE [-j] [-v]\n"
		"       %s persistent teardown --name NAME [-j] [-v]\n"
		"\n"
		"setup: open the persistent volume on DEV as /dev/mapper/NAME and mount it\n"
		"on DIR, with the volume key fetched from the Key Broker Service through\n"
		"the Confidential Data Hub (URI kbs:///repository/type/tag). With --init,\n"
		"create it first: only on a disk whose first 2 MiB read as zeros.\n"
		"\n"
		"The URI must be one a profile of the sealed policy lists (key_uris); any\n"
		"other is refused before a request is made. Cipher, key size, integrity and\n"
		"sector size come from that profile. The LUKS2 header on DEV has no\n"
		"keyslots; it is read once into memory, checked against the profile, and\n"
		"that copy is used. A volume that fails to open is never reformatted.\n"
		"\n"
		"  -d, --device DEV         the disk holding the volume\n"
		"  -n, --name NAME          volume name: [A-Za-z0-9_.-], at most 64\n"
		"  -m, --mount DIR          mount point (absolute; created if missing)\n"
		"  -k, --key URI            kbs:///repository/type/tag: the volume key\n"
		"  -i, --init               create a new volume (the disk must be blank)\n"
		"  -p, --profile P          policy profile (default: the first that allows URI)\n"
		"      --cdh-url URL        CDH resource endpoint, loopback only (default\n"
		"                           http://127.0.0.1:8006/cdh/resource, or cdh_url in\n"
		"                           the config file)\n"
		"      --config FILE        key source settings (default " DMSEALCTL_CONF ")\n"
		"  -o, --mount-options OPTS extra mount options (nodev,nosuid always)\n"
		"      --request FILE       a CDH SecureMount request (JSON) instead of the\n"
		"                           options above: volume_type \"BlockDevice\", options\n"
		"                           devicePath|deviceId, sourceType empty|encrypted,\n"
		"                           key, encryptionType luks2, dataIntegrity,\n"
		"                           mapperName, targetType fileSystem,\n"
		"                           filesystemType ext4; and mount_point\n"
		"      --allow-unlocked-memory\n"
		"                           go on if the process cannot be locked in memory\n"
		"\n"
		"teardown: unmount NAME, remove its dm devices (the key goes with them) and\n"
		"the in-memory header copy. The data stays on the disk for the next setup.\n"
		"\n"
		"Exit: 0 ok, 1 failed (all undone), 2 usage, 3 refused by the policy (the\n"
		"URI, the header on DEV, or the kernel), 4 no policy sealed / no such device\n"
		"or volume, 5 the key could not be fetched, 6 the disk does not hold what\n"
		"was asked for (no volume, a wrong key, not blank for --init).\n",
		prog, prog, prog);
}

/* ---- a CDH SecureMount request ------------------------------------------------ */

static int req_fail(char *why, size_t cap, const char *msg, const char *key)
{
	snprintf(why, cap, "%s%s%s", key ? key : "", key ? ": " : "", msg);
	return -EINVAL;
}

/* "MAJ:MIN" -> /dev/<DEVNAME>, from sysfs (no udev links needed) */
static int device_of_id(const char *id, char *out, size_t cap, char *why, size_t wcap)
{
	unsigned int maj, min;
	char path[64], line[256];
	int n = 0;
	FILE *f;

	if (sscanf(id, "%u:%u%n", &maj, &min, &n) != 2 || id[n])
		return req_fail(why, wcap, "not MAJ:MIN", "deviceId");
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", maj, min);
	f = fopen(path, "re");
	if (!f)
		return req_fail(why, wcap, "no such block device", "deviceId");
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "DEVNAME=", 8) && !strchr(line + 8, '.')) {
			snprintf(out, cap, "/dev/%s", line + 8);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return req_fail(why, wcap, "no device name in sysfs", "deviceId");
}

static int req_copy(struct json_object *v, const char *key, char *out, size_t cap,
		    char *why, size_t wcap)
{
	const char *s = json_object_get_string(v);

	if (!json_object_is_type(v, json_type_string))
		return req_fail(why, wcap, "must be a string", key);
	if (strlen(s) >= cap)
		return req_fail(why, wcap, "too long", key);
	strcpy(out, s);
	return 0;
}

static int req_option(struct pv_args *a, const char *k, struct json_object *v,
		      char *why, size_t cap)
{
	const char *s = json_object_get_string(v);

	if (!json_object_is_type(v, json_type_string))
		return req_fail(why, cap, "options are strings (a CDH string map)", k);
	if (!strcmp(k, "devicePath"))
		return a->by_id ? 0 : req_copy(v, k, a->s_device, sizeof(a->s_device), why, cap);
	if (!strcmp(k, "deviceId")) {	/* wins over devicePath, as in CDH */
		a->by_id = true;
		return device_of_id(s, a->s_device, sizeof(a->s_device), why, cap);
	}
	if (!strcmp(k, "key"))
		return req_copy(v, k, a->s_uri, sizeof(a->s_uri), why, cap);
	if (!strcmp(k, "mapperName"))
		return req_copy(v, k, a->s_name, sizeof(a->s_name), why, cap);
	if (!strcmp(k, "sourceType")) {
		if (strcmp(s, "empty") && strcmp(s, "encrypted"))
			return req_fail(why, cap, "empty (create) or encrypted (open)", k);
		a->init = !strcmp(s, "empty");
		return 0;
	}
	if (!strcmp(k, "encryptionType") || !strcmp(k, "encryptType"))
		return strcmp(s, "luks2") && strcmp(s, "luks") ?
		       req_fail(why, cap, "only luks2", k) : 0;
	if (!strcmp(k, "dataIntegrity"))
		return strcmp(s, "true") ?
		       req_fail(why, cap, "must be \"true\": a persistent volume always has integrity", k) : 0;
	if (!strcmp(k, "targetType"))
		return strcmp(s, "fileSystem") ?
		       req_fail(why, cap, "only fileSystem (a mounted ext4)", k) : 0;
	if (!strcmp(k, "filesystemType"))
		return strcmp(s, "ext4") ? req_fail(why, cap, "only ext4", k) : 0;
	if (!strcmp(k, "mkfsOpts"))
		return s[strspn(s, " ")] ?
		       req_fail(why, cap, "not supported: dmsealctl's ext4 options are fixed (see dmsealctl(8))", k) : 0;
	return req_fail(why, cap, "unknown option (known: devicePath, deviceId, sourceType, key, "
			"encryptionType, dataIntegrity, mapperName, targetType, filesystemType, mkfsOpts)", k);
}

static int request_parse(struct json_object *root, struct pv_args *a, char *why, size_t cap)
{
	struct json_object *opts, *v;

	if (!json_object_is_type(root, json_type_object))
		return req_fail(why, cap, "the request is not a JSON object", NULL);
	json_object_object_foreach(root, k, val) {
		if (strcmp(k, "volume_type") && strcmp(k, "options") && strcmp(k, "flags") &&
		    strcmp(k, "mount_point"))
			return req_fail(why, cap, "unknown field (known: volume_type, options, flags, mount_point)", k);
		(void)val;
	}
	if (json_object_object_get_ex(root, "volume_type", &v) &&
	    strcmp(json_object_get_string(v) ?: "", "BlockDevice"))
		return req_fail(why, cap, "only BlockDevice", "volume_type");
	if (json_object_object_get_ex(root, "flags", &v) &&
	    (!json_object_is_type(v, json_type_array) || json_object_array_length(v)))
		return req_fail(why, cap, "no flags are supported", "flags");
	if (!json_object_object_get_ex(root, "mount_point", &v) ||
	    req_copy(v, "mount_point", a->s_dir, sizeof(a->s_dir), why, cap))
		return why[0] ? -EINVAL : req_fail(why, cap, "missing", "mount_point");
	if (!json_object_object_get_ex(root, "options", &opts) ||
	    !json_object_is_type(opts, json_type_object))
		return req_fail(why, cap, "missing or not an object", "options");
	json_object_object_foreach(opts, key, ov)
		if (req_option(a, key, ov, why, cap))
			return -EINVAL;
	if (!a->s_uri[0])
		return req_fail(why, cap, "missing: without a key this is an ephemeral volume "
				"(dmsealctl ephemeral setup)", "key");
	if (!a->s_device[0])
		return req_fail(why, cap, "devicePath or deviceId is needed", "options");
	if (!a->s_name[0])
		return req_fail(why, cap, "missing: the volume needs a name", "mapperName");
	a->device = a->s_device;
	a->uri = a->s_uri;
	a->name = a->s_name;
	a->dir = a->s_dir;
	return 0;
}

static int request_load(const char *path, struct pv_args *a, char *why, size_t cap)
{
	struct json_tokener *tok;
	struct json_object *root;
	char *text;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snprintf(why, cap, "%s: %s", path, strerror(errno)), -errno;
	text = calloc(1, PV_MAX_REQUEST + 1);
	n = text ? read(fd, text, PV_MAX_REQUEST + 1) : -1;
	close(fd);
	if (n < 0 || n > PV_MAX_REQUEST) {
		free(text);
		return req_fail(why, cap, n < 0 ? "cannot read" : "larger than 64 KiB", path);
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)n + 1);
	if (!root || json_tokener_get_error(tok) != json_tokener_success)
		r = req_fail(why, cap, "not valid JSON", path);
	else
		r = request_parse(root, a, why, cap);
	json_object_put(root);
	json_tokener_free(tok);
	free(text);
	return r;
}

/* ---- the steps ------------------------------------------------------------------ */

struct pv {
	struct run run;
	struct pv_args *a;
	struct plan pl;
	struct luks2_expect want;
	struct luks2_found found;
	struct keysrc_cfg ks;
	struct secret key;
	uint8_t *area;		/* the disk's first PV_DATA_OFFSET bytes, as read once */
	bool disk_written;	/* --init wrote the header: undo by zeroing */
	int exit_code;		/* for the failure at hand */
};

static int pv_fail(struct pv *pv, int code)
{
	pv->exit_code = code;
	return -1;
}

/* The profile: --profile, which must allow the URI, else the first that does. */
static const struct dms_profile *pv_profile(const struct dms_policy *p, struct pv *pv,
					    char *why, size_t cap)
{
	const char *uri = pv->a->uri;
	uint32_t i;
	size_t n;

	for (i = 0; i < p->n_profiles; i++) {
		const struct dms_profile *pr = &p->profiles[i];

		if (pv->a->profile && strcmp(pr->name, pv->a->profile))
			continue;
		if (dms_key_uri_allowed(pr, uri))
			return pr;
		if (pv->a->profile) {
			snprintf(why, cap, "profile '%s' does not allow the key %s; no request was made",
				 pr->name, uri);
			return NULL;
		}
	}
	if (pv->a->profile) {
		snprintf(why, cap, "no profile '%s' in the sealed policy", pv->a->profile);
		return NULL;
	}
	n = snprintf(why, cap, "no profile of the sealed policy allows the key %s; "
		     "no request was made (allowed:", uri);
	for (i = 0; i < p->n_profiles && n < cap; i++) {
		uint32_t k;

		for (k = 0; k < p->profiles[i].n_key_uris && n < cap; k++)
			n += snprintf(why + n, cap - n, " %s", p->profiles[i].key_uris[k]);
	}
	if (n < cap)
		snprintf(why + n, cap - n, ")");
	return NULL;
}

static bool all_zero(const uint8_t *b, size_t n, size_t *at)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i]) {
			*at = i;
			return false;
		}
	return true;
}

/* Read the header area once; refuse what is not ours, or not blank for --init. */
static int pv_check_disk(struct pv *pv, uint64_t dev_size, char *why, size_t cap)
{
	size_t blank = dev_size < PV_BLANK_BYTES ? dev_size : PV_BLANK_BYTES, at = 0;
	uint8_t *buf = calloc(1, PV_BLANK_BYTES);
	ssize_t n;

	if (!buf)
		return snprintf(why, cap, "out of memory"), pv_fail(pv, EXIT_FAIL);
	pv->area = buf;
	n = pread(pv->run.disk.fd, buf, blank, 0);
	if (n != (ssize_t)blank)
		return snprintf(why, cap, "cannot read the header area of %s: %s",
				shown(pv->a->device), n < 0 ? strerror(errno) : "short read"),
		       pv_fail(pv, EXIT_VOLUME);
	if (pv->a->init) {
		if (!all_zero(buf, blank, &at))
			return snprintf(why, cap, "%s is not blank (byte %zu of its first %zu is not zero%s): "
					"refusing to create a volume over it; nothing changed",
					shown(pv->a->device), at, blank,
					luks2_magic(buf, blank) ? ", it holds a LUKS2 header" : ""),
			       pv_fail(pv, EXIT_VOLUME);
		return 0;
	}
	if (!luks2_magic(buf, blank)) {
		bool zero = all_zero(buf, blank, &at);

		return snprintf(why, cap, "%s holds no persistent volume (%s); nothing changed. "
				"To create one, pass --init (sourceType \"empty\")",
				shown(pv->a->device),
				zero ? "it reads as zeros" : "no LUKS2 header"),
		       pv_fail(pv, EXIT_VOLUME);
	}
	if (luks2_check(buf, blank, &pv->want, &pv->found, why, cap)) {
		char msg[512];

		/* a shortened copy of why, on purpose: the message is rebuilt around it */
		snprintf(msg, sizeof(msg), "%.*s", (int)sizeof(msg) - 1, why);
		snprintf(why, cap, "the header on %s does not conform to profile '%s': %s; "
			 "nothing changed", shown(pv->a->device), pv->pl.pr->name, msg);
		return pv_fail(pv, EXIT_DENIED);
	}
	return 0;
}

static int write_all(int fd, const uint8_t *b, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, b, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= w;
		off += w;
	}
	return 0;
}

/* The checked copy goes to tmpfs; libcryptsetup reads the header only there. */
static int pv_header_file(struct pv *pv, const uint8_t *b, size_t n, char *why, size_t cap)
{
	struct statfs sfs;
	int fd, r;

	if (mkdir(DMSEAL_RUN_DIR, 0700) && errno != EEXIST)
		return snprintf(why, cap, "mkdir %s: %s", DMSEAL_RUN_DIR, strerror(errno)), -errno;
	if (statfs(DMSEAL_RUN_DIR, &sfs) ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != RAMFS_MAGIC))
		return snprintf(why, cap, "%s is not on tmpfs/ramfs: the header copy must stay in memory",
				DMSEAL_RUN_DIR), -EINVAL;
	fd = open(pv->run.header, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return snprintf(why, cap, "create %s: %s", pv->run.header, strerror(errno)), -errno;
	pv->run.header_created = true;
	r = write_all(fd, b, n, 0);
	close(fd);
	if (r)
		snprintf(why, cap, "write %s: %s", pv->run.header, strerror(-r));
	return r;
}

/*
 * What libcryptsetup made of the header must be what was checked. (Not the
 * key size: LUKS2 records it in keyslots, and there are none; the key's
 * length is the profile's, and the header's digest checks the key itself.)
 */
static int pv_cross_check(struct pv *pv, char *why, size_t cap)
{
	struct crypt_params_integrity ip = { 0 };
	struct crypt_device *cd = pv->run.cd;
	int max = crypt_keyslot_max(CRYPT_LUKS2), i;
	const char *uuid = crypt_get_uuid(cd);

	const char *bad = !uuid || strcmp(uuid, pv->found.uuid) ? "uuid" :
			  strcmp(crypt_get_cipher(cd) ?: "", pv->pl.cipher) ? "cipher" :
			  strcmp(crypt_get_cipher_mode(cd) ?: "", pv->pl.mode) ? "cipher mode" :
			  crypt_get_sector_size(cd) != (int)pv->pl.sector_size ? "sector size" :
			  crypt_get_data_offset(cd) != LUKS2_PV_DATA_OFFSET / 512 ? "data offset" : NULL;

	if (bad)
		return snprintf(why, cap, "libcryptsetup reads another %s from the checked header",
				bad), -EINVAL;
	if (crypt_get_integrity_info(cd, &ip) ||
	    strcmp(ip.integrity ?: "", pv->pl.integrity) || ip.tag_size != pv->pl.tag_size)
		return snprintf(why, cap, "libcryptsetup sees other integrity parameters"), -EINVAL;
	for (i = 0; i < max; i++)
		if (crypt_keyslot_status(cd, i) != CRYPT_SLOT_INACTIVE)
			return snprintf(why, cap, "libcryptsetup sees keyslot %d", i), -EINVAL;
	snprintf(pv->run.uuid, sizeof(pv->run.uuid), "%s", uuid);
	return 0;
}

static int pv_load(struct pv *pv, char *why, size_t cap)
{
	int r = crypt_init_data_device(&pv->run.cd, pv->run.header, pv->run.disk.path);

	if (r >= 0) {
		crypt_set_log_callback(pv->run.cd, cs_log, &pv->run);
		crypt_volume_key_keyring(pv->run.cd, pv->pl.keyring);
		r = crypt_load(pv->run.cd, CRYPT_LUKS2, NULL);
	}
	if (r < 0)
		return snprintf(why, cap, "libcryptsetup cannot load the checked header: %s%s%s",
				strerror(-r), pv->run.cs_err[0] ? ": " : "", pv->run.cs_err), r;
	return pv_cross_check(pv, why, cap);
}

/*
 * --init: format into the tmpfs header with the data at the fixed offset,
 * check what libcryptsetup wrote like any header read from a disk, then put
 * that copy at the start of the disk.
 */
static int pv_format(struct pv *pv, char *why, size_t cap)
{
	struct crypt_params_luks2 params = { 0 };
	ssize_t n;
	int r, fd;

	if (pv_header_file(pv, pv->area, 4096, why, cap))
		return -1;
	r = crypt_init_data_device(&pv->run.cd, pv->run.header, pv->run.disk.path);
	if (r < 0)
		return snprintf(why, cap, "crypt_init: %s", strerror(-r)), r;
	crypt_set_log_callback(pv->run.cd, cs_log, &pv->run);
	crypt_volume_key_keyring(pv->run.cd, pv->pl.keyring);
	r = crypt_set_metadata_size(pv->run.cd, LUKS2_PV_HDR_SIZE, 4096);
	if (!r)
		r = crypt_set_data_offset(pv->run.cd, LUKS2_PV_DATA_OFFSET / 512);
	if (!r)
		r = crypt_set_pbkdf_type(pv->run.cd, &vol_pbkdf_nobench);
	if (!r && uuid_random(pv->run.uuid))
		r = -EIO;
	params.integrity = pv->pl.integrity[0] ? pv->pl.integrity : NULL;
	params.sector_size = pv->pl.sector_size;
	if (!r)
		r = inject("format") ? -EIO :
		    crypt_format(pv->run.cd, CRYPT_LUKS2, pv->pl.cipher, pv->pl.mode, pv->run.uuid,
				 (const char *)pv->key.buf, pv->key.len, &params);
	crypt_free(pv->run.cd);
	pv->run.cd = NULL;
	if (r < 0)
		return snprintf(why, cap, "crypt_format: %s%s%s", strerror(-r),
				pv->run.cs_err[0] ? ": " : "", pv->run.cs_err), r;
	/* libcryptsetup wrote the dm-integrity superblock at the data offset */
	pv->disk_written = true;
	memset(pv->area, 0, LUKS2_PV_DATA_OFFSET);
	fd = open(pv->run.header, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	n = fd < 0 ? -1 : read(fd, pv->area, LUKS2_PV_DATA_OFFSET);
	if (fd >= 0)
		close(fd);
	if (n < 2 * (ssize_t)LUKS2_PV_HDR_SIZE)
		return snprintf(why, cap, "cannot read back the new header"), -EIO;
	if (luks2_check(pv->area, LUKS2_PV_DATA_OFFSET, &pv->want, &pv->found, why, cap))
		return -EINVAL;
	r = check_disk(&pv->run, why, cap);
	if (!r)
		r = write_all(pv->run.disk.fd, pv->area, pv->found.metadata_len, 0);
	if (!r && fdatasync(pv->run.disk.fd))
		r = -errno;
	if (r < 0 && !why[0])
		snprintf(why, cap, "write the header to %s: %s", shown(pv->a->device), strerror(-r));
	return r;
}

static int pv_activate(struct pv *pv, char *why, size_t cap)
{
	int r;

	r = crypt_volume_key_verify(pv->run.cd, (const char *)pv->key.buf, pv->key.len);
	if (r < 0) {
		snprintf(why, cap, "the key %s does not open the volume on %s (%s); nothing changed",
			 pv->a->uri, shown(pv->a->device),
			 r == -EPERM ? "the header's key digest does not match" : strerror(-r));
		return pv_fail(pv, r == -EPERM ? EXIT_VOLUME : EXIT_FAIL);
	}
	snprintf(pv->run.key_desc, sizeof(pv->run.key_desc), "cryptsetup:%s-d0", pv->run.uuid);
	if (pv->pl.keyring && strncmp(pv->run.key_desc, pv->pl.pr->key_desc_prefix,
				      strlen(pv->pl.pr->key_desc_prefix)))
		return snprintf(why, cap, "key description would not match the profile's prefix"),
		       pv_fail(pv, EXIT_FAIL);
	if (check_disk(&pv->run, why, cap))
		return pv_fail(pv, EXIT_FAIL);
	r = inject("activate") ? -EIO :
	    crypt_activate_by_volume_key(pv->run.cd, pv->a->name, (const char *)pv->key.buf,
					 pv->key.len, pv->pl.act_flags);
	secret_free(&pv->key);
	if (r < 0)
		return snprintf(why, cap, "crypt_activate: %s%s%s", strerror(-r),
				pv->run.cs_err[0] ? ": " : "", pv->run.cs_err),
		       pv_fail(pv, EXIT_FAIL);
	pv->run.activated = true;
	if (drop_keyring_key(pv->run.key_desc))
		verbose("dropped the volume key from the keyring (dm-crypt holds its own copy)");
	return open_volume(&pv->run, why, cap) ? pv_fail(pv, EXIT_FAIL) : 0;
}

static int pv_mkfs(struct pv *pv, char *why, size_t cap)
{
	/* a persistent volume may be grown and repaired: mke2fs's full layout */
	static const struct ext4_opts full = { .inode_ratio = 0, .scratch = false };
	uint64_t size;
	int r = pin_size(&pv->run.vol, &size);

	if (!r)
		r = check_volume(&pv->run, why, cap);
	if (!r)
		r = ext4_prepare(pv->run.vol.fd, size, &full);
	if (r)
		return why[0] ? r : (snprintf(why, cap, "zeroing: %s", strerror(-r)), r);
	if (inject("mkfs"))
		return snprintf(why, cap, "mkfs: injected failure"), -EIO;
	r = run_mkfs_ext4(pv->run.vol.fd, &full, why, cap);
	if (!r)
		r = ext4_guard(pv->run.vol.fd, size, why, cap);
	why[strcspn(why, "\n")] = '\0';
	return r;
}

static int pv_mount(struct pv *pv, char *why, size_t cap)
{
	struct mount_opts mo;
	struct stat st;
	int r;

	if (mount_opts_parse(pv->a->mopts, &mo))
		return snprintf(why, cap, "bad mount options"), -EINVAL;
	r = mkdir_p(pv->a->dir, 0755, &pv->run.dir_created);
	if (r)
		return snprintf(why, cap, "mkdir %s: %s", shown(pv->a->dir), strerror(-r)), r;
	if (check_volume(&pv->run, why, cap))
		return -ESTALE;
	if (mount(pv->run.mapper, pv->a->dir, "ext4", mo.flags, mo.data[0] ? mo.data : NULL))
		return snprintf(why, cap, "mount %s on %s: %s%s", pv->run.mapper, shown(pv->a->dir),
				strerror(errno), pv->a->init ? "" :
				" (the volume opened with its key, but holds no clean ext4)"), -errno;
	pv->run.mounted = true;
	if (stat(pv->a->dir, &st) || st.st_dev != pv->run.vol.rdev)
		return snprintf(why, cap, "what got mounted on %s is not %s; refusing to go on",
				shown(pv->a->dir), pv->run.mapper), -ESTALE;
	return inject("mount") ? (snprintf(why, cap, "mount: injected failure"), -EIO) : 0;
}

/* ---- setup ------------------------------------------------------------------------ */

static int pv_parse(int argc, char **argv, struct pv_args *a, char *why, size_t cap)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "mount", required_argument, NULL, 'm' },
		{ "key", required_argument, NULL, 'k' },
		{ "init", no_argument, NULL, 'i' },
		{ "profile", required_argument, NULL, 'p' },
		{ "cdh-url", required_argument, NULL, 'U' },
		{ "config", required_argument, NULL, 'C' },
		{ "request", required_argument, NULL, 'R' },
		{ "mount-options", required_argument, NULL, 'o' },
		{ "allow-unlocked-memory", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *request = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "d:n:m:k:ip:o:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->device = optarg; break;
		case 'n': a->name = optarg; break;
		case 'm': a->dir = optarg; break;
		case 'k': a->uri = optarg; break;
		case 'i': a->init = true; break;
		case 'p': a->profile = optarg; break;
		case 'U': a->cdh_url = optarg; break;
		case 'C': a->config = optarg; break;
		case 'R': request = optarg; break;
		case 'o': a->mopts = optarg; break;
		case 'A': a->allow_unlocked = true; break;
		case 'j': opt_json = true; break;
		case 'v': opt_verbose = true; break;
		case 'h': pv_usage(stdout); return 1;
		default: pv_usage(usage_err("persistent")); return -EINVAL;
		}
	}
	if (optind != argc)
		return snprintf(why, cap, "unexpected argument '%s'", shown(argv[optind])), -EINVAL;
	if (request) {
		if (a->device || a->name || a->dir || a->uri || a->init)
			return snprintf(why, cap, "--request replaces --device, --name, --mount, --key and --init"),
			       -EINVAL;
		if (request_load(request, a, why, cap))
			return -EINVAL;
	}
	if (!a->device || !a->name || !a->dir || !a->uri)
		return snprintf(why, cap, "persistent setup needs --device, --name, --mount and --key "
				"(or --request; see --help)"), -EINVAL;
	return 0;
}

static int pv_validate_args(struct pv *pv, char *why, size_t cap)
{
	struct dms_reason r = { "" };
	struct pv_args *a = pv->a;
	struct mount_opts mo;

	if (!name_ok(a->name))
		return snprintf(why, cap, "--name '%s': use 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'",
				shown(a->name)), -EINVAL;
	if (a->dir[0] != '/' || strlen(a->dir) >= 4096)
		return snprintf(why, cap, "--mount: an absolute path"), -EINVAL;
	if (dms_kbs_uri_check(a->uri, false, &r))
		return snprintf(why, cap, "--key '%s': %s", shown(a->uri), r.msg), -EINVAL;
	if (mount_opts_parse(a->mopts, &mo))
		return snprintf(why, cap, "--mount-options: see above"), -EINVAL;
	keysrc_cfg_default(&pv->ks);
	if (keysrc_cfg_load(&pv->ks, a->config, why, cap))
		return -EINVAL;
	if (a->cdh_url)
		snprintf(pv->ks.cdh_url, sizeof(pv->ks.cdh_url), "%s", a->cdh_url);
	if (strlen(pv->ks.cdh_url) >= sizeof(pv->ks.cdh_url) - 1 ||
	    keysrc_url_check(pv->ks.cdh_url, why, cap))
		return -EINVAL;
	return 0;
}

static int pv_policy(struct pv *pv, uint8_t digest[DMSEAL_DIGEST_LEN], char *why, size_t cap)
{
	struct dms_reason dwhy = { "" };
	struct dms_policy *pol = NULL;
	struct dms_profile *prof;
	struct dnl *nl = NULL;
	uint8_t *pbuf = NULL;
	size_t plen;
	int r;

	r = dnl_connect(&nl, false);
	if (r)
		return snprintf(why, cap, "cannot reach the dmseal module"), pv_fail(pv, r);
	r = dnl_get_policy(nl, &pbuf, &plen, digest);
	dnl_close(nl);
	if (r == -ENOENT)
		return snprintf(why, cap, "no dmseal policy is sealed: load one first (dmsealctl policy load FILE)"),
		       pv_fail(pv, EXIT_NOENT);
	if (r)
		return snprintf(why, cap, "cannot read the sealed policy: %s", strerror(-r)),
		       pv_fail(pv, EXIT_FAIL);
	pol = calloc(1, sizeof(*pol));
	if (!pol || dms_policy_decode(pbuf, plen, pol, &dwhy)) {
		snprintf(why, cap, "cannot decode the sealed policy: %s", dwhy.msg);
		r = pv_fail(pv, EXIT_FAIL);
		goto out;
	}
	pv->pl.pr = pv_profile(pol, pv, why, cap);
	if (!pv->pl.pr) {
		r = pv_fail(pv, EXIT_DENIED);
		goto out;
	}
	/* the plan points into the policy: keep a copy of the profile alive */
	prof = malloc(sizeof(*prof));
	if (!prof) {
		snprintf(why, cap, "out of memory");
		r = pv_fail(pv, EXIT_FAIL);
		goto out;
	}
	memcpy(prof, pv->pl.pr, sizeof(*prof));
	r = make_plan(prof, &pv->pl, why, cap);	/* pv->pl.pr = prof, freed at the end */
	if (r) {
		char msg[512];

		/* a shortened copy of why, on purpose: the message is rebuilt around it */
		snprintf(msg, sizeof(msg), "%.*s", (int)sizeof(msg) - 1, why);
		snprintf(why, cap, "profile '%s': %s", pv->pl.pr->name, msg);
		r = pv_fail(pv, EXIT_FAIL);
		goto out;
	}
	if (!pv->pl.integrity[0] || !pv->pl.keyring) {
		snprintf(why, cap, "profile '%s' gives no integrity or no keyring key: persistent volumes need both",
			 pv->pl.pr->name);
		r = pv_fail(pv, EXIT_DENIED);
		goto out;
	}
	snprintf(pv->want.encryption, sizeof(pv->want.encryption), "%s-%s", pv->pl.cipher, pv->pl.mode);
	snprintf(pv->want.integrity, sizeof(pv->want.integrity), "%s", pv->pl.integrity);
	pv->want.sector_size = pv->pl.sector_size;
	pv->want.data_offset = LUKS2_PV_DATA_OFFSET;
out:
	free(pbuf);
	free(pol);
	return r;
}

static int pv_fetch_key(struct pv *pv, char *why, size_t cap)
{
	enum keysrc_err e;

	e = keysrc_fetch(&pv->ks, pv->a->uri, pv->pl.key_size, &pv->key, why, cap);
	if (e == KS_OK)
		return 0;
	return pv_fail(pv, e == KS_ENOMEM ? EXIT_FAIL : EXIT_KEY);
}

static void pv_print(struct pv *pv, const uint8_t *digest, double total)
{
	struct json_object *o, *steps;
	char hex[2 * DMSEAL_DIGEST_LEN + 1];
	int i;

	if (!opt_json) {
		printf("%s: %s %s on %s (profile %s, key %s, %.2f s)\n", pv->a->name,
		       pv->run.mapper, pv->a->init ? "created and mounted" : "mounted",
		       shown(pv->a->dir), pv->pl.pr->name, pv->a->uri, total);
		return;
	}
	o = json_out_new();
	steps = json_object_new_object();
	hex_encode(digest, DMSEAL_DIGEST_LEN, hex);
	json_object_object_add(o, "dev_name", json_object_new_string(pv->a->name));
	json_add_str(o, "device", pv->a->device);
	json_object_object_add(o, "mapper", json_object_new_string(pv->run.mapper));
	json_add_str(o, "mount", pv->a->dir);
	json_object_object_add(o, "created", json_object_new_boolean(pv->a->init));
	json_object_object_add(o, "key_uri", json_object_new_string(pv->a->uri));
	json_object_object_add(o, "luks_uuid", json_object_new_string(pv->run.uuid));
	json_object_object_add(o, "profile", json_object_new_string(pv->pl.pr->name));
	json_object_object_add(o, "digest", json_object_new_string(hex));
	json_object_object_add(o, "cipher", json_object_new_string(pv->want.encryption));
	json_object_object_add(o, "integrity", json_object_new_string(pv->pl.integrity));
	json_object_object_add(o, "key_size", json_object_new_int(pv->pl.key_size));
	json_object_object_add(o, "sector_size", json_object_new_int(pv->pl.sector_size));
	json_object_object_add(o, "integrity_mode", json_object_new_string(pv->pl.journal));
	json_object_object_add(o, "header", json_object_new_string(pv->run.header));
	for (i = 0; i < (int)ARRAY_SIZE(step_names); i++)
		json_object_object_add(steps, step_names[i],
				       json_object_new_double(pv->run.t_step[i]));
	json_object_object_add(o, "seconds", steps);
	json_object_object_add(o, "total_seconds", json_object_new_double(total));
	json_print(o, false);
	json_object_put(o);
}

/* --init failed after writing: the disk goes back to blank, as it was */
static void pv_unwrite(struct pv *pv, int fd)
{
	static const uint8_t zero[64 * 1024];
	off_t off;

	for (off = 0; off < (off_t)PV_BLANK_BYTES; off += sizeof(zero))
		if (write_all(fd, zero, sizeof(zero), off))
			break;
	if (off < (off_t)PV_BLANK_BYTES || fdatasync(fd))
		err_msg("rollback: cannot zero the header area of %s again", shown(pv->a->device));
	else
		verbose("rollback: the first %llu MiB of %s are zeros again",
			PV_BLANK_BYTES / MIB, shown(pv->a->device));
}

static int pv_steps(struct pv *pv, uint8_t *digest, char *why, size_t cap)
{
	uint64_t dev_size;
	double t0 = now_s();
	int step = 0, r;

	r = pin_open(&pv->run.disk, pv->a->device, pv->a->init ? O_RDWR : O_RDONLY, true, why, cap);
	if (r)
		return pv_fail(pv, r == -ENOENT || r == -ENXIO || r == -ENODEV ? EXIT_NOENT :
		       r == -EACCES || r == -EPERM ? EXIT_PERM : EXIT_FAIL);
	if (pv_policy(pv, digest, why, cap))
		return -1;
	step_done(&pv->run, step++, "policy", &t0);
	r = pin_size(&pv->run.disk, &dev_size);
	if (r || dev_size < MIN_DEVICE_BYTES)
		return snprintf(why, cap, "--device %s: %s", shown(pv->a->device),
				r ? strerror(-r) : "too small (at least 16 MiB)"), pv_fail(pv, EXIT_FAIL);
	if (pv_check_disk(pv, dev_size, why, cap))
		return -1;
	test_run_at("checked");
	step_done(&pv->run, step++, "check", &t0);
	if (pv_fetch_key(pv, why, cap))
		return -1;
	step_done(&pv->run, step++, "key", &t0);
	/* from here the disk is device-mapper's too */
	pin_release_excl(&pv->run.disk);
	if (pv->a->init ? pv_format(pv, why, cap) :
	    pv_header_file(pv, pv->area, pv->found.metadata_len, why, cap))
		return pv_fail(pv, pv->exit_code ?: EXIT_FAIL);
	if (pv_load(pv, why, cap))
		return pv_fail(pv, EXIT_FAIL);
	step_done(&pv->run, step++, "header", &t0);
	if (pv_activate(pv, why, cap))
		return -1;
	step_done(&pv->run, step++, "activate", &t0);
	if (pv->a->init && pv_mkfs(pv, why, cap))
		return pv_fail(pv, EXIT_FAIL);
	step_done(&pv->run, step++, "mkfs", &t0);
	if (pv_mount(pv, why, cap))
		return pv_fail(pv, EXIT_FAIL);
	step_done(&pv->run, step++, "mount", &t0);
	return 0;
}

static int persistent_setup(int argc, char **argv)
{
	struct pv_args args = { 0 };
	struct pv pv = { 0 };
	struct dnl *ev = NULL;
	struct denies den = { 0 };
	uint8_t digest[DMSEAL_DIGEST_LEN] = { 0 };
	char why[1024] = "";
	double t_start = now_s();
	int r, keep = -1;

	pin_init(&pv.run.disk);
	pin_init(&pv.run.vol);
	pv.a = &args;
	r = pv_parse(argc, argv, &args, why, sizeof(why));
	if (r > 0)
		return EXIT_OK;
	if (r || pv_validate_args(&pv, why, sizeof(why))) {
		if (why[0])
			err_msg("%s", why);
		return EXIT_USAGE;
	}
	if (secret_harden(args.allow_unlocked))
		return EXIT_FAIL;
	pv.run.kind = "persistent";
	pv.run.name = args.name;
	pv.run.device = args.device;
	pv.run.mount_dir = args.dir;
	snprintf(pv.run.mapper, sizeof(pv.run.mapper), "/dev/mapper/%s", args.name);
	snprintf(pv.run.header, sizeof(pv.run.header), DMSEAL_RUN_DIR "/%s.hdr", args.name);
	crypt_set_log_callback(NULL, cs_log, &pv.run);
	if (path_exists(pv.run.mapper) || path_exists(pv.run.header) || dm_exists(args.name)) {
		err_msg("volume '%s' already exists (%s or %s); nothing changed", args.name,
			pv.run.mapper, pv.run.header);
		return EXIT_FAIL;
	}
	ev = dnl_open(true);
	if (pv_steps(&pv, digest, why, sizeof(why)) == 0) {
		pv_print(&pv, digest, now_s() - t_start);
		goto out;
	}
	err_msg("persistent setup of '%s' failed: %s", args.name, shown(why));
	if (ev)
		dnl_drain_events(ev, deny_cb, &den);
	if (pv.disk_written)
		keep = dup(pv.run.disk.fd);
	secret_free(&pv.key);
	if (pv.run.header_created || pv.run.cd || pv.run.activated || pv.run.mounted ||
	    pv.run.dir_created) {
		if (rollback(&pv.run))
			err_msg("rolled back: nothing of '%s' is left", args.name);
		else
			err_msg("rollback of '%s' incomplete: see above", args.name);
	}
	if (keep >= 0) {
		pv_unwrite(&pv, keep);
		close(keep);
	}
	r = den.n ? EXIT_DENIED : pv.exit_code ?: EXIT_FAIL;
	goto done;
out:
	r = EXIT_OK;
done:
	crypt_set_log_callback(NULL, NULL, NULL);
	if (pv.run.cd)
		crypt_free(pv.run.cd);
	secret_free(&pv.key);
	pin_close(&pv.run.vol);
	pin_close(&pv.run.disk);
	dnl_close(ev);
	if (pv.area) {
		explicit_bzero(pv.area, PV_BLANK_BYTES);
		free(pv.area);
	}
	free((void *)pv.pl.pr);
	return r;
}

int cmd_persistent(int argc, char **argv)
{
	if (argc < 2) {
		pv_usage(usage_err("persistent"));
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		pv_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "setup"))
		return persistent_setup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "teardown"))
		return volume_teardown(argc - 1, argv + 1, "persistent", pv_usage);
	err_msg("unknown persistent command '%s' (setup, teardown)", argv[1]);
	return EXIT_USAGE;
}
