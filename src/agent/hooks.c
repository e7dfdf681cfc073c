/* SPDX-License-Identifier: MIT */
/*
 * Payload hooks: the .livepatch.hooks.* arrays of a loaded payload, checked
 * once at upload and called when their moment comes.
 *
 * What the agent promises (docs/decisions.md, "Hooks"): hooks run on an
 * agent thread (control thread for load/unload, action thread for the
 * pre/post hooks) with every signal blocked, never inside the stop, one at a
 * time, with no agent lock held but the payload table's (load/unload) or
 * none (pre/post). A hook that crashes takes the process down: a SIGSEGV in
 * arbitrary code cannot be recovered safely (its locks, its half-written
 * state), so the agent does not try. Before each hook it writes one line to
 * stderr naming the hook, the payload and the address, so the journal or the
 * core (thread "xsplice-action") says which hook it was.
 *
 * Threading: no state of its own; callers hold what they say above.
 */
#include "hooks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static const char *const kind_names[XS_HOOK_KINDS] = { "load",      "unload",   "preapply",
							"postapply", "prerevert", "postrevert" };
static const char *const kind_sections[XS_HOOK_KINDS] = {
	LIVEPATCH_HOOKS_LOAD_SECTION,      LIVEPATCH_HOOKS_UNLOAD_SECTION,
	LIVEPATCH_HOOKS_PREAPPLY_SECTION,  LIVEPATCH_HOOKS_POSTAPPLY_SECTION,
	LIVEPATCH_HOOKS_PREREVERT_SECTION, LIVEPATCH_HOOKS_POSTREVERT_SECTION,
};

#define MAX_HOOKS 256 /* per kind: more is a malformed payload */

int xs_hooks_check_elf(const struct xs_elf *elf, struct xs_err *err)
{
	for (unsigned i = 1; i < elf->nsecs; i++) {
		const char *n = elf->secs[i].name;
		if (strncmp(n, ".livepatch.hooks.", 17) != 0)
			continue;
		bool known = false;
		for (int k = 0; k < XS_HOOK_KINDS; k++)
			known |= strcmp(n, kind_sections[k]) == 0;
		if (!known)
			return xs_fail(err, -ENOTSUP,
				       "section %s: not a hook this agent runs (load, unload, preapply, "
				       "postapply, prerevert, postrevert; Xen's apply/revert action "
				       "hooks are not supported)", n);
		if (!(elf->secs[i].sh->sh_flags & SHF_ALLOC))
			return xs_fail(err, -EINVAL, "section %s is not SHF_ALLOC: its hooks would "
				       "not be loaded", n);
	}
	return 0;
}

int xs_hooks_find(const struct xs_loaded *ld, const char *name, struct xs_hooks *hooks,
		  struct xs_err *err)
{
	memset(hooks, 0, sizeof(*hooks));
	hooks->self.name = name;
	hooks->self.funcs = ld->funcs;
	hooks->self.nfuncs = ld->nfuncs;
	for (int k = 0; k < XS_HOOK_KINDS; k++) {
		const struct xs_loaded_sec *s = xs_loaded_section(ld, kind_sections[k]);
		if (!s)
			continue;
		if (s->size == 0 || s->size % sizeof(uintptr_t) || (s->addr % sizeof(uintptr_t)))
			return xs_fail(err, -EINVAL,
				       "%s: %llu bytes, not an aligned array of 8-byte function pointers",
				       s->name, (unsigned long long)s->size);
		if (s->size / sizeof(uintptr_t) > MAX_HOOKS)
			return xs_fail(err, -E2BIG, "%s: %llu hooks, at most %d", s->name,
				       (unsigned long long)(s->size / sizeof(uintptr_t)), MAX_HOOKS);
		hooks->fn[k] = (const uintptr_t *)s->addr;
		hooks->n[k] = (unsigned)(s->size / sizeof(uintptr_t));
		for (unsigned i = 0; i < hooks->n[k]; i++) {
			uintptr_t f = hooks->fn[k][i];
			if (!xs_loaded_in_exec(ld, f, 1))
				return xs_fail(err, -EINVAL,
					       "%s: hook %u points at %#lx, which is not the payload's "
					       "code (hooks must be functions of the payload)",
					       s->name, i, (unsigned long)f);
		}
	}
	return 0;
}

void xs_hooks_describe(const struct xs_loaded *ld, const char *payload, uintptr_t addr,
		       char *out, size_t len)
{
	const struct xs_payload_symbol *s = xs_loaded_function_at(ld, addr);
	if (s && addr == s->addr)
		snprintf(out, len, "%s:%s", payload, s->name);
	else if (s)
		snprintf(out, len, "%s:%s+%#lx", payload, s->name, (unsigned long)(addr - s->addr));
	else
		snprintf(out, len, "%s:%#lx", payload, (unsigned long)addr);
}

int xs_hooks_run(const struct xs_loaded *ld, const struct xs_hooks *hooks, enum xs_hook_kind kind,
		 struct xs_err *err)
{
	const char *payload = hooks->self.name;
	for (unsigned i = 0; i < hooks->n[kind]; i++) {
		uintptr_t f = hooks->fn[kind][i];
		char who[160];
		xs_hooks_describe(ld, payload, f, who, sizeof(who));
		xs_agent_log("xsplice: pid %d: running %s hook %s (%#lx)\n", (int)getpid(),
			     kind_names[kind], who, (unsigned long)f);
		switch (kind) {
		case XS_HOOK_LOAD:
		case XS_HOOK_UNLOAD:
			((livepatch_loadcall_t *)f)();
			break;
		case XS_HOOK_POSTAPPLY:
		case XS_HOOK_POSTREVERT:
			((livepatch_postcall_t *)f)((livepatch_payload_t *)&hooks->self);
			break;
		case XS_HOOK_PREAPPLY:
		case XS_HOOK_PREREVERT: {
			int r = ((livepatch_precall_t *)f)((livepatch_payload_t *)&hooks->self);
			if (r) {
				/* Always ECANCELED: the hook's value is in the words
				 * (as an errno it would bring the wrong hints). */
				return xs_fail(err, -ECANCELED, "%s hook %s returned %d (%s vetoed): nothing "
					       "changed", kind_names[kind], who, r,
					       kind == XS_HOOK_PREAPPLY ? "apply" : "revert");
			}
			break;
		}
		default:
			break;
		}
	}
	return 0;
}
