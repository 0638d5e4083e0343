// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Conformance of dextd to the dext interface (dext-abi.h, dext-wire.h):
 * every selector, its bad arguments, the limits, interrupt wakeups and
 * cleanup after a client dies. Each group runs against a real dextd.
 *
 * Built twice: over dextd's socket, and with CONFORMANCE_IOKIT over the
 * IOKit transport on the Linux test shim (tests/iokit-shim), where the
 * client under test is dext_client_open_iokit()'s and dextd's control
 * operations (status, faults) are read by a separate socket observer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfio-apple/dmatest-regs.h>

#include "common/dext-msg.h"
#include "dext-client/dext-client.h"
#ifdef CONFORMANCE_IOKIT
#include "dext-client/dext-client-iokit.h"
#endif
#include "dextd-harness.h"

#define PAGE		16384ull
#define WAIT_MS		10000	/* bound on any wait; a hang fails the test */

static struct dextd_proc daemon_proc;

/*
 * 01:00.0 default limits; 02:00.0 larger byte limit, DMA buffer in 32 KiB
 * segments; 03:00.0 to terminate; 04:00.0 MSI only; 05:00.0 neither MSI nor MSI-X.
 */
static const char *const functions[] = {
	"dmatest,bdf=01:00.0",
	"dmatest,bdf=02:00.0,max-bytes=4G,iova-bits=36,dma-segment=32K",
	"dmatest,bdf=03:00.0",
	"dmatest,bdf=04:00.0,irq=msi",
	"dmatest,bdf=05:00.0,irq=none",
	NULL,
};

static int group_setup(void **state)
{
	int r;

	(void)state;
	r = dextd_start(&daemon_proc, functions);
	/* Where the IOKit shim finds "the registry". */
	if (r == 0)
		r = setenv("VFIO_APPLE_DEXT_SOCKET", daemon_proc.socket, 1);
	return r;
}

static int group_teardown(void **state)
{
	(void)state;
	/* dextd must exit cleanly on SIGTERM. */
	return dextd_stop_clean(&daemon_proc);
}

/* A user client of function bus:00.0 over the transport under test. */
static int open_fn(unsigned int bus, struct dext_client **c)
{
#ifdef CONFORMANCE_IOKIT
	return dext_client_open_iokit(bus, 0, 0, c);
#else
	int r = dext_client_connect(daemon_proc.socket, WAIT_MS, c);

	if (r == 0 && (r = dext_client_open(*c, bus, 0, 0)) < 0)
		dext_client_close(*c);
	return r;
#endif
}

static struct dext_client *connect_fn(unsigned int bus, bool claim)
{
	struct dext_client *c;

	assert_int_equal(open_fn(bus, &c), 0);
	if (claim)
		assert_int_equal(dext_claim(c), 0);
	return c;
}

/* dextd's view of function index: through c on the socket, else through an observer. */
static void status_of(struct dext_client *c, unsigned int index, uint64_t *s)
{
#ifdef CONFORMANCE_IOKIT
	assert_int_equal(dext_client_status(c, index, s), -EOPNOTSUPP);
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_status(c, index, s), 0);
	dext_client_close(c);
#else
	assert_int_equal(dext_client_status(c, index, s), 0);
#endif
}

static void fault_of(struct dext_client *c, unsigned int index, struct dext_fault_info *f)
{
#ifdef CONFORMANCE_IOKIT
	assert_int_equal(dext_client_fault(c, index, 0, f), -EOPNOTSUPP);
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_fault(c, index, 0, f), 0);
	dext_client_close(c);
#else
	assert_int_equal(dext_client_fault(c, index, 0, f), 0);
#endif
}

static void *map_anon_prot(size_t len, int prot, int flags)
{
	void *p = dart_aligned_mmap(len, prot, flags);

	assert_non_null(p);
	return p;
}

static void *map_anon(size_t len)
{
	return map_anon_prot(len, PROT_READ | PROT_WRITE, 0);
}

/* Waits for the armed WaitInterrupt to complete; fails the test on timeout. */
static void wait_wakeup(struct dext_client *c)
{
	struct pollfd p = { .fd = dext_client_fd(c), .events = POLLIN };

	while (!dext_client_take_wakeup(c)) {
		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		assert_int_equal(dext_client_dispatch(c), 0);
	}
}

static void dmatest_start(struct dext_client *c, uint32_t cmd, uint64_t src, uint64_t dst,
			  uint64_t len, uint32_t pattern, uint32_t vector)
{
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_SRC, 8, src), 0);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_DST, 8, dst), 0);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_LEN, 8, len), 0);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_PATTERN, 4, pattern), 0);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_VECTOR, 4, vector), 0);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_CMD, 4, cmd), 0);
}

/* Waits until the engine has finished its operation (and raised its vector). */
static void dmatest_wait_idle(struct dext_client *c)
{
	uint64_t status;

	do {
		assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_STATUS, 4, &status), 0);
	} while (status & DMATEST_STATUS_BUSY);
}

/* Runs one dmatest operation to its interrupt; returns STATUS. */
static uint32_t dmatest_run(struct dext_client *c, uint32_t cmd, uint64_t src, uint64_t dst,
			    uint64_t len, uint32_t pattern, unsigned int vector)
{
	uint64_t pending[DEXT_IRQ_WORDS], status;

	assert_int_equal(dext_wait_interrupt(c), 0);
	dmatest_start(c, cmd, src, dst, len, pattern, vector);
	wait_wakeup(c);
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_true(pending[0] & (1ull << vector));
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_STATUS, 4, &status), 0);
	return (uint32_t)status;
}

/* ---- control operations ---- */

#ifndef CONFORMANCE_IOKIT
static void test_enum_lists_functions(void **state)
{
	struct dext_client *c;
	struct dext_identity id;
	unsigned int n;

	(void)state;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_count(c, &n), 0);
	assert_true(n >= 2);
	assert_int_equal(dext_client_enum(c, 0, &id), 0);
	assert_int_equal(id.bus, 1);
	assert_int_equal(id.vendor, DMATEST_VENDOR_ID);
	assert_int_equal(id.device, DMATEST_DEVICE_ID);
	assert_int_equal(id.class_code, DMATEST_CLASS);
	assert_int_equal(dext_client_enum(c, 64, &id), -ENOENT);
	dext_client_close(c);
}

