/* SPDX-License-Identifier: GPL-2.0-only */
/* The one LUKS2 header shape a persistent volume may have (luks2check.c). */
#ifndef DMSEALCTL_LUKS2CHECK_H
#define DMSEALCTL_LUKS2CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <json-c/json.h>

/* each binary header + JSON area: the smallest LUKS2 metadata size */
#define LUKS2_PV_HDR_SIZE	16384u
/* where data starts: header area, read once, whole */
#define LUKS2_PV_DATA_OFFSET	(1024u * 1024)
/* the LUKS2 volume-key digest's PBKDF2 cost; we write 1000 */
#define LUKS2_PV_MAX_ITERATIONS	10000u

struct luks2_expect {
	char encryption[64];	/* "aes-xts-plain64" */
	char integrity[32];	/* "hmac(sha256)", "" for none */
	uint32_t sector_size;
	uint64_t data_offset;
};

struct luks2_found {
	char uuid[40];
	uint64_t keyslots_size;
	uint64_t metadata_len;	/* both copies and the keyslot area */
};

/* buf: the first LUKS2_PV_DATA_OFFSET bytes of the disk */
int luks2_check(const uint8_t *buf, size_t len, const struct luks2_expect *e,
		struct luks2_found *f, char *why, size_t cap);
bool luks2_magic(const uint8_t *buf, size_t len);

#endif
