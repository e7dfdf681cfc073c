/* SPDX-License-Identifier: MIT */
/*
 * A payload with every hook, on the model of Xen's prepost-hook and
 * action-hook test payloads: each hook writes "HOOK <kind> <TAG> <payload>"
 * to the target's stderr, and a pre hook vetoes when the file
 * $XSE2E_HOOK_DIR/veto-<kind>-<TAG> exists (returning 7 for preapply, -EBUSY
 * for prerevert). extra_version() becomes "Hooked <TAG>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xsplice/livepatch.h>

#ifndef TAG
#define TAG "a"
#endif

static void say(const char *kind, const livepatch_payload_t *p)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "HOOK %s %s %s\n", kind, TAG, p ? p->name : "-");
	if (n > 0 && write(2, line, (size_t)n) < 0)
		return;
}

static int vetoed(const char *kind)
{
	const char *dir = getenv("XSE2E_HOOK_DIR");
	char path[512];
	if (!dir)
		return 0;
	snprintf(path, sizeof(path), "%s/veto-%s-%s", dir, kind, TAG);
	return access(path, F_OK) == 0;
}

static void on_load(void) { say("load", NULL); }
static void on_unload(void) { say("unload", NULL); }

static int pre_apply(livepatch_payload_t *p)
{
	say("preapply", p);
	/* what Xen's test payloads check: the hook sees the payload's funcs */
	if (p->nfuncs != 1 || strcmp(p->funcs[0].name, "extra_version") != 0)
		return -EINVAL;
	return vetoed("preapply") ? 7 : 0;
}

static void post_apply(livepatch_payload_t *p) { say("postapply", p); }

static int pre_revert(livepatch_payload_t *p)
{
	say("prerevert", p);
	return vetoed("prerevert") ? -EBUSY : 0;
}

static void post_revert(livepatch_payload_t *p) { say("postrevert", p); }

LIVEPATCH_LOAD_HOOK(on_load);
LIVEPATCH_UNLOAD_HOOK(on_unload);
LIVEPATCH_PREAPPLY_HOOK(pre_apply);
LIVEPATCH_POSTAPPLY_HOOK(post_apply);
LIVEPATCH_PREREVERT_HOOK(pre_revert);
LIVEPATCH_POSTREVERT_HOOK(post_revert);
LIVEPATCH_MODINFO(description, "hook order test payload " TAG);
LIVEPATCH_MODINFO(version, "1." TAG);

static const char *hooked_world(void)
{
	return "Hooked " TAG;
}

static const char name[] = "extra_version";

struct livepatch_func livepatch_hooks LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name,
	.new_addr = hooked_world,
	.old_addr = (void *)OLD_ADDR_extra_version,
	.new_size = NEW_SIZE_hooked_world,
	.old_size = OLD_SIZE_extra_version,
};
