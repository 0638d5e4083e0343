// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The simulated NVMe controller (dextd/dev-nvme.c) driven as the Linux nvme
 * driver would drive it, through the dext interface of a real dextd: host
 * memory is registered with RegisterDMARegion and the controller is
 * programmed with the bus addresses the DART hands out; completions are
 * awaited with WaitInterrupt + CheckInterrupt. 04:00.0 runs four workers,
 * 06:00.0 one, 05:00.0 (the file-backed one) the default.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <cmocka.h>

#include "dext-client/dext-client.h"
#include "dextd-harness.h"
#include "uffd-stall.h"
#include "nvme-spec.h"

#define DART_PAGE	16384ull
#define PG		4096u		/* the controller's memory page (CC.MPS = 0) */
#define WAIT_MS		10000		/* bound on any wait; a hang fails the test */
#define MEM_SIZE	(64ull << 20)
#define FILE_SIZE	(8ull << 20)

/* One registered arena per host; offsets of its parts. */
#define ARENA_SIZE	(2u << 20)
#define OFF_ASQ		0x00000u	/* 64 x 64 B */
#define OFF_ACQ		0x01000u	/* 64 x 16 B */
#define OFF_IOSQ	0x02000u	/* 64 x 64 B */
#define OFF_IOCQ	0x03000u	/* 64 x 16 B */
#define OFF_SQ2		0x04000u
#define OFF_CQ2		0x05000u
#define OFF_ID		0x08000u	/* two pages of scratch */
#define OFF_PRP		0x10000u	/* four PRP list pages */
#define OFF_DATA	0x20000u	/* 512 KiB + a page */
#define OFF_DATA2	0xa0000u
#define QD		64

#ifdef NVME_SHARED_RAM
#define SHARED_RAM	1	/* host memory shared with dextd by fd (host_memory()) */
#else
#define SHARED_RAM	0
#endif

#define IDX_MEM		0		/* STATUS index of 04:00.0 */

static struct dextd_proc daemon_proc;
static char tmpdir[64], backing[128], spec_file[256];

static const char *functions[] = {
	"nvme,bdf=04:00.0,size=64M,workers=4",
	spec_file,
	"nvme,bdf=06:00.0,size=16M,lba=4096,queues=2,workers=1",
	NULL,
};

struct ring {
	uint32_t off;		/* in the arena */
	uint16_t qid;
	uint32_t size;
	uint32_t idx;		/* SQ: tail; CQ: head */
	uint8_t phase;
};

struct host {
	struct dext_client *c;
	uint8_t *arena;
	uint64_t bus;		/* the arena's bus address */
	struct ring asq, acq, iosq, iocq;
	uint16_t cid;
	unsigned int vectors;
	uint64_t irqs[DEXT_IRQ_WORDS];	/* vectors seen pending */
};

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/nvme-test-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(backing, sizeof(backing), "%s/ns.img", tmpdir);
	/*
	 * With guest memory shared, transfers go in place: there the file is
	 * opened O_DIRECT as well (cache=none), aligned ones bypass the page
	 * cache and the rest fall back to it; without sharing, the page cache.
	 */
	snprintf(spec_file, sizeof(spec_file), "nvme,bdf=05:00.0,backing=%s,size=8M%s", backing,
		 SHARED_RAM ? ",cache=none" : "");
	return dextd_start(&daemon_proc, functions);
}

static int group_teardown(void **state)
{
	int r;

	(void)state;
	r = dextd_stop_clean(&daemon_proc);
	unlink(backing);
	rmdir(tmpdir);
	return r;
}

static void *map_anon(size_t len)
{
	void *p = dart_aligned_mmap(len, PROT_READ | PROT_WRITE, 0);

	assert_non_null(p);
	return p;
}


static void wait_wakeup(struct dext_client *c)
{
	struct pollfd p = { .fd = dext_client_fd(c), .events = POLLIN };

	while (!dext_client_take_wakeup(c)) {
		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		assert_int_equal(dext_client_dispatch(c), 0);
	}
}

static uint64_t rd(struct host *h, uint64_t off, unsigned int width)
{
	uint64_t v;

	assert_int_equal(dext_mmio_read(h->c, 0, off, width, &v), 0);
	return v;
}

static void wr(struct host *h, uint64_t off, unsigned int width, uint64_t v)
{
	assert_int_equal(dext_mmio_write(h->c, 0, off, width, v), 0);
}

/* Polls a register (each read is a round trip to dextd) until (reg & mask) == val. */
static void wait_reg(struct host *h, uint64_t off, uint32_t mask, uint32_t val)
{
	uint64_t end = harness_now_ms() + WAIT_MS;

	while ((rd(h, off, 4) & mask) != val)
		assert_true(harness_now_ms() < end);
}

static void *at(struct host *h, uint32_t off)
{
	return h->arena + off;
}

static uint64_t bus(struct host *h, uint32_t off)
{
	return h->bus + off;
}

/* Disables, programs the admin queues and enables; RDY expected. */
static void ctrl_enable(struct host *h)
{
	wr(h, NVME_REG_CC, 4, 0);
	wait_reg(h, NVME_REG_CSTS, NVME_CSTS_RDY, 0);
	memset(at(h, OFF_ASQ), 0, QD * sizeof(struct nvme_sqe));
	memset(at(h, OFF_ACQ), 0, QD * sizeof(struct nvme_cqe));
	h->asq = (struct ring){ .off = OFF_ASQ, .qid = 0, .size = QD };
	h->acq = (struct ring){ .off = OFF_ACQ, .qid = 0, .size = QD, .phase = 1 };
	wr(h, NVME_REG_AQA, 4, (QD - 1) << 16 | (QD - 1));
	wr(h, NVME_REG_ASQ, 8, bus(h, OFF_ASQ));
	wr(h, NVME_REG_ACQ, 8, bus(h, OFF_ACQ));
	wr(h, NVME_REG_CC, 4, NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16 | NVME_CC_EN);
	wait_reg(h, NVME_REG_CSTS, NVME_CSTS_RDY | NVME_CSTS_CFS, NVME_CSTS_RDY);
}

/* The open host of the running test, closed by the teardown if an assert left it. */
static struct host *live_host;

#ifdef NVME_SHARED_RAM
/*
 * The host's memory as the server's guest RAM is: a sealed memfd mapped
 * shared and shared with dextd by fd, so queues and data take the in-place
 * paths (memcpy, preadv/pwritev) instead of process_vm_readv/writev.
 */
static void *host_memory(struct dext_client *c, size_t len)
{
	int fd = memfd_create("nvme-host", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p = map_anon(len);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	assert_true(mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == p);
	assert_int_equal(dext_client_share_memory(c, p, len, fd, 0), 0);
	close(fd);
	return p;
}
#else
static void *host_memory(struct dext_client *c, size_t len)
{
	(void)c;
	return map_anon(len);
}
#endif

static void host_open(struct host *h, unsigned int bus_nr)
{
	uint64_t len;

	memset(h, 0, sizeof(*h));
	live_host = h;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &h->c), 0);
	assert_int_equal(dext_client_open(h->c, bus_nr, 0, 0), 0);
	assert_int_equal(dext_claim(h->c), 0);
	assert_int_equal(dext_setup_interrupts(h->c, &h->vectors), 0);
	h->arena = host_memory(h->c, ARENA_SIZE);
	assert_int_equal(dext_register_dma(h->c, 1, h->arena, ARENA_SIZE, &h->bus, &len), 0);
	assert_int_equal(len, ARENA_SIZE);
	ctrl_enable(h);
}

static void host_close(struct host *h)
{
	live_host = NULL;
	dext_client_close(h->c);
	munmap(h->arena, ARENA_SIZE);
}

static int test_teardown(void **state)
{
	(void)state;
	if (live_host)
		host_close(live_host);
	return 0;
}

/* Places cmd at the SQ tail with a fresh command id and rings the doorbell. */
static uint16_t submit(struct host *h, struct ring *sq, struct nvme_sqe *cmd)
{
	cmd->cid = h->cid++;
	memcpy((struct nvme_sqe *)at(h, sq->off) + sq->idx, cmd, sizeof(*cmd));
	sq->idx = (sq->idx + 1) % sq->size;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(h, NVME_REG_DBS + 8u * sq->qid, 4, sq->idx);
	return cmd->cid;
}

static uint16_t cqe_status_at(struct host *h, const struct ring *cq, uint32_t idx)
{
	volatile struct nvme_cqe *e = (volatile struct nvme_cqe *)at(h, cq->off) + idx;

	return e->status;
}

