// SPDX-License-Identifier: GPL-2.0-or-later
#include "uffd-stall.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "dextd-harness.h"

#define STALL_WAIT_MS	10000	/* a stall that never comes fails the test */
#define STALL_PAGE	4096u

int stall_memory(size_t len, bool ends_present, uint8_t **buf)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	assert_true(uffd >= 0);
	assert_int_equal(ioctl(uffd, UFFDIO_API, &api), 0);
	*buf = dart_aligned_mmap(len, PROT_READ | PROT_WRITE, 0);
	assert_non_null(*buf);
	if (ends_present) {
		(*buf)[0] = 0;
		(*buf)[len - 1] = 0;
	}
	reg = (struct uffdio_register){ .range = { (uintptr_t)*buf, len },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	assert_int_equal(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	return uffd;
}

void stall_wait(int uffd)
{
	struct pollfd p = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	assert_int_equal(poll(&p, 1, STALL_WAIT_MS), 1);
	assert_int_equal(read(uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
}

void stall_release(int uffd, uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len; off += STALL_PAGE) {
		struct uffdio_zeropage z = { .range = { (uintptr_t)buf + off, STALL_PAGE } };

		if (ioctl(uffd, UFFDIO_ZEROPAGE, &z) < 0)
			assert_int_equal(errno, EEXIST);
	}
}
