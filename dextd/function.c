// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The generic part of a simulated PCI function: config space with
 * synthesised BAR registers, capabilities, interrupt fan-in and DMA through
 * the DART into a client's memory.
 */
#include "function.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "server.h"

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_BAR_END		0x28
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_WMASK	0x0547	/* IO, MEM, BME, PERR, SERR, INTx disable */
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_STATUS_W1C		0xf900	/* the error bits */

#define PCI_CAP_ID_PM		0x01
#define PCI_CAP_ID_EXP		0x10
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11
#define PCI_MSI_FLAGS_ENABLE	0x0001
#define PCI_MSI_FLAGS_QSIZE	0x0070
#define PCI_MSI_FLAGS_64BIT	0x0080
#define PCI_MSIX_CTRL_ENABLE	0x8000
#define PCI_MSIX_CTRL_MASKALL	0x4000

static void cfg_put(uint8_t *p, uint32_t off, unsigned int width, uint32_t v)
{
	for (unsigned int i = 0; i < width; i++)
		p[off + i] = v >> (8 * i);
}

static uint32_t cfg_get(const uint8_t *p, uint32_t off, unsigned int width)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < width; i++)
		v |= (uint32_t)p[off + i] << (8 * i);
	return v;
}

/*
 * A fresh interrupt state page (memory type 7) at the same address in
 * dextd: each SetupInterrupts gets new memory, so a client that set up
 * interrupts before, and may still have the old page mapped, cannot reach
 * the new owner's pending and enabled bits. MAP_FIXED replaces the pages
 * in one step, so a device thread raising a vector meanwhile always finds
 * a page there (a bit set in the old one is for nobody).
 */
static int fn_irq_page_new(struct dext_function *f)
{
	void *p;
	int fd, r;

	fd = memfd_create("dext-irq-state", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, DEXT_IRQ_STATE_SIZE) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	p = mmap(f->irq, DEXT_IRQ_STATE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (f->irq ? MAP_FIXED : 0), fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	if (f->irq_memfd >= 0)
		close(f->irq_memfd);
	f->irq_memfd = fd;
	f->irq = p;
	memset(f->irq->enabled, 0xff, sizeof(f->irq->enabled));
	return 0;
}

struct dext_function *fn_alloc(unsigned int bus, unsigned int dev, unsigned int fn,
			       const struct dart_config *dart_cfg)
{
	struct dext_function *f = calloc(1, sizeof(*f));
	struct dart_config dc = *dart_cfg;

	if (!f)
		return NULL;
	f->bus = bus;
	f->dev = dev;
	f->fn = fn;
	f->irq_memfd = -1;
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++)
		f->bars[i].memfd = -1;
	pthread_mutex_init(&f->lock, NULL);
	f->self_pid = getpid();
	shared_ram_init(&f->shared);

	dc.stream = bdf_pack(bus, dev, fn);
	f->dart = dart_create(&dc);
	if (!f->dart)
		goto fail;

	if (fn_irq_page_new(f) < 0)
		goto fail;

	f->cfg_wmask[PCI_COMMAND] = PCI_COMMAND_WMASK & 0xff;
	f->cfg_wmask[PCI_COMMAND + 1] = PCI_COMMAND_WMASK >> 8;
	f->cfg_w1c[PCI_STATUS + 1] = PCI_STATUS_W1C >> 8;
	f->config[PCI_HEADER_TYPE] = 0;
	f->config[PCI_INTERRUPT_PIN] = 1;
	f->cap_next = 0x40;
	return f;
fail:
	fn_free(f);
	return NULL;
}

