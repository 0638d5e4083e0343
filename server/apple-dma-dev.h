/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * apple-dma-pci (1b36:0015) as a vfio-user endpoint: BAR0 registers of
 * apple-dma-abi.h, guest RAM from QEMU's DMA regions, and the doorbell,
 * which runs lib/apple-dma's batch processor against the dext: a MAP entry
 * becomes RegisterDMARegion(key = GPA, server address of that guest RAM),
 * an UNMAP entry UnregisterDMARegion(key).
 *
 * The server remembers every live registration so that when QEMU takes a
 * RAM region away, the DART stops pointing into it before the region's
 * mapping in this process goes.
 *
 * Doorbells are synchronous: the endpoint has an mmappable scratch BAR,
 * which makes QEMU wait for our reply to every BAR write, so FEATURES says
 * APPLE_DMA_FEATURE_SYNC_DOORBELL (unless created with posted doorbells,
 * for measurements and tests).
 *
 * A batch is bounded in time as every request from QEMU is (the link's
 * request budget): the vCPU that rang waits in the MMIO exit, with
 * interrupts off in apple_dma, until we answer.
 *
 * Runs on the server's single thread.
 */
#ifndef VFIO_APPLE_APPLE_DMA_DEV_H
#define VFIO_APPLE_APPLE_DMA_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "apple-dma/batch.h"
#include "dext-link.h"
#include "guest-ram.h"
#include "ratelimit.h"
#include "reg-table.h"

struct vfu_ctx;

struct apple_dma_dev_stats {
	struct apple_dma_batch_stats batch;
	uint64_t status_ok, status_ioerr, status_inval;	/* batches by result */
	uint64_t dropped_on_ram_removal;	/* registrations QEMU's unmap removed */
	uint64_t maps_after_loss;	/* answered while the dext is lost */
	uint64_t bad_accesses;		/* BAR0 accesses not 4-byte sized and aligned */
	uint64_t ram_shared;		/* guest RAM regions shared with the dext by fd */
	uint64_t ram_share_failed;	/* left to the dext's process_vm_readv/writev */
};

struct apple_dma_dev {
	struct vfu_ctx *ctx;
	struct dext_link *link;
	bool attached;
	uint32_t managed_bdf;
	uint32_t max_entries;
	uint32_t status;
	uint64_t cmd_gpa;
	int scratch_fd;			/* the scratch BAR's memfd; -1: posted doorbells */
	struct guest_ram ram;
	struct reg_table regs;		/* live registrations: key -> length */
	struct apple_dma_dev_stats stats;
	/*
	 * Guest-triggered messages (rejected batches, bad BAR0 accesses, failed
	 * maps, RAM churn from PAM writes, resets); stats keep exact counts.
	 */
	struct ratelimit rl_reject, rl_access, rl_map, rl_ram, rl_ram_ro;
	bool share_ram;			/* share guest RAM fds with the dext (set after create) */
};

int apple_dma_dev_create(struct apple_dma_dev *d, const char *socket_path,
			 struct dext_link *link, uint32_t managed_bdf, uint32_t max_entries,
			 bool posted_doorbells);
void apple_dma_dev_destroy(struct apple_dma_dev *d);
int apple_dma_dev_poll_fd(struct apple_dma_dev *d);
/* Serves what is readable. Returns 0, or -ENOTCONN once QEMU disconnected. */
int apple_dma_dev_run(struct apple_dma_dev *d);

#endif /* VFIO_APPLE_APPLE_DMA_DEV_H */
