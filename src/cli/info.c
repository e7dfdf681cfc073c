/* SPDX-License-Identifier: MIT */
/*
 * xsplice info and build-id: what the agent says about the process's
 * objects and payloads, and the build-id of a file or a process.
 *
 * Threading: single-threaded; the ctx's one connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/buildid.h"
#include "cli/json.h"
#include "common/hex.h"

static void info_json(const struct xs_info *in)
{
	printf("{\"pid\":%" PRIu32 ",\"agent_version\":", in->pid);
	json_str(stdout, in->agent_version);
	printf(",\"park_signal\":%" PRIu32 ",\"last_action\":{\"pause_ns\":%" PRIu64
	       ",\"park_ns\":%" PRIu64 ",\"action_ns\":%" PRIu64 ",\"threads\":%" PRIu32
	       ",\"attempts\":%" PRIu32 "}", in->park_signal, in->last_pause_ns, in->last_park_ns,
	       in->last_action_ns, in->last_threads, in->last_attempts);
	printf(",\"objects\":[");
	for (uint32_t i = 0; i < in->nobjects; i++) {
		const struct xs_info_object *o = &in->objects[i];
		printf("%s{\"path\":", i ? "," : "");
		json_str(stdout, o->path);
		printf(",\"build_id\":");
		json_str(stdout, o->build_id);
		printf(",\"base\":\"0x%" PRIx64 "\"}", o->base);
	}
	printf("],\"payloads\":[");
	for (uint32_t i = 0; i < in->npayloads; i++) {
		const struct xs_info_payload *p = &in->payloads[i];
		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, p->name);
		json_status(p->state, p->rc, p->reason);
		printf(",\"build_id\":");
		json_str(stdout, p->build_id);
		printf(",\"depends\":");
		json_str(stdout, p->depends);
		printf(",\"target\":");
		json_str(stdout, p->target);
		printf(",\"description\":");
		json_str(stdout, p->description);
		printf(",\"version\":");
		json_str(stdout, p->version);
		printf(",\"load_addr\":\"0x%" PRIx64 "\",\"load_size\":%" PRIu64 ",\"funcs\":[",
		       p->load_addr, p->load_size);
		for (uint32_t j = 0; j < p->nfuncs; j++) {
			const struct xs_info_func *f = &p->funcs[j];
			printf("%s{\"name\":", j ? "," : "");
			json_str(stdout, f->name);
			printf(",\"old_addr\":\"0x%" PRIx64 "\",\"old_size\":%" PRIu32
			       ",\"new_addr\":\"0x%" PRIx64 "\",\"new_size\":%" PRIu32
			       ",\"applied\":%s,\"no_stack_check\":%s}",
			       f->old_addr, f->old_size, f->new_addr, f->new_size,
			       f->flags & XS_FUNC_APPLIED ? "true" : "false",
			       f->flags & XS_FUNC_NO_STACK_CHECK ? "true" : "false");
		}
		printf("]}");
	}
	printf("]");
	audit_json(in);
	printf("}\n");
}

static void info_text(const struct xs_info *in)
{
	printf("process %" PRIu32 ", agent %s, park signal %" PRIu32 "\n", in->pid,
	       in->agent_version[0] ? in->agent_version : "?", in->park_signal);
	if (in->last_threads)
		printf("last action: %" PRIu32 " threads parked, pause %.1f us (parking %.1f us), "
		       "%" PRIu32 " attempt(s), %.2f ms in all\n", in->last_threads,
		       in->last_pause_ns / 1e3, in->last_park_ns / 1e3, in->last_attempts,
		       in->last_action_ns / 1e6);
	printf("objects (%" PRIu32 "):\n", in->nobjects);
	for (uint32_t i = 0; i < in->nobjects; i++) {
		const struct xs_info_object *o = &in->objects[i];
		printf("  base 0x%016" PRIx64 "  build-id %-40s  %s\n", o->base,
		       o->build_id[0] ? o->build_id : "(none)", o->path[0] ? o->path : "(unnamed)");
	}
	printf("payloads (%" PRIu32 "):\n", in->npayloads);
	for (uint32_t i = 0; i < in->npayloads; i++) {
		const struct xs_info_payload *p = &in->payloads[i];
		printf("  %s: %s", p->name, xs_state_name(p->state));
		if (p->rc)
			printf(", rc %d (%s)%s%s", p->rc, errname(p->rc), p->reason[0] ? ": " : "",
			       p->reason);
		printf("\n    build-id: %s\n    depends:  %s\n    target:   %s\n",
		       p->build_id[0] ? p->build_id : "(none)", p->depends[0] ? p->depends : "(none)",
		       p->target[0] ? p->target : "(none)");
		if (p->description[0])
			printf("    description: %s\n", p->description);
		if (p->version[0])
			printf("    version:  %s\n", p->version);
		printf("    loaded at 0x%" PRIx64 " (%" PRIu64 " bytes), %" PRIu32 " function%s:\n",
		       p->load_addr, p->load_size, p->nfuncs, p->nfuncs == 1 ? "" : "s");
		for (uint32_t j = 0; j < p->nfuncs; j++) {
			const struct xs_info_func *f = &p->funcs[j];
			printf("      %s: old 0x%" PRIx64 " (%" PRIu32 " bytes) -> ", f->name[0] ? f->name : "?",
			       f->old_addr, f->old_size);
			if (f->new_addr)
				printf("new 0x%" PRIx64 " (%" PRIu32 " bytes)", f->new_addr, f->new_size);
			else
				printf("NOP (%" PRIu32 " bytes)", f->new_size);
			printf("%s%s\n", f->flags & XS_FUNC_APPLIED ? " [applied]" : "",
			       f->flags & XS_FUNC_NO_STACK_CHECK ? " [no stack check]" : "");
		}
	}
	audit_text(in);
}

int cmd_info(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	struct xs_info *in;
	int rc;

	(void)cmd, (void)argv, (void)argc;
	rc = xs_ctl_info(c->ctl, &in, &err);
	if (rc)
		return report(rc, &err, NULL, "info");
	if (c->json)
		info_json(in);
	else
		info_text(in);
	xs_info_free(in);
	return EXIT_OK;
}

int cmd_build_id(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	int rc;

	if (argc == 1) {
		uint8_t id[XS_BUILD_ID_MAX];
		char hex[2 * XS_BUILD_ID_MAX + 1];
		size_t n;
		rc = xs_file_build_id(argv[0], id, sizeof(id), &n, &err);
		/* A local file: missing is "not found", anything else a failure. */
		if (rc)
			return report(rc, &err, NULL, "build-id") == EXIT_NOTFOUND ? EXIT_NOTFOUND
										   : EXIT_FAIL;
		xs_hex_encode(id, n, hex);
		puts(hex);
		return EXIT_OK;
	}
	if (!c->pid && !c->socket)
		return usage_error(cmd, "build-id: give a FILE, or a process with -p PID");
	int ex = connect_target(c);
	if (ex)
		return ex;
	struct xs_info *in;
	rc = xs_ctl_info(c->ctl, &in, &err);
	if (rc)
		return report(rc, &err, NULL, "info");
	/* The main executable: the object /proc/PID/exe names, else the first. */
	const struct xs_info_object *main_obj = in->nobjects ? &in->objects[0] : NULL;
	char exe[PATH_MAX], link[64];
	snprintf(link, sizeof(link), "/proc/%" PRIu32 "/exe", in->pid);
	ssize_t k = readlink(link, exe, sizeof(exe) - 1);
	if (k > 0) {
		exe[k] = '\0';
		for (uint32_t i = 0; i < in->nobjects; i++)
			if (!strcmp(in->objects[i].path, exe))
				main_obj = &in->objects[i];
	}
	if (!main_obj || !main_obj->build_id[0]) {
		xs_info_free(in);
		xs_fail(&err, -ENODATA, "the process's executable has no build-id");
		return report(-ENODATA, &err, NULL, "build-id");
	}
	puts(main_obj->build_id);
	xs_info_free(in);
	return EXIT_OK;
}
