/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvme: a simulated NVMe 1.4 controller with one namespace, enough for the
 * stock Linux nvme driver (structures and constants in nvme-spec.h).
 *
 * BAR0 (16 KiB, 64-bit, trapped) holds the controller registers and the
 * doorbells (CAP.DSTRD = 0); BAR4 holds the MSI-X table and PBA, which QEMU
 * emulates itself, so it reads as zero here. Vector 0 is the admin queue's,
 * one more per I/O queue pair.
 *
 * Execution: a doorbell write only records the new tail or head and wakes
 * a worker. A pool of worker threads (option workers=, default
 * NVME_WORKERS_DEFAULT) serves the submission queues round-robin; each
 * runs one command at a time, so several commands of one queue run at
 * once and may complete out of order, as NVMe allows. A worker copies what
 * it needs under fn->lock and drops the lock for every DMA and file
 * access. All memory the host names (queue entries, PRP lists, data) is
 * reached by IOVA through fn_dma_read/write, i.e. through the DART. A
 * controller reset bumps a generation counter so that whatever a worker
 * was doing for the old controller is discarded. Admin commands run alone:
 * the admin queue is fetched only when no I/O command is in flight, and no
 * I/O command is fetched while an admin command waits or runs, so queue
 * deletion, feature changes and shutdown see a quiet controller.
 *
 * A command is fetched only when its CQ has a slot no other fetched command
 * has reserved, so an unconsumed CQE is never overwritten: a full CQ stalls
 * its SQs until the host moves the CQ head. A finished command takes the
 * CQ's next slot (CQEs are in order of completion) and reports the SQ head
 * of that moment; the last of overlapping posts raises the vector once
 * every slot up to the tail is written, and a raise costs no wakeup while
 * the vector is still pending from an earlier one (fn_raise_irq): completions
 * that finish close together share one interrupt.
 *
 * Shadow doorbells (Doorbell Buffer Config, OACS bit 8, I/O queues only, as
 * QEMU's nvme and the Linux driver use them): before a worker sleeps it
 * writes each I/O SQ's EventIdx (the tail it has seen; a CQ's only when the
 * CQ is full) and then reads the shadow doorbells, one worker at a time so
 * that EventIdx never moves back; a host that finds EventIdx equal to the
 * value it last wrote rings the MMIO doorbell, so an SQ doorbell is needed
 * only when the controller has caught up, i.e. gone idle, and a CQ
 * doorbell about once per trip round the CQ.
 *
 * Files: dev-nvme.c creation and teardown; nvme-regs.c registers and
 * doorbells; nvme-dbbuf.c shadow doorbells; nvme-queue.c the workers;
 * nvme-admin.c and nvme-io.c the commands; nvme-prp.c PRPs and data
 * movement. This header is theirs only.
 */
#ifndef DEXTD_NVME_H
#define DEXTD_NVME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "function.h"
#include "nvme-spec.h"

#define NVME_BAR0_SIZE		0x4000
#define NVME_BAR4_SIZE		0x4000
#define NVME_MSIX_PBA_OFFSET	0x2000
#define NVME_QUEUES_DEFAULT	8	/* I/O queue pairs */
#define NVME_QUEUES_MAX		64
#define NVME_WORKERS_DEFAULT	4	/* threads running commands (bench: docs/performance.md) */
#define NVME_WORKERS_MAX	16
#define NVME_MQES		1023	/* CAP.MQES: 1024 entries per queue */
#define NVME_TIMEOUT		0x14	/* CAP.TO: 10 s in 500 ms units */
#define NVME_PAGE_SIZE		4096u	/* CC.MPS 0: MPSMIN = MPSMAX = 0 */
#define NVME_MDTS		7	/* 2^7 pages: 512 KiB per command */
#define NVME_MAX_XFER		(NVME_PAGE_SIZE << NVME_MDTS)
#define NVME_MAX_SEGS		(NVME_MAX_XFER / NVME_PAGE_SIZE + 1)
#define NVME_PRP_PER_PAGE	(NVME_PAGE_SIZE / 8)
#define NVME_AERL		3	/* 4 outstanding Asynchronous Event Requests */
#define NVME_ACL		3
#define NVME_SIZE_DEFAULT	(256ull << 20)
#define NVME_NSID		1
#define NVME_NSID_ALL		0xffffffffu
#define NVME_WCTEMP		343	/* kelvin */
#define NVME_CCTEMP		373
#define NVME_TEMP		311	/* what the SMART log reports */

