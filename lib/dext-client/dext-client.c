// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The typed dext client: the selectors of dext-abi.h and the WaitInterrupt
 * state, over whichever transport (transport.h) opened the client.
 */
#include "dext-client/dext-client.h"
#include "dext-client/transport.h"

#include <errno.h>

int dext_client_fd(const struct dext_client *c)
{
	return c->t->fd(c);
}

const char *dext_client_transport(const struct dext_client *c)
{
	return c->t->name;
}

void dext_client_close(struct dext_client *c)
{
	if (c)
		c->t->destroy(c);
}

void dext_client_shutdown(struct dext_client *c)
{
	if (c)
		c->t->shutdown(c);
}

int dext_client_set_deadline(struct dext_client *c, uint64_t deadline_ns)
{
	return c->t->set_deadline ? c->t->set_deadline(c, deadline_ns) : -EOPNOTSUPP;
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

int dext_client_complete_wait(struct dext_client *c)
{
	if (!c->wait_armed)
		return -EPROTO;
	c->wait_armed = false;
	c->wakeup = true;
	return 0;
}

int dext_client_dispatch(struct dext_client *c)
{
	return c->t->dispatch(c);
}

void dext_client_posted_done(struct dext_client *c, uint16_t selector, int error)
{
	if (!error)
		return;
	c->posted.errors++;
	c->posted.last_error = error;
	c->posted.last_selector = selector;
}

const struct dext_posted_stats *dext_client_posted_stats(const struct dext_client *c)
{
	return &c->posted;
}

/* Errors that mean the link is gone rather than that the dext said no. */
static bool link_error(int r)
{
	return r == -ECONNRESET || r == -ETIMEDOUT || r == -EPIPE;
}

int dext_call_posted(struct dext_client *c, uint32_t selector, const uint64_t *in,
		     uint32_t n_in)
{
	int r;

	if (selector == DEXT_SEL_WAIT_INTERRUPT)
		return -EINVAL;	/* dext_wait_interrupt_posted() */
	c->posted.sent++;
	if (c->t->post)
		return c->t->post(c, selector, in, n_in);
	r = c->t->call(c, selector, in, n_in, NULL, 0);
	if (r < 0 && !link_error(r)) {
		dext_client_posted_done(c, (uint16_t)selector, r);
		r = 0;
	}
	return r;
}

int dext_client_flush(struct dext_client *c)
{
	return c->t->flush ? c->t->flush(c) : 0;
}

int dext_client_map(struct dext_client *c, unsigned int type, void **addr, uint64_t *size)
{
	if (type >= DEXT_MEM_TYPE_COUNT)
		return -EINVAL;
	return c->t->map(c, type, addr, size);
}

int dext_client_unmap(struct dext_client *c, unsigned int type, void *addr, uint64_t size)
{
	if (type >= DEXT_MEM_TYPE_COUNT)
		return -EINVAL;
	return c->t->unmap(c, type, addr, size);
}

void dext_identity_from(struct dext_identity *id, const uint64_t *v)
{
	id->bus = (unsigned int)v[0];
	id->dev = (unsigned int)v[1];
	id->fn = (unsigned int)v[2];
	id->vendor = (uint16_t)v[3];
	id->device = (uint16_t)v[4];
	id->class_code = (uint32_t)v[5];
}

int dext_call(struct dext_client *c, uint32_t selector, const uint64_t *in, uint32_t n_in,
	      uint64_t *out, uint32_t n_out)
{
	/* WaitInterrupt with its exact counts is the asynchronous call, whoever asks. */
	if (selector == DEXT_SEL_WAIT_INTERRUPT && n_in == 0 && n_out == 0)
		return dext_wait_interrupt(c);
	return c->t->call(c, selector, in, n_in, out, n_out);
}

int dext_get_identity(struct dext_client *c, struct dext_identity *id)
{
	uint64_t v[6];
	int r = dext_call(c, DEXT_SEL_GET_IDENTITY, NULL, 0, v, 6);

	if (r == 0)
		dext_identity_from(id, v);
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

int dext_mmio_write_posted(struct dext_client *c, uint32_t memory_index, uint64_t off,
			   unsigned int width, uint64_t val)
{
	uint64_t in[4] = { memory_index, off, width, val };

	return dext_call_posted(c, DEXT_SEL_MMIO_WRITE, in, 4);
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
	bool was_armed = c->wait_armed;
	int r;

	/*
	 * Arming while armed replaces the armed wait (the dext keeps one
	 * completion). Armed before the call: a transport may complete it
	 * before returning.
	 */
	c->wait_armed = true;
	r = c->t->arm_wait(c);
	if (r < 0 && !was_armed)
		c->wait_armed = false;
	return r;
}

int dext_wait_interrupt_posted(struct dext_client *c)
{
	int r;

	if (c->wait_armed || !c->t->post_arm_wait)
		return dext_wait_interrupt(c);
	c->posted.sent++;
	/* Armed from now on: its completion may come right after the reply. */
	c->wait_armed = true;
	r = c->t->post_arm_wait(c);
	if (r < 0)
		c->wait_armed = false;
	return r;
}
