/* SPDX-License-Identifier: MIT */
/*
 * Compiler wrapper: xsplice-build installs symlinks named cc, gcc, ... to
 * itself first in PATH. Invoked under such a name (with XSPLICE_WRAP_DIR set)
 * it runs the real compiler of that name with our code-generation flags
 * appended (so they win over the project's), and after a successful `-c`
 * compile appends "object<TAB>source" to $XSPLICE_CC_LOG. This captures
 * compilations however the project's makefiles set CC and CFLAGS.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const cc_names[] = {
	"cc", "gcc", "c99", "c89", "x86_64-linux-gnu-gcc", "gcc-12", "gcc-13", "gcc-14",
	"x86_64-linux-gnu-gcc-12", "x86_64-linux-gnu-gcc-13", "x86_64-linux-gnu-gcc-14",
	"g++", "c++", "x86_64-linux-gnu-g++", "g++-12", "x86_64-linux-gnu-g++-12", "clang",
	"clang++",
	/* archivers: what goes into a static library (the link capture) */
	"ar", "x86_64-linux-gnu-ar", "gcc-ar", "x86_64-linux-gnu-gcc-ar", "gcc-ar-12",
	"x86_64-linux-gnu-gcc-ar-12",
};

bool xb_is_wrapper(const char *argv0)
{
	if (!getenv("XSPLICE_WRAP_DIR"))
		return false;
	const char *b = xb_base_name(argv0);
	for (size_t i = 0; i < sizeof(cc_names) / sizeof(cc_names[0]); i++)
		if (!strcmp(b, cc_names[i]))
			return true;
	return false;
}

int xb_install_wrapper(const char *dir, struct xs_err *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return xs_fail(err, -errno, "/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	int rc = xb_mkdir_p(dir, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(cc_names) / sizeof(cc_names[0]); i++) {
		char *l = xb_asprintf("%s/%s", dir, cc_names[i]);
		unlink(l);
		if (symlink(self, l) < 0) {
			rc = xs_fail(err, -errno, "%s: %s", l, strerror(errno));
			free(l);
			return rc;
		}
		free(l);
	}
	return 0;
}

/* The real compiler: the first `name` in PATH outside the wrapper dir. */
static char *find_real(const char *name, const char *wrapdir)
{
	const char *path = getenv("PATH");
	char rwrap[PATH_MAX];
	if (!realpath(wrapdir, rwrap))
		snprintf(rwrap, sizeof(rwrap), "%s", wrapdir);
	if (!path)
		return NULL;
	char *copy = xb_strdup(path), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char rd[PATH_MAX];
		if (!*d || (realpath(d, rd) && !strcmp(rd, rwrap)) || !strcmp(d, wrapdir))
			continue;
		char *c = xb_asprintf("%s/%s", d, name);
		if (!access(c, X_OK)) {
			free(copy);
			return c;
		}
		free(c);
	}
	free(copy);
	return NULL;
}

char *xb_find_in_path(const char *name)
{
	return find_real(name, "");
}

/* An input the compiler turns into an object. */
static bool is_source(const char *a)
{
	static const char *const ext[] = { ".c", ".cc", ".cpp", ".cxx", ".c++", ".C", ".S", ".s",
					   ".i", ".ii", NULL };
	return xb_has_extension(a, ext);
}

/* An input of a link: an object, an archive or a shared library. */
static bool is_link_input(const char *a)
{
	static const char *const ext[] = { ".o", ".a", ".lo", ".so", ".obj", NULL };
	return xb_has_extension(a, ext) || strstr(a, ".so.");
}

/* Options whose next argument is not an input file. */
static bool takes_arg(const char *a)
{
	static const char *const opts[] = { "-o", "-I", "-D", "-U", "-include", "-imacros",
					    "-isystem", "-iquote", "-idirafter", "-MF", "-MT",
					    "-MQ", "-x", "-L", "-l", "-Xlinker", "-Xassembler",
					    "-Xpreprocessor", "-aux-info", "-param", "--param",
					    "-T", "-u", "-z", "-e", "-isysroot", "-iprefix",
					    "-iwithprefix", "-iwithprefixbefore", "-imultilib",
					    "-B", "-wrapper" };
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(a, opts[i]))
			return true;
	return false;
}