/* Waits (WaitInterrupt, CheckInterrupt) until the CQE at the head is new. */
static void wait_cqe(struct host *h, const struct ring *cq)
{
	uint64_t pending[DEXT_IRQ_WORDS];

	while ((cqe_status_at(h, cq, cq->idx) & 1) != cq->phase) {
		if (!dext_client_wait_armed(h->c))
			assert_int_equal(dext_wait_interrupt(h->c), 0);
		if ((cqe_status_at(h, cq, cq->idx) & 1) == cq->phase)
			break;
		wait_wakeup(h->c);
		assert_int_equal(dext_check_interrupt(h->c, pending), 0);
		for (unsigned int i = 0; i < DEXT_IRQ_WORDS; i++)
			h->irqs[i] |= pending[i];
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/*
 * Waits until vector has been seen pending. The controller raises it
 * after writing the CQE, so a CQE seen without waiting may precede it.
 */
static void assert_irq_seen(struct host *h, unsigned int vector)
{
	uint64_t pending[DEXT_IRQ_WORDS];

	while (!(h->irqs[vector / 64] & (1ull << (vector % 64)))) {
		if (!dext_client_wait_armed(h->c))
			assert_int_equal(dext_wait_interrupt(h->c), 0);
		wait_wakeup(h->c);
		assert_int_equal(dext_check_interrupt(h->c, pending), 0);
		for (unsigned int i = 0; i < DEXT_IRQ_WORDS; i++)
			h->irqs[i] |= pending[i];
	}
}

/* Takes the CQE at the head and moves the head doorbell. */
static void reap(struct host *h, struct ring *cq, struct nvme_cqe *out)
{
	wait_cqe(h, cq);
	memcpy(out, (const struct nvme_cqe *)at(h, cq->off) + cq->idx, sizeof(*out));
	if (++cq->idx == cq->size) {
		cq->idx = 0;
		cq->phase ^= 1;
	}
	wr(h, NVME_REG_DBS + 8u * cq->qid + 4, 4, cq->idx);
}

/* Runs one command to completion; returns SCT/SC. */
static uint16_t run(struct host *h, struct ring *sq, struct ring *cq, struct nvme_sqe *cmd,
		    uint32_t *dw0)
{
	struct nvme_cqe cqe;
	uint16_t cid = submit(h, sq, cmd);

	reap(h, cq, &cqe);
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.sq_id, sq->qid);
	assert_int_equal(cqe.sq_head, sq->idx);
	if (dw0)
		*dw0 = cqe.dw0;
	return NVME_STATUS_CODE(cqe.status >> 1);
}

static uint16_t admin(struct host *h, struct nvme_sqe *cmd, uint32_t *dw0)
{
	return run(h, &h->asq, &h->acq, cmd, dw0);
}

static uint16_t io(struct host *h, struct nvme_sqe *cmd)
{
	return run(h, &h->iosq, &h->iocq, cmd, NULL);
}

static uint16_t identify(struct host *h, unsigned int cns, uint32_t nsid, uint32_t off)
{
	struct nvme_sqe c = { .opcode = NVME_ADM_IDENTIFY, .nsid = nsid,
			      .prp1 = bus(h, off), .prp2 = bus(h, (off + PG) & ~(PG - 1)),
			      .cdw10 = cns };

	memset(at(h, off), 0xee, NVME_IDENTIFY_SIZE);
	return admin(h, &c, NULL);
}

static uint16_t create_cq(struct host *h, uint16_t qid, uint32_t off, uint32_t size, uint32_t flags,
			  uint16_t iv)
{
	struct nvme_sqe c = { .opcode = NVME_ADM_CREATE_CQ, .prp1 = bus(h, off),
			      .cdw10 = (size - 1) << 16 | qid, .cdw11 = (uint32_t)iv << 16 | flags };

	return admin(h, &c, NULL);
}

static uint16_t create_sq(struct host *h, uint16_t qid, uint32_t off, uint32_t size, uint32_t flags,
			  uint16_t cqid)
{
	struct nvme_sqe c = { .opcode = NVME_ADM_CREATE_SQ, .prp1 = bus(h, off),
			      .cdw10 = (size - 1) << 16 | qid, .cdw11 = (uint32_t)cqid << 16 | flags };

	return admin(h, &c, NULL);
}

static uint16_t delete_q(struct host *h, uint8_t opcode, uint16_t qid)
{
	struct nvme_sqe c = { .opcode = opcode, .cdw10 = qid };

	return admin(h, &c, NULL);
}

/* I/O queue pair 1 on vector 1, as the driver sets it up. */
static void create_io_queues(struct host *h)
{
	memset(at(h, OFF_IOSQ), 0, QD * sizeof(struct nvme_sqe));
	memset(at(h, OFF_IOCQ), 0, QD * sizeof(struct nvme_cqe));
	assert_int_equal(create_cq(h, 1, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_SUCCESS);
	assert_int_equal(create_sq(h, 1, OFF_IOSQ, QD, NVME_QUEUE_PC, 1), NVME_SC_SUCCESS);
	h->iosq = (struct ring){ .off = OFF_IOSQ, .qid = 1, .size = QD };
	h->iocq = (struct ring){ .off = OFF_IOCQ, .qid = 1, .size = QD, .phase = 1 };
}

static uint16_t rw(struct host *h, uint8_t opcode, uint64_t slba, uint32_t nlb, uint64_t prp1,
		   uint64_t prp2)
{
	struct nvme_sqe c = { .opcode = opcode, .nsid = 1, .prp1 = prp1, .prp2 = prp2,
			      .cdw10 = (uint32_t)slba, .cdw11 = (uint32_t)(slba >> 32),
			      .cdw12 = nlb - 1 };

	return io(h, &c);
}

/* A simple PRP list for len bytes at arena offset data (page aligned) in list page lp. */
static uint64_t prp_list(struct host *h, uint32_t data, uint32_t len, uint32_t lp)
{
	uint64_t *l = at(h, lp);
	uint32_t pages = (len + PG - 1) / PG;

	if (pages == 2)
		return bus(h, data + PG);
	for (uint32_t i = 1; i < pages; i++)
		l[i - 1] = bus(h, data + i * PG);
	return bus(h, lp);
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static uint64_t faults_of(struct host *h, unsigned int index)
{
	uint64_t s[DEXT_STATUS_COUNT];

	assert_int_equal(dext_client_status(h->c, index, s), 0);
	return s[DEXT_STATUS_FAULTS];
}

/* ---- PCI view ---- */

static void test_identity_bars_msix(void **state)
{
	struct dext_client *c;
	struct dext_identity id;
	struct dext_bar_info bi;
	uint32_t v, cap;
	uint64_t size, off;
	unsigned int vectors;
	int fd;

	(void)state;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_open(c, 4, 0, 0), 0);
	assert_int_equal(dext_get_identity(c, &id), 0);
	assert_int_equal(id.vendor, NVME_PCI_VENDOR_ID);
	assert_int_equal(id.device, NVME_PCI_DEVICE_ID);
	assert_int_equal(id.class_code, NVME_PCI_CLASS);
	assert_int_equal(dext_bar_info(c, 0, &bi), 0);
	assert_int_equal(bi.size, 0x4000);
	assert_int_equal(bi.type, DEXT_BAR_TYPE_MEM64);
	assert_int_equal(dext_bar_info(c, 4, &bi), 0);
	assert_true(bi.size == 0x1000 || bi.size == 0x4000);
	/* BAR0 is trapped: registers and doorbells are MMIO reads and writes. */
	assert_int_equal(dext_client_map_memory(c, DEXT_MEM_BAR0, &fd, &size, &off), -EOPNOTSUPP);
	/* The MSI-X capability: 9 vectors, table and PBA in BAR4. */
	assert_int_equal(dext_config_read(c, 0x34, 1, &cap), 0);
	while (cap) {
		assert_int_equal(dext_config_read(c, cap, 1, &v), 0);
		if (v == 0x11)
			break;
		assert_int_equal(dext_config_read(c, cap + 1, 1, &cap), 0);
	}
	assert_true(cap != 0);
	assert_int_equal(dext_config_read(c, cap + 2, 2, &v), 0);
	assert_int_equal((v & 0x7ff) + 1, 9);
	assert_int_equal(dext_config_read(c, cap + 4, 4, &v), 0);
	assert_int_equal(v & 7, 4);
	assert_int_equal(dext_claim(c), 0);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(vectors, 9);
	dext_client_close(c);
}

static void test_registers_after_reset(void **state)
{
	struct host h = { 0 };
	uint64_t cap;

	(void)state;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &h.c), 0);
	assert_int_equal(dext_client_open(h.c, 4, 0, 0), 0);
	assert_int_equal(dext_claim(h.c), 0);
	assert_int_equal(dext_reset_device(h.c), 0);
	cap = rd(&h, NVME_REG_CAP, 8);
	assert_int_equal(NVME_CAP_MQES(cap), 1023);
	assert_true(cap & NVME_CAP_CQR);
	assert_int_equal((cap >> NVME_CAP_TO_SHIFT) & 0xff, 0x14);
	assert_int_equal((cap >> NVME_CAP_DSTRD_SHIFT) & 0xf, 0);
	assert_false(cap & NVME_CAP_NSSRS);
	assert_true(cap & NVME_CAP_CSS_NVM);
	assert_int_equal((cap >> NVME_CAP_MPSMIN_SHIFT) & 0xf, 0);
	assert_int_equal((cap >> NVME_CAP_MPSMAX_SHIFT) & 0xf, 0);
	/* The driver reads CAP as two dwords (lo_hi_readq). */
	assert_int_equal(rd(&h, NVME_REG_CAP, 4), (uint32_t)cap);
	assert_int_equal(rd(&h, NVME_REG_CAP + 4, 4), cap >> 32);
	assert_int_equal(rd(&h, NVME_REG_VS, 4), NVME_VS_1_4);
	assert_int_equal(rd(&h, NVME_REG_CC, 4), 0);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4), 0);
	assert_int_equal(rd(&h, NVME_REG_CMBSZ, 4), 0);
	/* Narrow accesses see the same bytes. */
	assert_int_equal(rd(&h, NVME_REG_VS + 2, 2), 1);
	assert_int_equal(rd(&h, NVME_REG_VS + 1, 1), 4);
	/* NSSR is not supported: a write does nothing. */
	wr(&h, NVME_REG_NSSR, 4, 0x4e564d65);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4), 0);
	/* BAR4 (the MSI-X table, QEMU's to emulate) reads as zero. */
	{
		uint64_t v;

		assert_int_equal(dext_mmio_read(h.c, 1, 0, 4, &v), 0);	/* BAR4: memory index 1 */
		assert_int_equal(v, 0);
	}
	dext_client_close(h.c);
}

