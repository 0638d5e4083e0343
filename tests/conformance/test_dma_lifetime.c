// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Conformance: DMA never outlives the mapping it was translated through.
 *
 * A device access that is already copying when the client unmaps must end
 * before UnregisterDMARegion returns; once it has returned, no byte may
 * land in that memory (the client may have reused the address). The access
 * is stalled for as long as the test likes by backing the client's memory
 * with userfaultfd: dextd's process_vm_writev blocks on a missing page
 * until the test resolves it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfio-apple/dext-abi.h>
#include <vfio-apple/dmatest-regs.h>

#include "dext-client/dext-client.h"
#include "dextd-harness.h"
#include "uffd-stall.h"

#define WAIT_MS		10000	/* bound on any wait; a hang fails the test */
#define STILL_MS	300	/* how long "still waiting" is watched for */
#define PG		4096u
#define LEN		(64u * 1024)	/* one dmatest step: one copy */

static struct dextd_proc daemon_proc;

static const char *const functions[] = {
	"dmatest,bdf=01:00.0",
	NULL,
};

DEXTD_GROUP_FIXTURES(daemon_proc, functions)

static void mmio_write(struct dext_client *c, uint64_t off, unsigned int width, uint64_t v)
{
	assert_int_equal(dext_mmio_write(c, 0, off, width, v), 0);
}

static uint32_t dmatest_wait_idle(struct dext_client *c)
{
	uint64_t end = harness_now_ms() + WAIT_MS, status;

	do {
		assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_STATUS, 4, &status), 0);
		assert_true(harness_now_ms() < end);
	} while (status & DMATEST_STATUS_BUSY);
	return (uint32_t)status;
}

struct unmap_call {
	struct dext_client *c;
	uint64_t key;
	int result;
	int done_fd;		/* eventfd: the call returned */
};

static void *unmap_thread(void *arg)
{
	struct unmap_call *u = arg;
	uint64_t one = 1;

	u->result = dext_unregister_dma(u->c, u->key);
	if (write(u->done_fd, &one, sizeof(one)) != sizeof(one))
		u->result = -EIO;
	return NULL;
}

static bool returned_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/*
 * A FILL is stalled inside its copy; UnregisterDMARegion must not return
 * until the copy is over, and after it has returned nothing lands.
 */
static void test_unregister_waits_for_inflight_dma(void **state)
{
	struct unmap_call u = { .key = 1 };
	struct dext_client *c;
	uint64_t bus, len;
	pthread_t t;
	uint8_t *buf;
	int uffd;

	(void)state;
	uffd = stall_memory(LEN, true, &buf);
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	assert_int_equal(dext_claim(c), 0);
	assert_int_equal(dext_register_dma(c, 1, buf, LEN, &bus, &len), 0);
	assert_int_equal(len, LEN);

	mmio_write(c, DMATEST_REG_DST, 8, bus);
	mmio_write(c, DMATEST_REG_LEN, 8, LEN);
	mmio_write(c, DMATEST_REG_PATTERN, 4, 0xab);
	mmio_write(c, DMATEST_REG_CMD, 4, DMATEST_CMD_FILL);
	stall_wait(uffd);

	u.c = c;
	u.done_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(u.done_fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, unmap_thread, &u), 0);
	/* The access is stalled mid-copy: the unmap waits for it. */
	assert_false(returned_within(u.done_fd, STILL_MS));

	stall_release(uffd, buf, LEN);
	assert_true(returned_within(u.done_fd, WAIT_MS));
	pthread_join(t, NULL);
	assert_int_equal(u.result, 0);
	/* When it returned, the whole copy had landed... */
	for (uint32_t i = 0; i < LEN; i++)
		assert_int_equal(buf[i], 0xab);
	/* ... and nothing lands afterwards, whatever the memory holds now. */
	memset(buf, 0x11, LEN);
	assert_int_equal(dmatest_wait_idle(c), DMATEST_STATUS_DONE);
	for (uint32_t i = 0; i < LEN; i++)
		assert_int_equal(buf[i], 0x11);

	dext_client_close(c);
	close(u.done_fd);
	close(uffd);
	munmap(buf, LEN);
}

struct status_call {
	struct dext_client *c;
	uint64_t st[DEXT_STATUS_COUNT];
	int result;
	int done_fd;
};

static void *status_thread(void *arg)
{
	struct status_call *s = arg;
	uint64_t one = 1;

	s->result = dext_client_status(s->c, 0, s->st);
	if (write(s->done_fd, &one, sizeof(one)) != sizeof(one))
		s->result = -EIO;
	return NULL;
}

/*
 * The client goes away while the copy is stalled: its teardown (mappings
 * dropped, the last claim released, bus mastering off) completes only
 * after the copy, so a second client's request, which dextd serves after
 * the hang-up, is answered only then, and the copy had fully landed.
 */
static void test_teardown_waits_for_inflight_dma(void **state)
{
	struct status_call s = { 0 };
	struct dext_client *c;
	uint64_t bus, len;
	pthread_t t;
	uint8_t *buf;
	int uffd;

	(void)state;
	uffd = stall_memory(LEN, true, &buf);
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &s.c), 0);
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	assert_int_equal(dext_claim(c), 0);
	assert_int_equal(dext_register_dma(c, 1, buf, LEN, &bus, &len), 0);
	mmio_write(c, DMATEST_REG_DST, 8, bus);
	mmio_write(c, DMATEST_REG_LEN, 8, LEN);
	mmio_write(c, DMATEST_REG_PATTERN, 4, 0xcd);
	mmio_write(c, DMATEST_REG_CMD, 4, DMATEST_CMD_FILL);
	stall_wait(uffd);

	dext_client_close(c);
	s.done_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(s.done_fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, status_thread, &s), 0);
	assert_false(returned_within(s.done_fd, STILL_MS));

	stall_release(uffd, buf, LEN);
	assert_true(returned_within(s.done_fd, WAIT_MS));
	pthread_join(t, NULL);
	assert_int_equal(s.result, 0);
	assert_int_equal(s.st[DEXT_STATUS_CLAIMS], 0);
	assert_int_equal(s.st[DEXT_STATUS_MAPPINGS], 0);
	for (uint32_t i = 0; i < LEN; i++)
		assert_int_equal(buf[i], 0xcd);
	dext_client_close(s.c);
	close(s.done_fd);
	close(uffd);
	munmap(buf, LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unregister_waits_for_inflight_dma),
		cmocka_unit_test(test_teardown_waits_for_inflight_dma),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