/* Our status values carry DNR: retrying a malformed command cannot help. */
#define NVME_ERR(sc)		((uint16_t)((sc) | NVME_STATUS_DNR))

struct nvme_sq {
	bool valid;
	uint16_t cqid;
	uint32_t size;
	uint64_t base;		/* IOVA */
	uint32_t head;		/* next entry the worker fetches */
	uint32_t tail;		/* from the doorbell */
};

struct nvme_cq {
	bool valid;
	bool ien;
	uint16_t vector;
	uint32_t size;
	uint64_t base;
	uint32_t head;		/* from the doorbell */
	uint32_t tail;		/* next entry a worker posts */
	uint8_t phase;
	unsigned int sqs;	/* SQs that complete here */
	uint32_t reserved;	/* slots promised to fetched, unposted commands */
	uint32_t posting;	/* slots taken whose entry is still being written */
};

struct nvme_features {
	uint32_t arbitration;
	uint32_t power_mgmt;
	uint16_t temp_over, temp_under;
	bool wce;
	uint16_t nsqa, ncqa;	/* 0's based */
	uint32_t irq_coalesce;
	uint32_t async_event;
};

struct nvme_seg {
	uint64_t iova;
	uint32_t len;
};

/* How one command ended; no_cqe: held (an AER) or void (a reset intervened). */
struct nvme_result {
	uint16_t status;
	uint32_t dw0;
	bool no_cqe;
};

struct nvme_ctrl;

/* One worker thread and the scratch its command uses. */
struct nvme_worker {
	struct nvme_ctrl *n;
	pthread_t thread;
	bool started;
	uint8_t *bounce;		/* NVME_MAX_XFER bytes */
	uint64_t *prp;			/* one PRP list page */
	struct nvme_seg segs[NVME_MAX_SEGS];
	struct dart_xlate holds[NVME_MAX_SEGS];	/* in-place I/O's DART holds */
};

struct nvme_ctrl {
	struct dext_function *fn;

	/* Fixed at creation. */
	unsigned int ioqs;		/* I/O queue pairs; vectors = ioqs + 1 */
	uint64_t size;			/* namespace bytes */
	uint64_t nsze;			/* namespace LBAs */
	unsigned int lba_shift;
	int fd;				/* backing file, or -1 */
	/*
	 * cache=none: the backing file opened O_DIRECT as well, or -1. Reads
	 * and writes in place use it when the guest's buffers allow (aligned
	 * to dio_align); the host page cache is then bypassed as QEMU's
	 * cache=none does. Anything else goes through fd.
	 */
	int dfd;
	unsigned int dio_align;
	uint64_t dio_fallbacks;		/* commands not aligned for dfd (atomic) */
	uint8_t *mem;			/* memory backing when fd < 0 */
	char sn[21];
	uint8_t eui64[8];
	uint8_t nguid[16];