static void test_enable_validates_config(void **state)
{
	struct host h;
	uint32_t good = NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16 | NVME_CC_EN;

	(void)state;
	host_open(&h, 4);
	/* MPS outside MPSMIN..MPSMAX. */
	wr(&h, NVME_REG_CC, 4, 0);
	wr(&h, NVME_REG_CC, 4, good | 1u << 7);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_CFS);
	/* Wrong entry sizes. */
	wr(&h, NVME_REG_CC, 4, 0);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_CFS), 0);
	wr(&h, NVME_REG_CC, 4, NVME_CC_IOCQES_16 | NVME_CC_EN);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_CFS);
	/* A one-entry admin queue. */
	wr(&h, NVME_REG_CC, 4, 0);
	wr(&h, NVME_REG_AQA, 4, 0);
	wr(&h, NVME_REG_CC, 4, good);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_CFS);
	/* An ASQ that is not page aligned. */
	wr(&h, NVME_REG_CC, 4, 0);
	wr(&h, NVME_REG_AQA, 4, (QD - 1) << 16 | (QD - 1));
	wr(&h, NVME_REG_ASQ, 8, bus(&h, OFF_ASQ + 64));
	wr(&h, NVME_REG_CC, 4, good);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_CFS);
	/* And the right way works; the registers read back as written. */
	ctrl_enable(&h);
	assert_int_equal(rd(&h, NVME_REG_ASQ, 8), bus(&h, OFF_ASQ));
	assert_int_equal(rd(&h, NVME_REG_ACQ, 8), bus(&h, OFF_ACQ));
	assert_int_equal(rd(&h, NVME_REG_AQA, 4), (QD - 1) << 16 | (QD - 1));
	host_close(&h);
}

/* ---- admin commands ---- */

static void test_identify(void **state)
{
	struct host h;
	struct nvme_id_ctrl *ic;
	struct nvme_id_ns *ns;
	uint8_t *p;
	uint32_t *list;
	static const uint8_t zero[16];

	(void)state;
	host_open(&h, 4);
	assert_int_equal(identify(&h, NVME_CNS_CTRL, 0, OFF_ID), NVME_SC_SUCCESS);
	ic = at(&h, OFF_ID);
	assert_int_equal(ic->vid, NVME_PCI_VENDOR_ID);
	assert_int_equal(ic->ssvid, NVME_PCI_VENDOR_ID);
	assert_true(ic->sn[0] != ' ' && ic->sn[0] != 0);
	assert_memory_equal(ic->mn, "vfio-apple", 10);
	assert_int_equal(ic->mdts, 7);
	assert_int_equal(ic->ver, NVME_VS_1_4);
	assert_int_equal(ic->cntrltype, 1);
	assert_int_equal(ic->oacs, NVME_OACS_DBBUF);	/* Doorbell Buffer Config only */
	assert_int_equal(ic->aerl, 3);
	assert_int_equal(ic->npss, 0);
	assert_int_equal(ic->sqes, 0x66);
	assert_int_equal(ic->cqes, 0x44);
	assert_int_equal(ic->nn, 1);
	assert_int_equal(ic->sgls, 0);
	assert_true(ic->vwc & 1);
	assert_true(ic->wctemp != 0);
	assert_memory_equal(ic->subnqn, "nqn.", 4);
	assert_int_equal(ic->rsvd1024[0], 0);

	/* Namespace 1: 64 MiB of 512-byte LBAs. */
	assert_int_equal(identify(&h, NVME_CNS_NS, 1, OFF_ID), NVME_SC_SUCCESS);
	ns = at(&h, OFF_ID);
	assert_int_equal(ns->nsze, MEM_SIZE / 512);
	assert_int_equal(ns->ncap, MEM_SIZE / 512);
	assert_int_equal(ns->nuse, MEM_SIZE / 512);
	assert_int_equal(ns->nlbaf, 0);
	assert_int_equal(ns->flbas, 0);
	assert_int_equal(ns->lbaf[0].lbads, 9);
	assert_int_equal(ns->lbaf[0].ms, 0);
	assert_memory_not_equal(ns->eui64, zero, 8);
	assert_memory_not_equal(ns->nguid, zero, 16);

	/* Through a PRP1 with an offset: the page splits over PRP1 and PRP2. */
	assert_int_equal(identify(&h, NVME_CNS_NS, 1, OFF_ID + 0x800), NVME_SC_SUCCESS);
	assert_memory_equal((uint8_t *)at(&h, OFF_ID + 0x800), ns, 64);
	ns = at(&h, OFF_ID + 0x800);
	assert_int_equal(ns->lbaf[0].lbads, 9);

	assert_int_equal(identify(&h, NVME_CNS_ACTIVE_NS_LIST, 0, OFF_ID), NVME_SC_SUCCESS);
	list = at(&h, OFF_ID);
	assert_int_equal(list[0], 1);
	assert_int_equal(list[1], 0);
	assert_int_equal(identify(&h, NVME_CNS_ACTIVE_NS_LIST, 1, OFF_ID), NVME_SC_SUCCESS);
	assert_int_equal(list[0], 0);

	/* Descriptor list: EUI-64, NGUID, CSI (NVM). */
	assert_int_equal(identify(&h, NVME_CNS_NS_DESC_LIST, 1, OFF_ID), NVME_SC_SUCCESS);
	p = at(&h, OFF_ID);
	assert_int_equal(p[0], NVME_NIDT_EUI64);
	assert_int_equal(p[1], 8);
	assert_int_equal(p[12], NVME_NIDT_NGUID);
	assert_int_equal(p[13], 16);
	assert_int_equal(p[32], NVME_NIDT_CSI);
	assert_int_equal(p[33], 1);
	assert_int_equal(p[36], 0);

	assert_int_equal(identify(&h, NVME_CNS_NS, 2, OFF_ID), NVME_SC_INVALID_NS);
	assert_int_equal(identify(&h, NVME_CNS_NS, 0, OFF_ID), NVME_SC_INVALID_NS);
	assert_int_equal(identify(&h, 0x7f, 0, OFF_ID), NVME_SC_INVALID_FIELD);
	host_close(&h);
}

static void test_features_logs_and_misc_admin(void **state)
{
	struct host h;
	struct nvme_sqe c;
	struct nvme_cqe cqe;
	uint32_t dw0;
	uint16_t held[4], over;
	uint8_t *smart;

	(void)state;
	host_open(&h, 4);
	/* Number of Queues: asked 16/16, 8/8 allocated (0's based). */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES,
			       .cdw11 = 15u << 16 | 15u };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 7u << 16 | 7u);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES,
			       .cdw11 = 1u << 16 | 3u };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 1u << 16 | 3u);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 1u << 16 | 3u);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES,
			       .cdw11 = 0xffff };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	/* Volatile write cache: on by default, stored. */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cdw10 = NVME_FEAT_VWC };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 1);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_VWC };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cdw10 = NVME_FEAT_VWC };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 0);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cdw10 = 1u << 8 | NVME_FEAT_VWC };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 1);	/* the default */
	/* Others accepted and stored; unknown and saveable refused. */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_ASYNC_EVENT,
			       .cdw11 = 0x100 };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cdw10 = NVME_FEAT_ASYNC_EVENT };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0, 0x100);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_POWER_MGMT,
			       .cdw11 = 1 };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cdw10 = 0x7e };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cdw10 = 0x7e };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES,
			       .cdw10 = 1u << 31 | NVME_FEAT_ARBITRATION };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_FEATURE_NOT_SAVEABLE);

	/* Log pages: SMART (512 bytes), an unknown one. */
	smart = at(&h, OFF_ID);
	memset(smart, 0xee, 2 * PG);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_LOG_PAGE, .prp1 = bus(&h, OFF_ID),
			       .cdw10 = (512 / 4 - 1) << 16 | NVME_LOG_SMART };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	assert_int_equal(smart[0], 0);		/* no critical warning */
	assert_true(smart[1] | smart[2]);	/* a temperature */
	assert_int_equal(smart[511], 0);
	assert_int_equal(smart[512], 0xee);	/* nothing past the requested length */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_LOG_PAGE, .prp1 = bus(&h, OFF_ID),
			       .cdw10 = (64 / 4 - 1) << 16 | NVME_LOG_ERROR };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_GET_LOG_PAGE, .prp1 = bus(&h, OFF_ID),
			       .cdw10 = (512 / 4 - 1) << 16 | 0xc0 };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_LOG_PAGE);

	/* Abort never aborts; Keep Alive succeeds; unknown opcode; SGL asked. */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_ABORT, .cdw10 = 5u << 16 | 1 };
	assert_int_equal(admin(&h, &c, &dw0), NVME_SC_SUCCESS);
	assert_int_equal(dw0 & 1, 1);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = 0x7f };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_OPCODE);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_IDENTIFY, .flags = 0x40, .cdw10 = NVME_CNS_CTRL,
			       .prp1 = bus(&h, OFF_ID) };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);

	/* AERL + 1 = 4 AERs are held; the fifth is over the limit. */
	for (int i = 0; i < 4; i++) {
		c = (struct nvme_sqe){ .opcode = NVME_ADM_ASYNC_EVENT };
		held[i] = submit(&h, &h.asq, &c);
	}
	c = (struct nvme_sqe){ .opcode = NVME_ADM_ASYNC_EVENT };
	over = submit(&h, &h.asq, &c);
	reap(&h, &h.acq, &cqe);
	assert_int_equal(cqe.cid, over);
	assert_int_equal(NVME_STATUS_CODE(cqe.status >> 1), NVME_SC_AER_LIMIT);
	assert_true(cqe.status & (NVME_STATUS_DNR << 1));
	for (int i = 0; i < 4; i++)
		assert_true(held[i] != over);
	/* The admin queue goes on; the held ones stay silent. */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	/* Admin completions raised vector 0. */
	assert_irq_seen(&h, 0);
	host_close(&h);
}

