/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated PCI function as the dext sees it: identity, config space,
 * BARs, MSI-X vectors fanned into the 256-bit pending set, and the DART
 * domain that every device DMA goes through.
 *
 * Device models (dev-*.c) fill in the identity, BARs and an ops table and
 * reach memory only with fn_dma_read()/fn_dma_write() (or, in place,
 * fn_dma_get()/fn_dma_put()).
 *
 * Threads: the daemon's main thread runs every selector; a device model may
 * run worker threads for its DMA engine. fn->lock guards the config space,
 * the device's registers (ops are called with it held) and claim state.
 * The interrupt state page is shared with its owner and updated atomically.
 */
#ifndef DEXTD_FUNCTION_H
#define DEXTD_FUNCTION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfio-apple/dext-abi.h>

#include "dart/dart.h"
#include "shared-ram.h"

struct dext_function;
struct dextd;

struct dext_bar {
	uint64_t size;		/* 0: not implemented */
	uint8_t type;		/* DEXT_BAR_TYPE_* */
	int memfd;		/* >= 0: backed by memory a client may map */
	void *mem;		/* dextd's own mapping of memfd */
};

struct dext_function_ops {
	const char *kind;
	/* Trapped BAR access; width 1, 2, 4 or 8, offset checked. fn->lock held. */
	int (*mmio_read)(struct dext_function *fn, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t *val);
	int (*mmio_write)(struct dext_function *fn, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t val);
	/* Function level reset of the device's own state. fn->lock held. */
	void (*reset)(struct dext_function *fn);
	/* Stop workers and free priv. fn->lock not held. */
	void (*destroy)(struct dext_function *fn);
};

struct dext_function_stats {
	atomic_uint_fast64_t irqs;		/* interrupts signalled: a vector's pending bit set */
	atomic_uint_fast64_t irqs_coalesced;	/* raised while still pending: joined that one */
	atomic_uint_fast64_t irqs_masked;	/* raised while not enabled: dropped */
	atomic_uint_fast64_t resets;
	atomic_uint_fast64_t bar_reg_writes;	/* config writes to 0x10..0x27 */
	atomic_uint_fast64_t dma_bytes;
	atomic_uint_fast64_t offset_mismatch;	/* registrations: VA != key mod 16 KiB */
};

struct dext_function {
	unsigned int bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_code;		/* 24-bit */
	unsigned int index;		/* position in the daemon's list */

	pthread_mutex_t lock;
	uint8_t config[DEXT_CONFIG_SPACE_SIZE];
	uint8_t cfg_wmask[DEXT_CONFIG_SPACE_SIZE];	/* writable bits */
	uint8_t cfg_w1c[DEXT_CONFIG_SPACE_SIZE];	/* write-1-to-clear bits */
	uint8_t cap_next;		/* where the next capability goes */
	struct dext_bar bars[DEXT_BAR_COUNT];
	unsigned int msix_vectors;	/* from the MSI-X capability, 0 if none */
	unsigned int msi_vectors;	/* from the MSI capability, 0 if none */

	/* Claim: shared, refcounted; the first claim enables MEM and BME. */
	unsigned int claims;
	bool terminated;

	/*
	 * Interrupts belong to the user client that set them up, as in the
	 * reference dext (its dispatch sources and state page are per user
	 * client): only that client sees the page (memory type 7) and may
	 * check, wait and mask. Each set-up gets a fresh page.
	 */
	int irq_memfd;
	struct dext_irq_state *irq;
	unsigned int vectors;		/* set up; 0 = SetupInterrupts not called */
	void *irq_owner;		/* the connection that set them up */
	atomic_bool irq_notify;		/* the main loop has wakeups to send */

	struct dart *dart;
	uint64_t dma_segment;		/* DMA buffer split into DART segments of this size; 0: one */
	pid_t self_pid;
	struct shared_ram shared;	/* client memory shared by fd (DEXT_CTL_SHARE_MEMORY) */

	const struct dext_function_ops *ops;
	void *priv;
	struct dextd *daemon;
	struct dext_function_stats stats;
};

/* Allocation and the generic config space; device models call these. */
struct dext_function *fn_alloc(unsigned int bus, unsigned int dev, unsigned int fn,
			       const struct dart_config *dart_cfg);
