/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seam between the typed dext client (dext-client.c) and the way the
 * dext is reached: dextd's socket (transport-socket.c) or IOKit on macOS
 * (transport-iokit.c). Internal to lib/dext-client.
 */
#ifndef VFIO_APPLE_DEXT_TRANSPORT_H
#define VFIO_APPLE_DEXT_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dext-client/dext-client.h"

struct dext_client;

struct dext_transport {
	const char *name;
	/* One synchronous selector call with exactly these scalar counts. */
	int (*call)(struct dext_client *c, uint32_t selector, const uint64_t *in, uint32_t n_in,
		    uint64_t *out, uint32_t n_out);
	/* Arms WaitInterrupt; its completion must reach dext_client_complete_wait(). */
	int (*arm_wait)(struct dext_client *c);
	/* Collects completions that arrived; never blocks. */
	int (*dispatch)(struct dext_client *c);
	/* Readable when dispatch has something to collect. */
	int (*fd)(const struct dext_client *c);
	/*
	 * Optional: sends a selector without outputs and returns at once; the
	 * reply is taken later and reported with dext_client_posted_done().
	 * NULL: posted calls are made synchronously.
	 */
	int (*post)(struct dext_client *c, uint32_t selector, const uint64_t *in, uint32_t n_in);
	/* Optional: arms WaitInterrupt (not armed before) the same way. */
	int (*post_arm_wait)(struct dext_client *c);
	/* Optional: waits for the replies of every posted call. */
	int (*flush)(struct dext_client *c);
	/* Maps memory type (dext_memory_type) into this process. */
	int (*map)(struct dext_client *c, unsigned int type, void **addr, uint64_t *size);
	int (*unmap)(struct dext_client *c, unsigned int type, void *addr, uint64_t size);
	/* Ends the session (the dext releases everything); later calls fail at once. */
	void (*shutdown)(struct dext_client *c);
	/* Optional: bounds every reply by an absolute deadline (0: none). */
	int (*set_deadline)(struct dext_client *c, uint64_t deadline_ns);
	void (*destroy)(struct dext_client *c);
};

/* The transport-independent part; each transport embeds it first. */
struct dext_client {
	const struct dext_transport *t;
	bool wait_armed;
	bool wakeup;
	struct dext_posted_stats posted;
};

struct dext_identity;

/* GetIdentity's (and DEXT_CTL_ENUM's) six scalars. */
void dext_identity_from(struct dext_identity *id, const uint64_t *v);

/* A transport reports the reply of a posted call (error 0 or -errno). */
void dext_client_posted_done(struct dext_client *c, uint16_t selector, int error);

/* A transport reports the armed WaitInterrupt's completion. 0, or -EPROTO if none was armed. */
int dext_client_complete_wait(struct dext_client *c);

#endif /* VFIO_APPLE_DEXT_TRANSPORT_H */
