/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client memory shared with dextd by fd (DEXT_CTL_SHARE_MEMORY, a Linux
 * transport extension): ranges of a client's address space that dextd has
 * mapped itself, so device DMA whose DART target lies inside one is done in
 * place instead of with process_vm_readv/writev. The DART still translates
 * and checks every access first; this only changes how the translated
 * target is reached.
 *
 * Threads: the main thread adds and removes ranges; device workers copy.
 * Removal takes the lock for writing, so it waits for (drains) every copy
 * or hold in progress before dextd unmaps the range.
 */
#ifndef DEXTD_SHARED_RAM_H
#define DEXTD_SHARED_RAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHARED_RAM_MAX	256	/* per function, all its clients together */

struct shared_ram_range {
	uint64_t owner;		/* the connection that shared it */
	pid_t pid;		/* whose address space va is in */
	uint64_t va, len;
	uint8_t *map;		/* dextd's mapping */
};

struct shared_ram {
	pthread_rwlock_t lock;
	struct shared_ram_range r[SHARED_RAM_MAX];
	unsigned int n;
};

void shared_ram_init(struct shared_ram *s);
/* Unmaps everything. No copy may be running. */
void shared_ram_fini(struct shared_ram *s);

/*
 * Maps [offset, offset + len) of fd as pid's [va, va + len). fd must be
 * sealed against shrinking (F_SEAL_SHRINK, as QEMU's memfd RAM is), so that
 * no truncation can turn a device access into SIGBUS here. Returns 0,
 * -EINVAL (alignment, size, unsealed fd), -EEXIST (overlaps one of pid's
 * ranges), -ENOSPC (max_per_owner or the table reached) or -errno of mmap.
 */
int shared_ram_add(struct shared_ram *s, uint64_t owner, pid_t pid, uint64_t va, uint64_t len,
		   int fd, uint64_t offset, unsigned int max_per_owner);
/* Drains and unmaps owner's range at va. Returns 0 or -ENOENT. */
int shared_ram_remove(struct shared_ram *s, uint64_t owner, uint64_t va);
/* Drains and unmaps every range of owner; returns how many. */
unsigned int shared_ram_remove_owner(struct shared_ram *s, uint64_t owner);

/*
 * Copies len bytes between buf and pid's [va, va + len) if one shared range
 * holds all of it (to_target: into that memory). Returns false, copying
 * nothing, if none does.
 */
bool shared_ram_copy(struct shared_ram *s, pid_t pid, uint64_t va, void *buf, size_t len,
		     bool to_target);

/*
 * In-place access: between shared_ram_hold() and shared_ram_release() no
 * range can go (removals wait), and shared_ram_find() gives dextd's
 * address of pid's [va, va + len) if one range holds it all, else NULL.
 * Hold briefly (one command's I/O) and make no other shared_ram call in
 * between: a removal waiting for the hold blocks new readers.
 */
void shared_ram_hold(struct shared_ram *s);
void *shared_ram_find(struct shared_ram *s, pid_t pid, uint64_t va, size_t len);
void shared_ram_release(struct shared_ram *s);

#endif /* DEXTD_SHARED_RAM_H */
