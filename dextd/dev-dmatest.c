// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dmatest: a DMA engine that only reaches memory through the DART
 * (registers in include/vfio-apple/dmatest-regs.h).
 *
 * A write to CMD hands the operation to a worker thread; the engine moves
 * data in 64 KiB steps through fn_dma_read/fn_dma_write, so a stale IOVA
 * ends the operation with a DART fault and the access does nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vfio-apple/dmatest-regs.h>

#include "common/log.h"
#include "function.h"

#define DMATEST_STEP	(64u << 10)

struct dmatest {
	struct dext_function *fn;
	struct dmatest_regs regs;	/* guarded by fn->lock */
	bool pending;			/* a CMD the worker has not picked up */
	bool stop;
	uint64_t generation;		/* bumped by reset: abandons a running op */
	pthread_cond_t cond;
	pthread_t worker;
	bool worker_started;
	uint8_t *buf;			/* DMATEST_STEP bytes, worker only */
	uint8_t *buf2;
};

static bool dmatest_cmd_valid(uint32_t cmd)
{
	return cmd >= DMATEST_CMD_COPY && cmd <= DMATEST_CMD_RAISE;
}

/* Runs one operation; regs is the snapshot taken at the doorbell. */
static uint32_t dmatest_run(struct dmatest *dt, const struct dmatest_regs *r,
			    uint64_t *result, uint64_t *done, uint64_t *fault_iova)
{
	struct dext_function *fn = dt->fn;
	uint64_t hash = DMATEST_FNV_OFFSET, off = 0;
	int ret = 0;

	*done = 0;
	if (r->cmd == DMATEST_CMD_RAISE)
		return DMATEST_STATUS_DONE;
	if (r->len == 0 || r->len > DMATEST_MAX_LEN)
		return DMATEST_STATUS_ERROR;
	if (r->cmd == DMATEST_CMD_FILL)
		memset(dt->buf, r->pattern & 0xff, DMATEST_STEP);

	while (off < r->len) {
		size_t step = r->len - off < DMATEST_STEP ? r->len - off : DMATEST_STEP;
		size_t moved = 0;
		uint64_t base = r->src;	/* the side a fault is reported on */

		switch (r->cmd) {
		case DMATEST_CMD_COPY:
			ret = fn_dma_read(fn, r->src + off, dt->buf2, step, &moved);
			if (ret == 0) {
				base = r->dst;
				ret = fn_dma_write(fn, r->dst + off, dt->buf2, step, &moved);
			}
			break;
		case DMATEST_CMD_FILL:
			base = r->dst;
			ret = fn_dma_write(fn, r->dst + off, dt->buf, step, &moved);
			break;
		case DMATEST_CMD_CHECKSUM:
			ret = fn_dma_read(fn, r->src + off, dt->buf2, step, &moved);
			for (size_t i = 0; ret == 0 && i < step; i++) {
				hash ^= dt->buf2[i];
				hash *= DMATEST_FNV_PRIME;
			}
			break;
		}
		if (ret < 0) {
			if (ret == -EFAULT)
				*fault_iova = base + off + moved;
			*done = off + (base == r->dst ? moved : 0);
			return DMATEST_STATUS_ERROR;
		}
		off += step;
		*done = off;
	}
	*result = hash;
	return DMATEST_STATUS_DONE;
}

static void *dmatest_worker(void *arg)
{
	struct dmatest *dt = arg;
	struct dext_function *fn = dt->fn;

	pthread_mutex_lock(&fn->lock);
	for (;;) {
		struct dmatest_regs snap;
		uint64_t gen, result = 0, done = 0, fault = UINT64_MAX;
		uint32_t st;

		while (!dt->pending && !dt->stop)
			pthread_cond_wait(&dt->cond, &fn->lock);
		if (dt->stop)
			break;
		dt->pending = false;
		snap = dt->regs;
		gen = dt->generation;
		pthread_mutex_unlock(&fn->lock);

		st = dmatest_run(dt, &snap, &result, &done, &fault);

		pthread_mutex_lock(&fn->lock);
		if (gen != dt->generation)
			continue;	/* reset while running: the result is void */
		dt->regs.status = st;
		dt->regs.bytes_done = done;
		if (snap.cmd == DMATEST_CMD_CHECKSUM && st == DMATEST_STATUS_DONE)
			dt->regs.result = result;
		if (st == DMATEST_STATUS_ERROR && fault != UINT64_MAX) {
			dt->regs.fault_iova = fault;
			dt->regs.faults++;
		}
		dt->regs.completions++;
		fn_raise_irq(fn, snap.vector);
	}
	pthread_mutex_unlock(&fn->lock);
	return NULL;
}

static void dmatest_reset_regs(struct dmatest *dt)
{
	memset(&dt->regs, 0, sizeof(dt->regs));
	dt->regs.id = DMATEST_ID_VALUE;
	dt->regs.version = DMATEST_VERSION_VALUE;
	dt->pending = false;
	dt->generation++;
}

