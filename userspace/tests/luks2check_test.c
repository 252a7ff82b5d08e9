// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host test helper for luks2check.c (run by tests/run.sh, no kernel needed):
 *   luks2check_test make FILE             a header as `persistent --init`
 *                                         writes it (aes-xts-plain64, no
 *                                         integrity: formatting dm-integrity
 *                                         needs a kernel)
 *   luks2check_test check FILE INTEGRITY SECTOR
 *                                         prints "ok" or the refusal reason
 * Headers are edited by selftests/luks2_edit, the same tool the guest uses.
 */
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../luks2check.h"

static int make(const char *file)
{
	struct crypt_pbkdf_type pbkdf = {
		.type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	struct crypt_params_luks2 params = { .sector_size = 4096 };
	struct crypt_device *cd;
	char key[64];
	int r, fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);

	memset(key, 0x5a, sizeof(key));
	if (fd < 0 || ftruncate(fd, 8 << 20))
		return 1;
	close(fd);
	r = crypt_init(&cd, file);
	if (!r)
		r = crypt_set_metadata_size(cd, LUKS2_PV_HDR_SIZE, 4096);
	if (!r)
		r = crypt_set_data_offset(cd, LUKS2_PV_DATA_OFFSET / 512);
	if (!r)
		r = crypt_set_pbkdf_type(cd, &pbkdf);
	if (!r)
		r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, key,
				 sizeof(key), &params);
	crypt_free(cd);
	if (r)
		fprintf(stderr, "make %s: %s\n", file, strerror(-r));
	return !!r;
}

static int check(const char *file, const char *integrity, const char *sector)
{
	struct luks2_expect e = { .data_offset = LUKS2_PV_DATA_OFFSET };
	struct luks2_found f;
	static uint8_t buf[LUKS2_PV_DATA_OFFSET];
	char why[512] = "";
	int fd = open(file, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	close(fd);
	strcpy(e.encryption, "aes-xts-plain64");
	snprintf(e.integrity, sizeof(e.integrity), "%s", integrity);
	e.sector_size = atoi(sector);
	if (luks2_check(buf, sizeof(buf), &e, &f, why, sizeof(why)))
		printf("%s\n", why);
	else
		printf("ok %s %llu\n", f.uuid, (unsigned long long)f.metadata_len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "make"))
		return make(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "check"))
		return check(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: luks2check_test make FILE | check FILE INTEGRITY SECTOR\n");
	return 2;
}
