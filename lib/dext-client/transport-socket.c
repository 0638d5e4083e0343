// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The socket transport: dextd's wire protocol (dext-wire.h). Besides the
 * selectors it carries dextd's control operations (enumerate, bind, map
 * memory as an fd, status, faults), which only this transport has.
 */
#include "dext-client/dext-client.h"
#include "dext-client/transport.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dext-sock.h"

#define DEFAULT_TIMEOUT_MS	30000
/* Posted calls in flight at most; far below what the socket buffers hold. */
#define MAX_POSTED		64

struct sock_client {
	struct dext_client base;
	int fd;
	uint32_t next_id;
	unsigned int timeout_ms;	/* bound of every reply */
	unsigned int rcvtimeo_ms;	/* what SO_RCVTIMEO is set to now */
	uint64_t deadline_ns;		/* and of every reply until then (0: none) */
	uint32_t wait_id;
	uint32_t replaced_id;	/* the wait a re-arm replaces; its completion may be in flight */
	bool replacing;
	bool dead;
	/* Posted calls awaiting their reply, oldest first (replies come in order). */
	struct {
		uint32_t id;
		uint16_t op;
	} posted[MAX_POSTED];
	unsigned int posted_head, posted_n;
};

static const struct dext_transport socket_transport;

/* The socket client behind c, or NULL if c uses another transport. */
static struct sock_client *as_sock(struct dext_client *c)
{
	return c->t == &socket_transport ? (struct sock_client *)c : NULL;
}

const char *dext_default_socket(void)
{
	const char *s = getenv("VFIO_APPLE_DEXT_SOCKET");

	return s && *s ? s : "/run/vfio-apple/dextd.sock";
}

static int sock_fd(const struct dext_client *c)
{
	return ((const struct sock_client *)c)->fd;
}

/*
 * The completion of the armed WaitInterrupt, or of the one a re-arm in
 * progress replaces (dextd sent it before it saw the re-arm: a wakeup, but
 * the new wait stays armed); anything else is a protocol error.
 */
static int accept_async(struct sock_client *s, const struct dext_msg *m)
{
	if (m->hdr.type == DEXT_MSG_ASYNC && s->replacing && m->hdr.id == s->replaced_id) {
		s->replacing = false;
		s->base.wakeup = true;
		return 0;
	}
	if (m->hdr.type != DEXT_MSG_ASYNC || !s->base.wait_armed || m->hdr.id != s->wait_id)
		return -EPROTO;
	s->wait_id = 0;	/* nothing armed (ids start at 1) */
	return dext_client_complete_wait(&s->base);
}

/* The reply to the oldest posted call: a refusal is counted, not returned. */
static int accept_posted(struct sock_client *s, const struct dext_msg *m)
{
	unsigned int h = s->posted_head;

	if (!s->posted_n || m->hdr.id != s->posted[h].id)
		return -EPROTO;
	s->posted_head = (h + 1) % MAX_POSTED;
	s->posted_n--;
	if (!m->hdr.error)
		return 0;
	dext_client_posted_done(&s->base, s->posted[h].op, m->hdr.error < 0 ? m->hdr.error : -EPROTO);
	/* A refused WaitInterrupt is not armed. */
	if (s->posted[h].op == DEXT_SEL_WAIT_INTERRUPT && s->wait_id == m->hdr.id) {
		s->wait_id = 0;
		s->base.wait_armed = false;
	}
	return 0;
}

/* A message other than the reply being waited for. */
static int accept_other(struct sock_client *s, const struct dext_msg *m)
{
	return m->hdr.type == DEXT_MSG_REPLY ? accept_posted(s, m) : accept_async(s, m);
}

static int set_rcvtimeo(struct sock_client *s, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (ms == s->rcvtimeo_ms)
		return 0;
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	s->rcvtimeo_ms = ms;
	return 0;
}

/* The receive timeout for the next reply: the per-reply bound or what the deadline leaves. */
static int arm_rcvtimeo(struct sock_client *s)
{
	uint64_t now, left_ms;

	if (!s->deadline_ns)
		return set_rcvtimeo(s, s->timeout_ms);
	now = monotonic_ns();
	if (now >= s->deadline_ns)
		return -ETIMEDOUT;
	left_ms = (s->deadline_ns - now + 999999) / 1000000;
	return set_rcvtimeo(s, left_ms < s->timeout_ms ? (unsigned int)left_ms : s->timeout_ms);
}