static int dmatest_mmio_read(struct dext_function *fn, unsigned int bar, uint64_t off,
			     unsigned int width, uint64_t *val)
{
	struct dmatest *dt = fn->priv;
	uint64_t v = 0;

	if (bar != 0) {
		*val = 0;	/* BAR4: QEMU emulates the MSI-X table itself */
		return 0;
	}
	if (off + width <= sizeof(dt->regs))
		memcpy(&v, (const uint8_t *)&dt->regs + off, width);
	*val = v;
	return 0;
}

static int dmatest_mmio_write(struct dext_function *fn, unsigned int bar, uint64_t off,
			      unsigned int width, uint64_t val)
{
	struct dmatest *dt = fn->priv;
	uint8_t *regs = (uint8_t *)&dt->regs;

	if (bar != 0)
		return 0;
	if (off == DMATEST_REG_CMD && width == 4) {
		if (dt->regs.status & DMATEST_STATUS_BUSY) {
			log_warn("%02x:%02x.%x: dmatest: CMD while busy, ignored",
				 fn->bus, fn->dev, fn->fn);
			return 0;
		}
		dt->regs.cmd = (uint32_t)val;
		if (!dmatest_cmd_valid(dt->regs.cmd)) {
			dt->regs.status = DMATEST_STATUS_ERROR;
			dt->regs.completions++;
			return 0;
		}
		dt->regs.status = DMATEST_STATUS_BUSY;
		dt->pending = true;
		pthread_cond_signal(&dt->cond);
		return 0;
	}
	/* Only the programmable registers take writes. */
	if (off >= DMATEST_REG_SRC && off + width <= DMATEST_REG_CMD)
		memcpy(regs + off, &val, width);
	return 0;
}

static void dmatest_reset(struct dext_function *fn)
{
	dmatest_reset_regs(fn->priv);
}

static void dmatest_destroy(struct dext_function *fn)
{
	struct dmatest *dt = fn->priv;

	if (!dt)
		return;
	if (dt->worker_started) {
		pthread_mutex_lock(&fn->lock);
		dt->stop = true;
		pthread_cond_signal(&dt->cond);
		pthread_mutex_unlock(&fn->lock);
		pthread_join(dt->worker, NULL);
	}
	pthread_cond_destroy(&dt->cond);
	free(dt->buf);
	free(dt->buf2);
	free(dt);
	fn->priv = NULL;
}

static const struct dext_function_ops dmatest_ops = {
	.kind = "dmatest",
	.mmio_read = dmatest_mmio_read,
	.mmio_write = dmatest_mmio_write,
	.reset = dmatest_reset,
	.destroy = dmatest_destroy,
};

struct dext_function *dmatest_create(unsigned int bus, unsigned int dev, unsigned int func,
				     const struct dart_config *dart_cfg, const char *opts)
{
	struct dext_function *fn;
	struct dmatest *dt;
	const char *irq = "msix";
	int r;

	/* irq=msix (default), msi (one MSI vector, no MSI-X) or none (neither). */
	if (opts && *opts) {
		if (strcmp(opts, "irq=msix") && strcmp(opts, "irq=msi") && strcmp(opts, "irq=none")) {
			log_error("dmatest: unknown option '%s' (known: irq=msix|msi|none)", opts);
			errno = EINVAL;
			return NULL;
		}
		irq = opts + 4;
	}
	fn = fn_alloc(bus, dev, func, dart_cfg);
	if (!fn)
		return NULL;
	dt = calloc(1, sizeof(*dt));
	if (!dt)
		goto fail;
	fn->priv = dt;
	fn->ops = &dmatest_ops;
	dt->fn = fn;
	pthread_cond_init(&dt->cond, NULL);
	dt->buf = malloc(DMATEST_STEP);
	dt->buf2 = malloc(DMATEST_STEP);
	if (!dt->buf || !dt->buf2)
		goto fail;
	dmatest_reset_regs(dt);

	fn_set_identity(fn, DMATEST_VENDOR_ID, DMATEST_DEVICE_ID, DMATEST_CLASS, 1);
	if (fn_add_bar(fn, 0, DMATEST_BAR0_SIZE, 0, false) ||
	    fn_add_bar(fn, 2, DMATEST_BAR2_SIZE, DEXT_BAR_TYPE_MEM64 | DEXT_BAR_TYPE_PREFETCH, true) ||
	    fn_add_bar(fn, 4, DMATEST_BAR4_SIZE, 0, false) ||
	    fn_add_pcie(fn))
		goto fail;
	if (!strcmp(irq, "msix"))
		r = fn_add_msix(fn, DMATEST_MSIX_VECTORS, 4, 0, DMATEST_MSIX_PBA_OFFSET);
	else if (!strcmp(irq, "msi"))
		r = fn_add_msi(fn, 1);
	else
		r = 0;
	if (r < 0)
		goto fail;
	if (pthread_create(&dt->worker, NULL, dmatest_worker, dt))
		goto fail;
	dt->worker_started = true;
	return fn;
fail:
	fn_free(fn);
	errno = ENOMEM;
	return NULL;
}
