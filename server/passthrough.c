// SPDX-License-Identifier: GPL-2.0-or-later
#include "passthrough.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libvfio-user.h>

#include "common/log.h"
#include "config-filter.h"
#include "vfu-util.h"

#define PCI_INTERRUPT_PIN	0x3d
#define PCI_MSIX_FLAGS		2
#define PCI_MSIX_ENABLE		0x8000
#define PCI_MSIX_MASKALL	0x4000

static int pt_call(struct passthrough *pt, int r, const char *what)
{
	return dext_link_check(pt->link, r, what);
}

/* The dext's enable mask follows the guest's MSI-X enable and function mask. */
static void sync_irq_mask(struct passthrough *pt)
{
	uint64_t mask[DEXT_IRQ_WORDS] = { 0 };
	uint32_t ctrl = 0;
	int r;

	if (!pt->msix_cap || pt->link->lost)
		return;
	r = pt_call(pt, dext_config_read(pt->link->client, pt->msix_cap + PCI_MSIX_FLAGS, 2, &ctrl),
		    "ConfigRead");
	if (r < 0)
		return;
	if ((ctrl & PCI_MSIX_ENABLE) && !(ctrl & PCI_MSIX_MASKALL))
		for (unsigned int v = 0; v < pt->vectors; v++)
			mask[v / 64] |= 1ull << (v % 64);
	if (!memcmp(mask, pt->irq_mask, sizeof(mask)))
		return;
	r = pt_call(pt, dext_set_irq_mask(pt->link->client, mask), "SetIRQMask");
	if (r == 0) {
		memcpy(pt->irq_mask, mask, sizeof(mask));
		log_ratelimited(&pt->rl_irq, LOG_LVL_DEBUG,
				"passthrough: MSI-X %s, interrupt mask %016llx",
				mask[0] ? "enabled" : "disabled", (unsigned long long)mask[0]);
	}
}

static int pt_reset(struct passthrough *pt);