static void test_queue_create_delete(void **state)
{
	struct host h;

	(void)state;
	host_open(&h, 4);
	/* Queue ids: 0 and above the 8 pairs are invalid. */
	assert_int_equal(create_cq(&h, 0, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_QID);
	assert_int_equal(create_cq(&h, 9, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_QID);
	/* Sizes: 1 entry, and above CAP.MQES + 1. */
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, 1, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_QSIZE);
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, 1025, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_QSIZE);
	/* PC = 0 with CAP.CQR = 1. */
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, QD, NVME_CQ_IEN, 1), NVME_SC_INVALID_FIELD);
	/* Vector 9 of 9. */
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 9),
			 NVME_SC_INVALID_VECTOR);
	/* Base not page aligned. */
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ + 16, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_PRP_OFFSET);
	/* A polled queue (IEN = 0) carries IV 0xffff, as Linux sends it. */
	assert_int_equal(create_cq(&h, 2, OFF_CQ2, QD, NVME_QUEUE_PC, 0xffff), NVME_SC_SUCCESS);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 2), NVME_SC_SUCCESS);

	/* An SQ needs an existing I/O CQ. */
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, QD, NVME_QUEUE_PC, 1), NVME_SC_CQ_INVALID);
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, QD, NVME_QUEUE_PC, 0), NVME_SC_CQ_INVALID);
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_SUCCESS);
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_QID);	/* exists */
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, QD, 0, 1), NVME_SC_INVALID_FIELD);
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, 1025, NVME_QUEUE_PC, 1), NVME_SC_INVALID_QSIZE);
	assert_int_equal(create_sq(&h, 0, OFF_IOSQ, QD, NVME_QUEUE_PC, 1), NVME_SC_INVALID_QID);
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, QD, NVME_QUEUE_PC, 1), NVME_SC_SUCCESS);
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, QD, NVME_QUEUE_PC, 1), NVME_SC_INVALID_QID);
	/* The largest queue is accepted. */
	assert_int_equal(create_sq(&h, 2, OFF_DATA, 1024, NVME_QUEUE_PC, 1), NVME_SC_SUCCESS);

	/* Number of Queues cannot change once I/O queues exist. */
	{
		struct nvme_sqe c = { .opcode = NVME_ADM_SET_FEATURES,
				      .cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 0 };

		assert_int_equal(admin(&h, &c, NULL), NVME_SC_CMD_SEQ_ERROR);
	}

	/* A CQ in use cannot go; SQs first. */
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 1), NVME_SC_INVALID_QUEUE_DELETION);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_SQ, 1), NVME_SC_SUCCESS);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 1), NVME_SC_INVALID_QUEUE_DELETION);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_SQ, 2), NVME_SC_SUCCESS);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 1), NVME_SC_SUCCESS);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_SQ, 1), NVME_SC_INVALID_QID);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 1), NVME_SC_INVALID_QID);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_SQ, 0), NVME_SC_INVALID_QID);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 0), NVME_SC_INVALID_QID);
	host_close(&h);
}

/* ---- I/O ---- */

static void test_write_read_chained_prp_list(void **state)
{
	const uint32_t len = 256u << 10, off1 = 0x200;
	struct host h;
	uint64_t *l1, *l2;
	uint8_t *src, *dst;
	uint32_t n = 0;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	src = at(&h, OFF_DATA + off1);
	dst = at(&h, OFF_DATA2);
	fill_pattern(src, len, 42);
	memset(dst, 0, len);

	/*
	 * 256 KiB from PRP1 at offset 0x200: 65 pages. PRP2 points 4 entries
	 * before the end of list page 0, so 3 data entries fit there and the
	 * 4th chains to list page 1, which holds the remaining 61.
	 */
	l1 = at(&h, OFF_PRP + PG - 4 * 8);
	l2 = at(&h, OFF_PRP + PG);
	for (uint32_t p = 1; p <= 64; p++) {
		uint64_t a = bus(&h, OFF_DATA + p * PG);

		if (n < 3)
			l1[n] = a;
		else
			l2[n - 3] = a;
		n++;
	}
	l1[3] = bus(&h, OFF_PRP + PG);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 100, len / 512, bus(&h, OFF_DATA + off1),
			    bus(&h, OFF_PRP + PG - 4 * 8)), NVME_SC_SUCCESS);

	/* Back with a plain list into another buffer. */
	assert_int_equal(rw(&h, NVME_CMD_READ, 100, len / 512, bus(&h, OFF_DATA2),
			    prp_list(&h, OFF_DATA2, len, OFF_PRP + 2 * PG)), NVME_SC_SUCCESS);
	assert_memory_equal(dst, src, len);

	/* Two pages through PRP2 directly, one LBA through PRP1 alone. */
	memset(dst, 0, 2 * PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 100 + 8, 16, bus(&h, OFF_DATA2),
			    bus(&h, OFF_DATA2 + PG)), NVME_SC_SUCCESS);
	assert_memory_equal(dst, src + 8 * 512, 2 * PG);
	memset(dst, 0, 512);
	assert_int_equal(rw(&h, NVME_CMD_READ, 100 + 511, 1, bus(&h, OFF_DATA2 + 0x1e00), 0),
			 NVME_SC_SUCCESS);
	assert_memory_equal(dst + 0x1e00, src + 511 * 512, 512);

	/* The largest transfer (MDTS: 512 KiB). */
	fill_pattern(at(&h, OFF_DATA), 512u << 10, 7);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 4096, 1024, bus(&h, OFF_DATA),
			    prp_list(&h, OFF_DATA, 512u << 10, OFF_PRP)), NVME_SC_SUCCESS);
	memset(at(&h, OFF_DATA2), 0, 512u << 10);
	assert_int_equal(rw(&h, NVME_CMD_READ, 4096, 1024, bus(&h, OFF_DATA2),
			    prp_list(&h, OFF_DATA2, 512u << 10, OFF_PRP + 2 * PG)), NVME_SC_SUCCESS);
	assert_memory_equal(at(&h, OFF_DATA2), at(&h, OFF_DATA), 512u << 10);

	/* Flush; completions came on the I/O queue's vector. */
	{
		struct nvme_sqe c = { .opcode = NVME_CMD_FLUSH, .nsid = 1 };

		assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);
	}
	assert_irq_seen(&h, 1);
	host_close(&h);
}

static void test_io_errors(void **state)
{
	struct host h;
	struct nvme_sqe c;
	uint64_t nsze = MEM_SIZE / 512;
	uint64_t *l;
	struct nvme_dsm_range *r;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	/* LBA out of range, and right at the end. */
	assert_int_equal(rw(&h, NVME_CMD_READ, nsze - 1, 2, bus(&h, OFF_DATA), bus(&h, OFF_DATA + PG)),
			 NVME_SC_LBA_RANGE);
	assert_int_equal(rw(&h, NVME_CMD_READ, UINT64_MAX, 1, bus(&h, OFF_DATA), 0),
			 NVME_SC_LBA_RANGE);
	assert_int_equal(rw(&h, NVME_CMD_READ, nsze - 1, 1, bus(&h, OFF_DATA), 0), NVME_SC_SUCCESS);
	/* More than MDTS (1024 LBAs of 512 bytes). */
	assert_int_equal(rw(&h, NVME_CMD_READ, 0, 1025, bus(&h, OFF_DATA),
			    prp_list(&h, OFF_DATA, 1024 * 512, OFF_PRP)), NVME_SC_INVALID_FIELD);
	/* PRP1 not dword aligned; PRP2 (a page) and list entries with offsets. */
	assert_int_equal(rw(&h, NVME_CMD_READ, 0, 1, bus(&h, OFF_DATA + 2), 0),
			 NVME_SC_INVALID_PRP_OFFSET);
	assert_int_equal(rw(&h, NVME_CMD_READ, 0, 16, bus(&h, OFF_DATA), bus(&h, OFF_DATA + PG + 8)),
			 NVME_SC_INVALID_PRP_OFFSET);
	prp_list(&h, OFF_DATA, 4 * PG, OFF_PRP);
	l = at(&h, OFF_PRP);
	l[1] += 0x100;
	assert_int_equal(rw(&h, NVME_CMD_READ, 0, 32, bus(&h, OFF_DATA), bus(&h, OFF_PRP)),
			 NVME_SC_INVALID_PRP_OFFSET);
	/* Namespace 2 does not exist; unknown opcode; fused. */
	c = (struct nvme_sqe){ .opcode = NVME_CMD_READ, .nsid = 2, .prp1 = bus(&h, OFF_DATA) };
	assert_int_equal(io(&h, &c), NVME_SC_INVALID_NS);
	c = (struct nvme_sqe){ .opcode = 0x7f, .nsid = 1 };
	assert_int_equal(io(&h, &c), NVME_SC_INVALID_OPCODE);
	c = (struct nvme_sqe){ .opcode = NVME_CMD_FLUSH, .nsid = 1, .flags = 1 };
	assert_int_equal(io(&h, &c), NVME_SC_INVALID_FIELD);
	/* Flush to all namespaces is allowed (VWC bits 2:1 = 11b). */
	c = (struct nvme_sqe){ .opcode = NVME_CMD_FLUSH, .nsid = 0xffffffff };
	assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);

	/* Write Zeroes: range checked, and it zeroes. */
	fill_pattern(at(&h, OFF_DATA), PG, 3);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 64, 8, bus(&h, OFF_DATA), 0), NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_CMD_WRITE_ZEROES, .nsid = 1, .cdw10 = 66, .cdw12 = 1 };
	assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_CMD_WRITE_ZEROES, .nsid = 1,
			       .cdw10 = (uint32_t)nsze, .cdw12 = 0 };
	assert_int_equal(io(&h, &c), NVME_SC_LBA_RANGE);
	memset(at(&h, OFF_DATA2), 0xee, PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 64, 8, bus(&h, OFF_DATA2), 0), NVME_SC_SUCCESS);
	assert_memory_equal(at(&h, OFF_DATA2), at(&h, OFF_DATA), 2 * 512);
	for (int i = 2 * 512; i < 4 * 512; i++)
		assert_int_equal(((uint8_t *)at(&h, OFF_DATA2))[i], 0);
	assert_memory_equal((uint8_t *)at(&h, OFF_DATA2) + 4 * 512,
			    (uint8_t *)at(&h, OFF_DATA) + 4 * 512, 4 * 512);

	/* Dataset Management: ranges fetched and checked. */
	r = at(&h, OFF_ID);
	r[0] = (struct nvme_dsm_range){ .nlb = 8, .slba = 0 };
	r[1] = (struct nvme_dsm_range){ .nlb = 8, .slba = nsze - 8 };
	c = (struct nvme_sqe){ .opcode = NVME_CMD_DSM, .nsid = 1, .prp1 = bus(&h, OFF_ID),
			       .cdw10 = 1, .cdw11 = 4 };
	assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);
	r[1].slba = nsze - 7;
	assert_int_equal(io(&h, &c), NVME_SC_LBA_RANGE);
	host_close(&h);
}

