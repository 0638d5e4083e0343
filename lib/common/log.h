/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for the daemons and tools: one line per event on stderr,
 * "<program>: <level>: <message>". Lines are stable enough for tests to
 * match on. Not thread-safe beyond what stdio guarantees for one fprintf.
 */
#ifndef VFIO_APPLE_LOG_H
#define VFIO_APPLE_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_init(const char *program, enum log_level max_level);
void log_set_level(enum log_level max_level);
enum log_level log_get_level(void);

__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level level, const char *fmt, ...);

/* Logs and returns r (a negative errno), for "return log_err_errno(...)". */
__attribute__((format(printf, 2, 3)))
int log_err_errno(int r, const char *fmt, ...);

#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* VFIO_APPLE_LOG_H */