static ssize_t config_access(vfu_ctx_t *ctx, char *buf, size_t count, loff_t offset,
			     bool is_write)
{
	struct passthrough *pt = vfu_get_private(ctx);
	struct config_write_op ops[DEXT_CONFIG_SPACE_SIZE];
	uint32_t off = (uint32_t)offset;
	size_t i;
	int n, r;

	if (offset < 0 || (uint64_t)offset + count > DEXT_CONFIG_SPACE_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (is_write) {
		n = config_filter_write(&pt->caps, off, (const uint8_t *)buf, count, ops,
					sizeof(ops) / sizeof(ops[0]));
		for (i = 0; i < count; i++)
			pt->stats.config_writes_dropped +=
				config_filter_drops(&pt->caps, off + (uint32_t)i);
		/* A guest FLR through DEVCTL becomes the dext's ResetDevice, as vfio-pci does. */
		if (config_filter_requests_flr(&pt->caps, off, (const uint8_t *)buf, count) &&
		    pt_reset(pt) < 0)
			return -1;
		for (int k = 0; k < n; k++) {
			r = pt_call(pt, dext_config_write(pt->link->client, ops[k].offset,
							  ops[k].width, ops[k].value),
				    "ConfigWrite");
			if (r == -ENODEV)
				return (ssize_t)count;	/* a lost device ignores writes */
			if (r < 0) {
				errno = -r;
				return -1;
			}
		}
		if (pt->msix_cap && off < pt->msix_cap + 4u && off + count > pt->msix_cap + 2u)
			sync_irq_mask(pt);
		return (ssize_t)count;
	}

	for (i = 0; i < count;) {
		uint32_t o = off + (uint32_t)i, v;
		unsigned int w = (!(o & 3) && count - i >= 4) ? 4 : (!(o & 1) && count - i >= 2) ? 2 : 1;

		r = pt_call(pt, dext_config_read(pt->link->client, o, w, &v), "ConfigRead");
		if (r == -ENODEV) {
			v = 0xffffffff;	/* a device that left the bus reads all ones */
		} else if (r < 0) {
			errno = -r;
			return -1;
		}
		for (unsigned int k = 0; k < w; k++) {
			uint8_t b = (uint8_t)(v >> (8 * k));

			/* No INTx: the dext only sets up MSI and MSI-X. */
			if (o + k == PCI_INTERRUPT_PIN)
				b = 0;
			buf[i + k] = (char)b;
		}
		i += w;
	}
	return (ssize_t)count;
}

/* One naturally aligned load or store of width 1-8 on the server's BAR mapping. */
static void bar_map_access(uint8_t *p, unsigned int w, uint64_t *v, bool is_write)
{
	switch (w) {
	case 1:
		if (is_write)
			*(volatile uint8_t *)p = (uint8_t)*v;
		else
			*v = *(volatile uint8_t *)p;
		break;
	case 2:
		if (is_write)
			*(volatile uint16_t *)(void *)p = (uint16_t)*v;
		else
			*v = *(volatile uint16_t *)(void *)p;
		break;
	case 4:
		if (is_write)
			*(volatile uint32_t *)(void *)p = (uint32_t)*v;
		else
			*v = *(volatile uint32_t *)(void *)p;
		break;
	default:
		if (is_write)
			*(volatile uint64_t *)(void *)p = *v;
		else
			*v = *(volatile uint64_t *)(void *)p;
		break;
	}
}

static ssize_t bar_access(struct passthrough *pt, unsigned int bar, char *buf, size_t count,
			  loff_t offset, bool is_write)
{
	uint32_t idx = pt->bars[bar].memory_index;
	size_t i;

	if (offset < 0 || (uint64_t)offset + count > pt->bars[bar].size) {
		errno = EINVAL;
		return -1;
	}
	if (pt->bars[bar].map) {
		/* The transport gave a mapping, not an fd: the server does the accesses. */
		for (i = 0; i < count;) {
			uint64_t o = (uint64_t)offset + i, v = 0;
			unsigned int w = 8;

			while (w > 1 && ((o & (w - 1)) || count - i < w))
				w /= 2;
			if (is_write)
				memcpy(&v, buf + i, w);
			bar_map_access(pt->bars[bar].map + o, w, &v, is_write);
			if (!is_write)
				memcpy(buf + i, &v, w);
			i += w;
		}
		pt->stats.bar_server_accesses++;
		return (ssize_t)count;
	}
	for (i = 0; i < count;) {
		uint64_t o = (uint64_t)offset + i, v = 0;
		unsigned int w = 8;
		int r;

		while (w > 1 && ((o & (w - 1)) || count - i < w))
			w /= 2;
		if (is_write) {
			memcpy(&v, buf + i, w);
			/*
			 * Posted, as a PCI memory write is: the dext socket is
			 * ordered, so a later read or call sees it; a refusal is
			 * counted and logged by passthrough_service_irqs().
			 */
			r = pt_call(pt, dext_mmio_write_posted(pt->link->client, idx, o, w, v),
				    "MMIOWrite");
		} else {
			r = pt_call(pt, dext_mmio_read(pt->link->client, idx, o, w, &v), "MMIORead");
			if (r == -ENODEV)
				v = ~0ull;
			memcpy(buf + i, &v, w);
		}
		if (r < 0 && r != -ENODEV) {
			errno = -r;
			return -1;
		}
		i += w;
	}
	return (ssize_t)count;
}

#define BAR_CB(n)                                                                      \
	static ssize_t bar##n##_access(vfu_ctx_t *ctx, char *buf, size_t count,         \
				       loff_t offset, bool is_write)                     \
	{                                                                               \
		return bar_access(vfu_get_private(ctx), n, buf, count, offset, is_write); \
	}
BAR_CB(0)
BAR_CB(1)
BAR_CB(2)
BAR_CB(3)
BAR_CB(4)
BAR_CB(5)

static vfu_region_access_cb_t *const bar_cbs[DEXT_BAR_COUNT] = {
	bar0_access, bar1_access, bar2_access, bar3_access, bar4_access, bar5_access,
};

/*
 * Takes the pending words: from the mapped interrupt state page by atomic
 * exchange (the read-and-clear CheckInterrupt does in the dext, without the
 * round trip), or with CheckInterrupt when the page is not mapped.
 */
static int take_pending(struct passthrough *pt, uint64_t pending[DEXT_IRQ_WORDS])
{
	if (!pt->irq_state)
		return pt_call(pt, dext_check_interrupt(pt->link->client, pending),
			       "CheckInterrupt");
	for (unsigned int w = 0; w < DEXT_IRQ_WORDS; w++)
		pending[w] = __atomic_exchange_n(&pt->irq_state->pending[w], 0, __ATOMIC_SEQ_CST);
	return 0;
}

