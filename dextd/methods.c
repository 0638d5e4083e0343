// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The dext's external methods (selectors 0-17) and dextd's control
 * operations, with the reference dext's semantics (docs/protocols.md).
 * Runs on the main thread; takes fn->lock around device state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vfio-apple/dext-abi.h>
#include <vfio-apple/dext-wire.h>

#include "client-mem.h"
#include "common/log.h"
#include "function.h"
#include "server.h"

#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004

static void conn_free_dma_buffer(struct dext_conn *c)
{
	if (!c->dma_buffer.mem)
		return;
	dart_unmap_owner(c->fn->dart, DEXT_BUFFER_OWNER(c));
	/* dextd's own memory: no access may still be copying when it goes. */
	fn_dma_drain(c->fn, "DMA buffer freed");
	munmap(c->dma_buffer.mem, c->dma_buffer.size);
	close(c->dma_buffer.memfd);
	memset(&c->dma_buffer, 0, sizeof(c->dma_buffer));
	c->dma_buffer.memfd = -1;
}

static void conn_unclaim(struct dext_conn *c)
{
	struct dext_function *fn = c->fn;
	bool last;

	if (!c->claimed)
		return;
	c->claimed = false;
	pthread_mutex_lock(&fn->lock);
	/* The opener's Close: the device stops decoding and mastering. */
	last = --fn->claims == 0;
	if (last)
		fn->config[0x04] &= ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pthread_mutex_unlock(&fn->lock);
	/* ... and the release returns once no access already started remains. */
	if (last)
		fn_dma_quiesce(fn, "claim released");
}

void dext_conn_release(struct dext_conn *c)
{
	struct dext_function *fn = c->fn;
	size_t n;

	if (!fn)
		return;
	c->wait_armed = false;
	n = dart_unmap_owner(fn->dart, c->id);
	shared_ram_remove_owner(&fn->shared, c->id);
	conn_free_dma_buffer(c);
	fn_dma_drain(fn, "client gone");
	if (fn->irq_owner == c)
		fn_teardown_interrupts(fn);
	if (n || c->claimed)
		log_info("%02x:%02x.%x: client pid %d gone: released %zu mapping%s%s",
			 fn->bus, fn->dev, fn->fn, (int)c->pid, n, n == 1 ? "" : "s",
			 c->claimed ? " and its claim" : "");
	conn_unclaim(c);
	c->fn = NULL;
}

/* GetIdentity's six scalars, also what DEXT_CTL_ENUM answers. */
static void identity_out(const struct dext_function *fn, uint64_t *out)
{
	out[0] = fn->bus;
	out[1] = fn->dev;
	out[2] = fn->fn;
	out[3] = fn->vendor;
	out[4] = fn->device;
	out[5] = fn->class_code;
}

static int m_get_identity(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	(void)in;
	identity_out(c->fn, out);
	return 0;
}

static int m_claim(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	struct dext_function *fn = c->fn;

	(void)in;
	(void)out;
	if (c->claimed)
		return 0;
	c->claimed = true;
	pthread_mutex_lock(&fn->lock);
	/* First claim opens the device: memory space and bus master on. */
	if (fn->claims++ == 0)
		fn->config[0x04] |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	pthread_mutex_unlock(&fn->lock);
	return 0;
}

static int m_terminate(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	(void)in;
	(void)out;
	log_info("%02x:%02x.%x: terminated by client pid %d", c->fn->bus, c->fn->dev,
		 c->fn->fn, (int)c->pid);
	c->fn->terminated = true;
	dextd_drop_function_clients(c->daemon, c->fn, c);
	c->closing = true;
	return 0;
}

/* Flags PrepareForDMA reports for the buffer: prepared for both directions. */
#define DMA_BUFFER_FLAGS	3	/* kIOMemoryDirectionInOut */
#define DMA_BUFFER_MAX_SEGMENTS	32	/* IOAddressSegment segments[32] */

/*
 * Maps the buffer into the DART as segments of fn->dma_segment bytes (one
 * DART mapping each, so they land at unrelated IOVAs, as a fragmented
 * PrepareForDMA result would), at most 32. Fills *seg0 and returns the
 * segment count, or -errno with nothing mapped.
 */
static int dma_buffer_map(struct dext_conn *c, void *mem, uint64_t alloc,
			  struct dart_map_result *seg0)
{
	uint64_t seg = c->fn->dma_segment ? c->fn->dma_segment : alloc, off;
	unsigned int n = 0;
	int r;

