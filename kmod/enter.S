/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmseal_enter(a1, a2, a3, a4, a5, entry): continue into a redirected
 * function at @entry with the first five arguments as given, and return
 * what it returns.
 *
 * Not an indirect call: with IBT the kernel seals the ENDBR64 of functions
 * whose address is never taken, as dm_table_add_target()'s is, and an
 * indirect call there faults. A return is not an indirect branch, so the
 * entry is pushed and "returned to"; the caller's return address stays on
 * the stack, so the function returns straight to our caller.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

	.text
SYM_FUNC_START(dmseal_enter)
	push	%r9
	/* to the unwinder this is a function entry: @entry is the "caller" */
	UNWIND_HINT_FUNC
	RET
SYM_FUNC_END(dmseal_enter)
