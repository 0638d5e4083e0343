/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing of command-line values shared by the programs. All return 0 or -EINVAL. */
#ifndef VFIO_APPLE_PARSE_H
#define VFIO_APPLE_PARSE_H

#include <stdint.h>

/* "BB:DD.F" or "0000:BB:DD.F" (domain 0 only). */
int parse_bdf(const char *s, unsigned int *bus, unsigned int *dev, unsigned int *fn);

/* Decimal or 0x-hex, whole string. */
int parse_u64(const char *s, uint64_t *out);

/* parse_u64 with an optional K, M, G or T suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *out);

static inline uint32_t bdf_pack(unsigned int bus, unsigned int dev, unsigned int fn)
{
	return bus << 8 | dev << 3 | fn;
}

#endif /* VFIO_APPLE_PARSE_H */