/* Options that only the link step of a one-step build uses. */
static bool link_only(const char *a)
{
	static const char *const pre[] = { "-l", "-L", "-Wl,", "-Xlinker", "-T", "-u", "-z",
					   "-e", NULL };
	static const char *const exact[] = { "-shared", "-static", "-pie", "-no-pie", "-rdynamic",
					     "-s", "-static-libgcc", "-nostdlib", "-nostartfiles",
					     "-pthread-link", NULL };
	for (size_t i = 0; exact[i]; i++)
		if (!strcmp(a, exact[i]))
			return true;
	for (size_t i = 0; pre[i]; i++)
		if (!strncmp(a, pre[i], strlen(pre[i])))
			return true;
	return false;
}

static char *absolute(const char *cwd, const char *p)
{
	return p[0] == '/' ? xb_strdup(p) : xb_asprintf("%s/%s", cwd, p);
}

/* Append one line to log (one write: parallel makes append concurrently). */
static void log_line(const char *log, const char *line)
{
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		perror("xsplice-build wrapper: log");
	close(fd);
}

/* A growing string: log lines are built in one piece. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xb_realloc(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* What one compiler invocation does. */
struct invocation {
	int argc;
	char **argv;
	char cwd[PATH_MAX];
	bool compile;       /* -c */
	bool no_object;     /* -S, -E, -M/-MM alone, -fsyntax-only: nothing to capture */
	bool has_x;         /* -x LANG: inputs are not told by their names */
	const char *out;    /* -o */
	int *src;           /* indexes of source inputs */
	int nsrc;
	int *lin;           /* indexes of link inputs (objects, archives) */
	int nlin;
};

static void parse_invocation(struct invocation *iv, int argc, char **argv)
{
	memset(iv, 0, sizeof(*iv));
	iv->argc = argc;
	iv->argv = argv;
	if (!getcwd(iv->cwd, sizeof(iv->cwd)))
		iv->cwd[0] = '\0';
	iv->src = xb_calloc((size_t)argc + 1, sizeof(int));
	iv->lin = xb_calloc((size_t)argc + 1, sizeof(int));
	bool dep_only = false, has_md = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-c"))
			iv->compile = true;
		else if (!strcmp(a, "-S") || !strcmp(a, "-E") || !strcmp(a, "-fsyntax-only") ||
			 !strncmp(a, "-print-", 7) || !strncmp(a, "--print-", 8) ||
			 !strcmp(a, "-dumpversion") || !strcmp(a, "-dumpmachine") ||
			 !strcmp(a, "--version") || !strcmp(a, "-v"))
			iv->no_object = true;
		else if (!strcmp(a, "-M") || !strcmp(a, "-MM"))
			dep_only = true;
		else if (!strcmp(a, "-MD") || !strcmp(a, "-MMD"))
			has_md = true;
		if (!strcmp(a, "-o") && i + 1 < argc)
			iv->out = argv[i + 1];
		else if (!strncmp(a, "-o", 2) && a[2])
			iv->out = a + 2;
		if (!strcmp(a, "-x") || (!strncmp(a, "-x", 2) && a[2]))
			iv->has_x = true;
		if (takes_arg(a)) {
			i++;
			continue;
		}
		if (a[0] == '-' || a[0] == '@')
			continue;
		if (is_source(a))
			iv->src[iv->nsrc++] = i;
		else if (is_link_input(a))
			iv->lin[iv->nlin++] = i;
	}
	if (dep_only && !has_md)
		iv->no_object = true;
}

/* Add the tree's files named in a make-style dependency file ("obj: a.c
 * b.h \\\n c.h") to headers, as "\tpath" each. */
static void read_depfile(const char *path, struct sbuf *headers, const char *tree)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t tlen = tree ? strlen(tree) : 0;
	char tok[PATH_MAX];
	size_t n = 0;
	bool after_colon = false;
	int ch;
	do {
		ch = fgetc(f);
		if (ch == '\\') {
			int next = fgetc(f);
			if (next == '\n')
				continue; /* continuation */
			if (next == ' ' && n + 1 < sizeof(tok)) {
				tok[n++] = ' ';
				continue;
			}
			if (n + 1 < sizeof(tok))
				tok[n++] = '\\';
			ch = next;
		}
		if (ch != EOF && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
			if (n + 1 < sizeof(tok))
				tok[n++] = (char)ch;
			continue;
		}
		tok[n] = '\0';
		if (n && !after_colon && tok[n - 1] == ':') {
			after_colon = true;
		} else if (n && after_colon) {
			char rp[PATH_MAX];
			if (realpath(tok, rp) && (!tree || (!strncmp(rp, tree, tlen) && rp[tlen] == '/'))) {
				sb_add(headers, "\t");
				sb_add(headers, rp);
			}
		}
		if (ch == '\n')
			after_colon = false; /* a phony "h:" rule per header may follow */
		n = 0;
	} while (ch != EOF);
	fclose(f);
}

