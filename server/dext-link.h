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
 */
#ifndef VFIO_APPLE_DEXT_LINK_H
#define VFIO_APPLE_DEXT_LINK_H

#include <stdbool.h>

#include "dext-client/dext-client.h"

struct dext_link {
	struct dext_client *client;
	unsigned int refs;
	unsigned int bus, dev, fn;
	bool lost;
};

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

#endif /* VFIO_APPLE_DEXT_LINK_H */
