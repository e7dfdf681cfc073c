/* SPDX-License-Identifier: MIT */
/*
 * xs_agent_deps (deps.h): DT_NEEDED of the agent and of what it needs, read
 * with libelf; each name is found where the agent's own DT_RUNPATH says
 * ($ORIGIN expanded), else where the system's loader finds it for this
 * command (dlopen RTLD_LAZY|RTLD_LOCAL, then the link map's name): that is
 * ld.so.cache and the default directories, without reimplementing them.
 *
 * Threading: no state; one caller thread.
 */
#include "deps.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NEEDED_MAX 16

/* Provided by the glibc package itself: present wherever libc.so.6 is. */
static bool in_glibc(const char *n)
{
	static const char *const names[] = {
		"libc.so.", "ld-linux", "libm.so.", "libdl.so.", "libpthread.so.", "librt.so.",
		"libresolv.so.", "libutil.so.", "libanl.so.", "libmvec.so.", "libBrokenLocale.so.",
		"libthread_db.so.", "libnss_", "libc_malloc_debug.so.", "linux-vdso",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(n, names[i], strlen(names[i])))
			return true;
	return false;
}

/* The DT_NEEDED names and the DT_RUNPATH (or DT_RPATH) of the file. */
static int read_dynamic(const char *path, char needed[][64], int *nneeded, char *runpath,
			size_t rlen, struct xs_err *err)
{
	*nneeded = 0;
	runpath[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xs_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		close(fd);
		return xs_fail(err, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
	}
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int rc = e ? 0 : xs_fail(err, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while (!rc && (scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t k = 0; d && k < count; k++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(d, (int)k, &dyn))
				continue;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
				continue;
			const char *s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_NEEDED) {
				if (*nneeded == NEEDED_MAX || strlen(s) >= 64) {
					rc = xs_fail(err, -E2BIG, "%s: too many or too long DT_NEEDED",
						     path);
					break;
				}
				snprintf(needed[(*nneeded)++], 64, "%s", s);
			} else if (!runpath[0] || dyn.d_tag == DT_RUNPATH) {
				snprintf(runpath, rlen, "%s", s);
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

/* Where the loader would find name for an object at from with runpath. */
static int locate(const char *name, const char *from, const char *runpath, char *out,
		  size_t len, struct xs_err *err)
{
	char origin[PATH_MAX];
	snprintf(origin, sizeof(origin), "%s", from);
	char *slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(origin, sizeof(origin), ".");
	char rp[PATH_MAX];
	snprintf(rp, sizeof(rp), "%s", runpath);
	for (char *save = NULL, *dir = strtok_r(rp, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		const char *rest = dir;
		char d[PATH_MAX];
		if (!strncmp(dir, "$ORIGIN", 7))
			rest = dir + 7, snprintf(d, sizeof(d), "%s%s", origin, rest);
		else if (!strncmp(dir, "${ORIGIN}", 9))
			rest = dir + 9, snprintf(d, sizeof(d), "%s%s", origin, rest);
		else
			snprintf(d, sizeof(d), "%s", dir);
		if (snprintf(out, len, "%s/%s", d, name) < (int)len && access(out, R_OK) == 0)
			return 0;
	}
	void *h = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	struct link_map *lm = NULL;
	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_name[0]) {
		const char *why = dlerror();
		if (h)
			dlclose(h);
		return xs_fail(err, -ENOENT, "the agent needs %s, which cannot be found here (%s)",
			       name, why ? why : "no path");
	}
	snprintf(out, len, "%s", lm->l_name);
	dlclose(h);
	return 0;
}

static int visit(const char *path, struct xs_dep *deps, int max, int *n, int depth,
		 struct xs_err *err)
{
	char needed[NEEDED_MAX][64], runpath[PATH_MAX];
	int nn;
	if (depth > 8)
		return xs_fail(err, -ELOOP, "the agent's dependencies nest too deeply");
	int rc = read_dynamic(path, needed, &nn, runpath, sizeof(runpath), err);
	for (int i = 0; !rc && i < nn; i++) {
		if (in_glibc(needed[i]))
			continue;
		bool seen = false;
		for (int k = 0; k < *n; k++)
			seen |= !strcmp(deps[k].soname, needed[i]);
		if (seen)
			continue;
		char where[PATH_MAX];
		if ((rc = locate(needed[i], path, runpath, where, sizeof(where), err)))
			break;
		/* What it needs comes first. */
		if ((rc = visit(where, deps, max, n, depth + 1, err)))
			break;
		if (*n == max)
			return xs_fail(err, -E2BIG, "the agent needs more than %d libraries besides "
				       "the C library", max);
		memcpy(deps[*n].soname, needed[i], sizeof(deps[*n].soname));
		snprintf(deps[*n].path, sizeof(deps[*n].path), "%s", where);
		(*n)++;
	}
	return rc;
}

int xs_agent_deps(const char *path, struct xs_dep *deps, int max, int *n, struct xs_err *err)
{
	*n = 0;
	return visit(path, deps, max, n, 0, err);
}