static void test_stale_prp_is_data_transfer_error(void **state)
{
	struct host h;
	uint8_t *buf, *good;
	uint64_t stale, len, faults;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	buf = map_anon(DART_PAGE);
	assert_int_equal(dext_register_dma(h.c, 2, buf, DART_PAGE, &stale, &len), 0);
	assert_int_equal(dext_unregister_dma(h.c, 2), 0);
	good = at(&h, OFF_DATA);
	fill_pattern(good, PG, 99);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 7 * 8, 8, bus(&h, OFF_DATA), 0), NVME_SC_SUCCESS);

	/* A read into the stale address: nothing lands in the old buffer. */
	faults = faults_of(&h, IDX_MEM);
	memset(buf, 0x5a, DART_PAGE);
	assert_int_equal(rw(&h, NVME_CMD_READ, 7 * 8, 8, stale, 0), NVME_SC_DATA_XFER_ERROR);
	for (size_t i = 0; i < DART_PAGE; i++)
		assert_int_equal(buf[i], 0x5a);
	assert_true(faults_of(&h, IDX_MEM) > faults);

	/* A write from it: the LBAs keep their data. */
	faults = faults_of(&h, IDX_MEM);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 7 * 8, 8, stale, 0), NVME_SC_DATA_XFER_ERROR);
	assert_true(faults_of(&h, IDX_MEM) > faults);
	/* The second page of a transfer stale: still nothing written. */
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 7 * 8, 16, bus(&h, OFF_DATA2), stale),
			 NVME_SC_DATA_XFER_ERROR);
	/* A stale PRP list pointer. */
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 7 * 8, 24, bus(&h, OFF_DATA2), stale),
			 NVME_SC_DATA_XFER_ERROR);
	memset(at(&h, OFF_DATA2), 0, PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 7 * 8, 8, bus(&h, OFF_DATA2), 0), NVME_SC_SUCCESS);
	assert_memory_equal(at(&h, OFF_DATA2), good, PG);
	/* A stale Identify buffer too. */
	{
		struct nvme_sqe c = { .opcode = NVME_ADM_IDENTIFY, .prp1 = stale,
				      .cdw10 = NVME_CNS_CTRL };

		assert_int_equal(admin(&h, &c, NULL), NVME_SC_DATA_XFER_ERROR);
	}
	munmap(buf, DART_PAGE);
	host_close(&h);
}

/*
 * PRP list pointers (NVMe 1.4, 4.3) from a hostile host: one whose offset
 * leaves no whole entry in its page (0xffc) once made dextd read zero
 * entries and loop past its segment array; one that is dword but not
 * qword aligned was read from the middle of an entry. Both are refused
 * with Invalid PRP Offset, mapped or not, and the controller keeps working.
 * A pointer to the last qword of a page (one entry, a chain pointer) is
 * valid and reaches the data.
 */
static void test_prp_list_pointer_checked(void **state)
{
	const uint32_t len = 3 * PG;
	struct host h;
	uint64_t *l = NULL, stale, got;
	uint8_t *buf;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	fill_pattern(at(&h, OFF_DATA), len, 5);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 40, len / 512, bus(&h, OFF_DATA),
			    prp_list(&h, OFF_DATA, len, OFF_PRP)), NVME_SC_SUCCESS);

	/* Page-aligned entries everywhere, so an overrun would find "valid" ones. */
	l = at(&h, OFF_PRP);
	for (uint32_t i = 0; i < 2 * PG / 8; i++)
		l[i] = bus(&h, OFF_DATA2 + (i % 3) * PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 40, len / 512, bus(&h, OFF_DATA2),
			    bus(&h, OFF_PRP + PG - 4)), NVME_SC_INVALID_PRP_OFFSET);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 40, len / 512, bus(&h, OFF_DATA2),
			    bus(&h, OFF_PRP + 0x7f4)), NVME_SC_INVALID_PRP_OFFSET);
	/* The same through Get Log Page, an admin command. */
	{
		struct nvme_sqe c = { .opcode = NVME_ADM_GET_LOG_PAGE, .prp1 = bus(&h, OFF_DATA2),
				      .prp2 = bus(&h, OFF_PRP + PG - 4),
				      .cdw10 = NVME_LOG_SMART | ((len / 4 - 1) << 16) };

		assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_PRP_OFFSET);
	}
	/* Unmapped: refused the same way, before any list is fetched. */
	buf = map_anon(DART_PAGE);
	assert_int_equal(dext_register_dma(h.c, 2, buf, DART_PAGE, &stale, &got), 0);
	assert_int_equal(dext_unregister_dma(h.c, 2), 0);
	munmap(buf, DART_PAGE);
	assert_int_equal(rw(&h, NVME_CMD_READ, 40, len / 512, bus(&h, OFF_DATA2),
			    stale + PG - 4), NVME_SC_INVALID_PRP_OFFSET);
	assert_int_equal(rw(&h, NVME_CMD_READ, 40, len / 512, bus(&h, OFF_DATA2),
			    stale + PG - 8), NVME_SC_DATA_XFER_ERROR);

	/* Offset 0xff8: its one entry chains to a list with the two data pages. */
	memset(at(&h, OFF_DATA2), 0, len);
	l[PG / 8 - 1] = bus(&h, OFF_PRP + 2 * PG);
	l[2 * PG / 8] = bus(&h, OFF_DATA2 + PG);
	l[2 * PG / 8 + 1] = bus(&h, OFF_DATA2 + 2 * PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 40, len / 512, bus(&h, OFF_DATA2),
			    bus(&h, OFF_PRP + PG - 8)), NVME_SC_SUCCESS);
	assert_memory_equal(at(&h, OFF_DATA2), at(&h, OFF_DATA), len);
	host_close(&h);
}

/* ---- Doorbell Buffer Config (shadow doorbells, EventIdx) ---- */

#define OFF_DBS		0x0c000u	/* shadow doorbell page */
#define OFF_EIS		0x0d000u	/* EventIdx page */

/* The Linux driver's rule (nvme_dbbuf_need_event): ring if EventIdx is in [old, new). */
static bool need_event(uint16_t ei, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - ei - 1) < (uint16_t)(new_idx - old);
}

/* Places cmd at the SQ tail without any doorbell. */
static void place(struct host *h, struct ring *sq, struct nvme_sqe *cmd)
{
	cmd->cid = h->cid++;
	memcpy((struct nvme_sqe *)at(h, sq->off) + sq->idx, cmd, sizeof(*cmd));
	sq->idx = (sq->idx + 1) % sq->size;
}

/* Reaps one CQE, moving the head in the shadow buffer and ringing only if EventIdx asks. */
static uint16_t reap_shadow(struct host *h, struct ring *cq)
{
	volatile uint32_t *dbs = at(h, OFF_DBS), *eis = at(h, OFF_EIS);
	uint16_t old = (uint16_t)cq->idx;
	struct nvme_cqe cqe;

	wait_cqe(h, cq);
	memcpy(&cqe, (const struct nvme_cqe *)at(h, cq->off) + cq->idx, sizeof(cqe));
	if (++cq->idx == cq->size) {
		cq->idx = 0;
		cq->phase ^= 1;
	}
	dbs[2 * cq->qid + 1] = cq->idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (need_event((uint16_t)eis[2 * cq->qid + 1], (uint16_t)cq->idx, old))
		wr(h, NVME_REG_DBS + 8u * cq->qid + 4, 4, cq->idx);
	return NVME_STATUS_CODE(cqe.status >> 1);
}