	/* Registers and queue state, guarded by fn->lock. */
	uint64_t cap;
	uint32_t cc, csts, aqa, intms;
	uint64_t asq, acq;
	struct nvme_sq *sq;		/* [ioqs + 1] */
	struct nvme_cq *cq;
	unsigned int aers;		/* held Asynchronous Event Requests */
	struct nvme_features feat;
	bool fatal;			/* CSTS.CFS: nothing runs until a reset */
	bool shutdown_pending;
	unsigned int rr;		/* round-robin cursor over SQs */
	uint64_t generation;		/* bumped by every controller reset */
	bool dbbuf;			/* Doorbell Buffer Config in force (I/O queues) */
	uint64_t dbs, eis;		/* shadow doorbell and EventIdx buffers (IOVA) */
	uint32_t cq_ei[NVME_QUEUES_MAX + 1];	/* CQ EventIdx last published */
	bool db_kick;			/* an I/O queue's MMIO doorbell since the last refresh */
	bool refreshing;		/* a worker is in nvme_dbbuf_refresh (its own to clear) */
	bool fetching;			/* a worker is reading an SQ entry (its own to clear) */
	unsigned int io_inflight;	/* I/O commands fetched and not finished */
	bool admin_busy;		/* an admin command is running */
	bool stop;
	pthread_cond_t cond;		/* workers wait here for work */

	unsigned int nworkers;
	struct nvme_worker *workers;	/* [nworkers] */
};

#define NVME_LOG(n, lvl, fmt, ...)					\
	log_msg(lvl, "%02x:%02x.%x: nvme: " fmt, (n)->fn->bus, (n)->fn->dev,	\
		(n)->fn->fn, ##__VA_ARGS__)

/* nvme-regs.c */
void nvme_features_default(struct nvme_features *f, unsigned int ioqs);
void nvme_ctrl_reset(struct nvme_ctrl *n);
void nvme_fatal(struct nvme_ctrl *n, const char *what, uint64_t iova);
int nvme_mmio_read(struct dext_function *fn, unsigned int bar, uint64_t off, unsigned int width,
		   uint64_t *val);
int nvme_mmio_write(struct dext_function *fn, unsigned int bar, uint64_t off, unsigned int width,
		    uint64_t val);
bool nvme_set_sq_tail(struct nvme_ctrl *n, unsigned int qid, uint32_t val);
bool nvme_set_cq_head(struct nvme_ctrl *n, unsigned int qid, uint32_t val);

/* nvme-dbbuf.c: shadow doorbells and EventIdx (Doorbell Buffer Config, 5.8). */
void nvme_dbbuf_config(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
		       struct nvme_result *res);
bool nvme_dbbuf_refresh(struct nvme_ctrl *n);

/* nvme-prp.c */
uint16_t nvme_map_prp(struct nvme_worker *w, uint64_t prp1, uint64_t prp2, uint32_t len,
		      unsigned int *nsegs);
uint16_t nvme_dma_segs(struct nvme_worker *w, unsigned int nsegs, uint8_t *buf, bool to_host);
uint16_t nvme_to_host(struct nvme_worker *w, const struct nvme_sqe *cmd, uint8_t *buf,
		      uint32_t len);

/* nvme-io.c */
int nvme_store_io(struct nvme_ctrl *n, uint8_t *buf, uint64_t off, size_t len, bool write);
int nvme_store_sync(struct nvme_ctrl *n);
void nvme_io(struct nvme_worker *w, const struct nvme_sqe *cmd, bool wce,
	     struct nvme_result *res);

/* nvme-admin.c: gen is the controller generation the command was fetched in. */
void nvme_admin(struct nvme_worker *w, const struct nvme_sqe *cmd, uint64_t gen,
		struct nvme_result *res);

/*
 * nvme-queue.c: the worker pool, and a worker's two steps, which
 * fuzz/fuzz_nvme_cmd.c drives synchronously with the workers stopped.
 * fn->lock held for both: the next SQ with a command that may be fetched
 * now (-1: none), and running one command of it with worker w.
 */
int nvme_workers_start(struct nvme_ctrl *n, unsigned int count);
void nvme_workers_stop(struct nvme_ctrl *n);
void nvme_workers_free(struct nvme_ctrl *n);
int nvme_next_sq(struct nvme_ctrl *n);
void nvme_process(struct nvme_worker *w, unsigned int qid);

#endif /* DEXTD_NVME_H */