static void test_socket_mode_is_0600(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(daemon_proc.socket, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_open_errors(void **state)
{
	struct dext_client *c;
	struct dext_identity id;

	(void)state;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	/* A selector before OPEN has no function to act on. */
	assert_int_equal(dext_get_identity(c, &id), -ENOTCONN);
	assert_int_equal(dext_client_open(c, 9, 0, 0), -ENODEV);
	assert_int_equal(dext_client_open(c, 0x100, 0, 0), -EINVAL);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	assert_int_equal(dext_client_open(c, 2, 0, 0), -EBUSY);
	assert_int_equal(dext_get_identity(c, &id), 0);
	assert_int_equal(id.bus, 1);
	assert_int_equal(id.dev, 0);
	assert_int_equal(id.fn, 0);
	dext_client_close(c);
}

static void test_malformed_messages_keep_daemon_serving(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct dext_client *c;
	struct dext_msg m;
	unsigned int n;
	char junk[40];
	int fd;

	(void)state;
	strcpy(addr.sun_path, daemon_proc.socket);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	/* Short, lying size field, too many scalars, unknown type. */
	memset(junk, 0xa5, sizeof(junk));
	assert_true(send(fd, junk, 3, 0) == 3);
	assert_true(send(fd, junk, sizeof(junk), 0) == sizeof(junk));
	dext_msg_request(&m, DEXT_MSG_CONTROL, DEXT_CTL_HELLO, 1, NULL, 0, 2);
	m.hdr.n_scalars = 200;
	assert_true(send(fd, &m, sizeof(m.hdr), 0) == sizeof(m.hdr));
	dext_msg_request(&m, 77, DEXT_CTL_HELLO, 1, NULL, 0, 2);
	assert_true(send(fd, &m, m.hdr.size, 0) == (ssize_t)m.hdr.size);
	/* A reply type from a client is refused with an error, not obeyed. */
	dext_msg_request(&m, DEXT_MSG_REPLY, DEXT_CTL_HELLO, 5, NULL, 0, 0);
	assert_true(send(fd, &m, m.hdr.size, 0) == (ssize_t)m.hdr.size);
	assert_true(recv(fd, &m, sizeof(m), 0) == (ssize_t)sizeof(m.hdr));
	assert_int_equal(m.hdr.id, 5);
	assert_int_equal(m.hdr.error, -EPROTO);
	close(fd);

	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_count(c, &n), 0);
	dext_client_close(c);
}

/* ---- selector argument checking ---- */
#endif

static void test_unknown_selector_unsupported(void **state)
{
	struct dext_client *c = connect_fn(1, false);
	uint64_t out[4];

	(void)state;
	assert_int_equal(dext_call(c, DEXT_SEL_COUNT, NULL, 0, out, 0), -EOPNOTSUPP);
	assert_int_equal(dext_call(c, 1000, NULL, 0, out, 0), -EOPNOTSUPP);
	assert_int_equal(dext_call(c, 0xffff, NULL, 0, out, 4), -EOPNOTSUPP);
	dext_client_close(c);
}

static void test_every_selector_checks_scalar_counts(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t in[DEXT_WIRE_MAX_SCALARS] = { 0 }, out[DEXT_WIRE_MAX_SCALARS];

	(void)state;
	for (uint32_t sel = 0; sel < DEXT_SEL_COUNT; sel++) {
		const struct dext_selector_info *info = dext_selector_info(sel);

		/* One input too many. */
		assert_int_equal(dext_call(c, sel, in, info->scalars_in + 1u, out,
					   info->scalars_out), -EINVAL);
		/* One input too few. */
		if (info->scalars_in)
			assert_int_equal(dext_call(c, sel, in, info->scalars_in - 1u, out,
						   info->scalars_out), -EINVAL);
		/* Room for fewer outputs than the method gives. */
		if (info->scalars_out)
			assert_int_equal(dext_call(c, sel, in, info->scalars_in, out,
						   info->scalars_out - 1u), -EINVAL);
	}
	dext_client_close(c);
}

static void test_methods_need_claim(void **state)
{
	struct dext_client *c = connect_fn(1, false);
	uint64_t v, bus, len, size;
	unsigned int n;
	char buf[64];
	void *p;

	(void)state;
	/* kIOReturnNotOpen, as the reference answers a missing claim. */
	assert_int_equal(dext_register_dma(c, 1, buf, sizeof(buf), &bus, &len), -ENOTCONN);
	assert_int_equal(dext_allocate_dma_buffer(c, PAGE, 0, &bus, &len, &size), -ENOTCONN);
	assert_int_equal(dext_setup_interrupts(c, &n), -ENOTCONN);
	assert_int_equal(dext_reset_device(c), -ENOTCONN);
	/* Stricter than the reference: what could harm the claimants. */
	assert_int_equal(dext_mmio_read(c, 0, 0, 4, &v), -ENOTCONN);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_SRC, 4, 1), -ENOTCONN);
	assert_int_equal(dext_config_write(c, 4, 2, 6), -ENOTCONN);
	assert_int_equal(dext_client_map(c, DEXT_MEM_BAR0 + 2, &p, &size), -ENOTCONN);
	assert_int_equal(dext_terminate(c), -ENOTCONN);
	/* Still bound and served: the function is not gone. */
	assert_int_equal(dext_config_read(c, 0, 2, (uint32_t *)buf), 0);
	dext_client_close(c);
}

/* ---- claim, config space, BARs ---- */

static void test_claim_is_shared_and_enables_device(void **state)
{
	struct dext_client *a = connect_fn(2, false), *b, *obs;
	uint32_t cmd;
	uint64_t s[DEXT_STATUS_COUNT];

	(void)state;
	assert_int_equal(dext_config_read(a, 4, 2, &cmd), 0);
	assert_int_equal(cmd & 6, 0);
	assert_int_equal(dext_claim(a), 0);
	assert_int_equal(dext_claim(a), 0);	/* idempotent per client */
	assert_int_equal(dext_config_read(a, 4, 2, &cmd), 0);
	assert_int_equal(cmd & 6, 6);	/* memory space + bus master */
	b = connect_fn(2, true);
	status_of(b, 1, s);
	assert_int_equal(s[DEXT_STATUS_CLAIMS], 2);
	dext_client_close(a);
	assert_int_equal(dext_config_read(b, 4, 2, &cmd), 0);
	assert_int_equal(cmd & 6, 6);
	dext_client_close(b);
	obs = connect_fn(2, false);
	status_of(obs, 1, s);
	assert_int_equal(s[DEXT_STATUS_CLAIMS], 0);
	assert_int_equal(dext_config_read(obs, 4, 2, &cmd), 0);
	assert_int_equal(cmd & 6, 0);	/* last release closes the device */
	dext_client_close(obs);
}

static void test_config_read_synthesises_bars(void **state)
{
	struct dext_client *c = connect_fn(1, false);
	uint32_t v;

	(void)state;
	assert_int_equal(dext_config_read(c, 0, 2, &v), 0);
	assert_int_equal(v, DMATEST_VENDOR_ID);
	assert_int_equal(dext_config_read(c, 0, 4, &v), 0);
	assert_int_equal(v, (uint32_t)DMATEST_DEVICE_ID << 16 | DMATEST_VENDOR_ID);
	/* Type bits only: BAR0 32-bit mem, BAR2 64-bit prefetchable, BAR3 its upper half. */
	assert_int_equal(dext_config_read(c, 0x10, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dext_config_read(c, 0x18, 4, &v), 0);
	assert_int_equal(v, DEXT_BAR_TYPE_MEM64 | DEXT_BAR_TYPE_PREFETCH);
	assert_int_equal(dext_config_read(c, 0x1c, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dext_config_read(c, 0x14, 4, &v), 0);	/* BAR1 absent */
	assert_int_equal(v, 0);
	assert_int_equal(dext_config_read(c, 0x20, 4, &v), 0);
	assert_int_equal(v, 0);
	/* MSI-X capability: table size 3 (4 vectors). */
	assert_int_equal(dext_config_read(c, 0x34, 1, &v), 0);
	assert_true(v >= 0x40);
	/* Bad widths, offsets, alignment. */
	assert_int_equal(dext_config_read(c, 0, 3, &v), -EINVAL);
	assert_int_equal(dext_config_read(c, 0, 8, &v), -EINVAL);
	assert_int_equal(dext_config_read(c, 4096, 1, &v), -EINVAL);
	assert_int_equal(dext_config_read(c, 4094, 4, &v), -EINVAL);
	assert_int_equal(dext_config_read(c, 1, 2, &v), -EINVAL);
	dext_client_close(c);
}

static void test_config_write_masks_and_counts_bar_writes(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t before[DEXT_STATUS_COUNT], after[DEXT_STATUS_COUNT];
	uint32_t v;

	(void)state;
	status_of(c, 0, before);
	assert_int_equal(dext_config_write(c, 0x10, 4, 0xffffffff), 0);
	status_of(c, 0, after);
	assert_int_equal(after[DEXT_STATUS_BAR_WRITES] - before[DEXT_STATUS_BAR_WRITES], 4);
	/* Read-only identity does not change. */
	assert_int_equal(dext_config_write(c, 0, 2, 0x1111), 0);
	assert_int_equal(dext_config_read(c, 0, 2, &v), 0);
	assert_int_equal(v, DMATEST_VENDOR_ID);
	assert_int_equal(dext_config_write(c, 0, 3, 0), -EINVAL);
	assert_int_equal(dext_config_write(c, 4096, 1, 0), -EINVAL);
	dext_client_close(c);
}

static void test_get_bar_info(void **state)
{
	struct dext_client *c = connect_fn(1, false);
	struct dext_bar_info bi;

	(void)state;
	assert_int_equal(dext_bar_info(c, 0, &bi), 0);
	assert_int_equal(bi.size, DMATEST_BAR0_SIZE);
	assert_int_equal(bi.type, 0);
	assert_int_equal(bi.memory_index, 0);
	/* The memory index is PCIDriverKit's: implemented BARs counted, not the BAR number. */
	assert_int_equal(dext_bar_info(c, 2, &bi), 0);
	assert_int_equal(bi.size, DMATEST_BAR2_SIZE);
	assert_int_equal(bi.type, DEXT_BAR_TYPE_MEM64 | DEXT_BAR_TYPE_PREFETCH);
	assert_int_equal(bi.memory_index, 1);
	assert_int_equal(dext_bar_info(c, 4, &bi), 0);
	assert_int_equal(bi.memory_index, 2);
	/* Absent BAR and the upper half of BAR2: errors, as in the reference. */
	assert_int_equal(dext_bar_info(c, 1, &bi), -ENOENT);
	assert_int_equal(dext_bar_info(c, 3, &bi), -ENOENT);
	assert_int_equal(dext_bar_info(c, 6, &bi), -EINVAL);
	dext_client_close(c);
}

static void test_mmio_read_write(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t v;

	(void)state;
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_ID, 4, &v), 0);
	assert_int_equal(v, DMATEST_ID_VALUE);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_ID, 8, &v), 0);
	assert_int_equal(v, (uint64_t)DMATEST_VERSION_VALUE << 32 | DMATEST_ID_VALUE);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_ID, 1, &v), 0);
	assert_int_equal(v, DMATEST_ID_VALUE & 0xff);
	/* A 64-bit register through both 32-bit halves. */
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_SRC, 4, 0x89abcdef), 0);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_SRC + 4, 4, 0x01234567), 0);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_SRC, 8, &v), 0);
	assert_int_equal(v, 0x0123456789abcdefull);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_SRC + 4, 4, &v), 0);
	assert_int_equal(v, 0x01234567);
	/* Bad: width, past the BAR, misaligned, absent BAR, value wider than width. */
	assert_int_equal(dext_mmio_read(c, 0, 0, 3, &v), -EINVAL);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_BAR0_SIZE, 4, &v), -EINVAL);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_BAR0_SIZE - 2, 4, &v), -EINVAL);
	assert_int_equal(dext_mmio_read(c, 0, 2, 4, &v), -EINVAL);
	assert_int_equal(dext_mmio_read(c, 3, 0, 4, &v), -EINVAL);	/* three BARs: 0-2 */
	assert_int_equal(dext_mmio_read(c, 6, 0, 4, &v), -EINVAL);
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_SRC, 1, 0x100), -EINVAL);
	dext_client_close(c);
}

