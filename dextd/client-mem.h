/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reads of a client's memory for the selector handlers (the dext's "is this
 * VA real" checks), bounded in time. Client memory can stall a reader for
 * as long as the client likes (userfaultfd, FUSE), and the main thread
 * serves every client, so the read runs on a helper thread and the caller
 * waits at most CLIENT_MEM_TIMEOUT_MS. A helper still stuck then is left to
 * finish on its own (it frees itself) and the next read gets a fresh one.
 * A client process with CLIENT_MEM_STUCK_PER_CLIENT helpers stuck on its
 * memory gets its further reads failed at once, so one client cannot use up
 * the helpers everyone's checks need; CLIENT_MEM_STUCK_MAX bounds the
 * threads in all.
 */
#ifndef DEXTD_CLIENT_MEM_H
#define DEXTD_CLIENT_MEM_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CLIENT_MEM_TIMEOUT_MS	1000
#define CLIENT_MEM_STUCK_MAX	32
#define CLIENT_MEM_STUCK_PER_CLIENT	2
#define CLIENT_MEM_READ_MAX	16	/* bytes per call */

/*
 * Reads the n ranges of pid's memory (at most CLIENT_MEM_READ_MAX bytes in
 * all) into buf, one after the other. Returns 0, -EFAULT (not all of it is
 * readable), -ETIMEDOUT (stalled), -EAGAIN (too many stalled reads, of
 * this client or in all) or
 * -ENOMEM.
 */
int client_mem_read(pid_t pid, const struct iovec *remote, unsigned int n, void *buf);

#endif /* DEXTD_CLIENT_MEM_H */