void fn_free(struct dext_function *fn);
void fn_set_identity(struct dext_function *fn, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision);
/* A BAR; mappable BARs get memory of that size. Returns 0 or -errno. */
int fn_add_bar(struct dext_function *fn, unsigned int bar, uint64_t size, uint8_t type,
	       bool mappable);
/* An MSI-X capability with its table and PBA in bar. */
int fn_add_msix(struct dext_function *fn, unsigned int vectors, unsigned int bar,
		uint32_t table_off, uint32_t pba_off);
/* An MSI capability (64-bit, no masking) for vectors (a power of two, <= 32). */
int fn_add_msi(struct dext_function *f, unsigned int vectors);
/* A PCI Express capability (endpoint, FLR capable). */
int fn_add_pcie(struct dext_function *fn);

/* Config space as the dext serves it (BAR registers synthesised). fn->lock held. */
int fn_config_read(struct dext_function *fn, uint32_t off, unsigned int width, uint32_t *val);
int fn_config_write(struct dext_function *fn, uint32_t off, unsigned int width, uint32_t val);
uint16_t fn_command(struct dext_function *fn);

/*
 * Device DMA through the DART. Returns 0, -EFAULT for a DART fault (the
 * fault is recorded; *done, if not NULL, counts the bytes moved before it),
 * -EIO when bus mastering is off or the target memory is gone.
 * Called without fn->lock.
 */
int fn_dma_read(struct dext_function *fn, uint64_t iova, void *buf, size_t len, size_t *done);
int fn_dma_write(struct dext_function *fn, uint64_t iova, const void *buf, size_t len,
		 size_t *done);

/*
 * An access holds its DART region while it moves bytes (fn_dma_step in
 * function.c). After mappings are removed, fn_dma_drain waits until no
 * access to them is still moving bytes; after bus mastering went off,
 * fn_dma_quiesce waits until no access at all is. Both are bounded by
 * FN_DMA_DRAIN_MS and log when it expires (a copy stalled on the client's
 * memory). Called without fn->lock.
 */
#define FN_DMA_DRAIN_MS		2000
void fn_dma_drain(struct dext_function *fn, const char *why);
void fn_dma_quiesce(struct dext_function *fn, const char *why);

/*
 * In-place DMA for file I/O straight into client memory. Between
 * fn_dma_hold() and fn_dma_release() (one command, no fn_dma_read/write in
 * between) fn_dma_direct() translates [iova, iova + len) through the DART
 * with the same hold fn_dma_step takes, checked like any DMA (a fault is
 * recorded and returns -EFAULT; bus master off -EIO), and gives dextd's
 * address of the target if it lies in one mapping and in memory the client
 * shared; the DART hold in *x then lasts until fn_dma_put(). 0 with *p NULL
 * (nothing held) if it does not: move the data with fn_dma_read/write after
 * releasing.
 */
void fn_dma_hold(struct dext_function *fn);
int fn_dma_direct(struct dext_function *fn, uint64_t iova, size_t len, bool device_writes,
		  void **p, struct dart_xlate *x);
void fn_dma_put(struct dext_function *fn, struct dart_xlate *x);
void fn_dma_release(struct dext_function *fn, size_t moved);

/* The device raises an MSI/MSI-X vector. Any thread, any lock state. */
void fn_raise_irq(struct dext_function *fn, unsigned int vector);

/* Interrupt state helpers for the selector handlers. */
int fn_setup_interrupts(struct dext_function *fn, void *owner, unsigned int *vectors);
void fn_teardown_interrupts(struct dext_function *fn);
bool fn_irq_pending(struct dext_function *fn);

/* Reset the function (FLR): device state; config restored; pending bits kept. */
void fn_reset(struct dext_function *fn);

/* Device models. */
struct dext_function *dmatest_create(unsigned int bus, unsigned int dev, unsigned int fn,
				     const struct dart_config *dart_cfg, const char *opts);
/* NVMe 1.4 controller, one namespace (dev-nvme.c); opts "size=..,backing=..". */
struct dext_function *nvme_create(unsigned int bus, unsigned int dev, unsigned int fn,
				  const struct dart_config *dart_cfg, const char *opts);

#endif /* DEXTD_FUNCTION_H */
