/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough device: a vfio-user endpoint whose config space, BARs,
 * MSI-X and reset are the dext's (through struct dext_link).
 *
 * - Config reads come from the dext (BAR registers synthesised there);
 *   the interrupt pin reads 0: the dext offers MSI/MSI-X only.
 * - Config writes go through config-filter.h.
 * - BARs are the dext's sizes (GetBARInfo); accesses become MMIORead/Write
 *   (writes posted), or QEMU maps the BAR directly when the dext hands out
 *   its memory.
 * - MSI-X: the dext's pending bits, taken from the mapped interrupt state
 *   page, are delivered on the eventfds QEMU set; the dext's enable mask
 *   follows the guest's MSI-X enable and function mask; one WaitInterrupt
 *   is always armed (re-armed posted).
 * - Device reset requests become ResetDevice.
 *
 * Runs on the server's single thread.
 */
#ifndef VFIO_APPLE_PASSTHROUGH_H
#define VFIO_APPLE_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>

#include <vfio-apple/dext-abi.h>

#include "config-filter.h"
#include "dext-discovery.h"
#include "dext-link.h"
#include "ratelimit.h"

struct vfu_ctx;

struct passthrough_stats {
	uint64_t irqs_delivered;	/* vectors signalled to QEMU */
	uint64_t irqs_dropped;		/* pending but QEMU set no eventfd */
	uint64_t wakeups;
	uint64_t config_writes_dropped;	/* bytes the filter dropped */
	uint64_t resets;
	uint64_t posted_errors;		/* posted calls the dext refused */
	uint64_t bar_server_accesses;	/* BAR accesses done on the server's own mapping */
};

struct passthrough {
	struct vfu_ctx *ctx;
	struct dext_link *link;
	bool attached;
	unsigned int vectors;
	uint16_t msix_cap;		/* config offset of MSI-X, 0 if none */
	struct config_filter_caps caps;	/* what the config filter guards */
	uint64_t irq_mask[DEXT_IRQ_WORDS];	/* as last sent with SetIRQMask */
	struct dext_irq_state *irq_state;	/* memory type 7; NULL: CheckInterrupt */
	uint64_t irq_state_size;
	struct dext_discovered_bar bars[DEXT_BAR_COUNT];	/* from dext_discover() */
	struct passthrough_stats stats;
	/* Guest-triggered messages: it may reset or toggle MSI-X at will. */
	struct ratelimit rl_reset, rl_irq;
};

/*
 * Creates the endpoint listening on socket_path. Memory BARs the dext hands
 * out go to QEMU as an fd where the transport passes one, unless
 * bars_by_server; otherwise (and on a transport that only maps, IOKit) the
 * server loads and stores through its own mapping. Returns 0 or -errno (logged).
 */
int passthrough_create(struct passthrough *pt, const char *socket_path, struct dext_link *link,
		       bool bars_by_server);
void passthrough_destroy(struct passthrough *pt);
int passthrough_poll_fd(struct passthrough *pt);
/* Serves what is readable. Returns 0, or -ENOTCONN once QEMU disconnected. */
int passthrough_run(struct passthrough *pt);
/* Delivers pending interrupts and re-arms the wait; call whenever the dext fd is readable. */
void passthrough_service_irqs(struct passthrough *pt);

#endif /* VFIO_APPLE_PASSTHROUGH_H */
