/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rate limiting for log messages a guest can trigger: at most @burst
 * messages per @interval_ns for each limiter; the rest are counted and the
 * next message let through reports how many were dropped. Counters
 * elsewhere keep the exact numbers; this only bounds the log.
 */
#ifndef VFIO_APPLE_RATELIMIT_H
#define VFIO_APPLE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/log.h"

struct ratelimit {
	uint64_t interval_ns;
	uint32_t burst;
	uint32_t in_window;	/* messages let through in this window */
	uint64_t window_start;	/* ns; 0: no window yet */
	uint64_t suppressed;	/* dropped since the last one let through */
};

/* The kernel's default: 10 messages per 5 s. */
#define RATELIMIT_DEFAULT	{ .interval_ns = 5000000000ull, .burst = 10 }

/*
 * May a message be logged at @now_ns (monotonic)? If so, *@suppressed gets
 * the number dropped since the last one that was allowed (and is reset).
 */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns, uint64_t *suppressed);

/*
 * log_msg() through @rl; a dropped run is reported before the next line.
 * Messages of a level not logged take nothing from the budget.
 */
#define log_ratelimited(rl, level, ...)						\
	do {									\
		uint64_t rl_suppressed_;					\
		if ((level) <= log_get_level() &&				\
		    ratelimit_allow((rl), monotonic_ns(), &rl_suppressed_)) { \
			if (rl_suppressed_)					\
				log_msg((level), "%llu similar messages suppressed", \
					(unsigned long long)rl_suppressed_);	\
			log_msg((level), __VA_ARGS__);				\
		}								\
	} while (0)

#endif /* VFIO_APPLE_RATELIMIT_H */
