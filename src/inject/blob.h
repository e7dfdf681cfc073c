/* SPDX-License-Identifier: MIT */
/*
 * The layout of the two pages the attach maps in the target (shared by
 * blob.S, the code, and inject.c, which fills the data): page 0 holds the
 * code (read+execute), page 1 the data (read+write). blob.S addresses the
 * data page relative to its own code, so the code runs wherever it is
 * mapped.
 *
 * Threading: none; constants only.
 */
#ifndef XS_INJECT_BLOB_H
#define XS_INJECT_BLOB_H

#define XS_BLOB_PAGE 4096
#define XS_BLOB_SIZE (2 * XS_BLOB_PAGE)

/* Offsets in the data page. */
#define XSD_THREAD 0     /* pthread_t of the loader thread */
#define XSD_CREATE_RC 8  /* int: pthread_create's result */
#define XSD_DONE 12      /* int: 1 when the loader thread's dlopen returned */
#define XSD_HANDLE 16    /* void *: dlopen's result */
#define XSD_NLIB 24      /* int: entries in XSD_LIBS, the agent last */
#define XSD_FAILED 28    /* int: the entry whose dlopen failed, -1 if none, -2 if
			  * the loader gave up waiting for GO (or was told to) */
#define XSD_DLOPEN 32    /* function pointers, addresses in the target */
#define XSD_DLERROR 40
#define XSD_DETACH 48
#define XSD_SELF 56
#define XSD_CREATE 64
#define XSD_ERRNO 72
#define XSD_READY 80     /* int: 1 when the loader made the memfds (fds in XSD_LIBS) */
#define XSD_GO 84        /* int, set by the command: 1 the memfds are filled, dlopen
			  * them; 2 give up (close them and end) */
#define XSD_NAP 88       /* struct timespec: the loader's wait for GO, between looks */
#define XSD_NAPS_MAX 104 /* int: looks at GO before giving up by itself */
#define XSD_NAME 192     /* the mapping's name */
#define XSD_ERRMSG 256   /* dlerror()'s text when dlopen failed */
#define XSD_ERRMSG_MAX 512
/* The objects to dlopen in order (the agent's dependencies carried into
 * the target, then the agent), each from its memfd (made by the loader,
 * filled by the command, closed by the loader after the last dlopen): */
#define XSD_LIBS 768
#define XSD_LIB_SIZE 64
#define XSD_LIB_FD 0     /*   int: the memfd (-errno if memfd_create failed) */
#define XSD_LIB_PATH 4   /*   "/proc/self/fd/N" */
#define XSD_LIB_NAME 32  /*   the memfd's name */
#define XSD_LIBS_MAX 8
#define XSD_SIZE (XSD_LIBS + XSD_LIBS_MAX * XSD_LIB_SIZE)

/* Offset of the loader thread's start routine in the code page. */
#define XS_BLOB_LOADER 256

#endif
