// SPDX-License-Identifier: GPL-2.0-or-later
#include "dextd-harness.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int dextd_start(struct dextd_proc *p, const char *const *functions)
{
	const char *bin = getenv("DEXTD");
	const char *argv[64];
	char fdarg[16], line[16];
	int pipefd[2], argc = 0;
	ssize_t n;

	if (!bin) {
		fprintf(stderr, "harness: set DEXTD to the dextd binary\n");
		return -EINVAL;
	}
	strcpy(p->dir, "/tmp/dextd-test-XXXXXX");
	if (!mkdtemp(p->dir))
		return -errno;
	snprintf(p->socket, sizeof(p->socket), "%s/dextd.sock", p->dir);
	if (pipe(pipefd) < 0)
		return -errno;
	snprintf(fdarg, sizeof(fdarg), "%d", pipefd[1]);

	argv[argc++] = bin;
	argv[argc++] = "--socket";
	argv[argc++] = p->socket;
	argv[argc++] = "--ready-fd";
	argv[argc++] = fdarg;
	for (; *functions && argc < 60; functions++) {
		argv[argc++] = "--function";
		argv[argc++] = *functions;
	}
	argv[argc] = NULL;

	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		close(pipefd[0]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	/* Blocks until dextd listens, or fails (EOF) if it exits first. */
	n = read(pipefd[0], line, sizeof(line));
	close(pipefd[0]);
	if (n != 6 || memcmp(line, "READY\n", 6)) {
		dextd_stop(p);
		return -EIO;
	}
	return 0;
}

int dextd_stop(struct dextd_proc *p)
{
	int status = -1;

	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		if (waitpid(p->pid, &status, 0) < 0)
			status = -1;
		p->pid = 0;
	}
	unlink(p->socket);
	rmdir(p->dir);
	return status;
}

void *dart_aligned_mmap(size_t len, int prot, int flags)
{
	const uintptr_t page = 16384;
	char *p = mmap(NULL, len + page, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	uintptr_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (page - (uintptr_t)p % page) % page;
	if (head)
		munmap(p, head);
	munmap(p + head + len, page - head);
	return p + head;
}

int dextd_stop_clean(struct dextd_proc *p)
{
	int st = dextd_stop(p);

	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

uint64_t harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