	if ((alloc + seg - 1) / seg > DMA_BUFFER_MAX_SEGMENTS)
		seg = (alloc / DMA_BUFFER_MAX_SEGMENTS + DEXT_DART_PAGE_SIZE - 1) &
		      ~(DEXT_DART_PAGE_SIZE - 1);
	for (off = 0; off < alloc; off += seg, n++) {
		struct dart_map_result res;
		uint64_t len = alloc - off < seg ? alloc - off : seg;

		r = dart_map(c->fn->dart, DEXT_BUFFER_OWNER(c), n, (uint64_t)(uintptr_t)mem + off,
			     len, (void *)(uintptr_t)c->fn->self_pid, &res);
		if (r < 0) {
			dart_unmap_owner(c->fn->dart, DEXT_BUFFER_OWNER(c));
			return r;
		}
		if (n == 0)
			*seg0 = res;
	}
	return (int)n;
}

static int m_allocate_dma_buffer(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	uint64_t size = in[0], align = in[1] ? in[1] : DEXT_DMA_BUFFER_ALIGN_DEFAULT;
	struct dart_map_result res;
	uint64_t alloc;
	void *mem;
	int fd, r;

	if (size == 0 || size > DEXT_DMA_BUFFER_MAX || (align & (align - 1)) ||
	    align > DEXT_DART_PAGE_SIZE)
		return -EINVAL;
	alloc = (size + DEXT_DART_PAGE_SIZE - 1) & ~(DEXT_DART_PAGE_SIZE - 1);
	fd = memfd_create("dext-dma-buffer", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)alloc) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	mem = mmap(NULL, alloc, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	conn_free_dma_buffer(c);	/* a new buffer replaces the old one */
	r = dma_buffer_map(c, mem, alloc, &res);
	if (r < 0) {
		munmap(mem, alloc);
		close(fd);
		return r;
	}
	c->dma_buffer.memfd = fd;
	c->dma_buffer.mem = mem;
	c->dma_buffer.size = alloc;
	c->dma_buffer.iova = res.iova;
	out[0] = size;		/* as requested; the mapping is rounded to DART pages */
	out[1] = DMA_BUFFER_FLAGS;
	out[2] = (uint64_t)r;	/* segments */
	out[3] = res.iova;
	out[4] = res.len;
	out[5] = c->fn->class_code;
	return 0;
}

static int m_free_dma_buffer(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	(void)in;
	(void)out;
	conn_free_dma_buffer(c);	/* none to free is success, as in the reference */
	return 0;
}

static int m_register_dma_region(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	uint64_t key = in[0], va = in[1], size = in[2];
	struct dart_map_result res;
	struct iovec ends[2] = { { (void *)(uintptr_t)va, 1 },
				 { (void *)(uintptr_t)(va + size - 1), 1 } };
	uint8_t probe[2];
	int r;

	if (size == 0 || va == 0 || va + size < va)
		return -EINVAL;
	/*
	 * CreateMemoryDescriptorFromClient fails on memory the client lacks;
	 * memory that does not answer in time counts as lacking (client-mem.h).
	 */
	if (client_mem_read(c->pid, ends, 2, probe) < 0)
		return -EFAULT;
	r = dart_map(c->fn->dart, c->id, key, va, size, (void *)(uintptr_t)c->pid, &res);
	if (r == -E2BIG)
		r = -ENOSPC;	/* more than 128 chunks: kIOReturnNoSpace, like the other limits */
	if (r < 0) {
		log_debug("%02x:%02x.%x: RegisterDMARegion key 0x%llx size 0x%llx: %s",
			  c->fn->bus, c->fn->dev, c->fn->fn, (unsigned long long)key,
			  (unsigned long long)size, strerror(-r));
		return r;
	}
	if ((va ^ key) & (DEXT_DART_PAGE_SIZE - 1))
		atomic_fetch_add(&c->fn->stats.offset_mismatch, 1);
	out[0] = 1;
	out[1] = res.iova;
	out[2] = res.len;
	return 0;
}

static int m_unregister_dma_region(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	int r;

	(void)out;
	r = dart_unmap(c->fn->dart, c->id, in[0]);
	/* The reply says the range is free: nothing may land in it afterwards. */
	if (r == 0)
		fn_dma_drain(c->fn, "UnregisterDMARegion");
	return r;
}

