/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM as the server sees it: the vfio-user DMA regions QEMU shared
 * with the apple-dma-pci endpoint (memfd-backed, mapped by libvfio-user).
 * A GPA range is usable only if one region covers all of it. QEMU shares
 * read-only RAM too (ROM, the BIOS area on q35) without the write flag;
 * libvfio-user maps it PROT_READ, so a store into it would kill the
 * server: lookups for writing skip it.
 */
#ifndef VFIO_APPLE_GUEST_RAM_H
#define VFIO_APPLE_GUEST_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_RAM_MAX_REGIONS	64

struct guest_ram_region {
	uint64_t gpa;
	uint64_t len;
	uint8_t *hva;		/* NULL: QEMU gave no fd, not reachable */
	bool writable;		/* mapped PROT_WRITE */
};

struct guest_ram {
	struct guest_ram_region r[GUEST_RAM_MAX_REGIONS];
	unsigned int n;
};

/* Returns 0, -ENOSPC (table full) or -EEXIST (overlaps a region). */
int guest_ram_add(struct guest_ram *ram, uint64_t gpa, uint64_t len, void *hva, bool writable);
/* Returns 0 or -ENOENT. */
int guest_ram_remove(struct guest_ram *ram, uint64_t gpa, uint64_t len);
/*
 * Host address of [gpa, gpa + len) if one mapped region holds it all (a
 * writable one when @write), else NULL.
 */
void *guest_ram_lookup(const struct guest_ram *ram, uint64_t gpa, uint64_t len, bool write);

#endif /* VFIO_APPLE_GUEST_RAM_H */
