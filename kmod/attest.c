// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attestation and audit: where the tools look.
 *
 * IMA: once a policy is sealed, its canonical encoding is measured as IMA
 * critical data, the way SELinux measures its policy (security/selinux/ima.c):
 * label "dmseal", event name "dmseal-policy-hash", hash=true. The IMA log
 * then holds, in the buffer field of its ima-buf entry, the hash of the
 * canonical encoding in IMA's hash algorithm: with the default sha256 that
 * is the dmseal digest itself, never the policy. The measurement follows
 * the seal, which stands whatever IMA says: "not measured by policy"
 * (-ENOENT: IMA off, or no CRITICAL_DATA rule) is silent, the same entry
 * already in the log (-EEXIST) a note, any other error a warning. A
 * verifier that needs the measurement refuses a quote without it.
 *
 * Audit: every denial, and the seal, is an AUDIT_DM_CTRL record, the type
 * device-mapper's own dm-audit gives a target constructor's failure, with
 * its leading fields (module=, op=, the task, dev=major:minor, res=). Unlike
 * dm-audit, the record is not tied to the syscall's audit context: tied,
 * it would make audit emit SYSCALL and PROCTITLE records at syscall exit,
 * and the loader's command line (dmsetup with an inline hex key) would
 * reach the log through dmseal. The task fields say who it was. The
 * strings a table loader chooses (dm name, target type, and the reason,
 * which quotes parameters) are logged as audit_log_untrustedstring() would:
 * quoted if plain, hex otherwise; that helper is not exported, so it is
 * redone here. Never the key, never the table parameters as such.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/audit.h>
#include <linux/ima.h>
#include <linux/kdev_t.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dmseal.h"

#define DMSEAL_IMA_LABEL	"dmseal"
#define DMSEAL_IMA_EVENT	"dmseal-policy-hash"

/* --- IMA --------------------------------------------------------------------- */

static void dmseal_ima_measure(const struct dmseal_sealed *s)
{
	int ret;

	if (!IS_ENABLED(CONFIG_IMA))
		return;
	/* Same signature in 6.1 and 6.12: no compat wrapper needed. */
	ret = ima_measure_critical_data(DMSEAL_IMA_LABEL, DMSEAL_IMA_EVENT,
					s->blob, s->len, true, NULL, 0);
	if (!ret)
		pr_info("policy measured by IMA as critical data %s:%s\n",
			DMSEAL_IMA_LABEL, DMSEAL_IMA_EVENT);
	else if (ret == -EEXIST)	/* sealed again after a forced unload */
		pr_info("policy already in the IMA log (same entry)\n");
	else if (ret != -ENOENT)
		pr_warn_ratelimited("IMA did not measure the sealed policy (%d); the seal stands\n",
				    ret);
}

/* --- audit ------------------------------------------------------------------- */

static bool dmseal_audit_on(void)
{
	return IS_ENABLED(CONFIG_AUDIT) && audit_enabled != AUDIT_OFF;
}

/* Whether audit would hex-encode @s (audit_string_contains_control()). */
static bool dmseal_audit_needs_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c < 0x21 || c > 0x7e)
			return true;
	}
	return false;
}

/* " key=" then @s as audit_log_untrustedstring() logs it (or "?" if NULL). */
static void dmseal_audit_str(struct audit_buffer *ab, const char *key,
			     const char *s)
{
	size_t len, i;
	char *hex;

	if (!s) {
		audit_log_format(ab, " %s=?", key);
		return;
	}
	len = strlen(s);
	if (!dmseal_audit_needs_hex(s, len)) {
		audit_log_format(ab, " %s=\"%s\"", key, s);
		return;
	}
	hex = kmalloc(2 * len + 1, GFP_KERNEL);
	if (!hex) {
		audit_log_format(ab, " %s=?", key);
		return;
	}
	for (i = 0; i < len; i++) {
		hex[2 * i] = hex_asc_upper_hi(s[i]);
		hex[2 * i + 1] = hex_asc_upper_lo(s[i]);
	}
	hex[2 * len] = '\0';
	audit_log_format(ab, " %s=%s", key, hex);
	kfree(hex);
}

static struct audit_buffer *dmseal_audit_start(const char *op)
{
	struct audit_buffer *ab;

	if (!dmseal_audit_on())
		return NULL;
	/* No audit_context(): see the top of this file. */
	ab = audit_log_start(NULL, GFP_KERNEL, AUDIT_DM_CTRL);
	if (!ab)
		return NULL;
	audit_log_format(ab, "module=dmseal op=%s", op);
	audit_log_task_info(ab);
	return ab;
}

/*
 * One record per denial (audit has its own rate limit and backlog):
 *   module=dmseal op=dmseal-deny <task> dev=M:m name=.. target=.. start=N
 *   rule=.. profile=.. res=0
 */
void dmseal_audit_deny(const struct dmseal_target_info *info)
{
	struct audit_buffer *ab = dmseal_audit_start("dmseal-deny");

	if (!ab)
		return;
	audit_log_format(ab, " dev=%u:%u", MAJOR(info->devt), MINOR(info->devt));
	dmseal_audit_str(ab, "name", info->name && *info->name ? info->name : NULL);
	dmseal_audit_str(ab, "target", info->type);
	audit_log_format(ab, " start=%llu", (unsigned long long)info->start);
	dmseal_audit_str(ab, "rule", info->reason);
	dmseal_audit_str(ab, "profile", info->profile);
	audit_log_format(ab, " res=0");
	audit_log_end(ab);
}

/* --- the seal ------------------------------------------------------------------ */

/* After a policy is sealed (not under the seal lock; @s is immutable). */
void dmseal_attest_seal(const struct dmseal_sealed *s)
{
	struct audit_buffer *ab = dmseal_audit_start("dmseal-seal");

	if (ab) {
		audit_log_format(ab, " digest=%*phN profiles=%u res=1",
				 DMSEAL_DIGEST_LEN, s->digest,
				 s->policy.n_profiles);
		audit_log_end(ab);
	}
	dmseal_ima_measure(s);
}