static int recv_one(struct sock_client *s, struct dext_msg *m, int *fd)
{
	int r;

	if (s->dead)
		return -ECONNRESET;
	r = arm_rcvtimeo(s);
	if (r == 0)
		r = dext_sock_recv(s->fd, m, fd);
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		r = -ETIMEDOUT;	/* SO_RCVTIMEO expired: dextd hangs */
	if (r == -ECONNRESET || r == -EPIPE || r == -ECONNREFUSED || r == -ETIMEDOUT)
		s->dead = true;
	else if (r == 0 && m->hdr.type != DEXT_MSG_REPLY && m->hdr.type != DEXT_MSG_ASYNC)
		r = -EPROTO;
	return r;
}

/*
 * Sends a request (with fd_in if >= 0) and waits for its reply, taking
 * posted replies and async completions on the way.
 */
static int transact_fd(struct sock_client *s, uint16_t type, uint16_t op, const uint64_t *in,
		       uint16_t n_in, uint64_t *out, uint16_t n_out, int fd_in, int *fd_out)
{
	struct dext_msg req, rep;
	uint32_t id = s->next_id++;
	int r, fd = -1;

	if (s->dead)
		return -ECONNRESET;
	if (n_in > DEXT_WIRE_MAX_SCALARS || n_out > DEXT_WIRE_MAX_SCALARS)
		return -EINVAL;
	dext_msg_request(&req, type, op, id, in, n_in, n_out);
	if (fd_in >= 0)
		req.hdr.flags |= DEXT_WIRE_F_FD;
	r = dext_sock_send(s->fd, &req, fd_in);
	if (r < 0) {
		s->dead = true;
		return r == -EPIPE ? -ECONNRESET : r;
	}
	for (;;) {
		r = recv_one(s, &rep, &fd);
		if (r < 0)
			return r;
		if (rep.hdr.type == DEXT_MSG_REPLY && rep.hdr.id == id)
			break;
		if (fd >= 0)
			close(fd);
		r = accept_other(s, &rep);
		if (r < 0)
			return r;
	}
	if (rep.hdr.error) {
		if (fd >= 0)
			close(fd);
		return rep.hdr.error < 0 ? rep.hdr.error : -EPROTO;
	}
	if (rep.hdr.n_scalars != n_out) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	if (n_out)
		memcpy(out, rep.scalars, n_out * sizeof(uint64_t));
	if (fd_out)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
	return 0;
}

static int transact(struct sock_client *s, uint16_t type, uint16_t op, const uint64_t *in,
		    uint16_t n_in, uint64_t *out, uint16_t n_out, int *fd_out)
{
	return transact_fd(s, type, op, in, n_in, out, n_out, -1, fd_out);
}

static int sock_call(struct dext_client *c, uint32_t selector, const uint64_t *in, uint32_t n_in,
		     uint64_t *out, uint32_t n_out)
{
	if (selector > UINT16_MAX)
		return -EOPNOTSUPP;
	return transact(as_sock(c), DEXT_MSG_CALL, (uint16_t)selector, in, (uint16_t)n_in, out,
			(uint16_t)n_out, NULL);
}

/* dextd defers the reply to this request until a vector is pending. */
static int sock_arm_wait(struct dext_client *c)
{
	struct sock_client *s = as_sock(c);
	uint32_t old = s->wait_id;
	int r;

	/* dext_wait_interrupt() marked it armed; a previous wait may still be. */
	s->replacing = s->wait_id != 0;
	s->replaced_id = old;
	s->wait_id = s->next_id;
	r = sock_call(c, DEXT_SEL_WAIT_INTERRUPT, NULL, 0, NULL, 0);
	if (r < 0) {
		/* Refused: the previous wait, if its completion has not come, is still armed. */
		s->wait_id = s->replacing ? old : 0;
		c->wait_armed = s->replacing;
	}
	s->replacing = false;
	return r;
}

