/* SPDX-License-Identifier: MIT */
/* Harness for libcurl (libcurl.so.4 of the Debian source tree, openssl
 * flavour); modes:
 *   psl-mixed-case  CVE-2023-46218: a local HTTP server answers a GET of
 *                   http://curl.co.UK:PORT/ with two cookies, one for the
 *                   host and one with "domain=co.UK", a public suffix in
 *                   mixed case. Curl_cookie_add asks libpsl with the names
 *                   as received, and libpsl only knows lowercase suffixes:
 *                   unpatched the supercookie is "accepted", patched
 *                   "dropped" (the host cookie must be there either way).
 *   long-jar-name   CVE-2023-46219: the cookie jar is an existing file
 *                   whose name is 250 bytes long. Curl_fopen truncates it,
 *                   then fails to create "NAME.RANDOM.tmp" (longer than
 *                   NAME_MAX): unpatched the jar is "emptied", patched
 *                   (a temporary name of its own length) "written".
 * The load threads add a cookie through CURLOPT_COOKIELIST (Curl_cookie_add),
 * flush the jar to a short file name (Curl_fopen) and read it back. */
#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "harness.h"

__attribute__((constructor)) static void init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int server_fd = -1;

/* One connection: read the request head, answer with the two cookies. */
static void *serve_one(void *arg)
{
	(void)arg;
	int c = accept(server_fd, NULL, NULL);
	if (c < 0)
		return NULL;
	char req[4096];
	size_t got = 0;
	while (got < sizeof(req) - 1) {
		ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
				   "Set-Cookie: host=1; path=/\r\n"
				   "Set-Cookie: super=1; domain=co.UK; path=/\r\n"
				   "Content-Length: 2\r\n"
				   "Connection: close\r\n\r\nok";
	ssize_t w = write(c, resp, sizeof(resp) - 1);
	(void)w;
	close(c);
	return NULL;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void psl_mixed_case(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	server_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (server_fd < 0 || bind(server_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(server_fd, 1) || getsockname(server_fd, (struct sockaddr *)&a, &al)) {
		printf("no local server\n");
		return;
	}
	int port = ntohs(a.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, serve_one, NULL);
	char url[128], res[128];
	snprintf(url, sizeof(url), "http://curl.co.UK:%d/", port);
	snprintf(res, sizeof(res), "curl.co.UK:%d:127.0.0.1", port);
	struct curl_slist *resolve = curl_slist_append(NULL, res);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		printf("transfer failed: %s\n", curl_easy_strerror(rc));
		return;
	}
	struct curl_slist *cookies = NULL;
	curl_easy_getinfo(h, CURLINFO_COOKIELIST, &cookies);
	bool host = false, super = false;
	for (struct curl_slist *c = cookies; c; c = c->next) {
		host |= strstr(c->data, "\thost\t") != NULL;
		super |= strstr(c->data, "\tsuper\t") != NULL;
	}
	if (!host)
		printf("host cookie missing\n");
	else
		printf("%s\n", super ? "accepted" : "dropped");
}

static void long_jar_name(void)
{
	char dir[] = "/tmp/xs-curl-jar.XXXXXX";
	if (!mkdtemp(dir)) {
		printf("no temporary directory\n");
		return;
	}
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/", dir);
	memset(path + n, 'j', 250);
	path[n + 250] = '\0';
	FILE *f = fopen(path, "w");
	if (!f) {
		printf("cannot create the jar\n");
		return;
	}
	fputs("# Netscape HTTP Cookie File\nexample.com\tFALSE\t/\tFALSE\t0\told\t1\n", f);
	fclose(f);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(h, CURLOPT_COOKIEJAR, path);
	curl_easy_setopt(h, CURLOPT_COOKIELIST, "example.com\tFALSE\t/\tFALSE\t0\tnew\t2");
	curl_easy_setopt(h, CURLOPT_COOKIELIST, "FLUSH");
	struct stat st;
	char buf[1024] = "";
	f = fopen(path, "r");
	size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[len] = '\0';
	if (f)
		fclose(f);
	if (stat(path, &st))
		printf("jar gone\n");
	else if (st.st_size == 0)
		printf("emptied\n");
	else
		printf("%s\n", strstr(buf, "\tnew\t2") ? "written" : "other content");
	curl_easy_cleanup(h);
	unlink(path);
	rmdir(dir);
}

static void repro(const char *mode)
{
	if (!strcmp(mode, "psl-mixed-case"))
		psl_mixed_case();
	else if (!strcmp(mode, "long-jar-name"))
		long_jar_name();
	else
		printf("unknown mode %s\n", mode);
}

static bool load_once(void)
{
	static atomic_uint seq;
	unsigned k = atomic_fetch_add(&seq, 1);
	char jar[64], line[128], want[32];
	snprintf(jar, sizeof(jar), "/tmp/xs-curl-load.%d.%u", (int)getpid(), k);
	snprintf(line, sizeof(line), "Set-Cookie: n%u=v%u; domain=example.com; path=/", k, k);
	snprintf(want, sizeof(want), "\tn%u\tv%u", k, k);
	CURL *h = curl_easy_init();
	if (!h)
		return false;
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(h, CURLOPT_COOKIEJAR, jar);
	curl_easy_setopt(h, CURLOPT_COOKIELIST, line);
	struct curl_slist *cookies = NULL;
	curl_easy_getinfo(h, CURLINFO_COOKIELIST, &cookies);
	bool ok = cookies && !cookies->next && strstr(cookies->data, want);
	curl_slist_free_all(cookies);
	curl_easy_setopt(h, CURLOPT_COOKIELIST, "FLUSH");
	char buf[1024] = "";
	FILE *f = fopen(jar, "r");
	size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[len] = '\0';
	if (f)
		fclose(f);
	ok = ok && strstr(buf, want);
	curl_easy_cleanup(h); /* writes the jar once more */
	unlink(jar);
	return ok;
}
