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
	"g++", "c++", "x86_64-linux-gnu-g++", "clang", "clang++",
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

/* An input the compiler turns into an object. */
static bool is_source(const char *a)
{
	static const char *const ext[] = { ".c", ".cc", ".cpp", ".cxx", ".C", ".S", ".s", ".i", NULL };
	return xb_has_extension(a, ext);
}

/* Options whose next argument is not an input file. */
static bool takes_arg(const char *a)
{
	static const char *const opts[] = { "-o", "-I", "-D", "-U", "-include", "-imacros",
					    "-isystem", "-iquote", "-idirafter", "-MF", "-MT",
					    "-MQ", "-x", "-L", "-l", "-Xlinker", "-Xassembler",
					    "-Xpreprocessor", "-aux-info", "-param", "--param",
					    "-T", "-u", "-z", "-e" };
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(a, opts[i]))
			return true;
	return false;
}

static void log_compile(const char *log, int argc, char **argv)
{
	bool compile = false;
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c"))
			compile = true;
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[i + 1];
		else if (!strncmp(argv[i], "-o", 2) && argv[i][2])
			out = argv[i] + 2;
	}
	if (!compile)
		return;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return;
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	for (int i = 1; i < argc; i++) {
		if (takes_arg(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' || !is_source(argv[i]))
			continue;
		char *obj;
		if (out) {
			obj = out[0] == '/' ? xb_strdup(out) : xb_asprintf("%s/%s", cwd, out);
		} else {
			char *b = xb_strdup(xb_base_name(argv[i]));
			char *dot = strrchr(b, '.');
			*dot = '\0';
			obj = xb_asprintf("%s/%s.o", cwd, b);
			free(b);
		}
		char *src = argv[i][0] == '/' ? xb_strdup(argv[i]) : xb_asprintf("%s/%s", cwd, argv[i]);
		char *line = xb_asprintf("%s\t%s\n", obj, src);
		/* One write per line: parallel makes append concurrently. */
		if (write(fd, line, strlen(line)) < 0)
			perror("xsplice-build wrapper: log");
		free(line);
		free(obj);
		free(src);
	}
	close(fd);
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
	const char *extra[] = { "-ffunction-sections", "-fdata-sections", "-fno-common",
				"-fno-lto" };
	const size_t nextra = sizeof(extra) / sizeof(extra[0]);
	const char *map = getenv("XSPLICE_PREFIX_MAP");
	char **av = xb_calloc((size_t)argc + nextra + 2, sizeof(*av));
	int n = 0;
	av[n++] = real;
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	for (size_t i = 0; i < nextra; i++)
		av[n++] = (char *)extra[i];
	char *mapopt = NULL;
	if (map && *map) {
		mapopt = xb_asprintf("-ffile-prefix-map=%s", map);
		av[n++] = mapopt;
	}
	av[n] = NULL;
	const char *log = getenv("XSPLICE_CC_LOG");
	if (!log || !*log) {
		execv(real, av);
		fprintf(stderr, "xsplice-build wrapper: %s: %s\n", real, strerror(errno));
		return 127;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("xsplice-build wrapper: fork");
		return 127;
	}
	if (pid == 0) {
		execv(real, av);
		fprintf(stderr, "xsplice-build wrapper: %s: %s\n", real, strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (code == 0)
		log_compile(log, argc, argv);
	free(mapopt);
	free(real);
	free(av);
	return code;
}

int xb_read_log(const char *path, struct xb_compile **out, size_t *n, struct xs_err *err)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		size_t i;
		for (i = 0; i < *n; i++)
			if (!strcmp((*out)[i].obj, line))
				break;
		if (i == *n) {
			*out = xb_realloc(*out, *n + 1, sizeof(**out));
			(*out)[i].obj = xb_strdup(line);
			(*out)[i].src = NULL;
			(*n)++;
		}
		free((*out)[i].src);
		(*out)[i].src = xb_strdup(tab + 1);
	}
	free(line);
	fclose(f);
	return 0;
}

void xb_free_log(struct xb_compile *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].obj);
		free(c[i].src);
	}
	free(c);
}