static int sock_dispatch(struct dext_client *c)
{
	struct sock_client *s = as_sock(c);
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	struct dext_msg m;
	int r;

	while (!s->dead && poll(&p, 1, 0) == 1) {
		if (!(p.revents & POLLIN)) {
			s->dead = true;
			break;
		}
		r = recv_one(s, &m, NULL);
		if (r < 0)
			return r;
		r = accept_other(s, &m);
		if (r < 0)
			return r;
	}
	return s->dead ? -ECONNRESET : 0;
}

/* Takes one message that is not a reply being waited for; blocks. */
static int take_one(struct sock_client *s)
{
	struct dext_msg m;
	int r = recv_one(s, &m, NULL);

	return r < 0 ? r : accept_other(s, &m);
}

static int post_call(struct sock_client *s, uint16_t op, const uint64_t *in, uint16_t n_in)
{
	struct dext_msg req;
	unsigned int slot;
	int r;

	if (s->dead)
		return -ECONNRESET;
	if (n_in > DEXT_WIRE_MAX_SCALARS)
		return -EINVAL;
	/* Full: the oldest reply is on its way; take it first. */
	while (s->posted_n == MAX_POSTED) {
		r = take_one(s);
		if (r < 0)
			return r;
	}
	slot = (s->posted_head + s->posted_n) % MAX_POSTED;
	s->posted[slot].id = s->next_id++;
	s->posted[slot].op = op;
	dext_msg_request(&req, DEXT_MSG_CALL, op, s->posted[slot].id, in, n_in, 0);
	r = dext_sock_send(s->fd, &req, -1);
	if (r < 0) {
		s->dead = true;
		return r == -EPIPE ? -ECONNRESET : r;
	}
	s->posted_n++;
	return 0;
}

static int sock_post(struct dext_client *c, uint32_t selector, const uint64_t *in,
		     uint32_t n_in)
{
	if (selector > UINT16_MAX)
		return -EOPNOTSUPP;
	return post_call(as_sock(c), (uint16_t)selector, in, (uint16_t)n_in);
}

static int sock_post_arm_wait(struct dext_client *c)
{
	struct sock_client *s = as_sock(c);
	int r;

	s->wait_id = s->next_id;	/* the id post_call() gives it */
	r = post_call(s, DEXT_SEL_WAIT_INTERRUPT, NULL, 0);
	if (r < 0)
		s->wait_id = 0;
	return r;
}

