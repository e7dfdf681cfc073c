/* SPDX-License-Identifier: MIT */
/*
 * The GDB JIT interface (gdb manual, "JIT Compilation Interface"): gdb puts
 * a breakpoint on __jit_debug_register_code and reads
 * __jit_debug_descriptor's list of in-memory symbol files. One entry per
 * payload (registration cost grows with entries): a minimal ELF with one
 * SHT_NOBITS .text covering the payload's code at its run-time address and
 * a .symtab of its functions, so `bt` names payload functions.
 *
 * Threading: registration runs on the control thread with the payload table
 * locked; g_lock guards the descriptor anyway (the names are the ABI gdb
 * looks for, and another JIT in the process must not share them unlocked).
 */
#include "visibility.h"

#include <elf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jit_code_entry {
	struct jit_code_entry *next_entry;
	struct jit_code_entry *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};

struct jit_descriptor {
	uint32_t version;
	uint32_t action_flag; /* 0 none, 1 register, 2 unregister */
	struct jit_code_entry *relevant_entry;
	struct jit_code_entry *first_entry;
};

/* The names and layout gdb looks for; exported (visibility default) so a
 * stripped agent still has them in .dynsym. */
__attribute__((visibility("default"), noinline, used)) void __jit_debug_register_code(void);
__attribute__((visibility("default"), noinline, used)) void __jit_debug_register_code(void)
{
	__asm__ __volatile__("" ::: "memory");
}
__attribute__((visibility("default"), used)) struct jit_descriptor __jit_debug_descriptor = {
	1, 0, NULL, NULL
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* The symbol file: header, strings, .symtab, a copy of the payload's
 * relocated .eh_frame (so gdb unwinds through payload frames; at its
 * run-time address, where its PC-relative encodings hold), section table.
 * Sections: 1 .text (NOBITS), 2 .symtab, 3 .strtab, 4 .shstrtab,
 * 5 .eh_frame when the payload has one. */
static char *build_symfile(const struct xs_loaded *ld, const char *name, size_t *size)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < ld->nexec; i++) {
		if (ld->exec[i].lo < lo)
			lo = ld->exec[i].lo;
		if (ld->exec[i].hi > hi)
			hi = ld->exec[i].hi;
	}
	if (!ld->nexec || !ld->nfsyms)
		return NULL;
	const struct xs_loaded_sec *eh = xs_loaded_section(ld, ".eh_frame");
	size_t ehsz = eh ? eh->size + 8 : 0; /* with the terminator load.c leaves */
	static const char shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab\0.eh_frame";
	unsigned nsh = eh ? 6 : 5;
	size_t strsz = 1 + strlen(name) + 1;
	for (unsigned i = 0; i < ld->nfsyms; i++)
		strsz += strlen(ld->fsyms[i].name) + 1;
	size_t nsyms = 2 + ld->nfsyms; /* null, STT_FILE, functions */
	size_t off_str = sizeof(Elf64_Ehdr);
	size_t off_shstr = off_str + strsz;
	size_t off_sym = (off_shstr + sizeof(shstr) + 7) & ~(size_t)7;
	size_t off_eh = off_sym + nsyms * sizeof(Elf64_Sym);
	size_t off_sh = (off_eh + ehsz + 7) & ~(size_t)7;
	size_t total = off_sh + nsh * sizeof(Elf64_Shdr);
	char *img = calloc(1, total);
	if (!img)
		return NULL;
	Elf64_Ehdr *ehdr = (Elf64_Ehdr *)img;
	memcpy(ehdr->e_ident, ELFMAG, SELFMAG);
	ehdr->e_ident[EI_CLASS] = ELFCLASS64;
	ehdr->e_ident[EI_DATA] = ELFDATA2LSB;
	ehdr->e_ident[EI_VERSION] = EV_CURRENT;
	ehdr->e_type = ET_EXEC; /* absolute addresses: gdb relocates nothing */
	ehdr->e_machine = EM_X86_64;
	ehdr->e_version = EV_CURRENT;
	ehdr->e_ehsize = sizeof(Elf64_Ehdr);
	ehdr->e_shentsize = sizeof(Elf64_Shdr);
	ehdr->e_shnum = (uint16_t)nsh;
	ehdr->e_shstrndx = 4;
	ehdr->e_shoff = off_sh;
	char *str = img + off_str;
	size_t sp = 1;
	Elf64_Sym *sym = (Elf64_Sym *)(img + off_sym);
	memcpy(str + sp, name, strlen(name) + 1);
	sym[1] = (Elf64_Sym){ .st_name = (uint32_t)sp, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FILE),
			      .st_shndx = SHN_ABS };
	sp += strlen(name) + 1;
	for (unsigned i = 0; i < ld->nfsyms; i++) {
		const struct xs_payload_symbol *f = &ld->fsyms[i];
		size_t l = strlen(f->name) + 1;
		memcpy(str + sp, f->name, l);
		sym[2 + i] = (Elf64_Sym){ .st_name = (uint32_t)sp,
					  .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
					  .st_shndx = 1,
					  .st_value = f->addr,
					  .st_size = f->size };
		sp += l;
	}
	memcpy(img + off_shstr, shstr, sizeof(shstr));
	if (eh)
		memcpy(img + off_eh, (const void *)eh->addr, eh->size);
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + off_sh);
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_NOBITS, .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
			      .sh_addr = lo, .sh_size = hi - lo, .sh_addralign = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_SYMTAB, .sh_offset = off_sym,
			      .sh_size = nsyms * sizeof(Elf64_Sym), .sh_link = 3, .sh_info = 2,
			      .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym) };
	sh[3] = (Elf64_Shdr){ .sh_name = 15, .sh_type = SHT_STRTAB, .sh_offset = off_str,
			      .sh_size = strsz, .sh_addralign = 1 };
	sh[4] = (Elf64_Shdr){ .sh_name = 23, .sh_type = SHT_STRTAB, .sh_offset = off_shstr,
			      .sh_size = sizeof(shstr), .sh_addralign = 1 };
	if (eh)
		sh[5] = (Elf64_Shdr){ .sh_name = 33, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
				      .sh_addr = eh->addr, .sh_offset = off_eh, .sh_size = ehsz,
				      .sh_addralign = 8 };
	*size = total;
	return img;
}

