// SPDX-License-Identifier: GPL-2.0-or-later
#include "ram-alias.h"

#include <errno.h>
#include <sys/mman.h>

#include <vfio-apple/dext-abi.h>

#define DART_PAGE_MASK	(DEXT_DART_PAGE_SIZE - 1)

int ram_congruent(const void *hva, uint64_t gpa)
{
	return (((uint64_t)(uintptr_t)hva ^ gpa) & DART_PAGE_MASK) == 0;
}

void *ram_alias_congruent(void *hva, size_t len, uint64_t gpa)
{
	size_t span = len + DEXT_DART_PAGE_SIZE, off;
	uint8_t *base, *target;
	void *p;
	int e;

	if (!len || len > SIZE_MAX - DEXT_DART_PAGE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	/* Reserve address space only, then put the alias at the right offset in it. */
	base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	off = (size_t)((gpa - (uint64_t)(uintptr_t)base) & DART_PAGE_MASK);
	target = base + off;
	/* old_size 0: a new mapping of the same shared pages, the old one stays. */
	p = mremap(hva, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	if (p == MAP_FAILED) {
		e = errno;
		munmap(base, span);
		errno = e;
		return NULL;
	}
	if (off)
		munmap(base, off);
	munmap(target + len, span - off - len);
	return target;
}
