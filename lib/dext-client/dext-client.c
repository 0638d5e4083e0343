// SPDX-License-Identifier: GPL-2.0-or-later
#include "dext-client/dext-client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/dext-sock.h"

#define DEFAULT_TIMEOUT_MS	30000

struct dext_client {
	int fd;
	uint32_t next_id;
	bool wait_armed;
	uint32_t wait_id;
	bool wakeup;
	bool dead;
};

const char *dext_default_socket(void)
{
	const char *s = getenv("VFIO_APPLE_DEXT_SOCKET");

	return s && *s ? s : "/run/vfio-apple/dextd.sock";
}

int dext_client_fd(const struct dext_client *c)
{
	return c->fd;
}

bool dext_client_take_wakeup(struct dext_client *c)
{
	bool w = c->wakeup;

	c->wakeup = false;
	return w;
}

bool dext_client_wait_armed(const struct dext_client *c)
{
	return c->wait_armed;
}

/* The completion of the armed WaitInterrupt; anything else is a protocol error. */
static int accept_async(struct dext_client *c, const struct dext_msg *m)
{
	if (m->hdr.type != DEXT_MSG_ASYNC || !c->wait_armed || m->hdr.id != c->wait_id)
		return -EPROTO;
	c->wait_armed = false;
	c->wakeup = true;
	return 0;
}

static int recv_one(struct dext_client *c, struct dext_msg *m, int *fd)
{
	int r;

	if (c->dead)
		return -ECONNRESET;
	r = dext_sock_recv(c->fd, m, fd);
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		r = -ETIMEDOUT;	/* SO_RCVTIMEO expired: dextd hangs */
	if (r == -ECONNRESET || r == -EPIPE || r == -ECONNREFUSED || r == -ETIMEDOUT)
		c->dead = true;
	else if (r == 0 && m->hdr.type != DEXT_MSG_REPLY && m->hdr.type != DEXT_MSG_ASYNC)
		r = -EPROTO;
	return r;
}

/* Sends a request and waits for its reply, taking async replies on the way. */
static int transact(struct dext_client *c, uint16_t type, uint16_t op, const uint64_t *in,
		    uint16_t n_in, uint64_t *out, uint16_t n_out, int *fd_out)
{
	struct dext_msg req, rep;
	uint32_t id = c->next_id++;
	int r, fd = -1;

	if (c->dead)
		return -ECONNRESET;
	if (n_in > DEXT_WIRE_MAX_SCALARS || n_out > DEXT_WIRE_MAX_SCALARS)
		return -EINVAL;
	dext_msg_request(&req, type, op, id, in, n_in, n_out);
	r = dext_sock_send(c->fd, &req, -1);
	if (r < 0) {
		c->dead = true;
		return r == -EPIPE ? -ECONNRESET : r;
	}
	for (;;) {
		r = recv_one(c, &rep, &fd);
		if (r < 0)
			return r;
		if (rep.hdr.type == DEXT_MSG_REPLY && rep.hdr.id == id)
			break;
		if (fd >= 0)
			close(fd);
		r = accept_async(c, &rep);
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

int dext_client_connect(const char *path, unsigned int timeout_ms, struct dext_client **out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv;
	struct dext_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uint64_t in = DEXT_WIRE_VERSION, res[2];
	int r;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->next_id = 1;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		free(c);
		return r;
	}
	if (!timeout_ms)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		dext_client_close(c);
		return r;
	}
	/*
	 * dextd reaches registered memory with process_vm_readv/writev, as the
	 * dext reaches its client's pages; with Yama ptrace_scope 1 that needs
	 * our permission. Without Yama this fails harmlessly.
	 */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		(void)prctl(PR_SET_PTRACER, (unsigned long)cred.pid, 0, 0, 0);

	r = transact(c, DEXT_MSG_CONTROL, DEXT_CTL_HELLO, &in, 1, res, 2, NULL);
	if (r < 0) {
		dext_client_close(c);
		return r;
	}
	*out = c;
	return 0;
}