/* Posted calls: ordered with later calls, refusals counted, bounded in flight. */
static void test_posted_calls(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	const struct dext_posted_stats *ps = dext_client_posted_stats(c);
	uint64_t v, sent = ps->sent;

	(void)state;
	assert_int_equal(dext_mmio_write_posted(c, 0, DMATEST_REG_SRC, 4, 0x89abcdef), 0);
	assert_int_equal(dext_mmio_write_posted(c, 0, DMATEST_REG_SRC + 4, 4, 0x01234567), 0);
	/* The read is served after both writes. */
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_SRC, 8, &v), 0);
	assert_int_equal(v, 0x0123456789abcdefull);
	assert_int_equal(ps->errors, 0);
	/* A refused posted write is counted; the next call gets its own result. */
	assert_int_equal(dext_mmio_write_posted(c, 0, DMATEST_REG_SRC, 1, 0x100), 0);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_SRC, 8, &v), 0);
	assert_int_equal(v, 0x0123456789abcdefull);
	assert_int_equal(ps->errors, 1);
	assert_int_equal(ps->last_error, -EINVAL);
	assert_int_equal(ps->last_selector, DEXT_SEL_MMIO_WRITE);
	/* More than fit in flight: the oldest replies are taken on the way. */
	for (unsigned int i = 0; i < 200; i++)
		assert_int_equal(dext_mmio_write_posted(c, 0, DMATEST_REG_DST, 8, i), 0);
	assert_int_equal(dext_client_flush(c), 0);
	assert_int_equal(ps->sent, sent + 203);
	assert_int_equal(ps->errors, 1);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_DST, 8, &v), 0);
	assert_int_equal(v, 199);
	/* An unclaimed client's posted write is refused, and changes nothing. */
	{
		struct dext_client *u = connect_fn(1, false);
		int refused = dext_mmio_write(u, 0, DMATEST_REG_DST, 8, 7);

		assert_true(refused < 0);
		assert_int_equal(dext_mmio_write_posted(u, 0, DMATEST_REG_DST, 8, 7), 0);
		assert_int_equal(dext_client_flush(u), 0);
		assert_int_equal(dext_client_posted_stats(u)->errors, 1);
		assert_int_equal(dext_client_posted_stats(u)->last_error, refused);
		dext_client_close(u);
	}
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_DST, 8, &v), 0);
	assert_int_equal(v, 199);
	dext_client_close(c);
}

/*
 * The server's interrupt path: WaitInterrupt armed posted, pending words
 * taken from the mapped interrupt state page by atomic exchange.
 */
static void test_posted_wait_and_irq_state_page(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t pending[DEXT_IRQ_WORDS], size;
	struct dext_irq_state *irq;
	int r;
	unsigned int vectors;
	void *p;

	(void)state;
	/* Refused before SetupInterrupts: counted, and not left armed. */
	r = dext_wait_interrupt_posted(c);
#ifdef CONFORMANCE_IOKIT
	assert_int_equal(r, -EAGAIN);	/* no posting on IOKit: the call's own result */
#else
	assert_int_equal(r, 0);
	assert_true(dext_client_wait_armed(c));
	assert_int_equal(dext_client_flush(c), 0);
	assert_int_equal(dext_client_posted_stats(c)->last_error, -EAGAIN);
#endif
	assert_false(dext_client_wait_armed(c));

	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_client_map(c, DEXT_MEM_IRQ_STATE, &p, &size), 0);
	irq = p;
	assert_int_equal(dext_wait_interrupt_posted(c), 0);
	assert_true(dext_client_wait_armed(c));
	dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 2);
	wait_wakeup(c);
	for (unsigned int w = 0; w < DEXT_IRQ_WORDS; w++)
		pending[w] = __atomic_exchange_n(&irq->pending[w], 0, __ATOMIC_SEQ_CST);
	assert_int_equal(pending[0], 1ull << 2);
	/* Taken through the page: CheckInterrupt finds nothing left. */
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0] | pending[1] | pending[2] | pending[3], 0);
	/* Re-armed posted with a bit already pending: completes at once. */
	dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 3);
	dmatest_wait_idle(c);
	assert_int_equal(dext_wait_interrupt_posted(c), 0);
	wait_wakeup(c);
	assert_int_equal(__atomic_exchange_n(&irq->pending[0], 0, __ATOMIC_SEQ_CST), 1ull << 3);
#ifndef CONFORMANCE_IOKIT
	assert_int_equal(dext_client_posted_stats(c)->errors, 1);
#endif
	assert_int_equal(dext_client_unmap(c, DEXT_MEM_IRQ_STATE, p, size), 0);
	dext_client_close(c);
}

static void test_map_memory_types(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	struct dext_irq_state *irq;
	uint64_t size, v;
	unsigned int vectors;
	uint32_t *bar2;
	void *p;

	(void)state;
	/* BAR2 is mappable: what the client writes, MMIORead sees. */
	assert_int_equal(dext_client_map(c, DEXT_MEM_BAR0 + 2, &p, &size), 0);
	assert_int_equal(size, DMATEST_BAR2_SIZE);
	bar2 = p;
	bar2[5] = 0xfeedf00d;
	assert_int_equal(dext_mmio_read(c, 1, 20, 4, &v), 0);	/* BAR2 is memory index 1 */
	assert_int_equal(v, 0xfeedf00d);
	assert_int_equal(dext_mmio_write(c, 1, 24, 4, 0x600d), 0);
	assert_int_equal(bar2[6], 0x600d);
	assert_int_equal(dext_client_unmap(c, DEXT_MEM_BAR0 + 2, p, size), 0);
	/* The interrupt state page: NotReady before SetupInterrupts; enabled starts all ones. */
	assert_int_equal(dext_client_map(c, DEXT_MEM_IRQ_STATE, &p, &size), -EAGAIN);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_client_map(c, DEXT_MEM_IRQ_STATE, &p, &size), 0);
	assert_int_equal(size, DEXT_IRQ_STATE_SIZE);
	irq = p;
	assert_true(irq->enabled[0] == ~0ull && irq->enabled[3] == ~0ull);
	assert_int_equal(dext_client_unmap(c, DEXT_MEM_IRQ_STATE, p, size), 0);
	/* Trapped, absent, unknown, no buffer yet. */
	assert_int_equal(dext_client_map(c, DEXT_MEM_BAR0, &p, &size), -EOPNOTSUPP);
	assert_int_equal(dext_client_map(c, DEXT_MEM_BAR0 + 1, &p, &size), -ENOENT);
	assert_int_equal(dext_client_map(c, 8, &p, &size), -EINVAL);
	assert_int_equal(dext_client_map(c, DEXT_MEM_DMA_BUFFER, &p, &size), -EAGAIN);
	dext_client_close(c);
}