/* Waits (bounded) until the controller has published EventIdx word i = val. */
static void wait_eventidx(struct host *h, unsigned int i, uint32_t val)
{
	volatile uint32_t *eis = at(h, OFF_EIS);
	uint64_t end = harness_now_ms() + WAIT_MS;

	while (eis[i] != val)
		assert_true(harness_now_ms() < end);
}

static void test_dbbuf_shadow_doorbells(void **state)
{
	volatile uint32_t *dbs, *eis;
	struct nvme_sqe c, rd = { .opcode = NVME_CMD_READ, .nsid = 1, .cdw12 = 7 };
	struct ring sq2, cq2;
	uint64_t stale, len;
	struct host h;
	uint8_t *buf;
	uint16_t old;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	dbs = at(&h, OFF_DBS);
	eis = at(&h, OFF_EIS);
	memset(at(&h, OFF_DBS), 0, 2 * PG);
	rd.prp1 = bus(&h, OFF_DATA);

	/* Bad buffers: unaligned, absent, one for both, not mapped in the DART. */
	buf = map_anon(DART_PAGE);
	assert_int_equal(dext_register_dma(h.c, 2, buf, DART_PAGE, &stale, &len), 0);
	assert_int_equal(dext_unregister_dma(h.c, 2), 0);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_DBBUF_CONFIG, .prp1 = bus(&h, OFF_DBS) + 4,
			       .prp2 = bus(&h, OFF_EIS) };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	c.prp1 = 0;
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	c.prp1 = c.prp2;
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_INVALID_FIELD);
	c.prp1 = stale;
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_DATA_XFER_ERROR);
	c.prp1 = bus(&h, OFF_DBS);
	c.prp2 = stale;
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_DATA_XFER_ERROR);
	for (unsigned int i = 0; i < PG / 4; i++)
		assert_int_equal(eis[i], 0);	/* nothing published by a refused config */
	/* Not configured: MMIO doorbells as before. */
	assert_int_equal(io(&h, &rd), NVME_SC_SUCCESS);

	/* Configured: EventIdx shows what the controller has seen of queue 1. */
	dbs[2] = h.iosq.idx;
	dbs[3] = h.iocq.idx;
	c.prp2 = bus(&h, OFF_EIS);
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	assert_int_equal(eis[2], h.iosq.idx);
	assert_int_equal(eis[3], h.iocq.idx);

	/*
	 * Three commands in the shadow tail, the MMIO doorbell says one: the
	 * controller takes the other two from the shadow before it idles, and
	 * then publishes the tail it saw as the SQ's EventIdx.
	 */
	old = (uint16_t)h.iosq.idx;
	for (unsigned int i = 0; i < 3; i++)
		place(&h, &h.iosq, &rd);
	dbs[2] = h.iosq.idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_true(need_event((uint16_t)eis[2], (uint16_t)h.iosq.idx, old));	/* idle: ring */
	wr(&h, NVME_REG_DBS + 8u, 4, (old + 1u) % h.iosq.size);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(reap_shadow(&h, &h.iocq), NVME_SC_SUCCESS);
	wait_eventidx(&h, 2, h.iosq.idx);
	/* Idle again: the next submission must ring, by the host's own rule. */
	assert_true(need_event((uint16_t)eis[2], (uint16_t)(h.iosq.idx + 1), (uint16_t)h.iosq.idx));

	/*
	 * An MMIO doorbell arriving late (posted through QEMU and the server)
	 * with an older tail is only a wakeup: the queue never moves back, so
	 * no stale entry runs and the next completion is the next command's.
	 */
	wr(&h, NVME_REG_DBS + 8u, 4, (h.iosq.idx + h.iosq.size - 2) % h.iosq.size);
	{
		struct nvme_cqe cqe;
		uint16_t cid;

		place(&h, &h.iosq, &rd);
		cid = rd.cid;
		dbs[2] = h.iosq.idx;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		wr(&h, NVME_REG_DBS + 8u, 4, h.iosq.idx);
		wait_cqe(&h, &h.iocq);
		memcpy(&cqe, (const struct nvme_cqe *)at(&h, h.iocq.off) + h.iocq.idx, sizeof(cqe));
		assert_int_equal(cqe.cid, cid);
		assert_int_equal(cqe.sq_head, h.iosq.idx);
		assert_int_equal(NVME_STATUS_CODE(cqe.status >> 1), NVME_SC_SUCCESS);
		assert_int_equal(reap_shadow(&h, &h.iocq), NVME_SC_SUCCESS);
		/* The worker serves queues round-robin: an admin command done means nothing else ran on queue 1. */
		assert_int_equal(identify(&h, NVME_CNS_CTRL, 0, OFF_ID), NVME_SC_SUCCESS);
		assert_int_not_equal(cqe_status_at(&h, &h.iocq, h.iocq.idx) & 1, h.iocq.phase);
	}

	/*
	 * A CQ of 4 (3 usable) for 6 commands: the controller stops with it
	 * full, publishes the head it saw as the CQ's EventIdx, and the host's
	 * shadow head moves, with the doorbells EventIdx asks for, free it.
	 */
	memset(at(&h, OFF_SQ2), 0, 8 * sizeof(struct nvme_sqe));
	memset(at(&h, OFF_CQ2), 0, 4 * sizeof(struct nvme_cqe));
	assert_int_equal(create_cq(&h, 2, OFF_CQ2, 4, NVME_QUEUE_PC | NVME_CQ_IEN, 2),
			 NVME_SC_SUCCESS);
	assert_int_equal(create_sq(&h, 2, OFF_SQ2, 8, NVME_QUEUE_PC, 2), NVME_SC_SUCCESS);
	sq2 = (struct ring){ .off = OFF_SQ2, .qid = 2, .size = 8 };
	cq2 = (struct ring){ .off = OFF_CQ2, .qid = 2, .size = 4, .phase = 1 };
	for (unsigned int i = 0; i < 6; i++)
		place(&h, &sq2, &rd);
	dbs[4] = sq2.idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_true(need_event((uint16_t)eis[4], (uint16_t)sq2.idx, 0));
	wr(&h, NVME_REG_DBS + 16u, 4, sq2.idx);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(reap_shadow(&h, &cq2), NVME_SC_SUCCESS);
	wait_eventidx(&h, 4, 6);

	host_close(&h);
	munmap(buf, DART_PAGE);
}

static void test_backing_file_write_flush(void **state)
{
	struct host h;
	struct nvme_sqe c;
	struct nvme_id_ns *ns;
	uint8_t *want, got[8192];
	struct stat st;
	int fd;

	(void)state;
	host_open(&h, 5);
	assert_int_equal(identify(&h, NVME_CNS_NS, 1, OFF_ID), NVME_SC_SUCCESS);
	ns = at(&h, OFF_ID);
	assert_int_equal(ns->nsze, FILE_SIZE / 512);
	create_io_queues(&h);
	want = at(&h, OFF_DATA);
	fill_pattern(want, sizeof(got), 1234);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 2048, 16, bus(&h, OFF_DATA), bus(&h, OFF_DATA + PG)),
			 NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_CMD_FLUSH, .nsid = 1 };
	assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);

	fd = open(backing, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, FILE_SIZE);
	if (SHARED_RAM) {
		/* cache=none: the page-aligned write went around the page cache. */
		void *m = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		unsigned char resident[2];

		assert_true(m != MAP_FAILED);
		assert_int_equal(mincore((uint8_t *)m + 2048 * 512, sizeof(got), resident), 0);
		assert_int_equal(resident[0] & 1, 0);
		assert_int_equal(resident[1] & 1, 0);
		munmap(m, FILE_SIZE);
	}
	assert_int_equal(pread(fd, got, sizeof(got), 2048 * 512), sizeof(got));
	assert_memory_equal(got, want, sizeof(got));
	/* Read back from the file: 4 KiB, PRP1 at a 512-byte offset, PRP2 the rest. */
	memset(at(&h, OFF_DATA2), 0xa5, 2 * PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 2048, 8, bus(&h, OFF_DATA2 + 512),
			    bus(&h, OFF_DATA2 + PG)), NVME_SC_SUCCESS);
	assert_int_equal(*(uint8_t *)at(&h, OFF_DATA2 + 511), 0xa5);
	assert_memory_equal(at(&h, OFF_DATA2 + 512), want, PG - 512);
	assert_memory_equal(at(&h, OFF_DATA2 + PG), want + PG - 512, 512);
	assert_int_equal(*(uint8_t *)at(&h, OFF_DATA2 + PG + 512), 0xa5);

	/* Write Zeroes lands in the file; FUA write too. */
	c = (struct nvme_sqe){ .opcode = NVME_CMD_WRITE_ZEROES, .nsid = 1, .cdw10 = 2048,
			       .cdw12 = 7 };
	assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);
	assert_int_equal(pread(fd, got, sizeof(got), 2048 * 512), sizeof(got));
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(got[i], 0);
	assert_memory_equal(got + 4096, want + 4096, 4096);
	c = (struct nvme_sqe){ .opcode = NVME_CMD_WRITE, .nsid = 1, .prp1 = bus(&h, OFF_DATA),
			       .cdw10 = (uint32_t)(FILE_SIZE / 512 - 8), .cdw12 = 1u << 30 | 7 };
	assert_int_equal(io(&h, &c), NVME_SC_SUCCESS);
	assert_int_equal(pread(fd, got, 4096, FILE_SIZE - 4096), 4096);
	assert_memory_equal(got, want, 4096);
	close(fd);
	host_close(&h);
}