void fn_free(struct dext_function *f)
{
	if (!f)
		return;
	if (f->ops && f->ops->destroy)
		f->ops->destroy(f);
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++) {
		if (f->bars[i].mem)
			munmap(f->bars[i].mem, f->bars[i].size);
		if (f->bars[i].memfd >= 0)
			close(f->bars[i].memfd);
	}
	if (f->irq)
		munmap(f->irq, DEXT_IRQ_STATE_SIZE);
	if (f->irq_memfd >= 0)
		close(f->irq_memfd);
	shared_ram_fini(&f->shared);
	dart_destroy(f->dart);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void fn_set_identity(struct dext_function *f, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision)
{
	f->vendor = vendor;
	f->device = device;
	f->class_code = class_code & 0xffffff;
	cfg_put(f->config, PCI_VENDOR_ID, 2, vendor);
	cfg_put(f->config, PCI_DEVICE_ID, 2, device);
	cfg_put(f->config, PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
	cfg_put(f->config, PCI_SUBSYSTEM_ID, 2, device);
	f->config[PCI_REVISION_ID] = revision;
	cfg_put(f->config, PCI_CLASS_PROG, 3, class_code);
}

int fn_add_bar(struct dext_function *f, unsigned int bar, uint64_t size, uint8_t type,
	       bool mappable)
{
	struct dext_bar *b = &f->bars[bar];
	/* Where the host's PCI core put the BAR; its low bits are junk on purpose. */
	uint64_t host_addr = 0xc0000000ull + ((uint64_t)bar << 24) + 0x5;

	if (bar >= DEXT_BAR_COUNT || size < 16 || (size & (size - 1)) ||
	    ((type & DEXT_BAR_TYPE_MEM64) && bar == DEXT_BAR_COUNT - 1))
		return -EINVAL;
	b->size = size;
	b->type = type;
	cfg_put(f->config, PCI_BAR0 + 4 * bar, 4, (uint32_t)host_addr);
	if (type & DEXT_BAR_TYPE_MEM64)
		cfg_put(f->config, PCI_BAR0 + 4 * (bar + 1), 4, (uint32_t)(host_addr >> 32));
	if (!mappable)
		return 0;
	b->memfd = memfd_create("dext-bar", MFD_CLOEXEC);
	if (b->memfd < 0 || ftruncate(b->memfd, (off_t)size) < 0)
		return -errno;
	b->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->mem == MAP_FAILED) {
		b->mem = NULL;
		return -errno;
	}
	return 0;
}

/* Links a new capability of len bytes into the list; returns its offset. */
static int fn_add_cap(struct dext_function *f, uint8_t id, unsigned int len)
{
	uint8_t off = f->cap_next, *link = &f->config[PCI_CAPABILITY_LIST];

	if (off + len > 0x100)
		return -ENOSPC;
	while (*link)
		link = &f->config[*link + 1];
	*link = off;
	f->config[off] = id;
	f->config[off + 1] = 0;
	f->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	f->cap_next = (uint8_t)((off + len + 3) & ~3u);
	return off;
}

int fn_add_msix(struct dext_function *f, unsigned int vectors, unsigned int bar,
		uint32_t table_off, uint32_t pba_off)
{
	int off;

	if (vectors == 0 || vectors > 2048 || bar >= DEXT_BAR_COUNT || !f->bars[bar].size ||
	    (table_off & 7) || (pba_off & 7) ||
	    table_off + 16ull * vectors > f->bars[bar].size ||
	    pba_off + 8ull * ((vectors + 63) / 64) > f->bars[bar].size)
		return -EINVAL;
	off = fn_add_cap(f, PCI_CAP_ID_MSIX, 12);
	if (off < 0)
		return off;
	cfg_put(f->config, off + 2, 2, vectors - 1);
	cfg_put(f->config, off + 4, 4, table_off | bar);
	cfg_put(f->config, off + 8, 4, pba_off | bar);
	f->cfg_wmask[off + 3] = (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL) >> 8;
	f->msix_vectors = vectors;
	return 0;
}