/* Run the real compiler with av. With headers set, the preprocessor lists
 * the files it read (SUNPRO_DEPENDENCIES: nothing changes in the command
 * line, the object or its debug info, unlike -H or -MD which GCC records in
 * DW_AT_producer); a compile that writes its own dependency file (-MD)
 * ignores the variable, so that file (projdep) is read instead.
 * SUNPRO_DEPENDENCIES, not DEPENDENCIES_OUTPUT: with the latter (user
 * headers only, like -MM) a missing <system> header is only a warning and
 * the compile succeeds, so configure's header checks (curl's
 * proto/bsdsocket.h; squid's NTLM helper checks) said "yes" and configured another program than the
 * one running. System headers in the list are dropped by read_depfile. */
static int run_real(char **av, struct sbuf *headers, const char *tree, const char *target,
		    const char *projdep)
{
	char *depfile = NULL;
	if (headers) {
		const char *tmp = getenv("TMPDIR");
		depfile = xb_asprintf("%s/xsplice-dep.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
		unlink(depfile);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("xsplice-build wrapper: fork");
		free(depfile);
		return 127;
	}
	if (pid == 0) {
		if (depfile) {
			char *spec = xb_asprintf("%s %s", depfile, target ? target : "obj");
			setenv("SUNPRO_DEPENDENCIES", spec, 1);
		}
		execv(av[0], av);
		fprintf(stderr, "xsplice-build wrapper: %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			free(depfile);
			return 127;
		}
	if (depfile) {
		if (!access(depfile, F_OK))
			read_depfile(depfile, headers, tree);
		else if (projdep)
			read_depfile(projdep, headers, tree);
		unlink(depfile);
		free(depfile);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The dependency file a compile writes itself (-MD/-MMD): -MF, else the
 * object's name with .d. NULL when it writes none. */
static char *project_depfile(const struct invocation *iv, const char *obj)
{
	bool md = false;
	const char *mf = NULL;
	for (int i = 1; i < iv->argc; i++) {
		const char *a = iv->argv[i];
		if (!strcmp(a, "-MD") || !strcmp(a, "-MMD"))
			md = true;
		else if (!strcmp(a, "-MF") && i + 1 < iv->argc)
			mf = iv->argv[++i];
		else if (!strncmp(a, "-MF", 3) && a[3])
			mf = a + 3;
		else if (!strncmp(a, "-Wp,-MD,", 8) || !strncmp(a, "-Wp,-MMD,", 9))
			return absolute(iv->cwd, strchr(a + 4, ',') + 1);
	}
	if (!md)
		return NULL;
	if (mf)
		return absolute(iv->cwd, mf);
	char *o = absolute(iv->cwd, obj), *dot = strrchr(o, '.');
	if (dot && !strchr(dot, '/'))
		*dot = '\0';
	char *d = xb_asprintf("%s.d", o);
	free(o);
	return d;
}

/* The tree being built: the left side of XSPLICE_PREFIX_MAP ("WORK/tree=DIR"). */
static char *tree_dir(void)
{
	const char *map = getenv("XSPLICE_PREFIX_MAP");
	if (!map || !*map)
		return NULL;
	char *t = xb_strdup(map), *eq = strchr(t, '=');
	if (eq)
		*eq = '\0';
	char rp[PATH_MAX];
	if (realpath(t, rp)) {
		free(t);
		return xb_strdup(rp);
	}
	return t;
}

/* Log a compile: "object<TAB>source" to the compile log, and
 * "object<TAB>source<TAB>header..." to the dependency log. */
static void log_compile(const char *log, const char *cwd, const char *obj, const char *src,
			const char *headers)
{
	char *o = absolute(cwd, obj), *s = absolute(cwd, src);
	char *line = xb_asprintf("%s\t%s\n", o, s);
	log_line(log, line);
	free(line);
	char *deplog = xb_asprintf("%s.deps", log);
	line = xb_asprintf("%s\t%s%s\n", o, s, headers ? headers : "");
	log_line(deplog, line);
	free(line);
	free(deplog);
	free(o);
	free(s);
}

/* The object a `-c` compile of src writes without -o: its base name, .o. */
static char *default_object(const char *src)
{
	char *b = xb_strdup(xb_base_name(src));
	char *dot = strrchr(b, '.');
	if (dot)
		*dot = '\0';
	char *o = xb_asprintf("%s.o", b);
	free(b);
	return o;
}

/* One record of the link log (LOG.links): b's fields, then the newline. */
static void log_link_record(const char *log, struct sbuf *b)
{
	sb_add(b, "\n");
	char *linklog = xb_asprintf("%s.links", log);
	log_line(linklog, b->s);
	free(linklog);
	free(b->s);
}

/* Log a link: "L<TAB>output<TAB>input..." (-L dirs as "-L<dir>", -l as
 * "-l<name>"; the reader resolves them) to the link log. */
static void log_link(const char *log, const struct invocation *iv, char **objs)
{
	struct sbuf b = { 0 };
	char *out = absolute(iv->cwd, iv->out ? iv->out : "a.out");
	sb_add(&b, "L\t");
	sb_add(&b, out);
	free(out);
	int k = 0;
	for (int i = 1; i < iv->argc; i++) {
		const char *a = iv->argv[i];
		char *v = NULL;
		if (k < iv->nsrc && iv->src[k] == i) {
			v = absolute(iv->cwd, objs[k++]);
		} else if (!strcmp(a, "-L") && i + 1 < iv->argc) {
			char *d = absolute(iv->cwd, iv->argv[++i]);
			v = xb_asprintf("-L%s", d);
			free(d);
		} else if (!strncmp(a, "-L", 2) && a[2]) {
			char *d = absolute(iv->cwd, a + 2);
			v = xb_asprintf("-L%s", d);
			free(d);
		} else if (!strncmp(a, "-l", 2) && a[2]) {
			v = xb_strdup(a);
		} else if (!strcmp(a, "-l") && i + 1 < iv->argc) {
			v = xb_asprintf("-l%s", iv->argv[++i]);
		} else if (takes_arg(a)) {
			i++;
		} else if (a[0] != '-' && is_link_input(a)) {
			v = absolute(iv->cwd, a);
		}
		if (v) {
			sb_add(&b, "\t");
			sb_add(&b, v);
			free(v);
		}
	}
	log_link_record(log, &b);
}

/* `cc -o prog a.c b.c`: compile each source on its own (-c, captured like
 * any compile) into an object next to the output, then link the objects
 * with the original arguments. GCC compiles each source separately anyway,
 * so the code is the same as the one-step build's. */
static int one_step(const struct invocation *iv, char *real, const char *const *extra,
		    size_t nextra, const char *log, const char *tree)
{
	char **objs = xb_calloc((size_t)iv->nsrc + 1, sizeof(*objs));
	const char *out = iv->out ? iv->out : "a.out";
	char *outdir = xb_strdup(out), *slash = strrchr(outdir, '/');
	if (slash)
		slash[1] = '\0';
	else
		outdir[0] = '\0';
	int code = 0;
	for (int k = 0; k < iv->nsrc && !code; k++) {
		const char *src = iv->argv[iv->src[k]];
		char *b = default_object(src);
		objs[k] = xb_asprintf("%s.xs-%s-%d-%s", outdir, xb_base_name(out), k, b);
		free(b);
		char **av = xb_calloc((size_t)iv->argc + nextra + 8, sizeof(*av));
		int n = 0;
		av[n++] = real;
		for (int i = 1; i < iv->argc; i++) {
			const char *a = iv->argv[i];
			bool is_input = false;
			for (int j = 0; j < iv->nsrc; j++)
				is_input |= iv->src[j] == i;
			for (int j = 0; j < iv->nlin; j++)
				is_input |= iv->lin[j] == i;
			if (is_input)
				continue;
			if (!strcmp(a, "-o")) {
				i++;
				continue;
			}
			if (!strncmp(a, "-o", 2) || link_only(a)) {
				if (takes_arg(a))
					i++;
				continue;
			}
			av[n++] = iv->argv[i];
			if (takes_arg(a) && i + 1 < iv->argc)
				av[n++] = iv->argv[++i];
		}
		for (size_t i = 0; i < nextra; i++)
			av[n++] = (char *)extra[i];
		av[n++] = "-c";
		av[n++] = (char *)src;
		av[n++] = "-o";
		av[n++] = objs[k];
		struct sbuf h = { 0 };
		sb_add(&h, "");
		code = run_real(av, &h, tree, objs[k], NULL);
		if (!code)
			log_compile(log, iv->cwd, objs[k], src, h.s);
		free(h.s);
		free(av);
	}
	if (!code) {
		char **av = xb_calloc((size_t)iv->argc + nextra + 2, sizeof(*av));
		int n = 0, k = 0;
		av[n++] = real;
		for (int i = 1; i < iv->argc; i++)
			av[n++] = k < iv->nsrc && iv->src[k] == i ? objs[k++] : iv->argv[i];
		for (size_t i = 0; i < nextra; i++)
			av[n++] = (char *)extra[i];
		code = run_real(av, NULL, NULL, NULL, NULL);
		if (!code)
			log_link(log, iv, objs);
		free(av);
	}
	for (int k = 0; k < iv->nsrc; k++)
		free(objs[k]);
	free(objs);
	free(outdir);
	return code;
}

/* ar: run the real one, then log "A<TAB>archive<TAB>member..." for an
 * operation that adds members (r, q). */
static int ar_main(int argc, char **argv, char *real)
{
	argv[0] = real;
	int code = run_real(argv, NULL, NULL, NULL, NULL);
	const char *log = getenv("XSPLICE_CC_LOG");
	if (code || !log || !*log)
		return code;
	int i = 1;
	while (i < argc && !strncmp(argv[i], "--", 2))
		i += strchr(argv[i], '=') || !strcmp(argv[i], "--thin") ? 1 : 2; /* --plugin X */
	if (i + 1 >= argc || !strpbrk(argv[i], "rq"))
		return 0;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return 0;
	struct sbuf b = { 0 };
	sb_add(&b, "A");
	for (int k = i + 1; k < argc; k++) {
		char *v = absolute(cwd, argv[k]);
		sb_add(&b, "\t");
		sb_add(&b, v);
		free(v);
	}
	log_link_record(log, &b);
	return 0;
}

/*
 * The compiler's flag for reaching external data through the GOT, or NULL.
 * A -fPIE unit reads external data PC-relative (the executable would hold a
 * copy relocation), but a payload's code lies where no 32-bit offset may
 * reach the data: libc's stderr when the program has no copy, a typeinfo of
 * libstdc++, anything when the payload is placed far. Through the GOT the
 * agent fills a slot with the address. The linker relaxes the GOT loads of
 * data the executable defines back to direct ones, so the running binary
 * built this way (--wrap) barely changes. Probed once per compiler, the
 * answer kept in the wrapper directory.
 */
const char *xb_indirect_extern_flag(const char *real, const char *wrapdir)
{
	static const char *const cand[] = { "-fno-direct-extern-access", /* GCC 13 */
					    "-mno-direct-extern-access", /* GCC 12, x86 */
					    "-fno-direct-access-external-data", /* clang */
					    NULL };
	unsigned long h = 5381;
	for (const char *c = real; *c; c++)
		h = h * 33 + (unsigned char)*c;
	char *cache = wrapdir && *wrapdir ? xb_asprintf("%s/.indirect-extern-%lx", wrapdir, h) : NULL;
	int k = -2;
	FILE *f = cache ? fopen(cache, "re") : NULL;
	if (f) {
		if (fscanf(f, "%d", &k) != 1 || k < -1 || k >= (int)(sizeof(cand) / sizeof(*cand)) - 1)
			k = -2;
		fclose(f);
	}
	bool probed = k == -2;
	for (int i = 0; k == -2; i++) {
		if (!cand[i]) {
			k = -1;
			break;
		}
		char *av[] = { (char *)real, (char *)cand[i], "-x", "c", "-c", "-o", "/dev/null",
			       "/dev/null", NULL };
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			probed = false; /* no answer: ask again next time */
			break;
		}
		if (pid == 0) {
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (nul >= 0) {
				dup2(nul, 1);
				dup2(nul, 2);
			}
			execv(real, av);
			_exit(127);
		}
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			k = i;
	}
	if (k == -2)
		k = -1;
	if (cache && probed) {
		/* Concurrent compiles may all probe; each writes the same answer. */
		char *tmp = xb_asprintf("%s.%d", cache, (int)getpid());
		FILE *w = fopen(tmp, "we");
		if (w) {
			fprintf(w, "%d\n", k);
			if (fclose(w) == 0)
				rename(tmp, cache);
		}
		unlink(tmp);
		free(tmp);
	}
	free(cache);
	return k >= 0 ? cand[k] : NULL;
}

int xb_wrapper_main(int argc, char **argv)
{
	const char *wrapdir = getenv("XSPLICE_WRAP_DIR");
	const char *name = xb_base_name(argv[0]);
	char *real = find_real(name, wrapdir);
	if (!real) {
		fprintf(stderr, "xsplice-build wrapper: no real %s in PATH\n", name);
		return 127;
	}
	size_t nl = strlen(name);
	if ((nl >= 2 && !strcmp(name + nl - 2, "ar")) || strstr(name, "-ar-")) {
		int code = ar_main(argc, argv, real);
		free(real);
		return code;
	}
	const char *extra[] = { "-ffunction-sections", "-fdata-sections", "-fno-common",
				"-fno-lto", NULL, NULL, NULL };
	size_t nextra = 4;
	const char *indirect = xb_indirect_extern_flag(real, wrapdir);
	if (indirect)
		extra[nextra++] = indirect;
	const char *map = getenv("XSPLICE_PREFIX_MAP");
	char *mapopt = NULL;
	if (map && *map) {
		mapopt = xb_asprintf("-ffile-prefix-map=%s", map);
		extra[nextra++] = mapopt;
	}
	const char *log = getenv("XSPLICE_CC_LOG");
	if (!log || !*log) {
		char **av = xb_calloc((size_t)argc + nextra + 2, sizeof(*av));
		int n = 0;
		av[n++] = real;
		for (int i = 1; i < argc; i++)
			av[n++] = argv[i];
		for (size_t i = 0; i < nextra; i++)
			av[n++] = (char *)extra[i];
		execv(real, av);
		fprintf(stderr, "xsplice-build wrapper: %s: %s\n", real, strerror(errno));
		return 127;
	}
	struct invocation iv;
	parse_invocation(&iv, argc, argv);
	char *tree = tree_dir();
	int code;
	if (!iv.compile && !iv.no_object && iv.nsrc && !iv.has_x) {
		code = one_step(&iv, real, extra, nextra, log, tree);
	} else {
		bool capture = iv.compile && !iv.no_object && iv.nsrc;
		char **av = xb_calloc((size_t)argc + nextra + 2, sizeof(*av));
		int n = 0;
		av[n++] = real;
		for (int i = 1; i < argc; i++)
			av[n++] = argv[i];
		for (size_t i = 0; i < nextra; i++)
			av[n++] = (char *)extra[i];
		struct sbuf h = { 0 };
		sb_add(&h, "");
		char *obj1 = capture && iv.nsrc == 1
				     ? (iv.out ? xb_strdup(iv.out) : default_object(argv[iv.src[0]]))
				     : NULL;
		char *projdep = obj1 ? project_depfile(&iv, obj1) : NULL;
		code = run_real(av, capture ? &h : NULL, tree, obj1, projdep);
		free(projdep);
		free(obj1);
		if (!code && capture) {
			for (int k = 0; k < iv.nsrc; k++) {
				const char *src = argv[iv.src[k]];
				char *obj = iv.out && iv.nsrc == 1 ? xb_strdup(iv.out) : default_object(src);
				log_compile(log, iv.cwd, obj, src, h.s);
				free(obj);
			}
		} else if (!code && !iv.compile && !iv.no_object && iv.nlin) {
			log_link(log, &iv, NULL);
		}
		free(h.s);
		free(av);
	}
	free(iv.src);
	free(iv.lin);
	free(tree);
	free(mapopt);
	free(real);
	return code;
}

struct log_read {
	struct xb_compile **out;
	size_t *n;
};

/* "OBJ\tSRC": the last compile of an object wins. */
static void log_read_line(char *line, void *arg)
{
	struct log_read *lr = arg;
	char *tab = strchr(line, '\t');
	if (!tab)
		return;
	*tab = '\0';
	size_t i;
	for (i = 0; i < *lr->n; i++)
		if (!strcmp((*lr->out)[i].obj, line))
			break;
	if (i == *lr->n) {
		*lr->out = xb_realloc(*lr->out, *lr->n + 1, sizeof(**lr->out));
		(*lr->out)[i].obj = xb_strdup(line);
		(*lr->out)[i].src = NULL;
		(*lr->n)++;
	}
	free((*lr->out)[i].src);
	(*lr->out)[i].src = xb_strdup(tab + 1);
}

int xb_read_log(const char *path, struct xb_compile **out, size_t *n, struct xs_err *err)
{
	*out = NULL;
	*n = 0;
	struct log_read lr = { out, n };
	return xb_each_line(path, log_read_line, &lr, err);
}

void xb_free_log(struct xb_compile *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].obj);
		free(c[i].src);
	}
	free(c);
}
