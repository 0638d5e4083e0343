// SPDX-License-Identifier: GPL-2.0-or-later
#include "guest-ram.h"

#include <errno.h>
#include <string.h>

int guest_ram_add(struct guest_ram *ram, uint64_t gpa, uint64_t len, void *hva, bool writable)
{
	if (len == 0 || gpa + len < gpa)
		return -EINVAL;
	for (unsigned int i = 0; i < ram->n; i++) {
		const struct guest_ram_region *r = &ram->r[i];

		if (gpa < r->gpa + r->len && r->gpa < gpa + len)
			return -EEXIST;
	}
	if (ram->n == GUEST_RAM_MAX_REGIONS)
		return -ENOSPC;
	ram->r[ram->n++] = (struct guest_ram_region){ .gpa = gpa, .len = len, .hva = hva,
						  .writable = writable };
	return 0;
}

int guest_ram_remove(struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < ram->n; i++) {
		if (ram->r[i].gpa == gpa && ram->r[i].len == len) {
			ram->r[i] = ram->r[--ram->n];
			return 0;
		}
	}
	return -ENOENT;
}

void *guest_ram_lookup(const struct guest_ram *ram, uint64_t gpa, uint64_t len, bool write)
{
	/* A handful of regions (about 18 on q35): a scan beats any index. */
	for (unsigned int i = 0; i < ram->n; i++) {
		const struct guest_ram_region *r = &ram->r[i];

		if (gpa >= r->gpa && len <= r->len && gpa - r->gpa <= r->len - len) {
			if (!r->hva || (write && !r->writable))
				return NULL;
			return r->hva + (gpa - r->gpa);
		}
	}
	return NULL;
}
