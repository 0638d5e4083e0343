/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers shared by the libFuzzer targets: an invariant check that
 * aborts (so libFuzzer reports the input), and little-endian loads/stores
 * of unaligned fields.
 */
#ifndef VFIO_APPLE_FUZZ_UTIL_H
#define VFIO_APPLE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant violated: %s\n", \
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static inline uint64_t fuzz_ld_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static inline uint32_t fuzz_ld32(const uint8_t *p)
{
	return (uint32_t)fuzz_ld_le(p, 4);
}

static inline uint64_t fuzz_ld64(const uint8_t *p)
{
	return fuzz_ld_le(p, 8);
}

/* Consumes bytes from a fuzzer input; reads past the end yield zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t b = 0;

		if (in->left) {
			b = *in->p++;
			in->left--;
		}
		v |= b << (8 * i);
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* VFIO_APPLE_FUZZ_UTIL_H */
