// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the only place key material is made in this program, and
 * the hardening of the process before it is.
 *
 * The volume key is made here with getrandom(2), in its own anonymous
 * mapping that is mlock()ed (never swapped: the swap device would be the
 * host's disk; the whole process is locked too, see secret_harden()),
 * excluded from core dumps (MADV_DONTDUMP) and from a child's copy
 * (MADV_WIPEONFORK: mkfs is fork/exec'ed later), and explicit_bzero'ed
 * before it is unmapped. It is never printed, logged or written to a file.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "dmsealctl.h"

static bool may_be_unlocked;

/*
 * The volume key does not only live in our own buffer: libcryptsetup copies
 * it (its volume key structure, the dm-crypt table it builds, the keyring
 * payload), in memory we do not allocate. So before any key exists the
 * whole process is locked in RAM (MCL_FUTURE: what libcryptsetup allocates
 * later too; swap would be the host's disk) and made non-dumpable (no core
 * file, no ptrace attach, /proc/PID/mem closed to other users).
 */
int secret_harden(bool allow_unlocked)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		err_msg("cannot make the process non-dumpable: %s", strerror(errno));
		return -errno;
	}
	/*
	 * MCL_ONFAULT: a page is locked when it is first touched, not all at
	 * once now. Key material is written, so its pages are touched, so
	 * locked, before it is there; what is spared is faulting in every
	 * page of every library (about 0.2 s of an ephemeral setup under TCG).
	 */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) &&
	    (errno != EINVAL || mlockall(MCL_CURRENT | MCL_FUTURE))) {
		int e = errno;

		if (!allow_unlocked) {
			err_msg("cannot lock memory (mlockall: %s): key material could be swapped out; "
				"needs CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK "
				"(--allow-unlocked-memory goes on without it)", strerror(e));
			return -e;
		}
		warn_msg("cannot lock memory (mlockall: %s); going on because of --allow-unlocked-memory",
			strerror(e));
		may_be_unlocked = true;
	}
	return 0;
}

/*
 * A zeroed buffer for key material that arrives from elsewhere (a key
 * broker): the same locked, undumpable, wiped-on-fork mapping as a key we
 * make ourselves.
 */
int secret_alloc(struct secret *s, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	memset(s, 0, sizeof(*s));
	s->map_len = (len + pg - 1) / pg * pg;
	p = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->buf = p;
	s->len = len;
	if ((mlock(p, s->map_len) && !may_be_unlocked) ||
	    madvise(p, s->map_len, MADV_DONTDUMP)) {
		int e = -errno;

		secret_free(s);
		return e;
	}
	/* best effort: older kernels lack it, the page is locked anyway */
	(void)madvise(p, s->map_len, MADV_WIPEONFORK);
	return 0;
}

int secret_alloc_random(struct secret *s, size_t len)
{
	size_t got = 0;
	int err = secret_alloc(s, len);

	if (err)
		return err;
	while (got < len) {
		/* blocking getrandom: never a key from an unseeded pool */
		ssize_t r = getrandom(s->buf + got, len - got, 0);

		if (r < 0) {
			int e = -errno;

			if (errno == EINTR)
				continue;
			secret_free(s);
			return e;
		}
		got += r;
	}
	return 0;
}

void secret_free(struct secret *s)
{
	if (!s->buf)
		return;
	explicit_bzero(s->buf, s->map_len);
	munlock(s->buf, s->map_len);
	munmap(s->buf, s->map_len);
	s->buf = NULL;
	s->len = 0;
	s->map_len = 0;
}
