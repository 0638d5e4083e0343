// SPDX-License-Identifier: GPL-2.0-or-later
#include "ratelimit.h"

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns, uint64_t *suppressed)
{
	/* A clock that went backwards (or the first call) starts a window. */
	if (!rl->window_start || now_ns < rl->window_start ||
	    now_ns - rl->window_start >= rl->interval_ns) {
		rl->window_start = now_ns ? now_ns : 1;
		rl->in_window = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->in_window++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

