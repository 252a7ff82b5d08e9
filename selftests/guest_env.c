// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_env: is the test guest sound? Every other dmseal selftest assumes
 * what this one checks: the virtio disks exist, dm-crypt and dm-integrity
 * load, and a dm-crypt table keyed by a keyring "logon" key works end to end
 * (which proves the crypto API can request_module() xts/aes in the guest).
 *
 * SELFTEST_FAIL=1 in the environment adds a deliberate failure: the way to
 * check that a failing selftest fails `make check` (make check SELFTEST_FAIL=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/keyctl.h>

#include "kselftest_harness.h"

#define CRYPT_DEV	"/dev/vdb"
#define CRYPT_NAME	"dmseal-guest-env"
#define CRYPT_MAPPER	"/dev/mapper/" CRYPT_NAME
#define KEY_DESC	"dmseal-test:k1"
#define SECTORS		8192	/* 4 MiB of the 256 MiB disk */
#define BLK		4096

/* run: fork/exec argv, wait; returns the exit status or -1 */
static int run_opt(const char *const argv[], int quiet)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run(const char *const argv[])
{
	return run_opt(argv, 0);
}

static int rw_block(const char *path, off_t off, void *buf, int write)
{
	int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, BLK, off) : pread(fd, buf, BLK, off);
	if (write && n == BLK && fsync(fd))
		n = -1;
	close(fd);
	return n == BLK ? 0 : -EIO;
}

TEST(vda_exists)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/vda", &st));
	ASSERT_TRUE(S_ISBLK(st.st_mode));
	ASSERT_EQ(0, stat(CRYPT_DEV, &st));
}

TEST(modprobe_dm_crypt)
{
	const char *argv[] = { "modprobe", "dm_crypt", NULL };

	ASSERT_EQ(0, run(argv));
}

TEST(modprobe_dm_integrity)
{
	const char *argv[] = { "modprobe", "dm_integrity", NULL };

	ASSERT_EQ(0, run(argv));
}

/* A plain dm-crypt table keyed by a logon key: write, remove, reopen, read. */
TEST(crypt_logon_key_roundtrip)
{
	const char *table = "0 8192 crypt aes-xts-plain64 :64:logon:" KEY_DESC
			    " 0 " CRYPT_DEV " 0";
	const char *create[] = { "dmsetup", "create", CRYPT_NAME, "--table", table, NULL };
	const char *remove[] = { "dmsetup", "remove", CRYPT_NAME, NULL };
	unsigned char key[64], *pt, *ct, *back;
	long id;
	int i;

	ASSERT_EQ(0, posix_memalign((void **)&pt, BLK, BLK));
	ASSERT_EQ(0, posix_memalign((void **)&ct, BLK, BLK));
	ASSERT_EQ(0, posix_memalign((void **)&back, BLK, BLK));
	for (i = 0; i < 64; i++)
		key[i] = (unsigned char)(i * 7 + 1);
	for (i = 0; i < BLK; i++)
		pt[i] = (unsigned char)("dmseal"[i % 6]);

	/* A fresh session keyring, inherited by dmsetup (the table loader). */
	ASSERT_LE(0, syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
	id = syscall(SYS_add_key, "logon", KEY_DESC, key, sizeof(key),
		     KEY_SPEC_SESSION_KEYRING);
	ASSERT_LE(0, id) TH_LOG("add_key: %s", strerror(errno));

	run_opt(remove, 1);	/* leftovers of an earlier run */
	ASSERT_EQ(0, run(create));
	EXPECT_EQ(0, rw_block(CRYPT_MAPPER, 0, pt, 1));
	EXPECT_EQ(0, run(remove));

	/* the disk holds ciphertext, not the plaintext */
	ASSERT_EQ(0, rw_block(CRYPT_DEV, 0, ct, 0));
	EXPECT_NE(0, memcmp(ct, pt, BLK));

	/* reopened with the same key, the plaintext comes back */
	ASSERT_EQ(0, run(create));
	EXPECT_EQ(0, rw_block(CRYPT_MAPPER, 0, back, 0));
	EXPECT_EQ(0, memcmp(back, pt, BLK));
	EXPECT_EQ(0, run(remove));
	free(pt);
	free(ct);
	free(back);
}

/* Passes unless SELFTEST_FAIL=1: proves failures reach `make check`. */
TEST(selftest_fail_switch)
{
	const char *f = getenv("SELFTEST_FAIL");

	if (f && strcmp(f, "0"))
		TH_LOG("SELFTEST_FAIL=%s: failing on purpose", f);
	ASSERT_FALSE(f && strcmp(f, "0"));
}

TEST_HARNESS_MAIN
