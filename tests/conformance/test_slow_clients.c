// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Conformance: one client cannot freeze dextd for the others.
 *
 * - A client that sends requests and never reads its replies fills its
 *   socket; dextd queues a bounded number of replies and then disconnects
 *   it, while a second client keeps being served.
 * - A client whose memory stalls (userfaultfd) when dextd checks it at
 *   RegisterDMARegion gets an error after a bounded wait, and a second
 *   client is served meanwhile.
 * - A client that keeps its memory stalled cannot use up the helpers that
 *   read client memory: past its own few stuck reads its checks fail at
 *   once, and another client process still registers memory.
 * - The other way round, a client bounds a sequence of calls to a dextd that
 *   stopped answering with a deadline (dext_client_set_deadline()), far
 *   below its per-reply timeout: what the server's apple-dma doorbell
 *   budget rests on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfio-apple/dext-abi.h>
#include <vfio-apple/dext-wire.h>

#include "common/dext-msg.h"
#include "common/dext-sock.h"
#include "dext-client/dext-client.h"
#include "dextd-harness.h"
#include "uffd-stall.h"

#define WAIT_MS		10000	/* bound on any wait; a hang fails the test */
#define SERVED_MS	5000	/* a second client must be served within this */
#define FLOOD_MAX	100000	/* requests the non-reader sends at most */
#define LEN		(64u * 1024)

static struct dextd_proc daemon_proc;

static const char *const functions[] = {
	"dmatest,bdf=01:00.0",
	NULL,
};

DEXTD_GROUP_FIXTURES(daemon_proc, functions)


/* A second client does a full round of calls, within SERVED_MS. */
static void assert_other_client_served(void)
{
	uint64_t start = harness_now_ms();
	struct dext_client *c;
	unsigned int n;

	assert_int_equal(dext_client_connect(daemon_proc.socket, SERVED_MS, &c), 0);
	assert_int_equal(dext_client_count(c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	dext_client_close(c);
	assert_true(harness_now_ms() - start < SERVED_MS);
}

static int raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	strcpy(addr.sun_path, daemon_proc.socket);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void test_client_not_reading_is_dropped(void **state)
{
	uint64_t version = DEXT_WIRE_VERSION, end;
	unsigned int sent = 0, replies = 0;
	struct pollfd p;
	bool dropped = false;
	int fd, r;

	(void)state;
	fd = raw_connect();
	/* HELLO after HELLO, never reading a reply. */
	end = harness_now_ms() + WAIT_MS;
	while (!dropped && sent < FLOOD_MAX && harness_now_ms() < end) {
		struct dext_msg req;

		dext_msg_request(&req, DEXT_MSG_CONTROL, DEXT_CTL_HELLO, sent + 1, &version, 1, 2);
		r = dext_sock_send(fd, &req, -1);
		if (r == 0) {
			sent++;
		} else if (r == -EAGAIN) {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			poll(&p, 1, 100);
		} else {
			assert_true(r == -EPIPE || r == -ECONNRESET);
			dropped = true;
		}
	}
	/* Meanwhile (the non-reader still connected or not), others are served. */
	assert_other_client_served();

	/* It was disconnected: what was sent arrives, then the end. */
	end = harness_now_ms() + WAIT_MS;
	for (;;) {
		struct dext_msg reply;

		r = dext_sock_recv(fd, &reply, NULL);
		if (r == -EAGAIN) {
			p = (struct pollfd){ .fd = fd, .events = POLLIN };
			assert_int_equal(poll(&p, 1, WAIT_MS), 1);
			assert_true(harness_now_ms() < end);
			continue;
		}
		if (r == -ECONNRESET)
			break;	/* EOF */
		assert_int_equal(r, 0);
		replies++;
	}
	assert_true(replies < sent);
	close(fd);
}

struct register_call {
	struct dext_client *c;
	const void *va;
	int result;
	int done_fd;
};

static void *register_thread(void *arg)
{
	struct register_call *rc = arg;
	uint64_t bus, len, one = 1;

	rc->result = dext_register_dma(rc->c, 1, rc->va, LEN, &bus, &len);
	if (write(rc->done_fd, &one, sizeof(one)) != sizeof(one))
		rc->result = -EIO;
	return NULL;
}

static void test_stalled_client_memory_does_not_block_others(void **state)
{
	struct register_call rc = { 0 };
	struct pollfd p;
	struct uffd_msg msg;
	pthread_t t;
	uint8_t *buf;
	int uffd;

	(void)state;
	uffd = stall_memory(LEN, false, &buf);

	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &rc.c), 0);
	assert_int_equal(dext_client_open(rc.c, 1, 0, 0), 0);
	assert_int_equal(dext_claim(rc.c), 0);
	rc.va = buf;
	rc.done_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(rc.done_fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, register_thread, &rc), 0);

	/* dextd's check of the memory is now stalled on the missing page. */
	p = (struct pollfd){ .fd = uffd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);

	/* Still stalled (nothing resolves it), yet another client is served. */
	assert_other_client_served();
	/* ... and the stalled client got an error, not a hang. */
	p = (struct pollfd){ .fd = rc.done_fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	pthread_join(t, NULL);
	assert_true(rc.result < 0);

	/* Let the stalled read end. */
	stall_release(uffd, buf, LEN);
	dext_client_close(rc.c);
	close(rc.done_fd);
	close(uffd);
	munmap(buf, LEN);
}

