// SPDX-License-Identifier: GPL-2.0-or-later
#include "dext-discovery.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_EXP		0x10
#define PCI_CAP_ID_MSIX		0x11

uint16_t dext_find_cap(struct dext_client *c, uint8_t id)
{
	uint32_t ptr, hdr;
	unsigned int guard = 48;

	if (dext_config_read(c, PCI_CAPABILITY_LIST, 1, &ptr))
		return 0;
	while (ptr >= 0x40 && ptr < 0x100 && guard--) {
		if (dext_config_read(c, ptr & ~3u, 2, &hdr))
			return 0;
		if ((hdr & 0xff) == id)
			return (uint16_t)(ptr & ~3u);
		ptr = hdr >> 8;
	}
	return 0;
}

/* Where the capabilities the config filter guards are. */
static void find_filter_caps(struct dext_client *c, struct config_filter_caps *caps)
{
	uint32_t ctrl = 0;

	caps->msi = dext_find_cap(c, PCI_CAP_ID_MSI);
	if (caps->msi && !dext_config_read(c, caps->msi + 2, 2, &ctrl))
		caps->msi_len = (uint16_t)config_filter_msi_len((uint16_t)ctrl);
	else if (caps->msi)
		caps->msi_len = 24;	/* unreadable: guard the largest layout */
	caps->pcie = dext_find_cap(c, PCI_CAP_ID_EXP);
}

static int discover_bars(struct dext_client *c, bool bars_by_server, struct dext_discovery *d)
{
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++) {
		struct dext_discovered_bar *b = &d->bars[i];
		struct dext_bar_info bi;
		uint64_t size, offset;
		int r, fd = -1;

		/*
		 * The reference answers an absent BAR, or the upper half of a
		 * 64-bit one, with an error (dextd too); older dextd said size 0.
		 */
		r = dext_bar_info(c, i, &bi);
		if (r == -ECONNRESET || r == -ETIMEDOUT)
			return log_err_errno(r, "passthrough: GetBARInfo(%u)", i);
		if (r < 0 || !bi.size)
			continue;
		if (bi.type & DEXT_BAR_TYPE_IO)
			return log_err_errno(-EOPNOTSUPP, "passthrough: BAR%u is an I/O BAR", i);
		b->memory_index = bi.memory_index;
		b->size = bi.size;
		b->type = bi.type;
		/*
		 * When the dext hands out the BAR's memory: QEMU maps the fd
		 * (socket transport), or, where the transport only maps it into
		 * this process (IOKit's IOConnectMapMemory64; or --bar-access
		 * server), the server loads and stores through that mapping.
		 * Else the accesses become MMIORead/MMIOWrite.
		 */
		r = bars_by_server ? -EOPNOTSUPP
				   : dext_client_map_memory(c, DEXT_MEM_BAR0 + i, &fd, &size, &offset);
		if (r < 0 && r != -EOPNOTSUPP)
			return log_err_errno(r, "passthrough: map BAR%u", i);
		if (r == 0 && (size < bi.size || offset)) {
			close(fd);
			fd = -1;
		}
		if (r == -EOPNOTSUPP) {
			void *map;
			uint64_t map_size;

			r = dext_client_map(c, DEXT_MEM_BAR0 + i, &map, &map_size);
			if (r == 0 && map_size < bi.size)
				dext_client_unmap(c, DEXT_MEM_BAR0 + i, map, map_size);
			else if (r == 0) {
				b->map = map;
				b->map_size = map_size;
			} else if (r != -EOPNOTSUPP) {
				return log_err_errno(r, "passthrough: map BAR%u", i);
			}
		}
		b->fd = fd;
		if (bi.type & DEXT_BAR_TYPE_MEM64)
			i++;	/* the upper half */
	}
	return 0;
}

int dext_discover(struct dext_client *c, bool bars_by_server, struct dext_discovery *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++)
		d->bars[i].fd = -1;
	r = dext_get_identity(c, &d->id);
	if (r < 0)
		return log_err_errno(r, "passthrough: GetIdentity");
	r = dext_setup_interrupts(c, &d->vectors);
	if (r == -ENOENT)
		return log_err_errno(r, "passthrough: the device has neither MSI-X nor MSI, and the "
				     "dext offers no INTx");
	if (r < 0)
		return log_err_errno(r, "passthrough: SetupInterrupts");
	d->msix_cap = dext_find_cap(c, PCI_CAP_ID_MSIX);
	find_filter_caps(c, &d->caps);
	/*
	 * MSI-X: nothing enabled until the guest enables it (the passthrough
	 * endpoint follows its enable). MSI only (the dext fell back to one
	 * vector): QEMU emulates the capability and the filter keeps the
	 * guest's writes from the device, so the vector stays enabled;
	 * vfu_irq_trigger drops it while QEMU has no eventfd for it.
	 */
	if (!d->msix_cap)
		for (unsigned int v = 0; v < d->vectors; v++)
			d->irq_mask[v / 64] |= 1ull << (v % 64);
	r = dext_set_irq_mask(c, d->irq_mask);
	if (r < 0)
		return log_err_errno(r, "passthrough: SetIRQMask");
	r = discover_bars(c, bars_by_server, d);
	if (r < 0)
		dext_discovery_release(c, d);
	return r;
}

void dext_discovery_release(struct dext_client *c, struct dext_discovery *d)
{
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++) {
		if (d->bars[i].fd >= 0)
			close(d->bars[i].fd);
		d->bars[i].fd = -1;
		if (d->bars[i].map)
			dext_client_unmap(c, DEXT_MEM_BAR0 + i, d->bars[i].map, d->bars[i].map_size);
		d->bars[i].map = NULL;
	}
}
