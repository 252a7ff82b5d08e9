// SPDX-License-Identifier: GPL-2.0-only
/*
 * Redirects: a kprobe on a function's entry that sends the call to a wrapper
 * with the same signature.
 *
 * A kprobe handler runs with preemption disabled; deciding on a table load
 * needs the device name (a sleeping lock), allocations and lookup_bdev. So
 * the handler only moves the instruction pointer to the wrapper, which then
 * runs as if the caller had called it, in the caller's process context. The
 * wrapper calls the original through its entry; a passing mark for this task
 * and this redirect lets exactly that call through the probe.
 *
 * On kprobes-on-ftrace, a changed instruction pointer is honoured only when
 * the probe has a post_handler (it is then armed with IPMODIFY), so every
 * redirect gets an empty one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "dmseal.h"

/* Taken from kprobe handlers: a raw lock, held for a list walk only. */
static DEFINE_RAW_SPINLOCK(passing_lock);
static LIST_HEAD(passing);

/* Wrappers between a redirect and their dmseal_redirect_done(). */
static atomic_t inflight = ATOMIC_INIT(0);

static bool dmseal_is_passing(const struct dmseal_redirect *r)
{
	const struct dmseal_passing *p;
	unsigned long flags;
	bool found = false;

	raw_spin_lock_irqsave(&passing_lock, flags);
	list_for_each_entry(p, &passing, node) {
		if (p->task == current && p->r == r) {
			found = true;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&passing_lock, flags);
	return found;
}

void dmseal_pass_begin(struct dmseal_passing *p, const struct dmseal_redirect *r)
{
	unsigned long flags;

	p->task = current;
	p->r = r;
	raw_spin_lock_irqsave(&passing_lock, flags);
	list_add(&p->node, &passing);
	raw_spin_unlock_irqrestore(&passing_lock, flags);
}

void dmseal_pass_end(struct dmseal_passing *p)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&passing_lock, flags);
	list_del(&p->node);
	raw_spin_unlock_irqrestore(&passing_lock, flags);
}

static int dmseal_redirect_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct dmseal_redirect *r = container_of(kp, struct dmseal_redirect, kp);

	if (dmseal_is_passing(r))
		return 0;
	/*
	 * The wrapper is our code: keep the module until it returns. Failing
	 * means the module is already going away, unsealed (sealing pins the
	 * module), and an absent dmseal enforces nothing either.
	 */
	if (!try_module_get(THIS_MODULE))
		return 0;
	atomic_inc(&inflight);
	instruction_pointer_set(regs, (unsigned long)r->wrapper);
	return 1;
}

static void dmseal_redirect_post(struct kprobe *kp, struct pt_regs *regs,
				 unsigned long flags)
{
}

void dmseal_redirect_done(void)
{
	atomic_dec(&inflight);
	module_put(THIS_MODULE);
}

/*
 * A failing module init frees our code whatever the module's refcount: wait
 * for the wrappers the probes sent before they were disarmed.
 */
void dmseal_redirect_quiesce(void)
{
	while (atomic_read(&inflight))
		usleep_range(1000, 2000);
}

/*
 * The probe may sit past the entry (after an IBT endbr64, at the fentry
 * call), but the original must be called at its entry: kallsyms tells the
 * offset of the probe inside its function.
 */
static int dmseal_redirect_entry(struct dmseal_redirect *r)
{
	char sym[KSYM_SYMBOL_LEN];
	unsigned long off, size;
	const char *name = strchr(r->symbol, ':');
	const char *plus;

	name = name ? name + 1 : r->symbol;
	sprint_symbol(sym, (unsigned long)r->kp.addr);
	plus = sym + strlen(name);
	if (strncmp(sym, name, strlen(name)) || *plus != '+' ||
	    sscanf(plus, "+%lx/%lx", &off, &size) != 2 || off >= size) {
		pr_err("cannot find the entry of %s (probe at %s)\n",
		       r->symbol, sym);
		return -ENOENT;
	}
	/* published before enable_kprobe(), whose text patching orders it */
	r->func = (unsigned long)r->kp.addr - off;
	return 0;
}

static int dmseal_redirect_register(struct dmseal_redirect *r,
				    const char *symbol)
{
	memset(&r->kp, 0, sizeof(r->kp));
	r->kp.symbol_name = symbol;
	/* armed only once the entry is known: a call must never find func 0 */
	r->kp.flags = KPROBE_FLAG_DISABLED;
	r->kp.pre_handler = dmseal_redirect_pre;
	r->kp.post_handler = dmseal_redirect_post;
	return register_kprobe(&r->kp);
}

int dmseal_redirect_arm(struct dmseal_redirect *r)
{
	const char *bare = strchr(r->symbol, ':');
	int ret;

	if (r->armed)
		return 0;
	ret = dmseal_redirect_register(r, r->symbol);
	/* "module:symbol" names no module when device-mapper is built in */
	if (ret && bare && IS_BUILTIN(CONFIG_BLK_DEV_DM))
		ret = dmseal_redirect_register(r, bare + 1);
	if (ret)
		return ret;
	ret = dmseal_redirect_entry(r);
	if (!ret)
		ret = enable_kprobe(&r->kp);
	if (ret) {
		unregister_kprobe(&r->kp);
		return ret;
	}
	r->armed = true;
	return 0;
}

void dmseal_redirect_disarm(struct dmseal_redirect *r)
{
	if (!r->armed)
		return;
	unregister_kprobe(&r->kp);
	r->armed = false;
}