int fn_add_msi(struct dext_function *f, unsigned int vectors)
{
	unsigned int mmc = 0;
	int off;

	if (!vectors || vectors > 32 || (vectors & (vectors - 1)))
		return -EINVAL;
	while ((1u << mmc) < vectors)
		mmc++;
	/* 64-bit address, no per-vector masking: control, address, data. */
	off = fn_add_cap(f, PCI_CAP_ID_MSI, 14);
	if (off < 0)
		return off;
	cfg_put(f->config, off + 2, 2, PCI_MSI_FLAGS_64BIT | mmc << 1);
	cfg_put(f->cfg_wmask, off + 2, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	cfg_put(f->cfg_wmask, off + 4, 4, 0xfffffffc);
	cfg_put(f->cfg_wmask, off + 8, 4, 0xffffffff);
	cfg_put(f->cfg_wmask, off + 12, 2, 0xffff);
	f->msi_vectors = vectors;
	return 0;
}

int fn_add_pcie(struct dext_function *f)
{
	int off = fn_add_cap(f, PCI_CAP_ID_EXP, 0x3c);

	if (off < 0)
		return off;
	cfg_put(f->config, off + 2, 2, 0x0002);		/* version 2, endpoint */
	cfg_put(f->config, off + 4, 4, 1u << 28);	/* DEVCAP: FLR */
	cfg_put(f->config, off + 0x0c, 4, 0x00400c41);	/* LNKCAP: x4, gen1 */
	cfg_put(f->config, off + 0x12, 2, 0x0041);	/* LNKSTA: x4, gen1 */
	/* DEVCTL is the driver's to set (max payload, relaxed ordering, ...). */
	cfg_put(f->cfg_wmask, off + 8, 2, 0x7fff);
	return 0;
}

uint16_t fn_command(struct dext_function *f)
{
	return (uint16_t)cfg_get(f->config, PCI_COMMAND, 2);
}

/*
 * The raw BAR registers hold where the host put the BAR, with junk in the
 * low bits, so the dext answers with the type bits only (as the reference
 * dext does); clients size BARs with GetBARInfo.
 */
static uint8_t fn_bar_reg_byte(struct dext_function *f, uint32_t off)
{
	unsigned int bar = (off - PCI_BAR0) / 4;
	const struct dext_bar *b = &f->bars[bar];

	if ((off & 3) || !b->size)
		return 0;
	return b->type & (DEXT_BAR_TYPE_IO | DEXT_BAR_TYPE_MEM64 | DEXT_BAR_TYPE_PREFETCH);
}

int fn_config_read(struct dext_function *f, uint32_t off, unsigned int width, uint32_t *val)
{
	uint32_t v = 0;

	if ((width != 1 && width != 2 && width != 4) || off >= DEXT_CONFIG_SPACE_SIZE ||
	    off + width > DEXT_CONFIG_SPACE_SIZE || (off & (width - 1)))
		return -EINVAL;
	for (unsigned int i = 0; i < width; i++) {
		uint32_t o = off + i;
		uint8_t byte = (o >= PCI_BAR0 && o < PCI_BAR_END) ? fn_bar_reg_byte(f, o)
								 : f->config[o];
		v |= (uint32_t)byte << (8 * i);
	}
	*val = v;
	return 0;
}

int fn_config_write(struct dext_function *f, uint32_t off, unsigned int width, uint32_t val)
{
	if ((width != 1 && width != 2 && width != 4) || off >= DEXT_CONFIG_SPACE_SIZE ||
	    off + width > DEXT_CONFIG_SPACE_SIZE || (off & (width - 1)))
		return -EINVAL;
	for (unsigned int i = 0; i < width; i++) {
		uint32_t o = off + i;
		uint8_t b = val >> (8 * i);

		if (o >= PCI_BAR0 && o < PCI_BAR_END) {
			/* macOS owns these; a write here is what the filter must stop. */
			atomic_fetch_add(&f->stats.bar_reg_writes, 1);
			continue;
		}
		f->config[o] = (f->config[o] & ~f->cfg_wmask[o]) | (b & f->cfg_wmask[o]);
		f->config[o] &= ~(b & f->cfg_w1c[o]);
	}
	return 0;
}

/*
 * One translation and the copy it allows: the only place where device DMA
 * reaches memory. The region stays held (dart_translate_hold) from the
 * translation until the bytes have moved, so an unmap, a connection's
 * teardown or a claim release followed by fn_dma_drain/fn_dma_quiesce
 * returns only once this copy is over; any other way of reaching the
 * target memory belongs inside this hold as well. Bus mastering is
 * checked again under the hold, which is what fn_dma_quiesce relies on.
 * Returns the bytes moved (0 < n <= len) or -errno; *xlated is set when
 * the DART translated, so that a short copy is reported with its length.
 */
static ssize_t fn_dma_step(struct dext_function *f, uint64_t iova, void *buf, size_t len,
			   enum dart_access acc, size_t *xlated)
{
	struct dart_xlate x;
	struct iovec local, remote;
	ssize_t n;
	int r;

	r = dart_translate_hold(f->dart, iova, len, acc, &x);
	if (r < 0)
		return r;
	*xlated = x.contig;
	if (!(fn_command(f) & PCI_COMMAND_MASTER)) {
		dart_release(f->dart, &x);
		return -EIO;
	}
	/* The mapping's cookie is the pid whose memory it maps. */
	if (shared_ram_copy(&f->shared, (pid_t)(uintptr_t)x.cookie, x.target, buf, x.contig,
			    acc == DART_WRITE)) {
		dart_release(f->dart, &x);
		return (ssize_t)x.contig;	/* in place: memory the client shared by fd */
	}
	local.iov_base = buf;
	local.iov_len = x.contig;
	remote.iov_base = (void *)(uintptr_t)x.target;
	remote.iov_len = x.contig;
	if (acc == DART_READ)
		n = process_vm_readv((pid_t)(uintptr_t)x.cookie, &local, 1, &remote, 1, 0);
	else
		n = process_vm_writev((pid_t)(uintptr_t)x.cookie, &local, 1, &remote, 1, 0);
	dart_release(f->dart, &x);
	if (n < 0)
		return -errno;
	return n;
}

/* Moves len bytes between local and the memory DART mappings point at. */
static int fn_dma(struct dext_function *f, uint64_t iova, void *buf, size_t len, size_t *done,
		  enum dart_access acc)
{
	size_t moved = 0;
	int r = 0;

	if (!(fn_command(f) & PCI_COMMAND_MASTER)) {
		r = -EIO;	/* bus master disabled: the request never leaves */
		goto out;
	}
	while (moved < len) {
		size_t want = 0;
		ssize_t n = fn_dma_step(f, iova + moved, (char *)buf + moved, len - moved, acc,
					&want);

		if (n == -EFAULT && !want) {
			r = -EFAULT;	/* a DART fault, recorded */
			break;
		}
		if (n < 0 || (size_t)n != want) {
			if (n != -EIO || want == 0 || fn_command(f) & PCI_COMMAND_MASTER)
				log_warn("%02x:%02x.%x: DMA %s of %zu bytes at IOVA 0x%llx: target memory unreachable",
					 f->bus, f->dev, f->fn, acc == DART_READ ? "read" : "write",
					 want, (unsigned long long)(iova + moved));
			if (n > 0)
				moved += (size_t)n;
			r = -EIO;
			break;
		}
		moved += (size_t)n;
	}
out:
	atomic_fetch_add(&f->stats.dma_bytes, moved);
	if (done)
		*done = moved;
	return r;
}

void fn_dma_drain(struct dext_function *f, const char *why)
{
	if (dart_drain(f->dart, FN_DMA_DRAIN_MS) < 0)
		log_warn("%02x:%02x.%x: %s: DMA to the removed memory still in flight after %u ms",
			 f->bus, f->dev, f->fn, why, FN_DMA_DRAIN_MS);
}

void fn_dma_quiesce(struct dext_function *f, const char *why)
{
	if (dart_quiesce(f->dart, FN_DMA_DRAIN_MS) < 0)
		log_warn("%02x:%02x.%x: %s: DMA still in flight after %u ms",
			 f->bus, f->dev, f->fn, why, FN_DMA_DRAIN_MS);
}

int fn_dma_read(struct dext_function *f, uint64_t iova, void *buf, size_t len, size_t *done)
{
	return fn_dma(f, iova, buf, len, done, DART_READ);
}

int fn_dma_write(struct dext_function *f, uint64_t iova, const void *buf, size_t len,
		 size_t *done)
{
	return fn_dma(f, iova, (void *)buf, len, done, DART_WRITE);
}

void fn_dma_hold(struct dext_function *f)
{
	shared_ram_hold(&f->shared);
}

int fn_dma_direct(struct dext_function *f, uint64_t iova, size_t len, bool device_writes,
		  void **p, struct dart_xlate *x)
{
	int r;

	*p = NULL;
	r = dart_translate_hold(f->dart, iova, len, device_writes ? DART_WRITE : DART_READ, x);
	if (r < 0)
		return r;
	/* Bus mastering checked under the hold, as fn_dma_step does. */
	if (!(fn_command(f) & PCI_COMMAND_MASTER)) {
		dart_release(f->dart, x);
		return -EIO;
	}
	if (x->contig >= len)
		*p = shared_ram_find(&f->shared, (pid_t)(uintptr_t)x->cookie, x->target, len);
	if (!*p)
		dart_release(f->dart, x);
	return 0;
}

void fn_dma_put(struct dext_function *f, struct dart_xlate *x)
{
	dart_release(f->dart, x);
}

void fn_dma_release(struct dext_function *f, size_t moved)
{
	shared_ram_release(&f->shared);
	atomic_fetch_add(&f->stats.dma_bytes, moved);
}

void fn_raise_irq(struct dext_function *f, unsigned int vector)
{
	unsigned int w = vector / 64;
	uint64_t bit = 1ull << (vector % 64);

	if (vector >= DEXT_MAX_IRQ_VECTORS || vector >= __atomic_load_n(&f->vectors, __ATOMIC_ACQUIRE) ||
	    !(__atomic_load_n(&f->irq->enabled[w], __ATOMIC_ACQUIRE) & bit)) {
		atomic_fetch_add(&f->stats.irqs_masked, 1);
		return;
	}
	/*
	 * Pending first, then the wakeup: a waiter armed later sees the bit.
	 * A bit already pending is an interrupt not yet taken whose wakeup is
	 * on its way: this one joins it (the taker's exchange comes after this
	 * fetch_or, so it sees whatever the caller wrote before raising).
	 */
	if (__atomic_fetch_or(&f->irq->pending[w], bit, __ATOMIC_SEQ_CST) & bit) {
		atomic_fetch_add(&f->stats.irqs_coalesced, 1);
		return;
	}
	atomic_fetch_add(&f->stats.irqs, 1);
	atomic_store(&f->irq_notify, true);
	dextd_notify(f->daemon);
}

bool fn_irq_pending(struct dext_function *f)
{
	for (unsigned int i = 0; i < DEXT_IRQ_WORDS; i++)
		if (__atomic_load_n(&f->irq->pending[i], __ATOMIC_ACQUIRE))
			return true;
	return false;
}

int fn_setup_interrupts(struct dext_function *f, void *owner, unsigned int *vectors)
{
	unsigned int n;
	int r;

	/* The vectors are routed to one client's state: a second set-up is refused. */
	if (f->vectors)
		return -EEXIST;
	/*
	 * MSI-X with its table size, else one MSI vector (the reference's
	 * fallback), else NotFound: there is no INTx.
	 */
	if (!f->msix_vectors && !f->msi_vectors)
		return -ENOENT;
	n = f->msix_vectors ? f->msix_vectors : 1;
	if (n > DEXT_MAX_IRQ_VECTORS)
		n = DEXT_MAX_IRQ_VECTORS;
	r = fn_irq_page_new(f);
	if (r < 0)
		return r;
	f->irq_owner = owner;
	__atomic_store_n(&f->vectors, n, __ATOMIC_RELEASE);
	*vectors = n;
	return 0;
}

void fn_teardown_interrupts(struct dext_function *f)
{
	__atomic_store_n(&f->vectors, 0, __ATOMIC_RELEASE);
	f->irq_owner = NULL;
	/* The next owner gets a fresh page; this one is left as it was. */
}

void fn_reset(struct dext_function *f)
{
	uint8_t saved[DEXT_CONFIG_SPACE_SIZE];

	/* IOPCIFamily saves and restores config space around the reset. */
	memcpy(saved, f->config, sizeof(saved));
	if (f->ops && f->ops->reset)
		f->ops->reset(f);
	memcpy(f->config, saved, sizeof(saved));
	/*
	 * Pending bits stay, as in the reference: they are the client's state,
	 * not the device's, and a client written against the reference has to
	 * discard them itself after a reset (the server does).
	 */
	atomic_fetch_add(&f->stats.resets, 1);
}
