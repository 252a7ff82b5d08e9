// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sealed policy: accepted once, immutable until reboot.
 *
 * Its digest is the SHA-256 of the canonical encoding exactly as loaded. If
 * the module was given dmseal.expected_digest (on the kernel command line,
 * which a CoCo guest measures), only the policy with that digest is accepted.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/kernel.h>
#include <crypto/sha2.h>

#include "dmseal.h"

static char *expected_digest;
module_param(expected_digest, charp, 0444);
MODULE_PARM_DESC(expected_digest,
		 "hex SHA-256 the sealed policy must have (fixed at boot, read-only)");

static u8 expected[DMSEAL_DIGEST_LEN];
static bool have_expected;

/* Serialises loads; readers use the published pointer without locks. */
static DEFINE_MUTEX(seal_lock);
static struct dmseal_sealed *sealed;

const struct dmseal_sealed *dmseal_sealed_get(void)
{
	/* Pairs with the release in dmseal_seal(): the policy is complete. */
	return smp_load_acquire(&sealed);
}

bool dmseal_expected_digest(u8 digest[DMSEAL_DIGEST_LEN])
{
	if (have_expected)
		memcpy(digest, expected, DMSEAL_DIGEST_LEN);
	return have_expected;
}

/* Profile @index of the sealed policy (pins and checks keep indices); or NULL. */
const struct dms_profile *dmseal_profile(int index)
{
	const struct dmseal_sealed *s = dmseal_sealed_get();

	if (!s || index < 0 || index >= s->policy.n_profiles)
		return NULL;
	return &s->policy.profiles[index];
}

static void dmseal_free(struct dmseal_sealed *s)
{
	if (!s)
		return;
	kvfree(s->blob);
	kvfree(s);
}

static int dmseal_check_digest(const struct dmseal_sealed *s,
			       struct netlink_ext_ack *extack)
{
	if (have_expected && memcmp(s->digest, expected, DMSEAL_DIGEST_LEN)) {
		NL_SET_ERR_MSG(extack,
			       "policy digest differs from dmseal.expected_digest fixed at boot");
		return -EPERM;
	}
	return 0;
}

#ifdef NL_SET_ERR_MSG_FMT
#define dmseal_set_reason(extack, why) NL_SET_ERR_MSG_FMT(extack, "%s", (why)->msg)
#else
/*
 * Before NL_SET_ERR_MSG_FMT, extack messages must outlive the request; keep
 * the last reason in a static buffer written under seal_lock. The ack copies
 * it after the lock is dropped, so two concurrent failing loads may each be
 * told the other's reason: both are refusals, and nothing is sealed.
 */
static char dmseal_last_reason[DMS_REASON_MAX];
static void dmseal_set_reason(struct netlink_ext_ack *extack,
			      const struct dms_reason *why)
{
	strscpy(dmseal_last_reason, why->msg, sizeof(dmseal_last_reason));
	if (extack)
		extack->_msg = dmseal_last_reason;
}
#endif

static struct dmseal_sealed *dmseal_parse(const u8 *blob, size_t len,
					  struct netlink_ext_ack *extack,
					  int *err)
{
	struct dmseal_sealed *s;
	struct dms_reason why = {};

	*err = -ENOMEM;
	s = kvzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->blob = kvmalloc(len, GFP_KERNEL);
	if (!s->blob)
		goto err;
	memcpy(s->blob, blob, len);
	s->len = len;

	*err = dms_policy_decode(s->blob, len, &s->policy, &why);
	if (*err) {
		dmseal_set_reason(extack, &why);
		goto err;
	}
	sha256(s->blob, len, s->digest);
	*err = dmseal_check_digest(s, extack);
	if (*err)
		goto err;
	return s;
err:
	dmseal_free(s);
	return NULL;
}

int dmseal_seal(const u8 *blob, size_t len, struct netlink_ext_ack *extack)
{
	struct dmseal_sealed *s = NULL;
	int ret = 0;

	mutex_lock(&seal_lock);
	if (sealed) {
		NL_SET_ERR_MSG(extack,
			       "a policy is already sealed; it cannot change until reboot");
		ret = -EBUSY;
		goto out;
	}
	s = dmseal_parse(blob, len, extack, &ret);
	if (!s)
		goto out;

	/*
	 * A sealed policy must outlive every volume it admitted: hold a
	 * reference on ourselves so the module cannot be unloaded any more.
	 */
	__module_get(THIS_MODULE);
	/* Readers see a fully built policy: pairs with dmseal_sealed_get(). */
	smp_store_release(&sealed, s);
	pr_info("policy sealed: %u profile(s), digest %*phN\n",
		s->policy.n_profiles, DMSEAL_DIGEST_LEN, s->digest);
out:
	mutex_unlock(&seal_lock);
	/* Committed: IMA and audit follow, and cannot undo it (attest.c). */
	if (!ret)
		dmseal_attest_seal(s);
	return ret;
}

int dmseal_seal_init(void)
{
	if (!expected_digest || !*expected_digest)
		return 0;
	if (strlen(expected_digest) != 2 * DMSEAL_DIGEST_LEN ||
	    hex2bin(expected, expected_digest, DMSEAL_DIGEST_LEN)) {
		pr_err("expected_digest must be %d hex characters\n",
		       2 * DMSEAL_DIGEST_LEN);
		return -EINVAL;
	}
	have_expected = true;
	pr_info("only the policy with digest %*phN will be accepted\n",
		DMSEAL_DIGEST_LEN, expected);
	return 0;
}

void dmseal_seal_exit(void)
{
	/* Only reachable unsealed, or by a forced unload. */
	dmseal_free(sealed);
	sealed = NULL;
}
