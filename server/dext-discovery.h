/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the server learns from the dext about one function before it builds
 * the passthrough endpoint: identity, interrupts (SetupInterrupts, MSI-X or
 * the one-vector MSI fallback), the capabilities the config filter guards,
 * and the memory BARs (GetBARInfo; absent BARs and upper halves skipped)
 * with how each is reached. Only the dext client, no libvfio-user: the
 * conformance tests run it against dextd (tests/conformance/test_server_discovery.c).
 */
#ifndef VFIO_APPLE_DEXT_DISCOVERY_H
#define VFIO_APPLE_DEXT_DISCOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include <vfio-apple/dext-abi.h>

#include "config-filter.h"
#include "dext-client/dext-client.h"

struct dext_discovered_bar {
	uint32_t memory_index;	/* PCIDriverKit's, for MMIORead/MMIOWrite */
	uint64_t size;		/* 0: absent, an upper half, or not a BAR the server exposes */
	uint8_t type;		/* DEXT_BAR_TYPE_* */
	int fd;			/* >= 0: QEMU maps it */
	uint8_t *map;		/* else, if set: the server's own mapping */
	uint64_t map_size;
};

struct dext_discovery {
	struct dext_identity id;
	unsigned int vectors;
	uint16_t msix_cap;		/* config offset of MSI-X, 0: MSI (one vector) */
	struct config_filter_caps caps;	/* what the config filter guards */
	uint64_t irq_mask[DEXT_IRQ_WORDS];	/* sent with SetIRQMask */
	struct dext_discovered_bar bars[DEXT_BAR_COUNT];
};

/* Config offset of capability id from the dext's capability list; 0 if absent. */
uint16_t dext_find_cap(struct dext_client *c, uint8_t id);

/*
 * GetIdentity, SetupInterrupts, the capabilities, the initial SetIRQMask
 * (MSI-X: none enabled until the guest enables it; MSI: the vector
 * enabled), then the BARs. Memory BARs the dext hands out come as an fd
 * where the transport passes one, unless bars_by_server; otherwise the
 * server's own mapping. Returns 0, or -errno (logged; -ENOENT: a function
 * with neither MSI-X nor MSI; -EOPNOTSUPP: an I/O BAR) with nothing left
 * open. Release with dext_discovery_release() when not handed on.
 */
int dext_discover(struct dext_client *c, bool bars_by_server, struct dext_discovery *d);
void dext_discovery_release(struct dext_client *c, struct dext_discovery *d);

#endif /* VFIO_APPLE_DEXT_DISCOVERY_H */
