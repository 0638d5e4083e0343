/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM at addresses congruent to the GPA modulo the DART page (16 KiB).
 *
 * On a Mac the host page is 16 KiB, so QEMU's guest RAM, and every address
 * the server registers, is congruent to its GPA modulo 16 KiB; the DART
 * keeps the offset inside its page, so bus addresses are too, and a guest
 * with 16 KiB pages (or an NVMe driver with a 16 KiB memory page) relies on
 * that. libvfio-user maps regions only 4 KiB aligned here, so the server
 * maps them again: a second mapping of the same shared pages placed inside
 * a larger PROT_NONE reservation at the congruent offset.
 */
#ifndef VFIO_APPLE_RAM_ALIAS_H
#define VFIO_APPLE_RAM_ALIAS_H

#include <stddef.h>
#include <stdint.h>

/* True if hva and gpa share their offset in a 16 KiB page. */
int ram_congruent(const void *hva, uint64_t gpa);

/*
 * A second mapping of the shared mapping [hva, hva + len) (page multiple)
 * at an address congruent to gpa, or NULL with errno set (e.g. EINVAL for
 * a private mapping). Undo with munmap(alias, len).
 */
void *ram_alias_congruent(void *hva, size_t len, uint64_t gpa);

#endif /* VFIO_APPLE_RAM_ALIAS_H */