/* ---- DMA registration ---- */

static void test_register_dma_region(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t *buf = map_anon(4 * PAGE), bus, len, v, s[DEXT_STATUS_COUNT];
	void *hole;

	(void)state;
	buf[3] = 0x1122334455667788ull;
	assert_int_equal(dext_register_dma(c, 0x1000, (char *)buf + 8, 2 * PAGE, &bus, &len), 0);
	assert_int_equal(len, 2 * PAGE);
	assert_int_equal(bus % PAGE, 8);	/* the offset inside the 16 KiB page is kept */
	assert_true(bus != 0);
	assert_int_equal(dext_probe_dma(c, 0x1000, 16, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);
	assert_int_equal(dext_probe_dma(c, 0x1000, 2 * PAGE - 8, &v), 0);
	assert_int_equal(dext_probe_dma(c, 0x1000, 2 * PAGE - 7, &v), -EOVERFLOW);	/* Overrun */
	assert_int_equal(dext_probe_dma(c, 0x1000, UINT64_MAX - 3, &v), -EOVERFLOW);
	assert_int_equal(dext_probe_dma(c, 0x2000, 0, &v), -ENOENT);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 1);
	/* Duplicate key, zero size, null VA, wrapping range, memory the client lacks. */
	assert_int_equal(dext_register_dma(c, 0x1000, buf, PAGE, &bus, &len), -EEXIST);
	assert_int_equal(dext_register_dma(c, 0x3000, buf, 0, &bus, &len), -EINVAL);
	assert_int_equal(dext_register_dma(c, 0x3000, NULL, PAGE, &bus, &len), -EINVAL);
	assert_int_equal(dext_register_dma(c, 0x3000, (void *)(uintptr_t)-PAGE, 2 * PAGE, &bus,
					   &len), -EINVAL);
	hole = map_anon(PAGE);
	munmap(hole, PAGE);
	assert_int_equal(dext_register_dma(c, 0x3000, hole, PAGE, &bus, &len), -EFAULT);
	assert_int_equal(dext_unregister_dma(c, 0x2000), -ENOENT);
	assert_int_equal(dext_unregister_dma(c, 0x1000), 0);
	assert_int_equal(dext_unregister_dma(c, 0x1000), -ENOENT);
	/* The key is free again. */
	assert_int_equal(dext_register_dma(c, 0x1000, buf, PAGE, &bus, &len), 0);
	assert_int_equal(dext_unregister_dma(c, 0x1000), 0);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 0);
	dext_client_close(c);
	munmap(buf, 4 * PAGE);
}

static void test_keys_are_per_client(void **state)
{
	struct dext_client *a = connect_fn(1, true), *b = connect_fn(1, true);
	char *buf = map_anon(PAGE);
	uint64_t bus_a, bus_b, len;

	(void)state;
	assert_int_equal(dext_register_dma(a, 7, buf, PAGE, &bus_a, &len), 0);
	assert_int_equal(dext_register_dma(b, 7, buf, PAGE, &bus_b, &len), 0);
	assert_true(bus_a != bus_b);
	assert_int_equal(dext_unregister_dma(b, 7), 0);
	assert_int_equal(dext_unregister_dma(b, 7), -ENOENT);
	assert_int_equal(dext_unregister_dma(a, 7), 0);
	dext_client_close(a);
	dext_client_close(b);
	munmap(buf, PAGE);
}

static void test_mapping_limit_65537th_fails(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	char *buf = map_anon(PAGE);
	uint64_t bus, len, s[DEXT_STATUS_COUNT];
	uint32_t i;

	(void)state;
	for (i = 0; i < DEXT_DMA_MAX_REGIONS; i++)
		if (dext_register_dma(c, i, buf, 64, &bus, &len))
			break;
	assert_int_equal(i, DEXT_DMA_MAX_REGIONS);
	assert_int_equal(dext_register_dma(c, i, buf, 64, &bus, &len), -ENOSPC);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], DEXT_DMA_MAX_REGIONS);
	/* One unmap makes room for exactly one. */
	assert_int_equal(dext_unregister_dma(c, 12345), 0);
	assert_int_equal(dext_register_dma(c, i, buf, 64, &bus, &len), 0);
	assert_int_equal(dext_register_dma(c, i + 1, buf, 64, &bus, &len), -ENOSPC);
	/* Disconnecting drops them all. */
	dext_client_close(c);
	c = connect_fn(1, false);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 0);
	assert_int_equal(s[DEXT_STATUS_PEAK_MAPPINGS], DEXT_DMA_MAX_REGIONS);
	dext_client_close(c);
	munmap(buf, PAGE);
}

static void test_total_bytes_limit(void **state)
{
	const uint64_t limit = DEXT_DMA_TOTAL_DEFAULT;
	struct dext_client *c = connect_fn(1, true);
	uint64_t bus, len, v;
	/* Address space only: the dext reads the first and last byte. */
	char *big = map_anon_prot(limit + 2 * PAGE, PROT_READ, MAP_NORESERVE);

	(void)state;
	assert_int_equal(dext_register_dma(c, 1, big, limit + 1, &bus, &len), -ENOSPC);
	assert_int_equal(dext_register_dma(c, 1, big, limit, &bus, &len), 0);
	assert_int_equal(len, limit);
	assert_int_equal(dext_register_dma(c, 2, big, 1, &bus, &len), -ENOSPC);
	assert_int_equal(dext_unregister_dma(c, 1), 0);
	dext_client_close(c);

	/* 02:00.0 allows 4 GiB: 1.5 GiB + 1 becomes two chunks; chunk 0 is returned. */
	c = connect_fn(2, true);
	assert_int_equal(dext_register_dma(c, 1, big, limit + 1, &bus, &len), 0);
	assert_int_equal(len, DEXT_DMA_CHUNK_MAX);
	/* The region is limit + 1 bytes: 8 bytes fit up to offset limit - 7. */
	assert_int_equal(dext_probe_dma(c, 1, limit - 6, &v), -EOVERFLOW);
	assert_int_equal(dext_probe_dma(c, 1, limit - 7, &v), 0);
	assert_int_equal(v, 0);
	dext_client_close(c);
	munmap(big, limit + 2 * PAGE);
}

/* dextd counts registrations whose address and key differ modulo 16 KiB. */
static void test_offset_mismatch_counted(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint8_t *buf = map_anon(2 * PAGE);	/* 16 KiB aligned */
	uint64_t bus, len, s[DEXT_STATUS_COUNT], before;

	(void)state;
	status_of(c, 0, s);
	before = s[DEXT_STATUS_OFFSET_MISMATCH];
	/* Congruent: key 0x...3000 at a VA whose page offset is 0x3000. */
	assert_int_equal(dext_register_dma(c, 0x40003000, buf + 0x3000, 0x1000, &bus, &len), 0);
	assert_int_equal(bus & 0x3fff, 0x3000);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_OFFSET_MISMATCH], before);
	/* Not congruent: counted (and the bus address keeps the VA's offset, not the key's). */
	assert_int_equal(dext_register_dma(c, 0x40001000, buf + 0x2000, 0x1000, &bus, &len), 0);
	assert_int_equal(bus & 0x3fff, 0x2000);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_OFFSET_MISMATCH], before + 1);
	dext_client_close(c);
	munmap(buf, 2 * PAGE);
}

/* More than 128 chunks is kIOReturnNoSpace, like every other limit. */
static void test_too_many_chunks_is_no_space(void **state)
{
	const uint64_t size = DEXT_DMA_MAX_CHUNKS * DEXT_DMA_CHUNK_MAX + 1;
	struct dext_client *c = connect_fn(1, true);
	uint64_t bus, len, s[DEXT_STATUS_COUNT];
	/* Address space only (192 GiB): the dext reads the first and last byte. */
	char *big = map_anon_prot(size + PAGE, PROT_READ, MAP_NORESERVE);

	(void)state;
	assert_int_equal(dext_register_dma(c, 1, big, size, &bus, &len), -ENOSPC);
	status_of(c, 0, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 0);
	dext_client_close(c);
	munmap(big, size + PAGE);
}

