/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the agent's whole UPLOAD path, as a client reaches
 * it: xs_payload_upload (signature trailer, ELF parse, notes, target
 * selection by build-id, load and link, .livepatch.funcs validation and
 * resolution against the target and the payloads below), then every
 * action's state check, then UNLOAD. Two payloads are loaded first, so an
 * input can stack on them and bind to their symbols: A against
 * libxt_target.so and S stacked on A (tests/unit/agent/xt_upload.h).
 *
 * Input: one mode byte, then a payload file. Mode bits 0-1 point its
 * .livepatch.depends at libxt_target.so (0), A (1), S (2), or leave it (3);
 * bit 2 gives it a fresh build-id (so that it is not refused as a copy).
 * Anything uploaded must be unloadable, anything refused must say why.
 */
#include "xt_upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xs_payload *g_a, *g_s;
static uint32_t g_serial;

static void setup(void)
{
	struct xs_err err = { "" };
	/* A call keeps libxt_target.so loaded (--as-needed). */
	volatile int keep = xt_old_func(1) + xt_other_func(1);
	(void)keep;
	if (xt_upload("A", 0xa1, NULL, &err) != 0 || !(g_a = xt_payload("A")) ||
	    xt_upload("S", 0x5a, g_a, &err) != 0 || !(g_s = xt_payload("S"))) {
		fprintf(stderr, "fuzz_upload setup: %s\n", err.msg);
		abort();
	}
}

/* Where the 20-byte descriptor of section sec's GNU note is, if it parses. */
static size_t desc_at(const uint8_t *img, size_t size, const char *sec)
{
	struct xs_elf elf;
	if (xs_elf_parse(&elf, img, size, XS_ELF_PAYLOAD, NULL) != 0)
		return 0;
	size_t off = xt_note_desc(&elf, sec);
	const struct xs_elf_sec *s = xs_elf_section_by_name(&elf, sec);
	if (!s || s->size < 16 + 20 || off + 20 > size)
		off = 0;
	xs_elf_free(&elf);
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_a)
		setup();
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size_t len = size - 1;
	uint8_t *img = malloc(len ? len : 1); /* 8-byte aligned, as the agent's copy */
	if (!img)
		return 0;
	memcpy(img, data + 1, len);
	size_t dep = desc_at(img, len, LIVEPATCH_DEPENDS_SECTION);
	if (dep && (mode & 3) != 3) {
		struct xs_object *t = xt_target_object();
		const uint8_t *id = (mode & 3) == 0 ? (t ? t->build_id : NULL)
				    : (mode & 3) == 1 ? g_a->ld.build_id : g_s->ld.build_id;
		if (id)
			memcpy(img + dep, id, 20);
	}
	size_t bid = desc_at(img, len, LIVEPATCH_BUILD_ID_SECTION);
	if (bid && (mode & 4)) {
		uint32_t n = ++g_serial;
		memset(img + bid, 0xf0, 20);
		memcpy(img + bid, &n, sizeof(n));
	}

	struct xs_err err = { "" };
	xs_payloads_lock();
	unsigned before = xs_payloads_count();
	int rc = xs_payload_upload("fuzz", img, len, &err);
	if (rc > 0 || (rc < 0 && !err.msg[0]))
		abort();
	if (getenv("FUZZ_UPLOAD_VERBOSE"))
		fprintf(stderr, "fuzz_upload: mode %u, %zu bytes: %s\n", mode, len,
			rc ? err.msg : "uploaded");
	if (rc == 0) {
		struct xs_payload *p = xs_payload_find("fuzz");
		if (!p || p->state != XS_STATE_CHECKED || xs_payloads_count() != before + 1)
			abort();
		/* Touch what INFO and a plan read. */
		volatile uintptr_t sum = 0;
		for (unsigned i = 0; i < p->nfuncs; i++)
			sum += p->funcs[i].old_addr + p->funcs[i].new_addr + strlen(p->funcs[i].name);
		(void)sum;
		static const uint32_t cmds[] = { XS_ACTION_APPLY, XS_ACTION_REPLACE, XS_ACTION_REVERT,
						 XS_ACTION_UNLOAD };
		for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			struct xs_err e2 = { "" };
			int r = xs_payload_check_action(p, cmds[i], &e2);
			if (r > 0 || (r < 0 && !e2.msg[0]))
				abort();
		}
		p->rc = 0;
		if (xs_payload_check_action(p, XS_ACTION_UNLOAD, &err) != 0)
			abort(); /* a fresh upload is always unloadable */
		xs_payload_unload(p);
	} else if (xs_payloads_count() != before) {
		abort(); /* a refusal keeps nothing */
	}
	xs_payloads_unlock();
	free(img);
	return 0;
}
