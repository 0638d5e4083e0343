// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dextd's event loop: accepts user clients on the UNIX socket, reads one
 * message at a time from each, answers it (methods.c), completes deferred
 * WaitInterrupts when devices raise vectors, and cleans up after clients
 * that disconnect or die.
 *
 * Client sockets are non-blocking: a message the socket does not take is
 * queued for that connection (at most SENDQ_MAX), and a client that lets
 * its queue overflow, i.e. does not read its replies, is disconnected. So
 * no client can stop this thread by not reading.
 */
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/dext-sock.h"
#include "common/log.h"
#include "function.h"

#include <vfio-apple/dext-abi.h>

#define MAX_FUNCTIONS	64
#define MAX_CLIENTS	256
#define SENDQ_MAX	64	/* queued messages per connection */

/* epoll tags for the fixed fds; connections are tagged by pointer. */
enum { TAG_LISTEN = 1, TAG_NOTIFY, TAG_SIGNAL };

struct dext_sendq {
	unsigned int head, len;
	struct {
		struct dext_msg msg;
		int fd;			/* to pass with it, or -1 */
	} e[SENDQ_MAX];
};

struct dextd {
	struct dextd_config cfg;
	int listen_fd, epoll_fd, notify_fd, signal_fd;
	struct dext_function *functions[MAX_FUNCTIONS];
	unsigned int n_functions;
	struct dext_conn *conns;
	unsigned int n_conns;
	uint64_t next_conn_id;
};

struct dextd *dextd_create(const struct dextd_config *cfg)
{
	struct dextd *d = calloc(1, sizeof(*d));
	sigset_t mask;

	if (!d)
		return NULL;
	/*
	 * Block the shutdown signals before any device thread exists, so
	 * every thread inherits the mask and only the signalfd sees them.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	d->cfg = *cfg;
	d->listen_fd = d->epoll_fd = d->signal_fd = -1;
	d->next_conn_id = 1;
	d->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->notify_fd < 0) {
		free(d);
		return NULL;
	}
	return d;
}

int dextd_add_function(struct dextd *d, struct dext_function *fn)
{
	if (dextd_function_find(d, fn->bus, fn->dev, fn->fn))
		return -EEXIST;
	if (d->n_functions == MAX_FUNCTIONS)
		return -ENOSPC;
	fn->daemon = d;
	fn->index = d->n_functions;
	d->functions[d->n_functions++] = fn;
	return 0;
}

unsigned int dextd_function_count(struct dextd *d)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->n_functions; i++)
		n += !d->functions[i]->terminated;
	return n;
}

struct dext_function *dextd_function_at(struct dextd *d, unsigned int index)
{
	return index < d->n_functions ? d->functions[index] : NULL;
}

struct dext_function *dextd_function_find(struct dextd *d, unsigned int bus, unsigned int dev,
					  unsigned int fn)
{
	for (unsigned int i = 0; i < d->n_functions; i++) {
		struct dext_function *f = d->functions[i];

		if (f->bus == bus && f->dev == dev && f->fn == fn)
			return f;
	}
	return NULL;
}

unsigned int dextd_function_clients(struct dextd *d, struct dext_function *fn)
{
	unsigned int n = 0;

	for (struct dext_conn *c = d->conns; c; c = c->next)
		n += c->fn == fn;
	return n;
}

void dextd_notify(struct dextd *d)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	if (write(d->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("interrupt notification failed: %s", strerror(errno));
}

static void conn_events(struct dextd *d, struct dext_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_warn("client pid %d: epoll_ctl: %s", (int)c->pid, strerror(errno));
}

static void sendq_free(struct dext_conn *c)
{
	struct dext_sendq *q = c->sendq;

	if (!q)
		return;
	for (unsigned int i = 0; i < q->len; i++) {
		int fd = q->e[(q->head + i) % SENDQ_MAX].fd;

		if (fd >= 0)
			close(fd);
	}
	free(q);
	c->sendq = NULL;
}

/* Queues msg (with a copy of fd) behind what the socket has not taken yet. */
static int sendq_push(struct dextd *d, struct dext_conn *c, const struct dext_msg *msg, int fd)
{
	struct dext_sendq *q = c->sendq;
	unsigned int slot;

	if (!q) {
		q = c->sendq = calloc(1, sizeof(*q));
		if (!q)
			return -ENOMEM;
	}
	if (q->len == SENDQ_MAX) {
		log_warn("client pid %d does not read its replies (%u queued): disconnected",
			 (int)c->pid, SENDQ_MAX);
		return -ENOBUFS;
	}
	slot = (q->head + q->len) % SENDQ_MAX;
	q->e[slot].fd = -1;
	if (fd >= 0) {
		q->e[slot].fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (q->e[slot].fd < 0)
			return -errno;
	}
	q->e[slot].msg = *msg;
	if (q->len++ == 0)
		conn_events(d, c, EPOLLIN | EPOLLOUT);
	return 0;
}

/* Sends what the socket takes; 0 (maybe some left) or -errno. */
static int sendq_flush(struct dextd *d, struct dext_conn *c)
{
	struct dext_sendq *q = c->sendq;

	while (q && q->len) {
		int fd = q->e[q->head].fd;
		int r = dext_sock_send(c->fd, &q->e[q->head].msg, fd);

		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		if (fd >= 0)
			close(fd);
		q->head = (q->head + 1) % SENDQ_MAX;
		if (--q->len == 0)
			conn_events(d, c, EPOLLIN);
	}
	return 0;
}

/*
 * Sends msg to the client now, or queues it if the socket is full. Returns
 * 0 or -errno (the client is to be dropped). fd stays the caller's.
 */
static int conn_send(struct dextd *d, struct dext_conn *c, const struct dext_msg *msg, int fd)
{
	int r = -EAGAIN;

	if (!c->sendq || !c->sendq->len)
		r = dext_sock_send(c->fd, msg, fd);
	return r == -EAGAIN ? sendq_push(d, c, msg, fd) : r;
}

static void conn_close(struct dextd *d, struct dext_conn *conn)
{
	struct dext_conn **pp;

	dext_conn_release(conn);
	sendq_free(conn);
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
	close(conn->fd);
	for (pp = &d->conns; *pp; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			break;
		}
	}
	d->n_conns--;
	free(conn);
}