static int m_probe_dma_region(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	uint64_t target, value = 0;
	struct iovec at;
	void *cookie;
	int r;

	/* All 8 bytes must lie inside the region, else kIOReturnOverrun. */
	if (in[1] > UINT64_MAX - sizeof(value))
		return -EOVERFLOW;
	r = dart_key_target(c->fn->dart, c->id, in[0], in[1] + sizeof(value) - 1, &target, &cookie);
	if (r == -EINVAL)
		return -EOVERFLOW;
	if (r < 0)
		return r;
	r = dart_key_target(c->fn->dart, c->id, in[0], in[1], &target, &cookie);
	at = (struct iovec){ (void *)(uintptr_t)target, sizeof(value) };
	if (r < 0 || client_mem_read((pid_t)(uintptr_t)cookie, &at, 1, &value) < 0)
		return -EFAULT;
	out[0] = value;
	return 0;
}

static int m_config_read(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	uint32_t v = 0;
	int r;

	if (in[0] > DEXT_CONFIG_SPACE_SIZE || in[1] > 4)
		return -EINVAL;
	pthread_mutex_lock(&c->fn->lock);
	r = fn_config_read(c->fn, (uint32_t)in[0], (unsigned int)in[1], &v);
	pthread_mutex_unlock(&c->fn->lock);
	out[0] = v;
	return r;
}

static int m_config_write(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	int r;

	(void)out;
	if (in[0] > DEXT_CONFIG_SPACE_SIZE || in[1] > 4 || in[2] > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&c->fn->lock);
	r = fn_config_write(c->fn, (uint32_t)in[0], (unsigned int)in[1], (uint32_t)in[2]);
	pthread_mutex_unlock(&c->fn->lock);
	return r;
}

/*
 * PCIDriverKit numbers a function's memory ranges itself: the memory index
 * GetBARInfo returns counts the implemented BARs in order, so it differs
 * from the BAR number whenever a BAR is absent or 64-bit. MMIORead and
 * MMIOWrite take that index; memory types stay 1 + BAR number.
 */
static int bar_of_memory_index(const struct dext_function *fn, uint64_t idx)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++)
		if (fn->bars[i].size && n++ == idx)
			return (int)i;
	return -1;
}

static int m_get_bar_info(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	const struct dext_function *fn = c->fn;
	uint64_t idx = 0;

	if (in[0] >= DEXT_BAR_COUNT)
		return -EINVAL;
	/* An absent BAR, or the upper half of a 64-bit one, is an error as in PCIDriverKit. */
	if (!fn->bars[in[0]].size)
		return -ENOENT;
	for (unsigned int i = 0; i < in[0]; i++)
		idx += fn->bars[i].size != 0;
	out[0] = idx;
	out[1] = fn->bars[in[0]].size;
	out[2] = fn->bars[in[0]].type;
	return 0;
}

/* The BAR behind memory index idx if the access fits it, else -EINVAL. */
static int mmio_check(struct dext_conn *c, uint64_t idx, uint64_t off, uint64_t width)
{
	int bar = bar_of_memory_index(c->fn, idx);
	uint64_t size;

	if (bar < 0)
		return -EINVAL;
	size = c->fn->bars[bar].size;
	if ((width != 1 && width != 2 && width != 4 && width != 8) || off >= size ||
	    off + width > size || (off & (width - 1)))
		return -EINVAL;
	return bar;
}

static int m_mmio_read(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	struct dext_function *fn = c->fn;
	const struct dext_bar *b;
	uint64_t v = 0;
	int bar = mmio_check(c, in[0], in[1], in[2]), r = 0;

	if (bar < 0)
		return bar;
	b = &fn->bars[bar];
	pthread_mutex_lock(&fn->lock);
	if (b->mem)
		memcpy(&v, (const uint8_t *)b->mem + in[1], in[2]);
	else
		r = fn->ops->mmio_read(fn, (unsigned int)bar, in[1], (unsigned int)in[2], &v);
	pthread_mutex_unlock(&fn->lock);
	out[0] = v;
	return r;
}

