/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Memory that stalls whoever touches it (userfaultfd), for tests that need
 * an access of dextd's to be in flight on purpose: a copy into a client's
 * memory, a check of it at RegisterDMARegion. Failures are cmocka
 * assertions, never skips: without userfaultfd the property cannot be shown.
 */
#ifndef TESTS_UFFD_STALL_H
#define TESTS_UFFD_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * len bytes (16 KiB aligned, dart_aligned_mmap) whose missing pages stall
 * every access; with ends_present the first and last byte's pages exist
 * (RegisterDMARegion reads those). Returns the userfaultfd; *buf the memory.
 */
int stall_memory(size_t len, bool ends_present, uint8_t **buf);
/* Waits (bounded) for the first stalled access: one is now in flight. */
void stall_wait(int uffd);
/* Zero-fills every missing page of [buf, buf + len): the stalled accesses end. */
void stall_release(int uffd, uint8_t *buf, size_t len);

#endif /* TESTS_UFFD_STALL_H */