/* AllocateDMABuffer reports the size asked for, the flags and up to 32 segments. */
static void test_dma_buffer_segments(void **state)
{
	struct dext_client *c = connect_fn(2, true);
	uint64_t in[2] = { 100 << 10, 0 }, out[6], s[DEXT_STATUS_COUNT];

	(void)state;
	/* 100 KiB, 112 KiB in DART pages, 02:00.0 maps it in 32 KiB segments. */
	assert_int_equal(dext_call(c, DEXT_SEL_ALLOCATE_DMA_BUFFER, in, 2, out, 6), 0);
	assert_int_equal(out[0], 100 << 10);
	assert_int_equal(out[1], 3);		/* prepared for both directions */
	assert_int_equal(out[2], 4);		/* segments */
	assert_int_equal(out[4], 32 << 10);	/* seg0 len */
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 4);
	/* 64 MiB in 32 KiB pieces would be 2048: capped at 32 segments. */
	in[0] = 64 << 20;
	assert_int_equal(dext_call(c, DEXT_SEL_ALLOCATE_DMA_BUFFER, in, 2, out, 6), 0);
	assert_int_equal(out[2], 32);
	assert_int_equal(out[4], 2 << 20);
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 32);	/* the old buffer is gone */
	assert_int_equal(dext_free_dma_buffer(c), 0);
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 0);
	dext_client_close(c);
}

/* ---- the device, DMA through the DART, interrupts ---- */

static void test_dmatest_copy_fill_checksum_through_dart(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint8_t *src = map_anon(4 * PAGE), *dst = map_anon(4 * PAGE);
	uint64_t sbus, dbus, len, sum, expect = DMATEST_FNV_OFFSET;
	unsigned int vectors;
	const size_t n = 3 * PAGE + 123;

	(void)state;
	for (size_t i = 0; i < 4 * PAGE; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(vectors, DMATEST_MSIX_VECTORS);
	assert_int_equal(dext_register_dma(c, 1, src + 5, n, &sbus, &len), 0);
	assert_int_equal(dext_register_dma(c, 2, dst + 9, n, &dbus, &len), 0);

	assert_int_equal(dmatest_run(c, DMATEST_CMD_COPY, sbus, dbus, n, 0, 1), DMATEST_STATUS_DONE);
	assert_memory_equal(src + 5, dst + 9, n);
	assert_int_equal(dst[8], 0);
	assert_int_equal(dst[9 + n], 0);

	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, dbus + 100, 1000, 0x5a, 2),
			 DMATEST_STATUS_DONE);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(dst[9 + 100 + i], 0x5a);
	assert_int_equal(dst[9 + 99], src[5 + 99]);

	assert_int_equal(dmatest_run(c, DMATEST_CMD_CHECKSUM, sbus, 0, n, 0, 3), DMATEST_STATUS_DONE);
	for (size_t i = 0; i < n; i++)
		expect = (expect ^ src[5 + i]) * DMATEST_FNV_PRIME;
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_RESULT, 8, &sum), 0);
	assert_int_equal(sum, expect);
	dext_client_close(c);
	munmap(src, 4 * PAGE);
	munmap(dst, 4 * PAGE);
}

/* A memfd of len bytes, sealed (or not) against shrinking as QEMU's RAM is. */
static int sealed_memfd(size_t len, bool seal)
{
	int fd = memfd_create("conformance-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	if (seal)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

#ifndef CONFORMANCE_IOKIT
/*
 * Shared client memory (DEXT_CTL_SHARE_MEMORY): DMA whose DART target lies
 * in a shared range is done in place, through the fd; everything else, and
 * everything after unsharing, through process_vm_readv/writev; the DART
 * checks both alike.
 */
static void test_shared_memory_in_place(void **state)
{
	struct dext_client *c = connect_fn(1, true), *other;
	int fd = sealed_memfd(4 * PAGE, true), loose = sealed_memfd(PAGE, false);
	uint8_t *buf = map_anon(4 * PAGE), *view, zero[PAGE] = { 0 };
	uint64_t bus, len, before[DEXT_STATUS_COUNT], after[DEXT_STATUS_COUNT];
	unsigned int vectors;

	(void)state;
	/* Our own view of the fd, somewhere else. */
	view = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(view != MAP_FAILED);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_register_dma(c, 1, buf, 4 * PAGE, &bus, &len), 0);

	/*
	 * Claim that buf is the fd's memory: dextd takes the client's word (it
	 * can only misdirect DMA into memory the client supplied), so a fill
	 * through the DART lands in the fd, not in buf: the in-place path.
	 */
	assert_int_equal(dext_client_share_memory(c, buf, 4 * PAGE, fd, 0), 0);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, bus + PAGE + 7, 100, 0x3c, 1),
			 DMATEST_STATUS_DONE);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(view[PAGE + 7 + i], 0x3c);
	assert_int_equal(view[PAGE + 6], 0);
	assert_int_equal(view[PAGE + 107], 0);
	assert_memory_equal(buf + PAGE, zero, PAGE);
	/* Device reads come from it too: copy fd page 1 to page 3. */
	assert_int_equal(dmatest_run(c, DMATEST_CMD_COPY, bus + PAGE, bus + 3 * PAGE, PAGE, 0, 1),
			 DMATEST_STATUS_DONE);
	assert_memory_equal(view + 3 * PAGE, view + PAGE, PAGE);

	/* Bad requests change nothing. */
	assert_int_equal(dext_client_share_memory(c, buf, PAGE, fd, 0), -EEXIST);
	assert_int_equal(dext_client_share_memory(c, buf + 4 * PAGE, PAGE, loose, 0), -EINVAL);
	assert_int_equal(dext_client_share_memory(c, buf + 4 * PAGE + 1, PAGE, fd, 0), -EINVAL);
	assert_int_equal(dext_client_share_memory(c, buf + 4 * PAGE, 8 * PAGE, fd, 0), -EINVAL);
	assert_int_equal(dext_client_share_memory(c, buf + 4 * PAGE, 0, fd, 0), -EINVAL);
	assert_int_equal(dext_client_share_memory(c, buf, PAGE, -1, 0), -EBADF);
	assert_int_equal(dext_client_unshare_memory(c, buf + PAGE), -ENOENT);

	/* A fault is a fault: a stale IOVA inside the shared range writes nothing. */
	assert_int_equal(dext_unregister_dma(c, 1), 0);
	status_of(c, 0, before);
	memset(view, 0x11, 4 * PAGE);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, bus, PAGE, 0xee, 1),
			 DMATEST_STATUS_ERROR);
	for (size_t i = 0; i < 4 * PAGE; i++)
		assert_int_equal(view[i], 0x11);
	status_of(c, 0, after);
	assert_int_equal(after[DEXT_STATUS_FAULTS], before[DEXT_STATUS_FAULTS] + 1);

	/* Unshared: the faithful path reaches buf itself again. */
	assert_int_equal(dext_register_dma(c, 1, buf, 4 * PAGE, &bus, &len), 0);
	assert_int_equal(dext_client_unshare_memory(c, buf), 0);
	assert_int_equal(dext_client_unshare_memory(c, buf), -ENOENT);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, bus, 50, 0x77, 1),
			 DMATEST_STATUS_DONE);
	assert_int_equal(buf[0], 0x77);
	assert_int_equal(buf[49], 0x77);
	assert_int_equal(view[0], 0x11);

	/* At most DEXT_WIRE_MAX_SHARED ranges per client; a closed client's go. */
	for (unsigned int i = 0; i < DEXT_WIRE_MAX_SHARED; i++)
		assert_int_equal(dext_client_share_memory(c, (uint8_t *)(uintptr_t)0x100000000ull +
							  i * 2 * PAGE, PAGE, fd, 0), 0);
	assert_int_equal(dext_client_share_memory(c, (uint8_t *)(uintptr_t)0x100000000ull +
						  DEXT_WIRE_MAX_SHARED * 2 * PAGE, PAGE, fd, 0),
			 -ENOSPC);
	dext_client_close(c);
	other = connect_fn(1, true);
	assert_int_equal(dext_client_share_memory(other, (uint8_t *)(uintptr_t)0x100000000ull, PAGE,
						  fd, 0), 0);
	dext_client_close(other);
	/* Before OPEN there is no function to share with. */
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &other), 0);
	assert_int_equal(dext_client_share_memory(other, buf, PAGE, fd, 0), -ENOTCONN);
	dext_client_close(other);
	munmap(view, 4 * PAGE);
	munmap(buf, 4 * PAGE);
	close(fd);
	close(loose);
}
#else
static void test_shared_memory_in_place(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	int fd = sealed_memfd(PAGE, true);
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	(void)state;
	/* The dext reaches its client's memory by address only. */
	assert_int_equal(dext_client_share_memory(c, p, PAGE, fd, 0), -EOPNOTSUPP);
	dext_client_close(c);
	munmap(p, PAGE);
	close(fd);
}
#endif