static int m_mmio_write(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	struct dext_function *fn = c->fn;
	const struct dext_bar *b;
	int bar = mmio_check(c, in[0], in[1], in[2]), r = 0;

	(void)out;
	if (bar < 0)
		return bar;
	if (in[2] < 8 && (in[3] >> (8 * in[2])))
		return -EINVAL;	/* value wider than the access */
	b = &fn->bars[bar];
	pthread_mutex_lock(&fn->lock);
	if (!(fn_command(fn) & PCI_COMMAND_MEMORY))
		r = 0;	/* memory decoding off: the write goes nowhere */
	else if (b->mem)
		memcpy((uint8_t *)b->mem + in[1], &in[3], in[2]);
	else
		r = fn->ops->mmio_write(fn, (unsigned int)bar, in[1], (unsigned int)in[2], in[3]);
	pthread_mutex_unlock(&fn->lock);
	return r;
}

static int m_setup_interrupts(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	unsigned int n;
	int r;

	(void)in;
	r = fn_setup_interrupts(c->fn, c, &n);
	out[0] = n;
	return r;
}

/* Interrupt state is the setting-up client's; to everyone else it is not set up. */
static bool irq_owner(const struct dext_conn *c)
{
	return c->fn->vectors && c->fn->irq_owner == c;
}

static int m_check_interrupt(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	struct dext_function *fn = c->fn;

	(void)in;
	if (!irq_owner(c))
		return -EAGAIN;
	for (unsigned int i = 0; i < DEXT_IRQ_WORDS; i++)
		out[i] = __atomic_exchange_n(&fn->irq->pending[i], 0, __ATOMIC_SEQ_CST);
	return 0;
}

static int m_wait_interrupt(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	(void)in;
	(void)out;
	if (!irq_owner(c))
		return -EAGAIN;
	/*
	 * Armed; completed after this reply, at once if bits are pending. A
	 * wait armed while one is armed replaces it (the reference keeps one
	 * completion): only the newest is ever completed.
	 */
	c->wait_armed = true;
	return 0;
}

static int m_set_irq_mask(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	(void)out;
	if (!irq_owner(c))
		return -EAGAIN;
	for (unsigned int i = 0; i < DEXT_IRQ_WORDS; i++)
		__atomic_store_n(&c->fn->irq->enabled[i], in[i], __ATOMIC_SEQ_CST);
	return 0;
}

static int m_reset_device(struct dext_conn *c, const uint64_t *in, uint64_t *out)
{
	(void)in;
	(void)out;
	pthread_mutex_lock(&c->fn->lock);
	fn_reset(c->fn);
	pthread_mutex_unlock(&c->fn->lock);
	log_info("%02x:%02x.%x: reset by client pid %d", c->fn->bus, c->fn->dev, c->fn->fn,
		 (int)c->pid);
	return 0;
}

typedef int (*method_fn)(struct dext_conn *c, const uint64_t *in, uint64_t *out);

/*
 * The claim the reference requires (AllocateDMABuffer, RegisterDMARegion,
 * SetupInterrupts, ResetDevice), and where dextd is stricter because an
 * unclaimed client could otherwise harm the claimants: Terminate, config
 * writes and MMIO (docs/protocols.md, deviations). SetIRQMask needs the
 * interrupt state instead, which only a claimant can have set up.
 */
static const struct {
	method_fn fn;
	bool needs_claim;
} methods[DEXT_SEL_COUNT] = {
	[DEXT_SEL_GET_IDENTITY] = { m_get_identity, false },
	[DEXT_SEL_CLAIM] = { m_claim, false },
	[DEXT_SEL_TERMINATE] = { m_terminate, true },
	[DEXT_SEL_ALLOCATE_DMA_BUFFER] = { m_allocate_dma_buffer, true },
	[DEXT_SEL_FREE_DMA_BUFFER] = { m_free_dma_buffer, false },
	[DEXT_SEL_REGISTER_DMA_REGION] = { m_register_dma_region, true },
	[DEXT_SEL_UNREGISTER_DMA_REGION] = { m_unregister_dma_region, false },
	[DEXT_SEL_PROBE_DMA_REGION] = { m_probe_dma_region, false },
	[DEXT_SEL_CONFIG_READ] = { m_config_read, false },
	[DEXT_SEL_CONFIG_WRITE] = { m_config_write, true },
	[DEXT_SEL_GET_BAR_INFO] = { m_get_bar_info, false },
	[DEXT_SEL_MMIO_READ] = { m_mmio_read, true },
	[DEXT_SEL_MMIO_WRITE] = { m_mmio_write, true },
	[DEXT_SEL_SETUP_INTERRUPTS] = { m_setup_interrupts, true },
	[DEXT_SEL_CHECK_INTERRUPT] = { m_check_interrupt, false },
	[DEXT_SEL_WAIT_INTERRUPT] = { m_wait_interrupt, false },
	[DEXT_SEL_SET_IRQ_MASK] = { m_set_irq_mask, false },
	[DEXT_SEL_RESET_DEVICE] = { m_reset_device, true },
};