/* Another client process registers ordinary memory: true on success. */
static bool other_process_registers(void)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct dext_client *c;
		uint64_t bus, len;
		uint8_t *mem = dart_aligned_mmap(LEN, PROT_READ | PROT_WRITE, 0);
		int r = -1;

		if (mem && dext_client_connect(daemon_proc.socket, WAIT_MS, &c) == 0) {
			memset(mem, 1, LEN);
			r = dext_client_open(c, 1, 0, 0);
			if (r == 0)
				r = dext_claim(c);
			if (r == 0)
				r = dext_register_dma(c, 7, mem, LEN, &bus, &len);
			dext_client_close(c);
		}
		_exit(r == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_stalled_client_cannot_use_up_memory_checks(void **state)
{
	struct dext_client *c;
	uint64_t bus, len;
	uint8_t *buf;
	int uffd;

	(void)state;
	uffd = stall_memory(LEN, false, &buf);

	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	assert_int_equal(dext_claim(c), 0);
	/* As many stalled checks as there were helpers for everyone before. */
	for (uint64_t key = 1; key <= 8; key++)
		assert_true(dext_register_dma(c, key, buf, LEN, &bus, &len) < 0);
	/* The helpers stuck on this client's memory are not everyone's. */
	assert_true(other_process_registers());

	/* Let the stalled reads end. */
	stall_release(uffd, buf, LEN);
	dext_client_close(c);
	close(uffd);
	munmap(buf, LEN);
}

#define DEADLINE_MS	300

/* Resumes dextd after twice the deadline: the length of a pause, not a synchronisation. */
static void *resume_later(void *arg)
{
	struct timespec ts = { .tv_nsec = 2 * DEADLINE_MS * 1000000l };

	(void)arg;
	nanosleep(&ts, NULL);
	kill(daemon_proc.pid, SIGCONT);
	return NULL;
}

static void test_deadline_bounds_calls_to_a_stopped_dextd(void **state)
{
	struct dext_client *c;
	struct dext_identity id;
	pthread_t resumer;
	uint64_t t0, took;
	int r;

	(void)state;
	/* The per-reply timeout is long: only the deadline can end the call early. */
	assert_int_equal(dext_client_connect(daemon_proc.socket, 60000, &c), 0);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);

	/* A deadline that is not reached changes nothing. */
	assert_int_equal(dext_client_set_deadline(c, (harness_now_ms() + DEADLINE_MS) * 1000000ull), 0);
	assert_int_equal(dext_get_identity(c, &id), 0);
	/*
	 * Cleared, the per-reply timeout (60 s) is back: a dextd that pauses
	 * for longer than the old deadline still gets its answer through.
	 */
	assert_int_equal(dext_client_set_deadline(c, 0), 0);
	assert_int_equal(kill(daemon_proc.pid, SIGSTOP), 0);
	assert_int_equal(pthread_create(&resumer, NULL, resume_later, NULL), 0);
	r = dext_get_identity(c, &id);
	pthread_join(resumer, NULL);
	assert_int_equal(r, 0);

	t0 = harness_now_ms();
	assert_int_equal(dext_client_set_deadline(c, (t0 + DEADLINE_MS) * 1000000ull), 0);
	assert_int_equal(kill(daemon_proc.pid, SIGSTOP), 0);
	r = dext_get_identity(c, &id);
	took = harness_now_ms() - t0;
	assert_int_equal(kill(daemon_proc.pid, SIGCONT), 0);
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(took >= DEADLINE_MS - 10);
	assert_true(took < SERVED_MS);
	/* Past its deadline the client is unusable: no call waits again. */
	t0 = harness_now_ms();
	assert_int_equal(dext_get_identity(c, &id), -ECONNRESET);
	assert_true(harness_now_ms() - t0 < 100);
	dext_client_close(c);

	/* A deadline already past fails the next call without waiting. */
	assert_int_equal(dext_client_connect(daemon_proc.socket, 60000, &c), 0);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	assert_int_equal(dext_client_set_deadline(c, harness_now_ms() * 1000000ull), 0);
	t0 = harness_now_ms();
	assert_int_equal(dext_get_identity(c, &id), -ETIMEDOUT);
	assert_true(harness_now_ms() - t0 < 100);
	dext_client_close(c);

	/* dextd, resumed, serves everyone else. */
	assert_other_client_served();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_not_reading_is_dropped),
		cmocka_unit_test(test_stalled_client_memory_does_not_block_others),
		cmocka_unit_test(test_stalled_client_cannot_use_up_memory_checks),
		cmocka_unit_test(test_deadline_bounds_calls_to_a_stopped_dextd),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