static void test_stale_iova_faults_and_writes_nothing(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint8_t *buf = map_anon(2 * PAGE), copy[2 * PAGE];
	uint64_t bus, len, v, before[DEXT_STATUS_COUNT], after[DEXT_STATUS_COUNT];
	struct dext_fault_info f;
	unsigned int vectors;

	(void)state;
	memset(buf, 0x11, 2 * PAGE);
	memcpy(copy, buf, sizeof(copy));
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_register_dma(c, 9, buf, 2 * PAGE, &bus, &len), 0);
	assert_int_equal(dext_unregister_dma(c, 9), 0);
	status_of(c, 0, before);

	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, bus, PAGE, 0xee, 0),
			 DMATEST_STATUS_ERROR);
	assert_memory_equal(buf, copy, sizeof(copy));
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_FAULT_IOVA, 8, &v), 0);
	assert_int_equal(v, bus);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_BYTES_DONE, 8, &v), 0);
	assert_int_equal(v, 0);
	status_of(c, 0, after);
	assert_int_equal(after[DEXT_STATUS_FAULTS], before[DEXT_STATUS_FAULTS] + 1);
	fault_of(c, 0, &f);
	assert_int_equal(f.iova, bus);
	assert_int_equal(f.access, 2);	/* device write */
	assert_int_equal(f.stream, 0x100);	/* 01:00.0 */
	dext_client_close(c);
	munmap(buf, 2 * PAGE);
}

static void test_bus_master_off_blocks_dma(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint8_t *buf = map_anon(PAGE);
	uint64_t bus, len;
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_register_dma(c, 1, buf, PAGE, &bus, &len), 0);
	assert_int_equal(dext_config_write(c, 4, 2, 0x0002), 0);	/* MEM only */
	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, bus, PAGE, 0x77, 0),
			 DMATEST_STATUS_ERROR);
	assert_int_equal(buf[0], 0);
	assert_int_equal(dext_config_write(c, 4, 2, 0x0006), 0);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_FILL, 0, bus, PAGE, 0x77, 0),
			 DMATEST_STATUS_DONE);
	assert_int_equal(buf[PAGE - 1], 0x77);
	dext_client_close(c);
	munmap(buf, PAGE);
}

static void test_allocate_dma_buffer(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t bus, len, size, dbus;
	uint8_t *dst = map_anon(PAGE), *mem;
	unsigned int vectors;
	void *p;

	(void)state;
	assert_int_equal(dext_allocate_dma_buffer(c, 0, 0, &bus, &len, &size), -EINVAL);
	assert_int_equal(dext_allocate_dma_buffer(c, DEXT_DMA_BUFFER_MAX + 1, 0, &bus, &len, &size),
			 -EINVAL);
	assert_int_equal(dext_allocate_dma_buffer(c, PAGE, 3, &bus, &len, &size), -EINVAL);
	assert_int_equal(dext_allocate_dma_buffer(c, 5000, 0, &bus, &len, &size), 0);
	assert_int_equal(size, 5000);	/* the requested size, as the reference reports it */
	assert_int_equal(len, PAGE);
	assert_int_equal(dext_client_map(c, DEXT_MEM_DMA_BUFFER, &p, &size), 0);
	mem = p;
	memset(mem, 0x3c, 5000);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_register_dma(c, 1, dst, PAGE, &dbus, &len), 0);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_COPY, bus, dbus, 5000, 0, 0), DMATEST_STATUS_DONE);
	assert_int_equal(dst[0], 0x3c);
	assert_int_equal(dst[4999], 0x3c);
	assert_int_equal(dst[5000], 0);
	assert_int_equal(dext_client_unmap(c, DEXT_MEM_DMA_BUFFER, mem, size), 0);
	assert_int_equal(dext_free_dma_buffer(c), 0);
	assert_int_equal(dext_free_dma_buffer(c), 0);	/* none to free: success */
	assert_int_equal(dext_client_map(c, DEXT_MEM_DMA_BUFFER, &p, &size), -EAGAIN);
	dext_client_close(c);
	munmap(dst, PAGE);
}

static void test_interrupt_setup_rules(void **state)
{
	struct dext_client *c = connect_fn(2, true), *other;
	uint64_t pending[DEXT_IRQ_WORDS];
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_check_interrupt(c, pending), -EAGAIN);
	assert_int_equal(dext_wait_interrupt(c), -EAGAIN);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(vectors, DMATEST_MSIX_VECTORS);
	assert_int_equal(dext_setup_interrupts(c, &vectors), -EEXIST);
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0] | pending[1] | pending[2] | pending[3], 0);
	/* SetIRQMask before SetupInterrupts is NotReady, like CheckInterrupt. */
	other = connect_fn(2, true);
	assert_int_equal(dext_set_irq_mask(other, pending), -EAGAIN);
	dext_client_close(other);
	/* Interrupts die with the client that set them up. */
	dext_client_close(c);
	other = connect_fn(2, true);
	assert_int_equal(dext_setup_interrupts(other, &vectors), 0);
	dext_client_close(other);
}

/* Interrupt state is the setting-up client's: another client can neither see nor steal it. */
static void test_interrupt_state_is_per_client(void **state)
{
	struct dext_client *a = connect_fn(1, true), *b = connect_fn(1, true);
	uint64_t pending[DEXT_IRQ_WORDS], mask[DEXT_IRQ_WORDS] = { 0 }, size;
	unsigned int vectors;
	void *p;

	(void)state;
	assert_int_equal(dext_setup_interrupts(a, &vectors), 0);
	/* b is claimed but set nothing up: NotReady for all of it. */
	assert_int_equal(dext_setup_interrupts(b, &vectors), -EEXIST);
	assert_int_equal(dext_wait_interrupt(b), -EAGAIN);
	assert_int_equal(dext_set_irq_mask(b, mask), -EAGAIN);
	assert_int_equal(dext_client_map(b, DEXT_MEM_IRQ_STATE, &p, &size), -EAGAIN);
	dmatest_start(a, DMATEST_CMD_RAISE, 0, 0, 0, 0, 1);
	dmatest_wait_idle(a);
	/* b's CheckInterrupt cannot read and clear a's pending bit. */
	assert_int_equal(dext_check_interrupt(b, pending), -EAGAIN);
	assert_int_equal(dext_check_interrupt(a, pending), 0);
	assert_int_equal(pending[0], 1ull << 1);
	dext_client_close(b);
	dext_client_close(a);
}

#ifndef CONFORMANCE_IOKIT
/*
 * A client that owned interrupts before cannot break the next owner's
 * delivery. (Over IOKit, closing the connection unmaps its memory.)
 */
static void test_next_owner_gets_a_fresh_irq_page(void **state)
{
	struct dext_client *a = connect_fn(1, true), *b;
	struct dext_irq_state *old;
	uint64_t size;
	unsigned int vectors;
	void *p;

	(void)state;
	assert_int_equal(dext_setup_interrupts(a, &vectors), 0);
	assert_int_equal(dext_client_map(a, DEXT_MEM_IRQ_STATE, &p, &size), 0);
	old = p;
	/* a's interrupts end with it; on the socket its mapping of the page stays. */
	dext_client_close(a);
	b = connect_fn(1, true);
	assert_int_equal(dext_setup_interrupts(b, &vectors), 0);
	/* The old owner still has its page mapped and disables every vector. */
	memset(old->enabled, 0, sizeof(old->enabled));
	assert_int_equal(dmatest_run(b, DMATEST_CMD_RAISE, 0, 0, 0, 0, 2), DMATEST_STATUS_DONE);
	assert_true(old->pending[0] == 0);
	munmap(old, size);
	dext_client_close(b);
}
#endif

/* WaitInterrupt while armed replaces the armed one: one completion, the newest. */
static void test_wait_interrupt_rearm_replaces(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	struct dext_identity id;
	uint64_t pending[DEXT_IRQ_WORDS];
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_wait_interrupt(c), 0);
	assert_int_equal(dext_wait_interrupt(c), 0);
	assert_true(dext_client_wait_armed(c));
	dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 0);
	wait_wakeup(c);
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0], 1);
	/*
	 * Had the first wait survived, its completion (an id the client no
	 * longer waits for) would arrive before this reply and fail it.
	 */
	assert_int_equal(dext_get_identity(c, &id), 0);
	assert_int_equal(dext_client_dispatch(c), 0);
	assert_false(dext_client_take_wakeup(c));
	dext_client_close(c);
}