void dextd_drop_function_clients(struct dextd *d, struct dext_function *fn,
				 struct dext_conn *keep)
{
	struct dext_conn *c = d->conns, *next;

	/*
	 * Release now, free later: the loop may hold events for these
	 * connections, so they are shut down and freed on their hang-up.
	 */
	for (; c; c = next) {
		next = c->next;
		if (c->fn == fn && c != keep) {
			dext_conn_release(c);
			shutdown(c->fd, SHUT_RDWR);
		}
	}
}

void dextd_complete_wait(struct dext_conn *conn)
{
	struct dext_msg done;

	if (!conn->wait_armed)
		return;
	conn->wait_armed = false;
	dext_msg_request(&done, DEXT_MSG_ASYNC, DEXT_SEL_WAIT_INTERRUPT, conn->wait_id, NULL, 0, 0);
	/* Gone or not reading: the hang-up this causes cleans up in the loop. */
	if (conn_send(conn->daemon, conn, &done, -1) < 0)
		shutdown(conn->fd, SHUT_RDWR);
}

static void handle_notify(struct dextd *d)
{
	uint64_t v;

	if (read(d->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("notify read: %s", strerror(errno));
	for (unsigned int i = 0; i < d->n_functions; i++) {
		struct dext_function *fn = d->functions[i];

		if (!atomic_exchange(&fn->irq_notify, false) || !fn_irq_pending(fn))
			continue;
		/* Only the client that set up interrupts waits for them. */
		if (fn->irq_owner)
			dextd_complete_wait(fn->irq_owner);
	}
}

static void handle_accept(struct dextd *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct dext_conn *conn;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		log_warn("accept: %s", strerror(errno));
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	if (d->n_conns >= MAX_CLIENTS) {
		log_warn("client pid %d refused: %d clients already", (int)cred.pid, MAX_CLIENTS);
		close(fd);
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		return;
	}
	conn->daemon = d;
	conn->fd = fd;
	conn->pid = cred.pid;
	conn->id = d->next_conn_id++;
	conn->dma_buffer.memfd = -1;
	ev.data.ptr = conn;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(conn);
		return;
	}
	conn->next = d->conns;
	d->conns = conn;
	d->n_conns++;
	log_debug("client pid %d connected", (int)cred.pid);
}

static void handle_conn(struct dextd *d, struct dext_conn *conn, uint32_t events)
{
	struct dext_msg req, reply;
	uint64_t out[DEXT_WIRE_MAX_SCALARS];
	uint16_t n_out;
	int r, fd_out, fd_in;

	if ((events & EPOLLOUT) && sendq_flush(d, conn) < 0) {
		conn_close(d, conn);
		return;
	}
	if (!(events & EPOLLIN)) {
		if (!(events & EPOLLOUT))
			conn_close(d, conn);
		return;
	}
	r = dext_sock_recv(conn->fd, &req, &fd_in);
	if (r == -EAGAIN)
		return;
	if (r == -ECONNRESET) {
		conn_close(d, conn);
		return;
	}
	if (r < 0) {
		/* Framing is per datagram, so a bad message does not poison the stream. */
		log_warn("client pid %d: malformed message dropped: %s", (int)conn->pid,
			 strerror(-r));
		return;
	}
	r = dext_handle_request(conn, &req, fd_in, out, &n_out, &fd_out);
	if (fd_in >= 0)
		close(fd_in);
	if (r == 0 && req.hdr.type == DEXT_MSG_CALL && req.hdr.op == DEXT_SEL_WAIT_INTERRUPT)
		conn->wait_id = req.hdr.id;
	dext_msg_reply(&reply, &req, r, out, n_out);
	if (fd_out >= 0)
		reply.hdr.flags |= DEXT_WIRE_F_FD;
	r = conn_send(d, conn, &reply, fd_out);
	if (fd_out >= 0)
		close(fd_out);
	if (r < 0 || conn->closing) {
		conn_close(d, conn);
		return;
	}
	/* Lost-wakeup rule: a wait armed while bits are pending completes now. */
	if (conn->wait_armed && fn_irq_pending(conn->fn))
		dextd_complete_wait(conn);
}

static int setup_listen(struct dextd *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;
	int r;

	if (strlen(d->cfg.socket_path) >= sizeof(addr.sun_path))
		return log_err_errno(-ENAMETOOLONG, "socket path %s", d->cfg.socket_path);
	strcpy(addr.sun_path, d->cfg.socket_path);
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0)
		return log_err_errno(-errno, "socket");
	/* A stale socket from a dead dextd is replaced; a live one is not. */
	if (connect(d->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return log_err_errno(-EADDRINUSE, "another dextd serves %s", d->cfg.socket_path);
	unlink(d->cfg.socket_path);
	close(d->listen_fd);
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0)
		return log_err_errno(-errno, "socket");
	/* Create the socket with its final mode: no window with wider access. */
	old = umask(0777 & ~d->cfg.socket_mode);
	r = bind(d->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r < 0)
		return log_err_errno(-errno, "bind %s", d->cfg.socket_path);
	if (chmod(d->cfg.socket_path, d->cfg.socket_mode) < 0)
		return log_err_errno(-errno, "chmod %s", d->cfg.socket_path);
	if (listen(d->listen_fd, 16) < 0)
		return log_err_errno(-errno, "listen");
	return 0;
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int dextd_run(struct dextd *d)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->signal_fd < 0 || d->epoll_fd < 0)
		return log_err_errno(-errno, "event loop setup");
	r = setup_listen(d);
	if (r < 0)
		return r;
	if (epoll_add(d->epoll_fd, d->listen_fd, TAG_LISTEN) ||
	    epoll_add(d->epoll_fd, d->notify_fd, TAG_NOTIFY) ||
	    epoll_add(d->epoll_fd, d->signal_fd, TAG_SIGNAL))
		return log_err_errno(-errno, "epoll_ctl");

	log_info("serving %u function%s on %s", d->n_functions, d->n_functions == 1 ? "" : "s",
		 d->cfg.socket_path);
	if (d->cfg.ready_fd >= 0) {
		if (write(d->cfg.ready_fd, "READY\n", 6) != 6)
			log_warn("ready notification: %s", strerror(errno));
		close(d->cfg.ready_fd);
		d->cfg.ready_fd = -1;
	}

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(d->epoll_fd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_err_errno(-errno, "epoll_wait");
		}
		/*
		 * Hang-ups first: a client that died is cleaned up before any
		 * request in the same batch, so whoever saw it exit and then
		 * asks for the status sees the cleanup done.
		 */
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag != TAG_LISTEN && tag != TAG_NOTIFY && tag != TAG_SIGNAL &&
			    (evs[i].events & (EPOLLHUP | EPOLLERR))) {
				conn_close(d, evs[i].data.ptr);
				evs[i].data.u64 = 0;
			}
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u64) {
			case 0:
				break;
			case TAG_LISTEN:
				handle_accept(d);
				break;
			case TAG_NOTIFY:
				handle_notify(d);
				break;
			case TAG_SIGNAL:
				log_info("signal received, shutting down");
				return 0;
			default:
				handle_conn(d, evs[i].data.ptr, evs[i].events);
				/* The connection may be gone: no other event can name it. */
				break;
			}
		}
	}
}

void dextd_destroy(struct dextd *d)
{
	if (!d)
		return;
	while (d->conns)
		conn_close(d, d->conns);
	for (unsigned int i = 0; i < d->n_functions; i++)
		fn_free(d->functions[i]);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->cfg.socket_path);
	}
	if (d->epoll_fd >= 0)
		close(d->epoll_fd);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	close(d->notify_fd);
	free(d);
}