static void discard_pending(struct passthrough *pt)
{
	uint64_t pending[DEXT_IRQ_WORDS];

	/* Posted writes before the reset are done once the reset's reply is in. */
	if (take_pending(pt, pending) < 0)
		return;
	for (unsigned int w = 0; w < DEXT_IRQ_WORDS; w++)
		pt->stats.irqs_dropped += (uint64_t)__builtin_popcountll(pending[w]);
}

static int pt_reset(struct passthrough *pt)
{
	int r = pt_call(pt, dext_reset_device(pt->link->client), "ResetDevice");

	if (r < 0) {
		log_ratelimited(&pt->rl_reset, LOG_LVL_WARN, "passthrough: reset failed: %s",
				strerror(-r));
		errno = -r;
		return -1;
	}
	pt->stats.resets++;
	/* The dext keeps pending bits over a reset; none may reach the reset guest device. */
	discard_pending(pt);
	memset(pt->irq_mask, 0xff, sizeof(pt->irq_mask));	/* force a resync */
	sync_irq_mask(pt);
	return 0;
}

static int reset_cb(vfu_ctx_t *ctx, vfu_reset_type_t type)
{
	if (type == VFU_RESET_LOST_CONN)
		return 0;	/* QEMU went away: the server ends, which releases the device */
	return pt_reset(vfu_get_private(ctx));
}

/* The BARs discovery found become regions: QEMU maps the fd, or accesses trap here. */
static int setup_bars(struct passthrough *pt)
{
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++) {
		struct dext_discovered_bar *b = &pt->bars[i];

		if (!b->size)
			continue;
		if (vfu_setup_region(pt->ctx, VFU_PCI_DEV_BAR0_REGION_IDX + i, b->size, bar_cbs[i],
				     VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM, NULL, 0, b->fd, 0) < 0)
			return log_err_errno(-errno, "passthrough: BAR%u region", i);
		log_info("passthrough: BAR%u %llu KiB%s%s", i, (unsigned long long)b->size >> 10,
			 b->type & DEXT_BAR_TYPE_MEM64 ? " 64-bit" : "",
			 b->fd >= 0 ? ", mapped by QEMU" : b->map ? ", accessed by the server" :
			 ", trapped");
	}
	return 0;
}

/* The interrupt state page (memory type 7) of this connection, if it maps. */
static void map_irq_state(struct passthrough *pt)
{
	uint64_t size = 0;
	void *p = NULL;
	int r = dext_client_map(pt->link->client, DEXT_MEM_IRQ_STATE, &p, &size);

	if (r == 0 && size < sizeof(struct dext_irq_state)) {
		dext_client_unmap(pt->link->client, DEXT_MEM_IRQ_STATE, p, size);
		r = -EPROTO;
	}
	if (r < 0) {
		log_info("passthrough: interrupt state page not mapped (%s): CheckInterrupt per wakeup",
			 strerror(-r));
		return;
	}
	pt->irq_state = p;
	pt->irq_state_size = size;
}

int passthrough_create(struct passthrough *pt, const char *socket_path, struct dext_link *link,
		       bool bars_by_server)
{
	struct dext_discovery d;
	struct dext_identity id;
	unsigned int vectors;
	int r;

	memset(pt, 0, sizeof(*pt));
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++)
		pt->bars[i].fd = -1;
	pt->link = dext_link_get(link);
	pt->rl_reset = pt->rl_irq = (struct ratelimit)RATELIMIT_DEFAULT;
	r = dext_discover(link->client, bars_by_server, &d);
	if (r < 0)
		return r;
	id = d.id;
	vectors = d.vectors;
	pt->vectors = vectors;
	pt->msix_cap = d.msix_cap;
	pt->caps = d.caps;
	memcpy(pt->irq_mask, d.irq_mask, sizeof(pt->irq_mask));
	memcpy(pt->bars, d.bars, sizeof(pt->bars));	/* passthrough_destroy() releases them */
	map_irq_state(pt);

	pt->ctx = vfu_create_ctx(VFU_TRANS_SOCK, socket_path, LIBVFIO_USER_FLAG_ATTACH_NB, pt,
				 VFU_DEV_TYPE_PCI);
	if (!pt->ctx)
		return log_err_errno(-errno, "passthrough: vfio-user socket %s", socket_path);
	vfu_log_attach(pt->ctx, "passthrough");
	if (vfu_pci_init(pt->ctx, VFU_PCI_TYPE_EXPRESS, PCI_HEADER_TYPE_NORMAL, 0) < 0)
		return log_err_errno(-errno, "passthrough: vfu_pci_init");
	vfu_pci_set_id(pt->ctx, id.vendor, id.device, id.vendor, id.device);
	if (vfu_setup_region(pt->ctx, VFU_PCI_DEV_CFG_REGION_IDX, DEXT_CONFIG_SPACE_SIZE,
			     config_access, VFU_REGION_FLAG_RW | VFU_REGION_FLAG_ALWAYS_CB, NULL, 0,
			     -1, 0) < 0)
		return log_err_errno(-errno, "passthrough: config region");
	r = setup_bars(pt);
	if (r < 0)
		return r;
	if ((pt->msix_cap && vfu_setup_device_nr_irqs(pt->ctx, VFU_DEV_MSIX_IRQ, vectors) < 0) ||
	    (!pt->msix_cap && vfu_setup_device_nr_irqs(pt->ctx, VFU_DEV_MSI_IRQ, vectors) < 0) ||
	    vfu_setup_device_reset_cb(pt->ctx, reset_cb) < 0 || vfu_realize_ctx(pt->ctx) < 0)
		return log_err_errno(-errno, "passthrough: vfio-user setup");

	r = dext_wait_interrupt(link->client);
	if (r < 0)
		return log_err_errno(r, "passthrough: WaitInterrupt");
	log_info("passthrough: %04x:%04x, %u %s vector%s, on %s", id.vendor, id.device,
		 vectors, pt->msix_cap ? "MSI-X" : "MSI", vectors == 1 ? "" : "s", socket_path);
	return 0;
}