/* Config space capability IDs in list order, into ids (at most max). */
static unsigned int cap_ids(struct dext_client *c, uint8_t *ids, unsigned int max)
{
	uint32_t ptr, hdr;
	unsigned int n = 0;

	assert_int_equal(dext_config_read(c, 0x34, 1, &ptr), 0);
	while (ptr && n < max) {
		assert_int_equal(dext_config_read(c, ptr, 2, &hdr), 0);
		ids[n++] = (uint8_t)hdr;
		ptr = hdr >> 8;
	}
	return n;
}

/* No MSI-X: SetupInterrupts falls back to one MSI vector, which is delivered. */
static void test_msi_only_function_one_vector(void **state)
{
	struct dext_client *c = connect_fn(4, true);
	unsigned int vectors, n;
	uint8_t ids[8];

	(void)state;
	n = cap_ids(c, ids, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 0x10);	/* PCIe */
	assert_int_equal(ids[1], 0x05);	/* MSI, no MSI-X */
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(vectors, 1);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 0), DMATEST_STATUS_DONE);
	dext_client_close(c);
}

/* Neither MSI-X nor MSI: NotFound, there is no INTx; nothing is set up. */
static void test_no_msi_function_not_found(void **state)
{
	struct dext_client *c = connect_fn(5, true);
	uint64_t pending[DEXT_IRQ_WORDS], s[DEXT_STATUS_COUNT];
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), -ENOENT);
	assert_int_equal(dext_check_interrupt(c, pending), -EAGAIN);
	status_of(c, 4, s);
	assert_int_equal(s[DEXT_STATUS_VECTORS], 0);
	dext_client_close(c);
}

static void test_wait_interrupt_completes_at_once_if_pending(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t pending[DEXT_IRQ_WORDS];
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	/* Raise before anyone waits; the device's status says when it is done. */
	dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 3);
	dmatest_wait_idle(c);
	assert_int_equal(dext_wait_interrupt(c), 0);
	wait_wakeup(c);
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0], 1ull << 3);
	/* Read and clear: nothing left. */
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0], 0);
	dext_client_close(c);
}

static void test_irq_mask_drops_disabled_vectors(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t pending[DEXT_IRQ_WORDS], mask[DEXT_IRQ_WORDS] = { ~(1ull << 2), ~0ull, ~0ull, ~0ull };
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_set_irq_mask(c, mask), 0);
	/* Vector 2 is disabled: its raise is dropped; vector 1 then arrives alone. */
	dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 2);
	dmatest_wait_idle(c);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 1), DMATEST_STATUS_DONE);
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0], 0);	/* vector 1 was consumed by dmatest_run */
	mask[0] = ~0ull;
	assert_int_equal(dext_set_irq_mask(c, mask), 0);
	assert_int_equal(dmatest_run(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 2), DMATEST_STATUS_DONE);
	dext_client_close(c);
}

struct raiser {
	unsigned int rounds;
	int go[2], done[2];	/* handshake pipes */
};

/* Another client raises a vector each time the waiter says it re-armed or not. */
static void *raiser_thread(void *arg)
{
	struct raiser *r = arg;
	struct dext_client *c = connect_fn(1, true);
	char b;

	for (unsigned int i = 0; i < r->rounds; i++) {
		if (read(r->go[0], &b, 1) != 1)
			break;
		dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, i % DMATEST_MSIX_VECTORS);
		dmatest_wait_idle(c);
		if (write(r->done[1], "x", 1) != 1)
			break;
	}
	dext_client_close(c);
	return NULL;
}

static void test_wait_interrupt_no_lost_wakeup(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	struct raiser r = { .rounds = 300 };
	uint64_t pending[DEXT_IRQ_WORDS];
	unsigned int vectors, seen = 0;
	pthread_t t;
	char b;

	(void)state;
	assert_int_equal(pipe(r.go), 0);
	assert_int_equal(pipe(r.done), 0);
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(pthread_create(&t, NULL, raiser_thread, &r), 0);
	for (unsigned int i = 0; i < r.rounds; i++) {
		/*
		 * Alternate: arm before the raise, or after it (the raise may
		 * land at any point of the re-arm); every raise must wake us.
		 */
		if (i % 2 == 0)
			assert_int_equal(dext_wait_interrupt(c), 0);
		assert_int_equal(write(r.go[1], "x", 1), 1);
		assert_int_equal(read(r.done[0], &b, 1), 1);
		if (i % 2 == 1)
			assert_int_equal(dext_wait_interrupt(c), 0);
		wait_wakeup(c);
		assert_int_equal(dext_check_interrupt(c, pending), 0);
		/* The raise is asynchronous: a wakeup may come before the bit of this round. */
		while (!(pending[0] & (1ull << (i % DMATEST_MSIX_VECTORS)))) {
			uint64_t more[DEXT_IRQ_WORDS];

			assert_int_equal(dext_wait_interrupt(c), 0);
			wait_wakeup(c);
			assert_int_equal(dext_check_interrupt(c, more), 0);
			pending[0] |= more[0];
		}
		seen++;
	}
	pthread_join(t, NULL);
	assert_int_equal(seen, r.rounds);
	close(r.go[0]);
	close(r.go[1]);
	close(r.done[0]);
	close(r.done[1]);
	dext_client_close(c);
}

static void test_reset_device(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t v, s[DEXT_STATUS_COUNT];
	uint32_t cmd;

	(void)state;
	assert_int_equal(dext_mmio_write(c, 0, DMATEST_REG_SRC, 8, 0xabc000), 0);
	assert_int_equal(dext_reset_device(c), 0);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_SRC, 8, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dext_mmio_read(c, 0, DMATEST_REG_ID, 4, &v), 0);
	assert_int_equal(v, DMATEST_ID_VALUE);
	/* Config space is restored around the reset. */
	assert_int_equal(dext_config_read(c, 4, 2, &cmd), 0);
	assert_int_equal(cmd & 6, 6);
	status_of(c, 0, s);
	assert_true(s[DEXT_STATUS_RESETS] >= 1);
	dext_client_close(c);
}

/* ResetDevice leaves pending bits alone, as the reference does; the client discards them. */
static void test_reset_keeps_pending_bits(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	uint64_t pending[DEXT_IRQ_WORDS];
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	dmatest_start(c, DMATEST_CMD_RAISE, 0, 0, 0, 0, 2);
	dmatest_wait_idle(c);
	assert_int_equal(dext_reset_device(c), 0);
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_int_equal(pending[0], 1ull << 2);
	dext_client_close(c);
}

/* ---- clients that die ---- */

static void test_killed_client_loses_mappings_and_claim(void **state)
{
	struct dext_client *c;
	uint64_t s[DEXT_STATUS_COUNT];
	int ready[2], st;
	pid_t pid;
	char b;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dext_client *k;
		char *buf = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t bus, len;
		unsigned int v;

		if (open_fn(2, &k) || dext_claim(k) ||
		    dext_setup_interrupts(k, &v) || dext_wait_interrupt(k))
			_exit(1);
		for (unsigned int i = 0; i < 64; i++)
			if (dext_register_dma(k, i, buf + i * PAGE, PAGE, &bus, &len))
				_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);
	c = connect_fn(2, false);
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 64);
	assert_int_equal(s[DEXT_STATUS_CLAIMS], 1);
	assert_int_equal(s[DEXT_STATUS_VECTORS], DMATEST_MSIX_VECTORS);

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* dextd handles hang-ups before requests of the same wakeup. */
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 0);
	assert_int_equal(s[DEXT_STATUS_BYTES], 0);
	assert_int_equal(s[DEXT_STATUS_CLAIMS], 0);
	assert_int_equal(s[DEXT_STATUS_VECTORS], 0);
	assert_int_equal(s[DEXT_STATUS_CLIENTS], 1);
	dext_client_close(c);
}

/* What the server does when it declares a slow dext lost. */
static void test_shutdown_releases_everything_and_fails_fast(void **state)
{
	struct dext_client *k, *c;
	uint64_t s[DEXT_STATUS_COUNT], bus, len;
	char *buf = map_anon(8 * PAGE);

	(void)state;
	k = connect_fn(2, true);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(dext_register_dma(k, i, buf + i * PAGE, PAGE, &bus, &len), 0);
	c = connect_fn(2, false);
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 8);
	assert_int_equal(s[DEXT_STATUS_CLAIMS], 1);

	dext_client_shutdown(k);
	/* Fails at once (no reply awaited), and keeps failing. */
	assert_int_equal(dext_register_dma(k, 9, buf, PAGE, &bus, &len), -ECONNRESET);
	assert_int_equal(dext_unregister_dma(k, 0), -ECONNRESET);
	status_of(c, 1, s);
	assert_int_equal(s[DEXT_STATUS_MAPPINGS], 0);
	assert_int_equal(s[DEXT_STATUS_BYTES], 0);
	assert_int_equal(s[DEXT_STATUS_CLAIMS], 0);
	assert_int_equal(s[DEXT_STATUS_CLIENTS], 1);
	dext_client_close(k);
	dext_client_close(c);
	munmap(buf, 8 * PAGE);
}

