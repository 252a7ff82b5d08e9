// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hooks: every call of a device-mapper function goes to a dmseal wrapper.
 *
 * Deciding on a table load needs the device name (a sleeping lock),
 * allocations and calls into device-mapper, so dmseal does not decide in an
 * ftrace callback. The callback only moves the instruction pointer to a
 * wrapper with the function's own signature, which then runs as if the
 * caller had called it, in the caller's process context. The wrapper
 * continues into the original just past its ftrace call site, so that call
 * is not redirected again: no per-task marks, no recursion to tell apart.
 *
 * The ftrace_ops carry FTRACE_OPS_FL_PERMANENT. While one is registered,
 * "sysctl kernel.ftrace_enabled=0" fails with EBUSY instead of silently
 * switching every hook off, and ftrace refuses to register one while
 * function tracing is off. FTRACE_OPS_FL_IPMODIFY makes each hook the only
 * one that may redirect its function: a live patch or another redirecting
 * probe of the same function fails to register instead of racing dmseal.
 * This is what livepatch itself does (kernel/livepatch/patch.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/rcupdate.h>

#include "dmseal.h"

/* Wrappers between their redirect and their dmseal_hook_done(). */
static atomic_t inflight = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(inflight_wq);

static void notrace dmseal_hook_entry(unsigned long ip, unsigned long parent_ip,
				      struct ftrace_ops *ops,
				      struct ftrace_regs *fregs)
{
	struct dmseal_hook *h = container_of(ops, struct dmseal_hook, ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);

	/* SAVE_REGS guarantees regs; without them there is nothing to move */
	if (WARN_ON_ONCE(!regs))
		return;
	/* ip is the call site: the original continues right after it */
	WRITE_ONCE(h->resume, ip + MCOUNT_INSN_SIZE);
	atomic_inc(&inflight);
	instruction_pointer_set(regs, (unsigned long)h->wrapper);
}

/* The last thing every wrapper does. */
void dmseal_hook_done(void)
{
	if (atomic_dec_and_test(&inflight))
		wake_up_all(&inflight_wq);
}

/*
 * After every hook is disarmed (unregister_ftrace_function() waits for
 * callbacks and trampolines), wait for the wrappers already running, then
 * for every task to leave the few instructions of ours that follow their
 * dmseal_hook_done(): a task passes a quiescent state of RCU-tasks only by
 * a voluntary switch or in user space, never inside that tail.
 */
void dmseal_hooks_quiesce(void)
{
	wait_event(inflight_wq, !atomic_read(&inflight));
	synchronize_rcu_tasks();
}

/*
 * The address of "module:function" (the bare name when device-mapper is
 * built in). kallsyms_lookup_name() is not exported; registering a kprobe,
 * disabled so it never fires, resolves the same way and is undone at once.
 */
static unsigned long symbol_address(const char *symbol)
{
	const char *bare = strchr(symbol, ':');
	struct kprobe kp = {
		.symbol_name = symbol,
		.flags = KPROBE_FLAG_DISABLED,
	};
	unsigned long addr;
	int ret;

	ret = register_kprobe(&kp);
	if (ret == -ENOENT && bare) {
		memset(&kp, 0, sizeof(kp));
		kp.symbol_name = bare + 1;
		kp.flags = KPROBE_FLAG_DISABLED;
		ret = IS_BUILTIN(CONFIG_BLK_DEV_DM) ? register_kprobe(&kp) : -ENOENT;
	}
	if (ret)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

static int hook_filter(struct dmseal_hook *h, unsigned long addr)
{
	h->ops.func = dmseal_hook_entry;
	h->ops.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		       FTRACE_OPS_FL_PERMANENT;
	/* maps a function's start to its ftrace call site, past an endbr64 */
	return ftrace_set_filter_ip(&h->ops, addr, 0, 0);
}

static int hook_arm_at(struct dmseal_hook *h, unsigned long addr)
{
	int ret;

	memset(&h->ops, 0, sizeof(h->ops));
	ret = hook_filter(h, addr);
	if (ret) {
		pr_err("%s cannot be traced (%d)\n", h->symbol, ret);
		return ret;
	}
	ret = register_ftrace_function(&h->ops);
	if (ret) {
		if (ret == -EBUSY)
			pr_err("cannot hook %s: function tracing is off (kernel.ftrace_enabled=0) or another user redirects it\n",
			       h->symbol);
		else
			pr_err("cannot hook %s (%d)\n", h->symbol, ret);
		ftrace_free_filter(&h->ops);
		return ret;
	}
	h->armed = true;
	return 0;
}

/* -ENOENT: the function does not exist (its module is not loaded). */
int dmseal_hook_arm(struct dmseal_hook *h)
{
	unsigned long addr;

	if (h->armed)
		return 0;
	addr = symbol_address(h->symbol);
	if (!addr)
		return -ENOENT;
	return hook_arm_at(h, addr);
}

void dmseal_hook_disarm(struct dmseal_hook *h)
{
	if (!h->armed)
		return;
	unregister_ftrace_function(&h->ops);
	ftrace_free_filter(&h->ops);
	h->armed = false;
}

/* All of @hooks or none: a partly armed set would enforce half a rule. */
int dmseal_hooks_arm(struct dmseal_hook *const *hooks, int n)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = dmseal_hook_arm(hooks[i]);
		if (ret == -ENOENT && hooks[i]->optional)
			continue;
		if (ret) {
			if (ret == -ENOENT)
				pr_err("%s not found\n", hooks[i]->symbol);
			goto err;
		}
	}
	return 0;
err:
	while (--i >= 0)
		dmseal_hook_disarm(hooks[i]);
	return ret;
}

