/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sending and receiving one dext message on a SOCK_SEQPACKET socket. */
#ifndef VFIO_APPLE_DEXT_SOCK_H
#define VFIO_APPLE_DEXT_SOCK_H

#include "common/dext-msg.h"

/*
 * Sends msg (size already set) and, if pass_fd >= 0, that fd with it.
 * Returns 0 or -errno. Retries on EINTR; never raises SIGPIPE.
 */
int dext_sock_send(int sock, const struct dext_msg *msg, int pass_fd);

/*
 * Receives one message. *fd_out (if not NULL) gets a received fd or -1;
 * received fds the caller did not ask for are closed. Returns 0, -ECONNRESET
 * at end of stream, -EPROTO for a malformed or truncated message, or -errno.
 */
int dext_sock_recv(int sock, struct dext_msg *msg, int *fd_out);

#endif /* VFIO_APPLE_DEXT_SOCK_H */
