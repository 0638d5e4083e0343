/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starts a real dextd for a test and stops it. Readiness is the daemon's
 * --ready-fd line, so tests never sleep waiting for it.
 */
#ifndef TESTS_DEXTD_HARNESS_H
#define TESTS_DEXTD_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dextd_proc {
	pid_t pid;
	char dir[64];		/* private temporary directory */
	char socket[128];
};

/*
 * Runs the dextd binary (path from $DEXTD, else argv0-relative default)
 * with the given --function specs (NULL-terminated). Returns 0 or -errno.
 */
int dextd_start(struct dextd_proc *p, const char *const *functions);
/* SIGTERM, wait, remove the directory. Returns the exit status or -1. */
int dextd_stop(struct dextd_proc *p);
/* dextd_stop() for a cmocka group teardown: 0 if dextd exited with 0, else -1. */
int dextd_stop_clean(struct dextd_proc *p);

/*
 * Defines the cmocka group fixtures group_setup() and group_teardown():
 * one dextd (@proc) serving @functions for all the tests of a file.
 */
#define DEXTD_GROUP_FIXTURES(proc, functions)				\
	static int group_setup(void **state)				\
	{								\
		(void)state;						\
		return dextd_start(&(proc), (functions));		\
	}								\
	static int group_teardown(void **state)				\
	{								\
		(void)state;						\
		return dextd_stop_clean(&(proc));			\
	}

/* CLOCK_MONOTONIC in milliseconds, the clock of every bounded wait. */
uint64_t harness_now_ms(void);

/*
 * Anonymous memory of len bytes aligned to the 16 KiB DART page (mmap
 * only promises 4 KiB), so a test knows how many DART pages a buffer
 * spans. NULL on failure.
 */
void *dart_aligned_mmap(size_t len, int prot, int flags);

#endif /* TESTS_DEXTD_HARNESS_H */
