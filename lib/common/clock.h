/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CLOCK_MONOTONIC in nanoseconds: the clock of every deadline and rate limit. */
#ifndef VFIO_APPLE_COMMON_CLOCK_H
#define VFIO_APPLE_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* VFIO_APPLE_COMMON_CLOCK_H */