static int handle_call(struct dext_conn *c, const struct dext_msg *req, uint64_t *out,
		       uint16_t *n_out)
{
	const struct dext_selector_info *info = dext_selector_info(req->hdr.op);
	int r;

	if (!info)
		return -EOPNOTSUPP;
	/* IOKit checks the scalar counts against the dispatch table. */
	if (req->hdr.n_scalars != info->scalars_in || req->hdr.n_out < info->scalars_out)
		return -EINVAL;
	if (!c->fn)
		return -ENOTCONN;
	if (c->fn->terminated)
		return -ENODEV;
	if (methods[req->hdr.op].needs_claim && !c->claimed)
		return -ENOTCONN;	/* kIOReturnNotOpen */
	r = methods[req->hdr.op].fn(c, req->scalars, out);
	if (r == 0)
		*n_out = info->scalars_out;
	return r;
}

static int ctl_status(struct dext_conn *c, uint64_t index, uint64_t *out, uint16_t *n_out)
{
	struct dext_function *fn = dextd_function_at(c->daemon, (unsigned int)index);
	struct dart_stats st;

	if (index > UINT32_MAX || !fn)
		return -ENOENT;
	dart_get_stats(fn->dart, &st);
	out[DEXT_STATUS_BDF] = fn->bus << 8 | fn->dev << 3 | fn->fn;
	out[DEXT_STATUS_CLAIMS] = fn->claims;
	out[DEXT_STATUS_CLIENTS] = dextd_function_clients(c->daemon, fn);
	out[DEXT_STATUS_VECTORS] = fn->vectors;
	out[DEXT_STATUS_MAPPINGS] = st.live_mappings;
	out[DEXT_STATUS_BYTES] = st.live_bytes;
	out[DEXT_STATUS_PEAK_MAPPINGS] = st.peak_mappings;
	out[DEXT_STATUS_PEAK_BYTES] = st.peak_bytes;
	out[DEXT_STATUS_FAULTS] = st.faults;
	out[DEXT_STATUS_IRQS] = atomic_load(&fn->stats.irqs);
	out[DEXT_STATUS_RESETS] = atomic_load(&fn->stats.resets);
	out[DEXT_STATUS_BAR_WRITES] = atomic_load(&fn->stats.bar_reg_writes);
	out[DEXT_STATUS_OFFSET_MISMATCH] = atomic_load(&fn->stats.offset_mismatch);
	*n_out = DEXT_STATUS_COUNT;
	return 0;
}

static int ctl_map_memory(struct dext_conn *c, uint64_t type, uint64_t *out, uint16_t *n_out,
			  int *fd_out)
{
	struct dext_function *fn = c->fn;
	uint64_t size;
	int fd;

	if (!fn)
		return -ENOTCONN;
	if (type == DEXT_MEM_DMA_BUFFER) {
		if (!c->dma_buffer.mem)
			return -EAGAIN;
		fd = c->dma_buffer.memfd;
		size = c->dma_buffer.size;
	} else if (type >= DEXT_MEM_BAR0 && type <= DEXT_MEM_BAR5) {
		const struct dext_bar *b = &fn->bars[type - DEXT_MEM_BAR0];

		if (!b->size)
			return -ENOENT;
		if (b->memfd < 0)
			return -EOPNOTSUPP;	/* trapped: use MMIORead/MMIOWrite */
		/* Stricter than the reference: device memory is the claimants'. */
		if (!c->claimed)
			return -ENOTCONN;
		fd = b->memfd;
		size = b->size;
	} else if (type == DEXT_MEM_IRQ_STATE) {
		if (!irq_owner(c))
			return -EAGAIN;	/* kIOReturnNotReady before SetupInterrupts */
		fd = fn->irq_memfd;
		size = DEXT_IRQ_STATE_SIZE;
	} else {
		return -EINVAL;
	}
	*fd_out = dup(fd);
	if (*fd_out < 0)
		return -errno;
	out[0] = size;
	out[1] = 0;
	*n_out = 2;
	return 0;
}

