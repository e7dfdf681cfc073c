/* SPDX-License-Identifier: MIT */
/*
 * Deterministic mutation test: seeded random mutations of valid payloads
 * through parse + load. Nothing may crash; every error carries a reason.
 * usage: fuzz_mutate [iterations] [seed]
 */
#include <stdio.h>

#include "fuzz_target.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static const uint64_t interesting[] = {
	0, 1, 2, 4, 7, 8, 16, 24, 64, 0x7f, 0x80, 0xff, 0x100, 0x1000, 0x7fff, 0x8000, 0xffff,
	0xff00, 0xfff1, 0xfff2, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
	0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
};

static void mutate(uint8_t *b, size_t *size, const struct xs_elf *elf)
{
	unsigned n = 1 + (unsigned)(rnd() % 4);
	for (unsigned k = 0; k < n && *size; k++) {
		size_t off;
		uint64_t r = rnd() % 10;
		/* aim at the structures half of the time */
		if (r < 3 && elf->nsecs) {
			off = elf->ehdr->e_shoff + rnd() % ((size_t)elf->nsecs * sizeof(Elf64_Shdr));
		} else if (r < 4) {
			off = rnd() % sizeof(Elf64_Ehdr);
		} else if (r < 5 && elf->symtab_idx) {
			const Elf64_Shdr *sh = elf->secs[elf->symtab_idx].sh;
			off = sh->sh_offset + rnd() % (sh->sh_size ? sh->sh_size : 1);
		} else {
			off = rnd() % *size;
		}
		if (off >= *size)
			off = rnd() % *size;
		switch (rnd() % 6) {
		case 0:
			b[off] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			b[off] = (uint8_t)rnd();
			break;
		case 2:
		case 3: {
			unsigned w = 1u << (rnd() % 4);
			uint64_t v = interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))];
			if (rnd() % 3 == 0)
				v = *size + (rnd() % 16) - 8;
			if (off + w <= *size)
				memcpy(b + off, &v, w);
			break;
		}
		case 4:
			if (rnd() % 8 == 0)
				*size = rnd() % *size;
			break;
		default: {
			uint64_t v = rnd();
			unsigned w = 1u << (rnd() % 4);
			if (off + w <= *size)
				memcpy(b + off, &v, w);
			break;
		}
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5eed1234abcdull;
	const char *paths[2] = { PAYLOAD_BASIC, PAYLOAD_RELOCS };
	unsigned long ok = 0, failed = 0;
	rng_state = seed ? seed : 1;
	for (int p = 0; p < 2; p++) {
		size_t size;
		uint8_t *orig = xt_read_file(paths[p], &size);
		if (!orig) {
			fprintf(stderr, "cannot read %s\n", paths[p]);
			return 1;
		}
		struct xs_elf elf;
		if (xs_elf_parse(&elf, orig, size, XS_ELF_PAYLOAD, NULL) != 0) {
			fprintf(stderr, "%s does not parse\n", paths[p]);
			return 1;
		}
		uint8_t *b = malloc(size);
		for (unsigned long i = 0; i < iters / 2; i++) {
			size_t sz = size;
			memcpy(b, orig, size);
			mutate(b, &sz, &elf);
			if (fuzz_one(b, sz) == 0)
				ok++;
			else
				failed++;
		}
		free(b);
		xs_elf_free(&elf);
		free(orig);
	}
	xs_objects_free();
	printf("%lu mutations: %lu loaded, %lu refused with a reason, no crash\n", ok + failed, ok,
	       failed);
	return 0;
}
