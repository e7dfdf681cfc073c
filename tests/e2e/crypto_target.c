/* SPDX-License-Identifier: MIT */
/*
 * A service that uses the system's OpenSSL itself, to show that the
 * agent's signature verification leaves the program's libraries alone
 * (docs/security.md, "Keeping out of the program's OpenSSL"). Before it
 * serves, it takes pthread keys with values of its own (the keys a
 * second libc in a dlmopen namespace would hand out again). Each "info"
 * request on its socket, served by worker threads, computes SHA-256 and
 * HMAC-SHA-256 with its libcrypto and checks them against known answers,
 * checks its keys, and replies
 *
 *   xen_extra              : <extra_version()>
 *   crypto ok|FAIL <what> <openssl version>
 *
 * usage: crypto_target SOCKET
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>

#define NKEYS 8

__attribute__((noipa)) const char *extra_version(void)
{
	return "-unstable";
}

static int listen_fd;
static pthread_key_t keys[NKEYS];

static void hex(const unsigned char *b, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* NULL when all is well, else what went wrong. */
static const char *self_test(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char h[2 * EVP_MAX_MD_SIZE + 1];
	if (!EVP_Digest("abc", 3, md, &n, EVP_sha256(), NULL))
		return "EVP_Digest";
	hex(md, n, h);
	if (strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
		return "sha256";
	if (!HMAC(EVP_sha256(), "key", 3, (const unsigned char *)"The quick brown fox jumps over "
		  "the lazy dog", 43, md, &n))
		return "HMAC";
	hex(md, n, h);
	if (strcmp(h, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"))
		return "hmac-sha256";
	for (int i = 0; i < NKEYS; i++)
		if (pthread_getspecific(keys[i]) != (void *)(keys + i))
			return "pthread key";
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < NKEYS; i++)
		pthread_setspecific(keys[i], keys + i);
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		char req[64];
		ssize_t n = read(fd, req, sizeof(req) - 1);
		if (n > 0) {
			char out[256];
			const char *bad = self_test();
			snprintf(out, sizeof(out), "xen_extra              : %s\ncrypto %s%s %s\n",
				 extra_version(), bad ? "FAIL " : "ok", bad ? bad : "",
				 OpenSSL_version(OPENSSL_VERSION));
			ssize_t w = write(fd, out, strlen(out));
			(void)w;
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < NKEYS; i++)
		if (pthread_key_create(&keys[i], NULL) != 0)
			return 1;
	if (self_test() && strcmp(self_test(), "pthread key") != 0) {
		fprintf(stderr, "crypto self test failed at start: %s\n", self_test());
		return 1;
	}
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 64) < 0) {
		perror(argv[1]);
		return 1;
	}
	pthread_t t;
	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, worker, NULL);
	for (;;)
		pause();
}
