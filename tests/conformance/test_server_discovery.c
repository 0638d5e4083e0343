// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The server's own discovery (server/dext-discovery.c, what
 * passthrough_create() builds the endpoint from) against a real dextd
 * modelling the reference dext: what the server concludes about BARs and
 * interrupts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vfio-apple/dmatest-regs.h>

#include "dext-client/dext-client.h"
#include "dext-discovery.h"
#include "dextd-harness.h"

#define WAIT_MS		10000

static struct dextd_proc daemon_proc;

/* 01:00.0 MSI-X; 02:00.0 MSI only; 03:00.0 neither. */
static const char *const functions[] = {
	"dmatest,bdf=01:00.0",
	"dmatest,bdf=02:00.0,irq=msi",
	"dmatest,bdf=03:00.0,irq=none",
	NULL,
};

DEXTD_GROUP_FIXTURES(daemon_proc, functions)

/* A claimed user client of bus:00.0, as dext_link_open() makes it. */
static struct dext_client *claimed(unsigned int bus)
{
	struct dext_client *c;

	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_open(c, bus, 0, 0), 0);
	assert_int_equal(dext_claim(c), 0);
	return c;
}

/* dmatest: BAR0 32-bit trapped, BAR2 64-bit mappable (BAR3 its upper half), BAR4. */
static void assert_dmatest_bar_layout(const struct dext_discovery *d)
{
	assert_int_equal(d->bars[0].size, DMATEST_BAR0_SIZE);
	assert_int_equal(d->bars[0].memory_index, 0);
	/* Absent BARs and the upper half answer ENOENT: skipped, not fatal. */
	assert_int_equal(d->bars[1].size, 0);
	assert_int_equal(d->bars[2].size, DMATEST_BAR2_SIZE);
	assert_true(d->bars[2].type & DEXT_BAR_TYPE_MEM64);
	/* PCIDriverKit's memory index counts implemented BARs. */
	assert_int_equal(d->bars[2].memory_index, 1);
	assert_int_equal(d->bars[3].size, 0);
	assert_int_equal(d->bars[4].size, DMATEST_BAR4_SIZE);
	assert_int_equal(d->bars[4].memory_index, 2);
	assert_int_equal(d->bars[5].size, 0);
	/* Only the mappable BAR is handed out; the others trap. */
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++)
		if (i != 2) {
			assert_int_equal(d->bars[i].fd, -1);
			assert_null(d->bars[i].map);
		}
}

static void test_msix_function(void **state)
{
	struct dext_client *c = claimed(1);
	struct dext_discovery d;
	uint64_t zero[DEXT_IRQ_WORDS] = { 0 };

	(void)state;
	assert_int_equal(dext_discover(c, false, &d), 0);
	assert_int_equal(d.id.vendor, DMATEST_VENDOR_ID);
	assert_int_equal(d.vectors, DMATEST_MSIX_VECTORS);
	assert_int_not_equal(d.msix_cap, 0);
	/* MSI-X: nothing enabled until the guest enables it. */
	assert_memory_equal(d.irq_mask, zero, sizeof(zero));
	assert_int_not_equal(d.caps.pcie, 0);
	assert_dmatest_bar_layout(&d);
	/* The socket transport passes BAR2 as an fd for QEMU to map. */
	assert_true(d.bars[2].fd >= 0);
	assert_null(d.bars[2].map);
	dext_discovery_release(c, &d);
	assert_int_equal(d.bars[2].fd, -1);
	dext_client_close(c);
}

static void test_bars_by_server(void **state)
{
	struct dext_client *c = claimed(1);
	struct dext_discovery d;
	uint64_t v = 0;

	(void)state;
	assert_int_equal(dext_discover(c, true, &d), 0);
	assert_dmatest_bar_layout(&d);
	/* The server's own mapping of BAR2 is the BAR the dext's MMIORead sees. */
	assert_int_equal(d.bars[2].fd, -1);
	assert_non_null(d.bars[2].map);
	assert_true(d.bars[2].map_size >= DMATEST_BAR2_SIZE);
	*(volatile uint32_t *)(void *)(d.bars[2].map + 0x40) = 0x5eed1234;
	assert_int_equal(dext_mmio_read(c, d.bars[2].memory_index, 0x40, 4, &v), 0);
	assert_int_equal(v, 0x5eed1234);
	dext_discovery_release(c, &d);
	assert_null(d.bars[2].map);
	dext_client_close(c);
}

static void test_msi_fallback(void **state)
{
	struct dext_client *c = claimed(2);
	struct dext_discovery d;

	(void)state;
	assert_int_equal(dext_discover(c, false, &d), 0);
	/* No MSI-X: the dext falls back to MSI with one vector, left enabled. */
	assert_int_equal(d.msix_cap, 0);
	assert_int_equal(d.vectors, 1);
	assert_int_not_equal(d.caps.msi, 0);
	assert_true(d.caps.msi_len >= 10);
	assert_int_equal(d.irq_mask[0], 1);
	dext_discovery_release(c, &d);
	dext_client_close(c);
}

static void test_no_interrupts(void **state)
{
	struct dext_client *c = claimed(3);
	struct dext_discovery d;

	(void)state;
	/* Neither MSI-X nor MSI: a clear error, nothing left open. */
	assert_int_equal(dext_discover(c, false, &d), -ENOENT);
	for (unsigned int i = 0; i < DEXT_BAR_COUNT; i++)
		assert_int_equal(d.bars[i].fd, -1);
	dext_client_close(c);
}

static void test_not_claimed(void **state)
{
	struct dext_client *c;
	struct dext_discovery d;

	(void)state;
	assert_int_equal(dext_client_connect(daemon_proc.socket, WAIT_MS, &c), 0);
	assert_int_equal(dext_client_open(c, 1, 0, 0), 0);
	/* Without the claim the dext refuses SetupInterrupts; the server stops there. */
	assert_int_equal(dext_discover(c, false, &d), -ENOTCONN);
	dext_client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msix_function),
		cmocka_unit_test(test_bars_by_server),
		cmocka_unit_test(test_msi_fallback),
		cmocka_unit_test(test_no_interrupts),
		cmocka_unit_test(test_not_claimed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
