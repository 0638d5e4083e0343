/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server's link to the dext for one host BDF: one connection, opened
 * and claimed once, shared (refcounted) by the passthrough endpoint and the
 * apple-dma-pci endpoint, as the reference shares one io_connect_t.
 *
 * When the dext goes away or stops answering (a call times out) the link
 * is "lost": the session is ended at once (the dext releases every mapping
 * and the claim, as when the server exits), every call fails with -ENODEV
 * from then on, the endpoints report errors to the guest instead of
 * hanging, and the loss is logged once.
 *
 * Each request from QEMU is bounded in time as a whole (the request
 * budget): a guest vCPU waits in the access that sent it - a config or BAR
 * access, an apple-dma DOORBELL write, during which apple_dma keeps its
 * interrupts off - until the server answers. Every dext call made for one
 * request shares one deadline; a dext that has not answered them by then
 * is declared lost.
 */
#ifndef VFIO_APPLE_DEXT_LINK_H
#define VFIO_APPLE_DEXT_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "dext-client/dext-client.h"

struct dext_link {
	struct dext_client *client;
	unsigned int refs;
	unsigned int bus, dev, fn;
	bool lost;
	unsigned int budget_ms;		/* bound of one request; 0: per-call timeout only */
	uint64_t request_start_ns;
	bool lost_before_request;
	uint64_t max_request_us;	/* the longest request: the longest a vCPU waited */
	uint64_t over_budget;		/* requests the dext did not finish in time */
};

/*
 * Default request budget: below QEMU's vfio-user reply timeout
 * (x-msg-timeout, 5000 ms by default), after which QEMU would give the vCPU
 * back before the request is done, and far below the guest's soft-lockup
 * and RCU-stall thresholds (20 s, 21 s). A healthy dext answers in
 * milliseconds; the margin allows for dextd serving another client's
 * slowest call (its DMA drain, at most 2 s) first.
 */
#define DEXT_LINK_DEFAULT_BUDGET_MS	3000

/*
 * Connects, finds the function, claims it. timeout_ms bounds every reply
 * (0: the client's default, 30 s). Returns 0 or -errno (logged).
 */
int dext_link_open(struct dext_link *l, const char *socket, unsigned int timeout_ms,
		   unsigned int bus, unsigned int dev, unsigned int fn);
struct dext_link *dext_link_get(struct dext_link *l);
void dext_link_put(struct dext_link *l);

/*
 * Checks a dext call's result: a dead connection marks the link lost.
 * Returns r, or -ENODEV once lost.
 */
int dext_link_check(struct dext_link *l, int r, const char *what);

/* Around the handling of one request from QEMU (@what: the endpoint). */
void dext_link_request_begin(struct dext_link *l);
void dext_link_request_end(struct dext_link *l, const char *what);

#endif /* VFIO_APPLE_DEXT_LINK_H */