void passthrough_destroy(struct passthrough *pt)
{
	if (pt->ctx)
		vfu_destroy_ctx(pt->ctx);
	pt->ctx = NULL;
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++) {
		if (pt->bars[i].fd >= 0)
			close(pt->bars[i].fd);
		if (pt->bars[i].map && pt->link->client)
			dext_client_unmap(pt->link->client, DEXT_MEM_BAR0 + i, pt->bars[i].map,
					  pt->bars[i].map_size);
		pt->bars[i].map = NULL;
	}
	if (pt->irq_state)
		dext_client_unmap(pt->link->client, DEXT_MEM_IRQ_STATE, pt->irq_state,
				  pt->irq_state_size);
	pt->irq_state = NULL;
	dext_link_put(pt->link);
	pt->link = NULL;
}

int passthrough_poll_fd(struct passthrough *pt)
{
	return vfu_get_poll_fd(pt->ctx);
}

int passthrough_run(struct passthrough *pt)
{
	return vfu_endpoint_serve(pt->ctx, &pt->attached, "passthrough");
}

/* Logs refusals of posted calls (MMIOWrite, the re-arm), once per burst. */
static void note_posted_errors(struct passthrough *pt)
{
	const struct dext_posted_stats *ps = dext_client_posted_stats(pt->link->client);
	uint64_t n = ps->errors - pt->stats.posted_errors;

	if (!n)
		return;
	log_warn("passthrough: %llu posted call%s refused by the dext (latest: selector %u, %s)",
		 (unsigned long long)n, n == 1 ? "" : "s", ps->last_selector,
		 strerror(-ps->last_error));
	pt->stats.posted_errors = ps->errors;
}

void passthrough_service_irqs(struct passthrough *pt)
{
	struct dext_client *c = pt->link->client;
	uint64_t pending[DEXT_IRQ_WORDS];
	int r;

	if (pt->link->lost)
		return;
	r = pt_call(pt, dext_client_dispatch(c), "interrupt wakeup");
	note_posted_errors(pt);
	if (r < 0 || !dext_client_take_wakeup(c))
		return;
	pt->stats.wakeups++;
	r = take_pending(pt, pending);
	if (r == 0) {
		for (unsigned int w = 0; w < DEXT_IRQ_WORDS; w++) {
			while (pending[w]) {
				unsigned int v = w * 64 + (unsigned int)__builtin_ctzll(pending[w]);

				pending[w] &= pending[w] - 1;
				if (v < pt->vectors && vfu_irq_trigger(pt->ctx, v) == 0)
					pt->stats.irqs_delivered++;
				else
					pt->stats.irqs_dropped++;
			}
		}
	}
	/*
	 * Re-arm even after a failed check, as the reference does. Posted: a
	 * wait armed while bits are pending completes at once, so nothing is
	 * lost; a refusal disarms it and is logged above.
	 */
	pt_call(pt, dext_wait_interrupt_posted(c), "WaitInterrupt");
}