static void test_cq_full_stalls_sq(void **state)
{
	struct host h;
	struct ring sq, cq;
	struct nvme_sqe c;
	struct nvme_cqe cqe;
	uint16_t cids[4];

	(void)state;
	host_open(&h, 4);
	memset(at(&h, OFF_SQ2), 0, PG);
	memset(at(&h, OFF_CQ2), 0, PG);
	/* A 2-entry CQ holds one unconsumed completion. */
	assert_int_equal(create_cq(&h, 2, OFF_CQ2, 2, NVME_QUEUE_PC | NVME_CQ_IEN, 2),
			 NVME_SC_SUCCESS);
	assert_int_equal(create_sq(&h, 2, OFF_SQ2, 8, NVME_QUEUE_PC, 2), NVME_SC_SUCCESS);
	sq = (struct ring){ .off = OFF_SQ2, .qid = 2, .size = 8 };
	cq = (struct ring){ .off = OFF_CQ2, .qid = 2, .size = 2, .phase = 1 };
	for (int i = 0; i < 4; i++) {
		c = (struct nvme_sqe){ .opcode = NVME_CMD_FLUSH, .nsid = 1 };
		cids[i] = submit(&h, &sq, &c);
	}
	for (int i = 0; i < 4; i++) {
		wait_cqe(&h, &cq);
		/*
		 * The CQ is full until the head moves: an admin round trip
		 * gives the worker its turn, and the next slot stays untouched.
		 */
		c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
		assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
		{
			uint32_t next = (cq.idx + 1) % cq.size;
			uint8_t new_phase = next == 0 ? cq.phase ^ 1 : cq.phase;

			assert_int_not_equal(cqe_status_at(&h, &cq, next) & 1, new_phase);
		}
		reap(&h, &cq, &cqe);
		assert_int_equal(cqe.cid, cids[i]);
		assert_int_equal(cqe.sq_id, 2);
		assert_int_equal(cqe.sq_head, i + 1);
		assert_int_equal(NVME_STATUS_CODE(cqe.status >> 1), NVME_SC_SUCCESS);
	}
	assert_irq_seen(&h, 2);
	host_close(&h);
}

/* ---- the worker pool and interrupt coalescing ---- */

#define STALL_LEN	(3 * DART_PAGE)

/*
 * Commands of one queue run in parallel and complete out of order: a Read
 * whose data buffer stalls (userfaultfd) holds one worker inside its copy,
 * and a Read submitted after it on the same SQ completes first. Its CQE
 * takes the first slot (order of completion) and reports the SQ head past
 * both commands; the stalled one's slot stays unwritten until its copy
 * ends, and then it completes too. With one worker the second Read would
 * wait behind the first and the wait for its CQE would fail.
 */
static void test_parallel_commands_complete_out_of_order(void **state)
{
	struct nvme_sqe slow = { .opcode = NVME_CMD_READ, .nsid = 1, .cdw12 = 7 };
	struct nvme_sqe fast = { .opcode = NVME_CMD_READ, .nsid = 1, .cdw12 = 7 };
	struct nvme_cqe cqe;
	struct host h;
	uint64_t sbus, len;
	uint16_t slow_cid, fast_cid;
	uint8_t *stall;
	int uffd;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	uffd = stall_memory(STALL_LEN, true, &stall);
	assert_int_equal(dext_register_dma(h.c, 2, stall, STALL_LEN, &sbus, &len), 0);
	assert_int_equal(len, STALL_LEN);

	slow.prp1 = sbus + DART_PAGE;		/* a stalling page */
	fast.prp1 = bus(&h, OFF_DATA);
	slow_cid = submit(&h, &h.iosq, &slow);
	stall_wait(uffd);
	fast_cid = submit(&h, &h.iosq, &fast);

	reap(&h, &h.iocq, &cqe);
	assert_int_equal(cqe.cid, fast_cid);
	assert_int_equal(NVME_STATUS_CODE(cqe.status >> 1), NVME_SC_SUCCESS);
	assert_int_equal(cqe.sq_id, 1);
	assert_int_equal(cqe.sq_head, h.iosq.idx);	/* both entries fetched */
	/* The stalled command has posted nothing: its slot keeps the old phase. */
	assert_int_not_equal(cqe_status_at(&h, &h.iocq, h.iocq.idx) & 1, h.iocq.phase);

	stall_release(uffd, stall, STALL_LEN);
	reap(&h, &h.iocq, &cqe);
	assert_int_equal(cqe.cid, slow_cid);
	assert_int_equal(NVME_STATUS_CODE(cqe.status >> 1), NVME_SC_SUCCESS);
	assert_int_equal(cqe.sq_head, h.iosq.idx);
	assert_int_equal(dext_unregister_dma(h.c, 2), 0);
	host_close(&h);
	close(uffd);
	munmap(stall, STALL_LEN);
}

static uint64_t irqs_of(struct host *h, unsigned int index)
{
	uint64_t s[DEXT_STATUS_COUNT];

	assert_int_equal(dext_client_status(h->c, index, s), 0);
	return s[DEXT_STATUS_IRQS];
}

/*
 * Completions posted while their vector is still pending share that
 * interrupt: nobody takes vector 1's pending bit while eight commands
 * complete, so the function signals one interrupt (STATUS_IRQS + 1), not
 * eight, and the one pending bit then covers all eight CQEs.
 */
static void test_completions_share_pending_interrupt(void **state)
{
	enum { N = 8 };
	uint64_t pending[DEXT_IRQ_WORDS], irqs, end;
	uint16_t cids[N];
	unsigned int seen = 0;
	struct host h;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	/* Whatever earlier tests left pending is taken now (pending bits outlive clients). */
	assert_int_equal(dext_check_interrupt(h.c, pending), 0);
	irqs = irqs_of(&h, IDX_MEM);

	/* Eight Reads, one doorbell. */
	for (unsigned int i = 0; i < N; i++) {
		struct nvme_sqe c = { .opcode = NVME_CMD_READ, .nsid = 1, .cdw12 = 7,
				      .prp1 = bus(&h, OFF_DATA + i * PG) };

		c.cid = cids[i] = h.cid++;
		memcpy((struct nvme_sqe *)at(&h, OFF_IOSQ) + h.iosq.idx, &c, sizeof(c));
		h.iosq.idx = (h.iosq.idx + 1) % h.iosq.size;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(&h, NVME_REG_DBS + 8u, 4, h.iosq.idx);

	/* All eight CQEs land without the interrupt being taken (polled, bounded). */
	end = harness_now_ms() + WAIT_MS;
	while ((cqe_status_at(&h, &h.iocq, (h.iocq.idx + N - 1) % h.iocq.size) & 1) !=
	       h.iocq.phase) {
		assert_true(harness_now_ms() < end);
		sched_yield();
	}
	/* The last CQE is written before its raise: wait for the raise to be counted. */
	while (irqs_of(&h, IDX_MEM) == irqs)
		assert_true(harness_now_ms() < end);
	assert_int_equal(irqs_of(&h, IDX_MEM) - irqs, 1);
	assert_int_equal(dext_check_interrupt(h.c, pending), 0);
	assert_true(pending[0] & 2);

	for (unsigned int i = 0; i < N; i++) {
		struct nvme_cqe cqe;

		reap(&h, &h.iocq, &cqe);
		assert_int_equal(NVME_STATUS_CODE(cqe.status >> 1), NVME_SC_SUCCESS);
		for (unsigned int k = 0; k < N; k++)
			if (cqe.cid == cids[k])
				seen |= 1u << k;
	}
	assert_int_equal(seen, (1u << N) - 1);
	host_close(&h);
}

/* ---- resets and faults ---- */

static void test_disable_resets_queues_and_aers(void **state)
{
	struct host h;
	struct nvme_sqe c;
	struct nvme_cqe cqe;
	uint16_t cid;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	for (int i = 0; i < 2; i++) {
		c = (struct nvme_sqe){ .opcode = NVME_ADM_ASYNC_EVENT };
		submit(&h, &h.asq, &c);
	}
	/* CC.EN = 0: RDY clears at once, the queues and the held AERs are gone. */
	wr(&h, NVME_REG_CC, 4, NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & NVME_CSTS_RDY, 0);
	/* Doorbells of a disabled controller are ignored. */
	wr(&h, NVME_REG_DBS, 4, 1);
	ctrl_enable(&h);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
	cid = submit(&h, &h.asq, &c);
	reap(&h, &h.acq, &cqe);
	assert_int_equal(cqe.cid, cid);	/* not an AER completion */
	assert_int_equal(cqe.sq_head, 1);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_SQ, 1), NVME_SC_INVALID_QID);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_CQ, 1), NVME_SC_INVALID_QID);
	/* 4 fresh AERs fit again: the old ones no longer count. */
	for (int i = 0; i < 4; i++) {
		c = (struct nvme_sqe){ .opcode = NVME_ADM_ASYNC_EVENT };
		submit(&h, &h.asq, &c);
	}
	c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	create_io_queues(&h);
	assert_int_equal(rw(&h, NVME_CMD_READ, 0, 8, bus(&h, OFF_DATA), 0), NVME_SC_SUCCESS);
	host_close(&h);
}