static int sock_flush(struct dext_client *c)
{
	struct sock_client *s = as_sock(c);
	int r;

	while (s->posted_n) {
		r = take_one(s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sock_map(struct dext_client *c, unsigned int type, void **addr, uint64_t *size)
{
	uint64_t offset;
	void *p;
	int fd, r = dext_client_map_memory(c, type, &fd, size, &offset);

	if (r < 0)
		return r;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
	r = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r == 0)
		*addr = p;
	return r;
}

static int sock_unmap(struct dext_client *c, unsigned int type, void *addr, uint64_t size)
{
	(void)c;
	(void)type;
	return munmap(addr, size) < 0 ? -errno : 0;
}

static void sock_shutdown(struct dext_client *c)
{
	struct sock_client *s = as_sock(c);

	/* dextd reads EOF and drops the client; the fd stays ours until destroy. */
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_RDWR);
	s->dead = true;
}

static int sock_set_deadline(struct dext_client *c, uint64_t deadline_ns)
{
	as_sock(c)->deadline_ns = deadline_ns;
	return 0;
}

static void sock_destroy(struct dext_client *c)
{
	struct sock_client *s = as_sock(c);

	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static const struct dext_transport socket_transport = {
	.name = "socket",
	.call = sock_call,
	.arm_wait = sock_arm_wait,
	.dispatch = sock_dispatch,
	.post = sock_post,
	.post_arm_wait = sock_post_arm_wait,
	.flush = sock_flush,
	.fd = sock_fd,
	.map = sock_map,
	.unmap = sock_unmap,
	.shutdown = sock_shutdown,
	.set_deadline = sock_set_deadline,
	.destroy = sock_destroy,
};

int dext_client_connect(const char *path, unsigned int timeout_ms, struct dext_client **out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct sock_client *s;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uint64_t in = DEXT_WIRE_VERSION, res[2];
	int r;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.t = &socket_transport;
	s->next_id = 1;
	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	s->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		sock_destroy(&s->base);
		return r;
	}
	r = set_rcvtimeo(s, s->timeout_ms);
	if (r < 0) {
		sock_destroy(&s->base);
		return r;
	}
	/*
	 * dextd reaches registered memory with process_vm_readv/writev, as the
	 * dext reaches its client's pages; with Yama ptrace_scope 1 that needs
	 * our permission. Without Yama this fails harmlessly.
	 */
	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		(void)prctl(PR_SET_PTRACER, (unsigned long)cred.pid, 0, 0, 0);

	r = transact(s, DEXT_MSG_CONTROL, DEXT_CTL_HELLO, &in, 1, res, 2, NULL);
	if (r < 0) {
		sock_destroy(&s->base);
		return r;
	}
	*out = &s->base;
	return 0;
}

/* ---- dextd's control operations ---- */

static int control(struct dext_client *c, uint16_t op, const uint64_t *in, uint16_t n_in,
		   uint64_t *out, uint16_t n_out, int *fd)
{
	struct sock_client *s = as_sock(c);

	if (!s)
		return -EOPNOTSUPP;	/* the dext has no such operation */
	return transact(s, DEXT_MSG_CONTROL, op, in, n_in, out, n_out, fd);
}

int dext_client_count(struct dext_client *c, unsigned int *n)
{
	uint64_t in = DEXT_WIRE_VERSION, res[2];
	int r = control(c, DEXT_CTL_HELLO, &in, 1, res, 2, NULL);

	if (r == 0)
		*n = (unsigned int)res[1];
	return r;
}

int dext_client_enum(struct dext_client *c, unsigned int index, struct dext_identity *id)
{
	uint64_t in = index, v[6];
	int r = control(c, DEXT_CTL_ENUM, &in, 1, v, 6, NULL);

	if (r == 0)
		dext_identity_from(id, v);
	return r;
}

int dext_client_open(struct dext_client *c, unsigned int bus, unsigned int dev, unsigned int fn)
{
	uint64_t in[3] = { bus, dev, fn };

	return control(c, DEXT_CTL_OPEN, in, 3, NULL, 0, NULL);
}

int dext_client_map_memory(struct dext_client *c, unsigned int type, int *fd, uint64_t *size,
			   uint64_t *offset)
{
	uint64_t in = type, v[2];
	int r = control(c, DEXT_CTL_MAP_MEMORY, &in, 1, v, 2, fd);

	if (r == 0 && *fd < 0)
		return -EPROTO;
	if (r == 0) {
		*size = v[0];
		*offset = v[1];
	}
	return r;
}

int dext_client_status(struct dext_client *c, unsigned int index,
		       uint64_t out[DEXT_STATUS_COUNT])
{
	uint64_t in = index;

	return control(c, DEXT_CTL_STATUS, &in, 1, out, DEXT_STATUS_COUNT, NULL);
}

int dext_client_fault(struct dext_client *c, unsigned int index, unsigned int n,
		      struct dext_fault_info *f)
{
	uint64_t in[2] = { index, n }, v[4];
	int r = control(c, DEXT_CTL_FAULT, in, 2, v, 4, NULL);

	if (r == 0) {
		f->seq = v[0];
		f->stream = (uint32_t)v[1];
		f->iova = v[2];
		f->access = (uint32_t)v[3];
	}
	return r;
}

int dext_client_share_memory(struct dext_client *c, const void *va, uint64_t len, int fd,
			     uint64_t offset)
{
	struct sock_client *s = as_sock(c);
	uint64_t in[3] = { (uint64_t)(uintptr_t)va, len, offset };

	if (!s)
		return -EOPNOTSUPP;
	if (fd < 0)
		return -EBADF;
	return transact_fd(s, DEXT_MSG_CONTROL, DEXT_CTL_SHARE_MEMORY, in, 3, NULL, 0, fd, NULL);
}

int dext_client_unshare_memory(struct dext_client *c, const void *va)
{
	uint64_t in = (uint64_t)(uintptr_t)va;

	return control(c, DEXT_CTL_UNSHARE_MEMORY, &in, 1, NULL, 0, NULL);
}