static int handle_control(struct dext_conn *c, const struct dext_msg *req, int fd_in,
			  uint64_t *out, uint16_t *n_out, int *fd_out)
{
	static const uint8_t n_in[] = {
		[DEXT_CTL_HELLO] = 1, [DEXT_CTL_ENUM] = 1, [DEXT_CTL_OPEN] = 3,
		[DEXT_CTL_MAP_MEMORY] = 1, [DEXT_CTL_STATUS] = 1, [DEXT_CTL_FAULT] = 2,
		[DEXT_CTL_SHARE_MEMORY] = 3, [DEXT_CTL_UNSHARE_MEMORY] = 1,
	};
	static const uint8_t n_res[] = {
		[DEXT_CTL_HELLO] = 2, [DEXT_CTL_ENUM] = 6, [DEXT_CTL_OPEN] = 0,
		[DEXT_CTL_MAP_MEMORY] = 2, [DEXT_CTL_STATUS] = DEXT_STATUS_COUNT,
		[DEXT_CTL_FAULT] = 4, [DEXT_CTL_SHARE_MEMORY] = 0, [DEXT_CTL_UNSHARE_MEMORY] = 0,
	};
	const uint64_t *in = req->scalars;
	unsigned int op = req->hdr.op;
	struct dext_function *fn;
	struct dart_fault fault;
	int r;

	if (op == 0 || op >= sizeof(n_in))
		return -EOPNOTSUPP;
	if (req->hdr.n_scalars != n_in[op] || req->hdr.n_out < n_res[op])
		return -EINVAL;

	switch (op) {
	case DEXT_CTL_HELLO:
		if (in[0] != DEXT_WIRE_VERSION)
			return -EPROTONOSUPPORT;
		out[0] = DEXT_WIRE_VERSION;
		out[1] = dextd_function_count(c->daemon);
		*n_out = 2;
		return 0;
	case DEXT_CTL_ENUM:
		for (unsigned int i = 0, seen = 0; (fn = dextd_function_at(c->daemon, i)); i++) {
			if (fn->terminated || seen++ != in[0])
				continue;
			identity_out(fn, out);
			*n_out = 6;
			return 0;
		}
		return -ENOENT;
	case DEXT_CTL_OPEN:
		if (c->fn)
			return -EBUSY;
		if (in[0] > 0xff || in[1] > 0x1f || in[2] > 7)
			return -EINVAL;
		fn = dextd_function_find(c->daemon, (unsigned int)in[0], (unsigned int)in[1],
					 (unsigned int)in[2]);
		if (!fn || fn->terminated)
			return -ENODEV;
		c->fn = fn;
		log_info("%02x:%02x.%x: opened by client pid %d", fn->bus, fn->dev, fn->fn,
			 (int)c->pid);
		return 0;
	case DEXT_CTL_MAP_MEMORY:
		return ctl_map_memory(c, in[0], out, n_out, fd_out);
	case DEXT_CTL_STATUS:
		return ctl_status(c, in[0], out, n_out);
	case DEXT_CTL_FAULT:
		fn = in[0] <= UINT32_MAX ? dextd_function_at(c->daemon, (unsigned int)in[0]) : NULL;
		if (!fn)
			return -ENOENT;
		r = dart_fault_get(fn->dart, in[1], &fault);
		if (r < 0)
			return r;
		out[0] = fault.seq;
		out[1] = fault.stream;
		out[2] = fault.iova;
		out[3] = fault.access;
		*n_out = 4;
		return 0;
	case DEXT_CTL_SHARE_MEMORY:
		if (!c->fn)
			return -ENOTCONN;
		return shared_ram_add(&c->fn->shared, c->id, c->pid, in[0], in[1], fd_in, in[2],
				      DEXT_WIRE_MAX_SHARED);
	case DEXT_CTL_UNSHARE_MEMORY:
		if (!c->fn)
			return -ENOTCONN;
		return shared_ram_remove(&c->fn->shared, c->id, in[0]);
	}
	return -EOPNOTSUPP;
}

int dext_handle_request(struct dext_conn *conn, const struct dext_msg *req, int fd_in,
			uint64_t *out, uint16_t *n_out, int *fd_out)
{
	*n_out = 0;
	*fd_out = -1;
	switch (req->hdr.type) {
	case DEXT_MSG_CALL:
		return handle_call(conn, req, out, n_out);
	case DEXT_MSG_CONTROL:
		return handle_control(conn, req, fd_in, out, n_out, fd_out);
	default:
		return -EPROTO;	/* a client does not send replies */
	}
}
