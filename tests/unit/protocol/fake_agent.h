/* SPDX-License-Identifier: MIT */
#ifndef XS_TEST_FAKE_AGENT_H
#define XS_TEST_FAKE_AGENT_H

enum fake_mode {
	FAKE_NORMAL,
	FAKE_REFUSE,  /* close every connection before reading (peer-cred refusal) */
	FAKE_GARBAGE, /* answer with a bad frame */
};

/* Bind and listen on path (removing an old file); the fd or -1. */
int fake_agent_listen(const char *path);
/* Accept and serve clients one at a time, forever. */
void fake_agent_serve(int listen_fd, enum fake_mode mode);

#endif