static void test_reset_device(void **state)
{
	struct host h;
	uint32_t cmd;

	(void)state;
	host_open(&h, 4);
	create_io_queues(&h);
	assert_int_equal(dext_reset_device(h.c), 0);
	assert_int_equal(rd(&h, NVME_REG_CC, 4), 0);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4), 0);
	assert_int_equal(rd(&h, NVME_REG_AQA, 4), 0);
	assert_int_equal(rd(&h, NVME_REG_ASQ, 8), 0);
	assert_int_equal(dext_config_read(h.c, 4, 2, &cmd), 0);
	assert_int_equal(cmd & 6, 6);	/* config space restored around the reset */
	ctrl_enable(&h);
	assert_int_equal(delete_q(&h, NVME_ADM_DELETE_SQ, 1), NVME_SC_INVALID_QID);
	create_io_queues(&h);
	assert_int_equal(rw(&h, NVME_CMD_READ, 0, 8, bus(&h, OFF_DATA), 0), NVME_SC_SUCCESS);
	host_close(&h);
}

static void test_shutdown_notification(void **state)
{
	struct host h;
	uint32_t cc = NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16 | NVME_CC_EN;

	(void)state;
	host_open(&h, 5);
	wr(&h, NVME_REG_CC, 4, cc | NVME_CC_SHN_NORMAL);
	wait_reg(&h, NVME_REG_CSTS, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_COMPLETE);
	wr(&h, NVME_REG_CC, 4, 0);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_SHST_MASK), 0);
	ctrl_enable(&h);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & NVME_CSTS_SHST_MASK, 0);
	host_close(&h);
}

static void test_queue_faults_are_fatal(void **state)
{
	struct host h;
	struct nvme_sqe c;
	uint8_t *q;
	uint64_t qbus, len;

	(void)state;
	host_open(&h, 4);
	q = map_anon(DART_PAGE);
	memset(q, 0, DART_PAGE);
	assert_int_equal(dext_register_dma(h.c, 3, q, DART_PAGE, &qbus, &len), 0);

	/* An I/O SQ whose memory goes away: fetching from it is fatal. */
	memset(at(&h, OFF_IOCQ), 0, PG);
	assert_int_equal(create_cq(&h, 1, OFF_IOCQ, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_SUCCESS);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_CREATE_SQ, .prp1 = qbus,
			       .cdw10 = (QD - 1) << 16 | 1, .cdw11 = 1u << 16 | NVME_QUEUE_PC };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	assert_int_equal(dext_unregister_dma(h.c, 3), 0);
	wr(&h, NVME_REG_DBS + 8, 4, 1);
	wait_reg(&h, NVME_REG_CSTS, NVME_CSTS_CFS, NVME_CSTS_CFS);
	assert_true(rd(&h, NVME_REG_CSTS, 4) & NVME_CSTS_RDY);

	/* A reset recovers; now an I/O CQ that goes away. */
	ctrl_enable(&h);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4) & NVME_CSTS_CFS, 0);
	assert_int_equal(dext_register_dma(h.c, 3, q, DART_PAGE, &qbus, &len), 0);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_CREATE_CQ, .prp1 = qbus,
			       .cdw10 = (QD - 1) << 16 | 1, .cdw11 = 1u << 16 | NVME_QUEUE_PC };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	memset(at(&h, OFF_IOSQ), 0, PG);
	assert_int_equal(create_sq(&h, 1, OFF_IOSQ, QD, NVME_QUEUE_PC, 1), NVME_SC_SUCCESS);
	assert_int_equal(dext_unregister_dma(h.c, 3), 0);
	h.iosq = (struct ring){ .off = OFF_IOSQ, .qid = 1, .size = QD };
	c = (struct nvme_sqe){ .opcode = NVME_CMD_FLUSH, .nsid = 1 };
	submit(&h, &h.iosq, &c);
	wait_reg(&h, NVME_REG_CSTS, NVME_CSTS_CFS, NVME_CSTS_CFS);
	ctrl_enable(&h);
	c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	munmap(q, DART_PAGE);
	host_close(&h);
}

static void test_bad_doorbells_ignored(void **state)
{
	struct host h;
	struct nvme_sqe c;

	(void)state;
	host_open(&h, 4);
	wr(&h, NVME_REG_DBS, 4, QD);			/* SQ0 tail == size */
	wr(&h, NVME_REG_DBS, 4, 1000);
	wr(&h, NVME_REG_DBS + 4, 4, 5);			/* CQ0 head past the tail */
	wr(&h, NVME_REG_DBS + 8 * 7, 4, 1);		/* SQ7 does not exist */
	wr(&h, NVME_REG_DBS + 8 * 200, 4, 1);		/* beyond every queue */
	wr(&h, NVME_REG_DBS, 2, 1);			/* a partial doorbell write */
	c = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE };
	assert_int_equal(admin(&h, &c, NULL), NVME_SC_SUCCESS);
	assert_int_equal(rd(&h, NVME_REG_CSTS, 4), NVME_CSTS_RDY);
	host_close(&h);
}

static void test_lba4096_and_queues_option(void **state)
{
	struct host h;
	struct nvme_id_ns *ns;

	(void)state;
	host_open(&h, 6);
	assert_int_equal(h.vectors, 3);
	assert_int_equal(identify(&h, NVME_CNS_NS, 1, OFF_ID), NVME_SC_SUCCESS);
	ns = at(&h, OFF_ID);
	assert_int_equal(ns->lbaf[0].lbads, 12);
	assert_int_equal(ns->nsze, (16u << 20) / 4096);
	assert_int_equal(create_cq(&h, 3, OFF_CQ2, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 1),
			 NVME_SC_INVALID_QID);
	assert_int_equal(create_cq(&h, 2, OFF_CQ2, QD, NVME_QUEUE_PC | NVME_CQ_IEN, 3),
			 NVME_SC_INVALID_VECTOR);
	create_io_queues(&h);
	fill_pattern(at(&h, OFF_DATA), 3 * PG, 5);
	assert_int_equal(rw(&h, NVME_CMD_WRITE, 4095 - 2, 3, bus(&h, OFF_DATA),
			    prp_list(&h, OFF_DATA, 3 * PG, OFF_PRP)), NVME_SC_SUCCESS);
	assert_int_equal(rw(&h, NVME_CMD_READ, 4095 - 2, 3, bus(&h, OFF_DATA2),
			    prp_list(&h, OFF_DATA2, 3 * PG, OFF_PRP + PG)), NVME_SC_SUCCESS);
	assert_memory_equal(at(&h, OFF_DATA2), at(&h, OFF_DATA), 3 * PG);
	assert_int_equal(rw(&h, NVME_CMD_READ, 4095, 2, bus(&h, OFF_DATA2), bus(&h, OFF_DATA2 + PG)),
			 NVME_SC_LBA_RANGE);
	host_close(&h);
}

static void test_bad_options_refused(void **state)
{
	static const char *const bad[][2] = {
		{ "nvme,bdf=07:00.0,bogus=1", NULL },
		{ "nvme,bdf=07:00.0,lba=1024", NULL },
		{ "nvme,bdf=07:00.0,queues=0", NULL },
		{ "nvme,bdf=07:00.0,workers=0", NULL },
		{ "nvme,bdf=07:00.0,workers=17", NULL },
		{ "nvme,bdf=07:00.0,size=1000", NULL },
		{ "nvme,bdf=07:00.0,backing=/nonexistent-dir/x.img", NULL },
		{ "nvme,bdf=07:00.0,cache=none", NULL },
		{ "nvme,bdf=07:00.0,cache=unsafe", NULL },
	};
	struct dextd_proc p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(dextd_start(&p, bad[i]), -EIO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_identity_bars_msix, test_teardown),
		cmocka_unit_test_teardown(test_registers_after_reset, test_teardown),
		cmocka_unit_test_teardown(test_enable_validates_config, test_teardown),
		cmocka_unit_test_teardown(test_identify, test_teardown),
		cmocka_unit_test_teardown(test_features_logs_and_misc_admin, test_teardown),
		cmocka_unit_test_teardown(test_queue_create_delete, test_teardown),
		cmocka_unit_test_teardown(test_write_read_chained_prp_list, test_teardown),
		cmocka_unit_test_teardown(test_io_errors, test_teardown),
		cmocka_unit_test_teardown(test_stale_prp_is_data_transfer_error, test_teardown),
		cmocka_unit_test_teardown(test_prp_list_pointer_checked, test_teardown),
		cmocka_unit_test_teardown(test_backing_file_write_flush, test_teardown),
		cmocka_unit_test_teardown(test_dbbuf_shadow_doorbells, test_teardown),
		cmocka_unit_test_teardown(test_cq_full_stalls_sq, test_teardown),
		cmocka_unit_test_teardown(test_parallel_commands_complete_out_of_order,
					  test_teardown),
		cmocka_unit_test_teardown(test_completions_share_pending_interrupt, test_teardown),
		cmocka_unit_test_teardown(test_disable_resets_queues_and_aers, test_teardown),
		cmocka_unit_test_teardown(test_reset_device, test_teardown),
		cmocka_unit_test_teardown(test_shutdown_notification, test_teardown),
		cmocka_unit_test_teardown(test_queue_faults_are_fatal, test_teardown),
		cmocka_unit_test_teardown(test_bad_doorbells_ignored, test_teardown),
		cmocka_unit_test_teardown(test_lba4096_and_queues_option, test_teardown),
		cmocka_unit_test_teardown(test_bad_options_refused, test_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("dextd nvme", tests, group_setup, group_teardown);
}