static void test_terminate_removes_function(void **state)
{
	struct dext_client *a = connect_fn(3, true), *b = connect_fn(3, false), *c;
	struct dext_identity id;
	unsigned int n_before, n_after;

	(void)state;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_count(c, &n_before), 0);
	/* Only a claimant may end the function for everyone. */
	assert_int_equal(dext_terminate(b), -ENOTCONN);
	assert_int_equal(dext_terminate(a), 0);
	/* Its other clients are cut off. */
	assert_int_equal(dext_get_identity(b, &id), -ECONNRESET);
	assert_int_equal(dext_client_count(c, &n_after), 0);
	assert_int_equal(n_after, n_before - 1);
	assert_int_equal(dext_client_open(c, 3, 0, 0), -ENODEV);
	dext_client_close(a);
	dext_client_close(b);
	dext_client_close(c);
}

#ifdef CONFORMANCE_IOKIT
/* ---- what only the IOKit transport does ---- */

static int by_bus(const void *a, const void *b)
{
	return (int)((const struct dext_identity *)a)->bus - (int)((const struct dext_identity *)b)->bus;
}

static void test_iokit_registry_and_open(void **state)
{
	struct dext_identity ids[8], id;
	struct dext_client *c;
	unsigned int n, count;
	uint64_t size, off;
	int fd;

	(void)state;
	/* The dext's instances only (the shim also registers another vendor's dext). */
	assert_int_equal(dext_iokit_list(ids, 8, &n), 0);
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_count(c, &count), 0);
	dext_client_close(c);
	assert_int_equal(n, count);
	qsort(ids, n < 8 ? n : 8, sizeof(ids[0]), by_bus);
	assert_int_equal(ids[0].bus, 1);
	assert_int_equal(ids[0].vendor, DMATEST_VENDOR_ID);
	assert_int_equal(ids[1].bus, 2);
	/* Opened by location; the dext confirms it. */
	assert_int_equal(dext_client_open_iokit(2, 0, 0, &c), 0);
	assert_string_equal(dext_client_transport(c), "iokit");
	assert_int_equal(dext_get_identity(c, &id), 0);
	assert_int_equal(id.bus, 2);
	/* dextd's control operations are not the dext's. */
	assert_int_equal(dext_client_count(c, &count), -EOPNOTSUPP);
	assert_int_equal(dext_client_open(c, 1, 0, 0), -EOPNOTSUPP);
	assert_int_equal(dext_client_map_memory(c, DEXT_MEM_IRQ_STATE, &fd, &size, &off),
			 -EOPNOTSUPP);
	dext_client_close(c);
	assert_int_equal(dext_client_open_iokit(9, 0, 0, &c), -ENODEV);
	assert_int_equal(dext_client_open_iokit(1, 0x20, 0, &c), -EINVAL);
	/* IOReturn codes come back through dext-abi.h's table. */
	assert_int_equal(dext_iokit_errno((int)0xe00002c2), -EINVAL);
	assert_int_equal(dext_iokit_errno((int)0xe00002d2), -EEXIST);
	assert_int_equal(dext_iokit_errno((int)0xe00002eb), -ECONNRESET);
	assert_int_equal(dext_iokit_errno((int)0xe00002ff), -EIO);
}

/*
 * The completion runs on the dispatch queue's thread; the caller's poll()
 * on dext_client_fd() wakes, and only dext_client_dispatch() reports it.
 */
static void test_iokit_async_wakeup_reaches_event_loop(void **state)
{
	struct dext_client *c = connect_fn(1, true);
	struct pollfd p = { .fd = dext_client_fd(c), .events = POLLIN };
	uint64_t pending[DEXT_IRQ_WORDS], bus, len;
	uint8_t *buf = map_anon(PAGE);
	unsigned int vectors;

	(void)state;
	assert_int_equal(dext_setup_interrupts(c, &vectors), 0);
	assert_int_equal(dext_register_dma(c, 1, buf, PAGE, &bus, &len), 0);
	assert_int_equal(dext_wait_interrupt(c), 0);
	assert_int_equal(dext_wait_interrupt(c), 0);	/* replaces the armed one */
	assert_int_equal(poll(&p, 1, 0), 0);	/* nothing pending yet */
	dmatest_start(c, DMATEST_CMD_FILL, 0, bus, PAGE, 0x5a, 3);
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_true(dext_client_wait_armed(c));
	assert_int_equal(dext_client_dispatch(c), 0);
	assert_true(dext_client_take_wakeup(c));
	assert_false(dext_client_wait_armed(c));
	assert_int_equal(dext_check_interrupt(c, pending), 0);
	assert_true(pending[0] & (1ull << 3));
	/* Closing with a wait armed cancels it without touching freed state. */
	assert_int_equal(buf[PAGE - 1], 0x5a);
	assert_int_equal(dext_wait_interrupt(c), 0);
	dext_client_close(c);
	munmap(buf, PAGE);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef CONFORMANCE_IOKIT
		cmocka_unit_test(test_iokit_registry_and_open),
		cmocka_unit_test(test_iokit_async_wakeup_reaches_event_loop),
#else
		/* dextd's own socket protocol: not the transport's. */
		cmocka_unit_test(test_enum_lists_functions),
		cmocka_unit_test(test_socket_mode_is_0600),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_malformed_messages_keep_daemon_serving),
#endif
		cmocka_unit_test(test_unknown_selector_unsupported),
		cmocka_unit_test(test_every_selector_checks_scalar_counts),
		cmocka_unit_test(test_methods_need_claim),
		cmocka_unit_test(test_claim_is_shared_and_enables_device),
		cmocka_unit_test(test_config_read_synthesises_bars),
		cmocka_unit_test(test_config_write_masks_and_counts_bar_writes),
		cmocka_unit_test(test_get_bar_info),
		cmocka_unit_test(test_mmio_read_write),
		cmocka_unit_test(test_posted_calls),
		cmocka_unit_test(test_posted_wait_and_irq_state_page),
		cmocka_unit_test(test_map_memory_types),
		cmocka_unit_test(test_register_dma_region),
		cmocka_unit_test(test_keys_are_per_client),
		cmocka_unit_test(test_mapping_limit_65537th_fails),
		cmocka_unit_test(test_total_bytes_limit),
		cmocka_unit_test(test_offset_mismatch_counted),
		cmocka_unit_test(test_too_many_chunks_is_no_space),
		cmocka_unit_test(test_dma_buffer_segments),
		cmocka_unit_test(test_dmatest_copy_fill_checksum_through_dart),
		cmocka_unit_test(test_stale_iova_faults_and_writes_nothing),
		cmocka_unit_test(test_shared_memory_in_place),
		cmocka_unit_test(test_bus_master_off_blocks_dma),
		cmocka_unit_test(test_allocate_dma_buffer),
		cmocka_unit_test(test_interrupt_setup_rules),
		cmocka_unit_test(test_interrupt_state_is_per_client),
#ifndef CONFORMANCE_IOKIT
		cmocka_unit_test(test_next_owner_gets_a_fresh_irq_page),
#endif
		cmocka_unit_test(test_wait_interrupt_rearm_replaces),
		cmocka_unit_test(test_msi_only_function_one_vector),
		cmocka_unit_test(test_no_msi_function_not_found),
		cmocka_unit_test(test_wait_interrupt_completes_at_once_if_pending),
		cmocka_unit_test(test_irq_mask_drops_disabled_vectors),
		cmocka_unit_test(test_wait_interrupt_no_lost_wakeup),
		cmocka_unit_test(test_reset_device),
		cmocka_unit_test(test_reset_keeps_pending_bits),
		cmocka_unit_test(test_killed_client_loses_mappings_and_claim),
		cmocka_unit_test(test_shutdown_releases_everything_and_fails_fast),
		cmocka_unit_test(test_terminate_removes_function),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("dextd conformance", tests, group_setup, group_teardown);
}
