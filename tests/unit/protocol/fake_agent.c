/* SPDX-License-Identifier: MIT */
/*
 * A stand-in agent speaking the real protocol with the seed's state
 * machine, so libxsplice-ctl and the xsplice command can be tested before
 * (and independently of) the real agent. Not a model of patching: actions
 * "run" for a few GET polls (rc -EAGAIN) and then take effect.
 *
 * Payload bytes steer it: a payload must start with "\x7fELF"; one that
 * contains "FAILAPPLY" fails APPLY/REPLACE with -EBUSY; a payload named
 * "slow" never finishes its action.
 */
#include "fake_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xsplice/protocol.h"

#define MAXP 256
#define ACTION_POLLS 3

struct fp {
	char name[XS_NAME_SIZE];
	uint32_t state;
	int32_t rc;
	char reason[XS_REASON_SIZE];
	int polls;      /* GETs left before the running action completes */
	uint32_t cmd;   /* the running action */
	int fail_apply;
};

static struct fp table[MAXP];
static int npay;
static uint32_t version = 1;

static struct fp *find(const char *name)
{
	for (int i = 0; i < npay; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

static void finish(struct fp *p)
{
	if (p->cmd == XS_ACTION_APPLY || p->cmd == XS_ACTION_REPLACE) {
		if (p->fail_apply) {
			p->rc = -EBUSY;
			snprintf(p->reason, sizeof(p->reason),
				 "thread 4242 stayed in xen_extra_version() for 30 ms");
			return;
		}
		if (p->cmd == XS_ACTION_REPLACE)
			for (int i = 0; i < npay; i++)
				if (&table[i] != p && table[i].state == XS_STATE_APPLIED)
					table[i].state = XS_STATE_CHECKED;
		p->state = XS_STATE_APPLIED;
	} else if (p->cmd == XS_ACTION_REVERT) {
		p->state = XS_STATE_CHECKED;
	}
	p->rc = 0;
	p->reason[0] = '\0';
}

static void handle(const struct xs_request *rq, struct xs_response *rs,
		   struct xs_list_entry *page, struct xs_info *info)
{
	struct fp *p = NULL;

	rs->op = rq->op;
	if (rq->op == XS_OP_UPLOAD || rq->op == XS_OP_GET || rq->op == XS_OP_ACTION) {
		p = find(rq->name);
		if (!p && rq->op != XS_OP_UPLOAD) {
			rs->ret = -ENOENT;
			snprintf(rs->reason, sizeof(rs->reason), "no payload named %s", rq->name);
			return;
		}
	}
	switch (rq->op) {
	case XS_OP_UPLOAD:
		if (p) {
			rs->ret = -EEXIST;
			snprintf(rs->reason, sizeof(rs->reason), "a payload named %s is loaded",
				 rq->name);
			return;
		}
		if (rq->payload_size < 4 || memcmp(rq->payload, "\x7f" "ELF", 4)) {
			rs->ret = -ENOEXEC;
			snprintf(rs->reason, sizeof(rs->reason), "not an ELF file");
			return;
		}
		if (npay == MAXP) {
			rs->ret = -ENOSPC;
			snprintf(rs->reason, sizeof(rs->reason), "too many payloads");
			return;
		}
		p = &table[npay++];
		memset(p, 0, sizeof(*p));
		strcpy(p->name, rq->name);
		p->state = XS_STATE_CHECKED;
		p->fail_apply = memmem(rq->payload, rq->payload_size, "FAILAPPLY", 9) != NULL;
		version++;
		return;
	case XS_OP_GET:
		if (p->rc == -EAGAIN && strcmp(p->name, "slow") && --p->polls <= 0)
			finish(p);
		rs->state = p->state;
		rs->rc = p->rc;
		strcpy(rs->rc_reason, p->reason);
		return;
	case XS_OP_ACTION:
		if (p->rc == -EAGAIN) {
			rs->ret = -EBUSY;
			snprintf(rs->reason, sizeof(rs->reason), "an action on %s is running", p->name);
			return;
		}
		if (rq->cmd == XS_ACTION_UNLOAD) {
			if (p->state != XS_STATE_CHECKED) {
				rs->ret = -EINVAL;
				snprintf(rs->reason, sizeof(rs->reason), "%s is APPLIED: revert it first",
					 p->name);
				return;
			}
			*p = table[--npay];
			version++;
			return;
		}
		if ((rq->cmd == XS_ACTION_REVERT) != (p->state == XS_STATE_APPLIED)) {
			rs->ret = -EINVAL;
			snprintf(rs->reason, sizeof(rs->reason), "cannot %s %s in state %s",
				 xs_action_name(rq->cmd), p->name, xs_state_name(p->state));
			return;
		}
		p->cmd = rq->cmd;
		p->rc = -EAGAIN;
		p->polls = ACTION_POLLS;
		return;
	case XS_OP_LIST:
		rs->list_version = version;
		for (uint32_t i = rq->list_idx; i < (uint32_t)npay && rs->list_count < rq->list_nr; i++) {
			struct xs_list_entry *e = &page[rs->list_count++];
			strcpy(e->name, table[i].name);
			e->state = table[i].state;
			e->rc = table[i].rc;
		}
		rs->list = page;
		rs->list_left = (uint32_t)npay > rq->list_idx + rs->list_count
				? (uint32_t)npay - rq->list_idx - rs->list_count : 0;
		return;
	case XS_OP_INFO: {
		static struct xs_info_object objs[1];
		static struct xs_info_payload pays[MAXP];
		static struct xs_info_func func;
		memset(info, 0, sizeof(*info));
		info->pid = (uint32_t)getpid();
		strcpy(info->agent_version, "fake-1");
		snprintf(objs[0].path, sizeof(objs[0].path), "/proc/%d/exe", getpid());
		strcpy(objs[0].build_id, "00112233445566778899aabbccddeeff00112233");
		objs[0].base = 0x555555554000;
		info->nobjects = 1;
		info->objects = objs;
		strcpy(func.name, "xen_extra_version");
		func.old_addr = 0x555555555000;
		func.new_addr = 0x7f0000001000;
		func.old_size = 32;
		func.new_size = 16;
		for (int i = 0; i < npay; i++) {
			memset(&pays[i], 0, sizeof(pays[i]));
			strcpy(pays[i].name, table[i].name);
			pays[i].state = table[i].state;
			pays[i].rc = table[i].rc;
			strcpy(pays[i].reason, table[i].reason);
			strcpy(pays[i].build_id, "abcdef");
			strcpy(pays[i].depends, objs[0].build_id);
			strcpy(pays[i].target, "/usr/bin/\"quoted\"\tdemo");
			pays[i].nfuncs = 1;
			pays[i].funcs = &func;
		}
		info->npayloads = (uint32_t)npay;
		info->payloads = pays;
		rs->info = info;
		return;
	}
	}
}

static void serve_client(int fd, enum fake_mode mode)
{
	static struct xs_list_entry page[XS_LIST_MAX];
	static struct xs_info info;

	for (;;) {
		struct xs_frame_header h;
		struct xs_err err = { "" };
		uint8_t *body, *out;
		size_t outlen;
		int rc = xs_read_frame(fd, &h, &body, 0, 0, &err);
		if (rc)
			return;
		struct xs_request rq;
		struct xs_response rs;
		memset(&rs, 0, sizeof(rs));
		rc = xs_decode_request(h.op, body, h.length, &rq, &err);
		if (rc) {
			rs.op = h.op;
			rs.ret = rc;
			snprintf(rs.reason, sizeof(rs.reason), "%s", err.msg);
		} else {
			handle(&rq, &rs, page, &info);
		}
		free(body);
		if (mode == FAKE_GARBAGE) {
			static const uint8_t junk[16] = "JUNKJUNKJUNKJUNK";
			xs_write_all(fd, junk, sizeof(junk), &err);
			return;
		}
		if (xs_encode_response(&rs, &out, &outlen, &err))
			return;
		rc = xs_write_all(fd, out, outlen, &err);
		free(out);
		if (rc)
			return;
	}
}

void fake_agent_serve(int listen_fd, enum fake_mode mode)
{
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (mode != FAKE_REFUSE) /* REFUSE: close before reading, like a failed SO_PEERCRED */
			serve_client(fd, mode);
		close(fd);
	}
}

int fake_agent_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

#ifdef FAKE_AGENT_MAIN
int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fake_agent SOCKET [normal|refuse|garbage]\n");
		return 2;
	}
	enum fake_mode mode = FAKE_NORMAL;
	if (argc > 2 && !strcmp(argv[2], "refuse"))
		mode = FAKE_REFUSE;
	else if (argc > 2 && !strcmp(argv[2], "garbage"))
		mode = FAKE_GARBAGE;
	int fd = fake_agent_listen(argv[1]);
	if (fd < 0) {
		perror("fake_agent: listen");
		return 1;
	}
	fake_agent_serve(fd, mode);
	return 0;
}
#endif
