/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dextd's daemon object: the listening socket, the client connections
 * (one user client each) and the event loop that serves them.
 *
 * Threading: everything here runs on the thread that calls dextd_run(),
 * except dextd_notify(), which device worker threads call.
 */
#ifndef DEXTD_SERVER_H
#define DEXTD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/dext-msg.h"

struct dext_function;
struct dextd;

struct dextd_config {
	const char *socket_path;
	mode_t socket_mode;	/* permission bits of the socket, e.g. 0600 */
	int ready_fd;		/* >= 0: write "READY\n" and close once listening */
};

/* A connection: one user client, bound to one function by DEXT_CTL_OPEN. */
struct dext_conn {
	struct dextd *daemon;
	struct dext_conn *next;
	int fd;
	uint64_t id;		/* DART owner id of its registrations */
	pid_t pid;		/* whose memory its registrations map */
	struct dext_function *fn;
	bool claimed;
	bool closing;		/* close once the current reply is sent */
	bool wait_armed;
	uint32_t wait_id;	/* id of the armed WaitInterrupt */
	struct {
		int memfd;
		void *mem;
		uint64_t size;
		uint64_t iova;
	} dma_buffer;		/* AllocateDMABuffer, memory type 0 */
	/* Messages the (non-blocking) socket did not take yet; NULL if none. */
	struct dext_sendq *sendq;
};

/* The DART owner id of a connection's DMA buffer (never a client key space). */
#define DEXT_BUFFER_OWNER(conn)	((conn)->id | (1ull << 63))

struct dextd *dextd_create(const struct dextd_config *cfg);
/* Takes ownership of fn. -EEXIST if its BDF is taken. */
int dextd_add_function(struct dextd *d, struct dext_function *fn);
/* Serves until SIGINT or SIGTERM. Returns 0 or -errno. */
int dextd_run(struct dextd *d);
void dextd_destroy(struct dextd *d);

/* A device raised an interrupt: wake the loop to complete WaitInterrupts. */
void dextd_notify(struct dextd *d);

/* For the method handlers (methods.c). */
unsigned int dextd_function_count(struct dextd *d);
struct dext_function *dextd_function_at(struct dextd *d, unsigned int index);
struct dext_function *dextd_function_find(struct dextd *d, unsigned int bus, unsigned int dev,
					  unsigned int fn);
/* Drops every connection bound to fn except keep. */
void dextd_drop_function_clients(struct dextd *d, struct dext_function *fn,
				 struct dext_conn *keep);
unsigned int dextd_function_clients(struct dextd *d, struct dext_function *fn);
/* Sends the completion of conn's armed WaitInterrupt. */
void dextd_complete_wait(struct dext_conn *conn);

/*
 * Handles one request (methods.c). fd_in is the fd that came with it, or
 * -1 (the caller closes it). Fills out/n_out and may set *fd_out to an fd
 * to pass (the caller closes it after sending). Returns 0 or -errno.
 */
int dext_handle_request(struct dext_conn *conn, const struct dext_msg *req, int fd_in,
			uint64_t *out, uint16_t *n_out, int *fd_out);
/* Releases everything conn holds on its function (methods.c). */
void dext_conn_release(struct dext_conn *conn);

#endif /* DEXTD_SERVER_H */