void *xs_jit_gdb_register(const struct xs_loaded *ld, const char *name)
{
	size_t size = 0;
	char *img = build_symfile(ld, name, &size);
	struct jit_code_entry *e = img ? calloc(1, sizeof(*e)) : NULL;
	if (!e) {
		free(img);
		return NULL;
	}
	e->symfile_addr = img;
	e->symfile_size = size;
	pthread_mutex_lock(&g_lock);
	e->next_entry = __jit_debug_descriptor.first_entry;
	if (e->next_entry)
		e->next_entry->prev_entry = e;
	__jit_debug_descriptor.first_entry = e;
	__jit_debug_descriptor.relevant_entry = e;
	__jit_debug_descriptor.action_flag = 1;
	__jit_debug_register_code();
	__jit_debug_descriptor.action_flag = 0;
	pthread_mutex_unlock(&g_lock);
	return e;
}

void xs_jit_gdb_unregister(void *entry)
{
	struct jit_code_entry *e = entry;
	if (!e)
		return;
	pthread_mutex_lock(&g_lock);
	if (e->prev_entry)
		e->prev_entry->next_entry = e->next_entry;
	else
		__jit_debug_descriptor.first_entry = e->next_entry;
	if (e->next_entry)
		e->next_entry->prev_entry = e->prev_entry;
	__jit_debug_descriptor.relevant_entry = e;
	__jit_debug_descriptor.action_flag = 2;
	__jit_debug_register_code();
	__jit_debug_descriptor.action_flag = 0;
	__jit_debug_descriptor.relevant_entry = NULL;
	pthread_mutex_unlock(&g_lock);
	free((void *)e->symfile_addr);
	free(e);
}