void dmseal_hooks_disarm(struct dmseal_hook *const *hooks, int n)
{
	while (--n >= 0)
		dmseal_hook_disarm(hooks[n]);
}

/* --- the canary: is the mechanism itself alive? ----------------------------- */

/*
 * A function of ours hooked exactly like the device-mapper functions: it
 * returns 0, its wrapper returns 1. Calling it proves, at that moment, that
 * ftrace still redirects calls to dmseal. A periodic check reports a change
 * as an event (and in the kernel log), whatever the cause.
 */
static noinline int dmseal_canary(void)
{
	barrier();
	return 0;
}

static int dmseal_canary_wrapper(void)
{
	dmseal_hook_done();
	return 1;
}

static struct dmseal_hook canary_hook = {
	.symbol = "dmseal:dmseal_canary",
	.wrapper = dmseal_canary_wrapper,
};

/* Through a pointer the compiler cannot see through: no inlined 0. */
static int canary_call(void)
{
	int (*fn)(void) = dmseal_canary;

	OPTIMIZER_HIDE_VAR(fn);
	return fn();
}

static bool canary_alive(void)
{
	return canary_hook.armed && canary_call() == 1;
}

#define DMSEAL_WATCH_INTERVAL	(5 * HZ)
static bool watch_state = true;
static void dmseal_watch(struct work_struct *work);
static DECLARE_DELAYED_WORK(watch_work, dmseal_watch);

static void dmseal_watch(struct work_struct *work)
{
	char what[96];
	bool now = dmseal_enforcing(what, sizeof(what));

	if (now != watch_state) {
		if (now)
			pr_warn("enforcement resumed: %s\n", what);
		else
			pr_crit("enforcement stopped: %s\n", what);
		dmseal_notify_enforcement(now, what);
		watch_state = now;
	}
	schedule_delayed_work(&watch_work, DMSEAL_WATCH_INTERVAL);
}

/*
 * Whether dmseal enforces right now, with what says so (or what broke) in
 * @what: the canary went through ftrace, and dm-crypt's hooks are armed
 * whenever dm_crypt is loaded.
 */
bool dmseal_enforcing(char *what, size_t len)
{
	if (!canary_alive()) {
		snprintf(what, len, "ftrace no longer redirects calls to dmseal");
		return false;
	}
	snprintf(what, len, "ftrace hooks live; dm_crypt: %s",
		 dmseal_crypt_hooks_state());
	return true;
}

int dmseal_canary_init(void)
{
	int ret = hook_arm_at(&canary_hook, (unsigned long)dmseal_canary);

	if (ret)
		return ret;
	if (canary_call() != 1) {
		pr_err("ftrace does not redirect calls on this kernel\n");
		dmseal_hook_disarm(&canary_hook);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Once dmseal is complete: from then on a change of state is reported. */
void dmseal_watch_start(void)
{
	schedule_delayed_work(&watch_work, DMSEAL_WATCH_INTERVAL);
}

/* Before the netlink family goes: the check sends events through it. */
void dmseal_watch_stop(void)
{
	cancel_delayed_work_sync(&watch_work);
}

void dmseal_canary_exit(void)
{
	dmseal_hook_disarm(&canary_hook);
}