void dext_client_close(struct dext_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int dext_client_dispatch(struct dext_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	struct dext_msg m;
	int r;

	while (!c->dead && poll(&p, 1, 0) == 1) {
		if (!(p.revents & POLLIN)) {
			c->dead = true;
			break;
		}
		r = recv_one(c, &m, NULL);
		if (r < 0)
			return r;
		r = accept_async(c, &m);
		if (r < 0)
			return r;
	}
	return c->dead ? -ECONNRESET : 0;
}

int dext_client_count(struct dext_client *c, unsigned int *n)
{
	uint64_t in = DEXT_WIRE_VERSION, res[2];
	int r = transact(c, DEXT_MSG_CONTROL, DEXT_CTL_HELLO, &in, 1, res, 2, NULL);

	if (r == 0)
		*n = (unsigned int)res[1];
	return r;
}

static void identity_from(struct dext_identity *id, const uint64_t *v)
{
	id->bus = (unsigned int)v[0];
	id->dev = (unsigned int)v[1];
	id->fn = (unsigned int)v[2];
	id->vendor = (uint16_t)v[3];
	id->device = (uint16_t)v[4];
	id->class_code = (uint32_t)v[5];
}

int dext_client_enum(struct dext_client *c, unsigned int index, struct dext_identity *id)
{
	uint64_t in = index, v[6];
	int r = transact(c, DEXT_MSG_CONTROL, DEXT_CTL_ENUM, &in, 1, v, 6, NULL);

	if (r == 0)
		identity_from(id, v);
	return r;
}

int dext_client_open(struct dext_client *c, unsigned int bus, unsigned int dev, unsigned int fn)
{
	uint64_t in[3] = { bus, dev, fn };

	return transact(c, DEXT_MSG_CONTROL, DEXT_CTL_OPEN, in, 3, NULL, 0, NULL);
}

int dext_client_map_memory(struct dext_client *c, unsigned int type, int *fd, uint64_t *size,
			   uint64_t *offset)
{
	uint64_t in = type, v[2];
	int r = transact(c, DEXT_MSG_CONTROL, DEXT_CTL_MAP_MEMORY, &in, 1, v, 2, fd);

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

	return transact(c, DEXT_MSG_CONTROL, DEXT_CTL_STATUS, &in, 1, out, DEXT_STATUS_COUNT,
			NULL);
}

int dext_client_fault(struct dext_client *c, unsigned int index, unsigned int n,
		      struct dext_fault_info *f)
{
	uint64_t in[2] = { index, n }, v[4];
	int r = transact(c, DEXT_MSG_CONTROL, DEXT_CTL_FAULT, in, 2, v, 4, NULL);

	if (r == 0) {
		f->seq = v[0];
		f->stream = (uint32_t)v[1];
		f->iova = v[2];
		f->access = (uint32_t)v[3];
	}
	return r;
}

int dext_call(struct dext_client *c, uint32_t selector, const uint64_t *in, uint32_t n_in,
	      uint64_t *out, uint32_t n_out)
{
	if (selector > UINT16_MAX)
		return -EOPNOTSUPP;
	return transact(c, DEXT_MSG_CALL, (uint16_t)selector, in, (uint16_t)n_in, out,
			(uint16_t)n_out, NULL);
}

int dext_get_identity(struct dext_client *c, struct dext_identity *id)
{
	uint64_t v[6];
	int r = dext_call(c, DEXT_SEL_GET_IDENTITY, NULL, 0, v, 6);

	if (r == 0)
		identity_from(id, v);
	return r;
}

int dext_claim(struct dext_client *c)
{
	return dext_call(c, DEXT_SEL_CLAIM, NULL, 0, NULL, 0);
}

int dext_terminate(struct dext_client *c)
{
	return dext_call(c, DEXT_SEL_TERMINATE, NULL, 0, NULL, 0);
}

int dext_allocate_dma_buffer(struct dext_client *c, uint64_t size, uint64_t align,
			     uint64_t *bus_addr, uint64_t *bus_len, uint64_t *alloc_size)
{
	uint64_t in[2] = { size, align }, v[6];
	int r = dext_call(c, DEXT_SEL_ALLOCATE_DMA_BUFFER, in, 2, v, 6);

	if (r == 0) {
		*alloc_size = v[0];
		*bus_addr = v[3];
		*bus_len = v[4];
	}
	return r;
}

int dext_free_dma_buffer(struct dext_client *c)
{
	return dext_call(c, DEXT_SEL_FREE_DMA_BUFFER, NULL, 0, NULL, 0);
}

int dext_register_dma(struct dext_client *c, uint64_t key, const void *va, uint64_t size,
		      uint64_t *bus_addr, uint64_t *bus_len)
{
	uint64_t in[3] = { key, (uint64_t)(uintptr_t)va, size }, v[3];
	int r = dext_call(c, DEXT_SEL_REGISTER_DMA_REGION, in, 3, v, 3);

	if (r == 0) {
		*bus_addr = v[1];
		*bus_len = v[2];
	}
	return r;
}

int dext_unregister_dma(struct dext_client *c, uint64_t key)
{
	return dext_call(c, DEXT_SEL_UNREGISTER_DMA_REGION, &key, 1, NULL, 0);
}

int dext_probe_dma(struct dext_client *c, uint64_t key, uint64_t offset, uint64_t *value)
{
	uint64_t in[2] = { key, offset };

	return dext_call(c, DEXT_SEL_PROBE_DMA_REGION, in, 2, value, 1);
}

int dext_config_read(struct dext_client *c, uint32_t off, unsigned int width, uint32_t *val)
{
	uint64_t in[2] = { off, width }, v;
	int r = dext_call(c, DEXT_SEL_CONFIG_READ, in, 2, &v, 1);

	if (r == 0)
		*val = (uint32_t)v;
	return r;
}

int dext_config_write(struct dext_client *c, uint32_t off, unsigned int width, uint32_t val)
{
	uint64_t in[3] = { off, width, val };

	return dext_call(c, DEXT_SEL_CONFIG_WRITE, in, 3, NULL, 0);
}

int dext_bar_info(struct dext_client *c, unsigned int bar, struct dext_bar_info *info)
{
	uint64_t in = bar, v[3];
	int r = dext_call(c, DEXT_SEL_GET_BAR_INFO, &in, 1, v, 3);

	if (r == 0) {
		info->memory_index = (uint32_t)v[0];
		info->size = v[1];
		info->type = (uint8_t)v[2];
	}
	return r;
}

int dext_mmio_read(struct dext_client *c, uint32_t memory_index, uint64_t off,
		   unsigned int width, uint64_t *val)
{
	uint64_t in[3] = { memory_index, off, width };

	return dext_call(c, DEXT_SEL_MMIO_READ, in, 3, val, 1);
}

int dext_mmio_write(struct dext_client *c, uint32_t memory_index, uint64_t off,
		    unsigned int width, uint64_t val)
{
	uint64_t in[4] = { memory_index, off, width, val };

	return dext_call(c, DEXT_SEL_MMIO_WRITE, in, 4, NULL, 0);
}

int dext_setup_interrupts(struct dext_client *c, unsigned int *vectors)
{
	uint64_t v;
	int r = dext_call(c, DEXT_SEL_SETUP_INTERRUPTS, NULL, 0, &v, 1);

	if (r == 0)
		*vectors = (unsigned int)v;
	return r;
}

int dext_check_interrupt(struct dext_client *c, uint64_t pending[DEXT_IRQ_WORDS])
{
	return dext_call(c, DEXT_SEL_CHECK_INTERRUPT, NULL, 0, pending, DEXT_IRQ_WORDS);
}

int dext_set_irq_mask(struct dext_client *c, const uint64_t enabled[DEXT_IRQ_WORDS])
{
	return dext_call(c, DEXT_SEL_SET_IRQ_MASK, enabled, DEXT_IRQ_WORDS, NULL, 0);
}

int dext_reset_device(struct dext_client *c)
{
	return dext_call(c, DEXT_SEL_RESET_DEVICE, NULL, 0, NULL, 0);
}

int dext_wait_interrupt(struct dext_client *c)
{
	uint32_t id = c->next_id;
	int r;

	if (c->wait_armed)
		return -EBUSY;
	r = dext_call(c, DEXT_SEL_WAIT_INTERRUPT, NULL, 0, NULL, 0);
	if (r == 0) {
		c->wait_armed = true;
		c->wait_id = id;
	}
	return r;
}
