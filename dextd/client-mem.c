// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bounded reads of a client's memory (client-mem.h): one helper thread at a
 * time takes requests; a request the caller gave up on is freed by the
 * helper that finally finishes it, which then exits.
 */
#include "client-mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

struct cm_req {
	pid_t pid;
	struct iovec remote[2];
	unsigned int n;
	size_t len;
	uint8_t buf[CLIENT_MEM_READ_MAX];
	int result;
	bool done, abandoned;
};

struct cm_helper {
	struct cm_req *req;	/* the request it works on, NULL when idle */
};

static pthread_mutex_t cm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cm_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cm_done;
static pthread_once_t cm_once = PTHREAD_ONCE_INIT;
static struct cm_helper *cm_current;	/* the helper new requests go to */
static unsigned int cm_stuck;		/* helpers whose request was abandoned */
static pid_t cm_stuck_pid[CLIENT_MEM_STUCK_MAX];	/* whose memory each is stuck on */

/* How many helpers are stuck on pid's memory. cm_lock held. */
static unsigned int cm_stuck_on(pid_t pid)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < cm_stuck; i++)
		n += cm_stuck_pid[i] == pid;
	return n;
}

/* A helper stuck on pid's memory has finished. cm_lock held. */
static void cm_unstuck(pid_t pid)
{
	for (unsigned int i = 0; i < cm_stuck; i++) {
		if (cm_stuck_pid[i] == pid) {
			cm_stuck_pid[i] = cm_stuck_pid[--cm_stuck];
			return;
		}
	}
}

static void cm_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cm_done, &ca);
	pthread_condattr_destroy(&ca);
}

static void *cm_helper_main(void *arg)
{
	struct cm_helper *h = arg;

	pthread_mutex_lock(&cm_lock);
	for (;;) {
		struct cm_req *req;
		struct iovec local;
		ssize_t n;

		while (!h->req)
			pthread_cond_wait(&cm_work, &cm_lock);
		req = h->req;
		pthread_mutex_unlock(&cm_lock);

		local = (struct iovec){ .iov_base = req->buf, .iov_len = req->len };
		n = process_vm_readv(req->pid, &local, 1, req->remote, req->n, 0);

		pthread_mutex_lock(&cm_lock);
		req->result = n == (ssize_t)req->len ? 0 : -EFAULT;
		req->done = true;
		h->req = NULL;
		if (req->abandoned) {
			/* The caller gave up and a new helper took over. */
			cm_unstuck(req->pid);
			free(req);
			free(h);
			pthread_mutex_unlock(&cm_lock);
			return NULL;
		}
		pthread_cond_broadcast(&cm_done);
	}
}

static struct cm_helper *cm_helper_start(void)
{
	struct cm_helper *h = calloc(1, sizeof(*h));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!h)
		return NULL;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, cm_helper_main, h);
	pthread_attr_destroy(&attr);
	if (r) {
		free(h);
		return NULL;
	}
	return h;
}

int client_mem_read(pid_t pid, const struct iovec *remote, unsigned int n, void *buf)
{
	struct cm_req *req;
	struct timespec deadline;
	int r = 0;

	if (n == 0 || n > 2)
		return -EINVAL;
	pthread_once(&cm_once, cm_init);
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->pid = pid;
	req->n = n;
	for (unsigned int i = 0; i < n; i++) {
		req->remote[i] = remote[i];
		req->len += remote[i].iov_len;
	}
	if (req->len > CLIENT_MEM_READ_MAX) {
		free(req);
		return -EINVAL;
	}

	pthread_mutex_lock(&cm_lock);
	if (cm_stuck_on(pid) >= CLIENT_MEM_STUCK_PER_CLIENT) {
		pthread_mutex_unlock(&cm_lock);
		free(req);
		return -EAGAIN;
	}
	if (!cm_current) {
		if (cm_stuck >= CLIENT_MEM_STUCK_MAX) {
			pthread_mutex_unlock(&cm_lock);
			free(req);
			return -EAGAIN;
		}
		cm_current = cm_helper_start();
		if (!cm_current) {
			pthread_mutex_unlock(&cm_lock);
			free(req);
			return -ENOMEM;
		}
	}
	cm_current->req = req;
	pthread_cond_broadcast(&cm_work);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += CLIENT_MEM_TIMEOUT_MS / 1000;
	deadline.tv_nsec += (long)(CLIENT_MEM_TIMEOUT_MS % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (!req->done && r == 0)
		r = pthread_cond_timedwait(&cm_done, &cm_lock, &deadline);
	if (req->done) {
		r = req->result;
		if (r == 0)
			memcpy(buf, req->buf, req->len);
		free(req);
		pthread_mutex_unlock(&cm_lock);
		return r;
	}
	/* Stalled: leave it to its helper, and use a new helper from now on. */
	req->abandoned = true;
	cm_current = NULL;
	cm_stuck_pid[cm_stuck++] = pid;
	pthread_mutex_unlock(&cm_lock);
	log_warn("client pid %d: its memory at 0x%llx stalled a read for %u ms", (int)pid,
		 (unsigned long long)(uintptr_t)remote[0].iov_base, CLIENT_MEM_TIMEOUT_MS);
	return -ETIMEDOUT;
}
