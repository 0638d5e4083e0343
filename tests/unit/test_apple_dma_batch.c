// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for the apple-dma-pci batch processor (lib/apple-dma/batch.h).
 *
 * Fake guest RAM: two 16 KiB blocks with a hole between them, backed by one
 * host buffer (block B directly follows block A in host memory, so a
 * processor that bypassed gpa_to_host would corrupt block B and be caught).
 * An optional third block aliases block A. A GPA range can be made
 * read-only (lookups for writing into it fail, as guest_ram does for ROM
 * that QEMU shares without the write flag). The RAM is filled with a guard
 * pattern; every test builds the exact expected image of RAM and compares
 * all of it after the call.
 *
 * Fake dext: a small key table with injectable failures that records calls;
 * bus address of key k is DEXT_BUS(k).
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apple-dma/batch.h"

#define BLK_SIZE	0x4000ULL
#define BLK_A_GPA	0x10000ULL
#define BLK_B_GPA	0x20000ULL	/* hole: [0x14000, 0x20000) */
#define ALIAS_GPA	0x40000ULL	/* aliases block A when enabled */
#define OUTSIDE_GPA	0x30000ULL

#define CMD_GPA		(BLK_A_GPA + 0x100)
#define REQ_GPA		(BLK_A_GPA + 0x1000)
#define DATA_GPA	(BLK_A_GPA + 0x2000)
#define RESP_GPA	(BLK_B_GPA + 0x1000)

#define MAP_REQ_SZ	sizeof(struct apple_dma_map_req)
#define MAP_RESP_SZ	sizeof(struct apple_dma_map_resp)
#define UNMAP_REQ_SZ	sizeof(struct apple_dma_unmap_req)
#define UNMAP_RESP_SZ	sizeof(struct apple_dma_unmap_resp)

#define DEXT_SLOTS	128
#define DEXT_MAX_CALLS	512
#define DEXT_BUS(key)	(0xd00000000000ULL + (key))

static uint8_t ram[2 * BLK_SIZE];
static uint8_t expected[2 * BLK_SIZE];
static bool alias_enabled;
static uint64_t ro_lo, ro_hi;	/* read-only GPAs [ro_lo, ro_hi); empty when equal */

enum dext_op { DEXT_REGISTER, DEXT_UNREGISTER };

struct dext_call {
	enum dext_op op;
	uint64_t key;
	void *hva;
	uint64_t len;
};

static struct {
	struct {
		bool used;
		uint64_t key;
		void *hva;
		uint64_t len;
	} slot[DEXT_SLOTS];
	struct dext_call calls[DEXT_MAX_CALLS];
	unsigned int ncalls;
	bool fail_armed;	/* register of fail_key returns fail_err */
	uint64_t fail_key;
	int fail_err;
	uint64_t bus_len;	/* reported bus length; 0: the registered length */
	void (*hook)(unsigned int call);	/* runs inside every call */
} dext;

static struct apple_dma_batch_env env;
static struct apple_dma_batch_stats stats;

/* ---- fake guest RAM ---- */

static uint8_t *ram_lookup(uint64_t gpa, uint64_t len)
{
	static const struct {
		uint64_t gpa;
		size_t off;
		bool alias;
	} blocks[] = {
		{ BLK_A_GPA, 0, false },
		{ BLK_B_GPA, BLK_SIZE, false },
		{ ALIAS_GPA, 0, true },
	};
	size_t i;

	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		if (blocks[i].alias && !alias_enabled)
			continue;
		if (gpa < blocks[i].gpa || gpa - blocks[i].gpa >= BLK_SIZE)
			continue;
		if (len > BLK_SIZE - (gpa - blocks[i].gpa))
			return NULL;
		return ram + blocks[i].off + (gpa - blocks[i].gpa);
	}
	return NULL;
}

static void *fake_gpa_to_host(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	assert_ptr_equal(opaque, &dext);
	/* The processor promises never to pass these. */
	assert_true(len != 0);
	assert_true(gpa <= UINT64_MAX - len);
	if (write && gpa < ro_hi && ro_lo < gpa + len)
		return NULL;
	return ram_lookup(gpa, len);
}

/* Test-side access: the range must be RAM. */
static uint8_t *host(uint64_t gpa, uint64_t len)
{
	uint8_t *p = ram_lookup(gpa, len);

	assert_non_null(p);
	return p;
}

static uint8_t *exp_host(uint64_t gpa, uint64_t len)
{
	return expected + (host(gpa, len) - ram);
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void wr64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* ---- fake dext ---- */

static void dext_record(enum dext_op op, uint64_t key, void *hva, uint64_t len)
{
	assert_true(dext.ncalls < DEXT_MAX_CALLS);
	dext.calls[dext.ncalls] = (struct dext_call){ op, key, hva, len };
	if (dext.hook)
		dext.hook(dext.ncalls);
	dext.ncalls++;
}

static int fake_register(void *opaque, uint64_t key, void *hva, uint64_t len,
			 uint64_t *bus_addr, uint64_t *bus_len)
{
	int i, free_slot = -1;

	assert_ptr_equal(opaque, &dext);
	dext_record(DEXT_REGISTER, key, hva, len);
	if (dext.fail_armed && key == dext.fail_key)
		return dext.fail_err;
	for (i = 0; i < DEXT_SLOTS; i++) {
		if (dext.slot[i].used && dext.slot[i].key == key)
			return -EEXIST;
		if (!dext.slot[i].used && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	dext.slot[free_slot].used = true;
	dext.slot[free_slot].key = key;
	dext.slot[free_slot].hva = hva;
	dext.slot[free_slot].len = len;
	*bus_addr = DEXT_BUS(key);
	*bus_len = dext.bus_len ? dext.bus_len : len;
	return 0;
}

static int fake_unregister(void *opaque, uint64_t key)
{
	int i;

	assert_ptr_equal(opaque, &dext);
	dext_record(DEXT_UNREGISTER, key, NULL, 0);
	for (i = 0; i < DEXT_SLOTS; i++) {
		if (dext.slot[i].used && dext.slot[i].key == key) {
			dext.slot[i].used = false;
			return 0;
		}
	}
	return -ENOENT;
}

static unsigned int dext_registered(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < DEXT_SLOTS; i++)
		n += dext.slot[i].used;
	return n;
}

/* The dext holds @gpa under key @gpa, for the host pages of [gpa, gpa + len). */
static void assert_dext_has(uint64_t gpa, uint64_t len)
{
	int i;

	for (i = 0; i < DEXT_SLOTS; i++) {
		if (dext.slot[i].used && dext.slot[i].key == gpa) {
			assert_ptr_equal(dext.slot[i].hva, host(gpa, len));
			assert_int_equal(dext.slot[i].len, len);
			return;
		}
	}
	fail_msg("key 0x%llx not registered", (unsigned long long)gpa);
}

/* ---- guest side: write commands and requests into RAM ---- */

static void guest_cmd(uint64_t cmd_gpa, uint32_t type, uint32_t count,
		      uint64_t req_gpa, uint64_t resp_gpa)
{
	uint8_t *c = host(cmd_gpa, sizeof(struct apple_dma_cmd));

	/* status and reserved keep the guard pattern: the device writes status. */
	wr32(c + offsetof(struct apple_dma_cmd, type), type);
	wr32(c + offsetof(struct apple_dma_cmd, count), count);
	wr64(c + offsetof(struct apple_dma_cmd, req_gpa), req_gpa);
	wr64(c + offsetof(struct apple_dma_cmd, resp_gpa), resp_gpa);
}

static void guest_map_req(uint64_t req_gpa, unsigned int i, uint64_t gpa,
			  uint32_t len, uint32_t flags)
{
	uint8_t *r = host(req_gpa + i * MAP_REQ_SZ, MAP_REQ_SZ);

	wr64(r + offsetof(struct apple_dma_map_req, gpa), gpa);
	wr32(r + offsetof(struct apple_dma_map_req, len), len);
	wr32(r + offsetof(struct apple_dma_map_req, flags), flags);
}

static void guest_unmap_req(uint64_t req_gpa, unsigned int i, uint64_t id,
			    uint64_t size)
{
	uint8_t *r = host(req_gpa + i * UNMAP_REQ_SZ, UNMAP_REQ_SZ);

	wr64(r + offsetof(struct apple_dma_unmap_req, id), id);
	wr64(r + offsetof(struct apple_dma_unmap_req, size), size);
}

/* ---- expected RAM image ---- */

/* Call after the guest has written everything: RAM as it must stay. */
static void expect_snapshot(void)
{
	memcpy(expected, ram, sizeof(ram));
}

/* Copy a range the test itself changed mid-batch into the expectation. */
static void expect_mirror(uint64_t gpa, uint64_t len)
{
	memcpy(exp_host(gpa, len), host(gpa, len), len);
}

static void expect_cmd_status(uint64_t cmd_gpa, uint32_t status)
{
	wr32(exp_host(cmd_gpa, sizeof(struct apple_dma_cmd)) +
	     offsetof(struct apple_dma_cmd, status), status);
}

static void expect_map_ok(uint64_t resp_gpa, unsigned int i, uint64_t gpa,
			  uint32_t dma_len)
{
	uint8_t *r = exp_host(resp_gpa + i * MAP_RESP_SZ, MAP_RESP_SZ);

	wr64(r + offsetof(struct apple_dma_map_resp, id), gpa);
	wr64(r + offsetof(struct apple_dma_map_resp, dma_addr), DEXT_BUS(gpa));
	wr32(r + offsetof(struct apple_dma_map_resp, dma_len), dma_len);
	wr32(r + offsetof(struct apple_dma_map_resp, status), APPLE_DMA_STATUS_OK);
}

/* A failed MAP entry: only status is written. */
static void expect_map_status(uint64_t resp_gpa, unsigned int i, uint32_t status)
{
	uint8_t *r = exp_host(resp_gpa + i * MAP_RESP_SZ, MAP_RESP_SZ);

	wr32(r + offsetof(struct apple_dma_map_resp, status), status);
}

static void expect_unmap(uint64_t resp_gpa, unsigned int i, uint64_t id,
			 uint32_t status)
{
	uint8_t *r = exp_host(resp_gpa + i * UNMAP_RESP_SZ, UNMAP_RESP_SZ);

	wr64(r + offsetof(struct apple_dma_unmap_resp, id), id);
	wr32(r + offsetof(struct apple_dma_unmap_resp, status), status);
	wr32(r + offsetof(struct apple_dma_unmap_resp, reserved), 0);
}

/* Every byte of fake RAM equals the expectation. */
static void assert_ram_expected(void)
{
	size_t i;

	for (i = 0; i < sizeof(ram); i++) {
		if (ram[i] != expected[i])
			fail_msg("RAM byte at %s+0x%zx is 0x%02x, expected 0x%02x",
				 i < BLK_SIZE ? "A" : "B", (size_t)(i % BLK_SIZE),
				 ram[i], expected[i]);
	}
}

static uint32_t process(uint64_t cmd_gpa)
{
	return apple_dma_batch_process(&env, cmd_gpa, &stats);
}

/*
 * Run a batch that must be rejected as a whole after the command page was
 * read: INVAL in the command page only, no dext call, no response.
 */
static void check_rejected(uint64_t cmd_gpa, enum apple_dma_batch_reject reason)
{
	expect_snapshot();
	expect_cmd_status(cmd_gpa, APPLE_DMA_STATUS_INVAL);
	assert_int_equal(process(cmd_gpa), APPLE_DMA_STATUS_INVAL);
	assert_ram_expected();
	assert_int_equal(dext.ncalls, 0);
	assert_int_equal(stats.invalid_batches, 1);
	assert_int_equal(stats.entries, 0);
	assert_int_equal(stats.last_reject, reason);
}

/* R1: INVAL with RAM untouched entirely. */
static void check_rejected_silently(uint64_t cmd_gpa,
				    enum apple_dma_batch_reject reason)
{
	expect_snapshot();
	assert_int_equal(process(cmd_gpa), APPLE_DMA_STATUS_INVAL);
	assert_ram_expected();
	assert_int_equal(dext.ncalls, 0);
	assert_int_equal(stats.invalid_batches, 1);
	assert_int_equal(stats.last_reject, reason);
}

/* A valid one-entry MAP batch at the usual places. */
static void guest_one_map(void)
{
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, RESP_GPA);
}

static int setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ram); i++)
		ram[i] = (uint8_t)(0xa5 ^ (i * 7) ^ (i >> 8));
	memset(&dext, 0, sizeof(dext));
	memset(&stats, 0, sizeof(stats));
	alias_enabled = false;
	ro_lo = ro_hi = 0;
	env = (struct apple_dma_batch_env){
		.gpa_to_host = fake_gpa_to_host,
		.dma_register = fake_register,
		.dma_unregister = fake_unregister,
		.opaque = &dext,
		.max_entries = 16,
	};
	return 0;
}

/* ---- R1: command page ---- */

static void test_apple_dma_batch_process_cmd_gpa_zero(void **state)
{
	(void)state;
	guest_one_map();
	check_rejected_silently(0, APPLE_DMA_BATCH_REJECT_CMD_GPA_ZERO);
}

static void test_apple_dma_batch_process_cmd_page_outside_ram(void **state)
{
	(void)state;
	guest_one_map();
	check_rejected_silently(OUTSIDE_GPA, APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM);
}

static void test_apple_dma_batch_process_cmd_page_crosses_hole(void **state)
{
	(void)state;
	guest_one_map();
	check_rejected_silently(BLK_A_GPA + BLK_SIZE - 16,
				APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM);
}

static void test_apple_dma_batch_process_cmd_page_wraps(void **state)
{
	(void)state;
	guest_one_map();
	check_rejected_silently(UINT64_MAX - 15, APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM);
}

/* Ours: the status is written into the command page, so read-only RAM is refused. */
static void test_apple_dma_batch_process_cmd_page_read_only(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_cmd(BLK_B_GPA + 0x100, APPLE_DMA_CMD_MAP, 1, REQ_GPA, RESP_GPA);
	ro_lo = BLK_B_GPA;
	ro_hi = BLK_B_GPA + 0x1000;
	check_rejected_silently(BLK_B_GPA + 0x100, APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM);
}

/* ---- R2: command page fields ---- */

static void test_apple_dma_batch_process_count_zero(void **state)
{
	(void)state;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 0, REQ_GPA, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_BAD_COUNT);
}

static void test_apple_dma_batch_process_count_above_max(void **state)
{
	(void)state;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 17, REQ_GPA, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_BAD_COUNT);
}

static void test_apple_dma_batch_process_count_huge(void **state)
{
	(void)state;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, UINT32_MAX, REQ_GPA, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_BAD_COUNT);
}

static void test_apple_dma_batch_process_max_entries_zero(void **state)
{
	(void)state;
	env.max_entries = 0;
	guest_one_map();
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_BAD_COUNT);
}

static void test_apple_dma_batch_process_req_gpa_zero(void **state)
{
	(void)state;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, 0, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_REQ_GPA_ZERO);
}

static void test_apple_dma_batch_process_resp_gpa_zero(void **state)
{
	(void)state;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, 0);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_RESP_GPA_ZERO);
}

static void test_apple_dma_batch_process_unknown_type(void **state)
{
	static const uint32_t types[] = { 0, 3, 0x100, UINT32_MAX };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		setup(state);
		guest_one_map();
		guest_cmd(CMD_GPA, types[i], 1, REQ_GPA, RESP_GPA);
		check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_BAD_TYPE);
	}
}

/* ---- R3: arrays ---- */

static void test_apple_dma_batch_process_req_crosses_hole(void **state)
{
	uint64_t req = BLK_A_GPA + BLK_SIZE - MAP_REQ_SZ;

	(void)state;
	guest_map_req(req, 0, DATA_GPA, 0x1000, 0);	/* entry 1 would be in the hole */
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, req, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_REQ_NOT_RAM);
}

static void test_apple_dma_batch_process_resp_outside_ram(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, OUTSIDE_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM);
}

static void test_apple_dma_batch_process_resp_read_only(void **state)
{
	(void)state;
	guest_one_map();
	ro_lo = RESP_GPA + MAP_RESP_SZ - 1;	/* only the last byte */
	ro_hi = RESP_GPA + MAP_RESP_SZ;
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM);
}

/* Requests are only read: read-only RAM is fine for them. */
static void test_apple_dma_batch_process_req_read_only_ok(void **state)
{
	(void)state;
	guest_one_map();
	ro_lo = REQ_GPA;
	ro_hi = REQ_GPA + MAP_REQ_SZ;
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, 0x1000);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
	assert_dext_has(DATA_GPA, 0x1000);
}

/* The response array's size depends on the type: 24 bytes MAP, 16 UNMAP. */
static void test_apple_dma_batch_process_resp_size_per_type(void **state)
{
	uint64_t resp = BLK_B_GPA + BLK_SIZE - 2 * UNMAP_RESP_SZ;

	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, DATA_GPA + 0x1000, 0x1000, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, REQ_GPA, resp);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM);

	setup(state);
	guest_unmap_req(REQ_GPA, 0, DATA_GPA, 0x1000);
	guest_unmap_req(REQ_GPA, 1, DATA_GPA + 0x1000, 0x1000);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_UNMAP, 2, REQ_GPA, resp);
	expect_snapshot();
	expect_unmap(resp, 0, DATA_GPA, APPLE_DMA_STATUS_IOERR);
	expect_unmap(resp, 1, DATA_GPA + 0x1000, APPLE_DMA_STATUS_IOERR);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();
}

static void test_apple_dma_batch_process_req_gpa_overflow(void **state)
{
	(void)state;
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, UINT64_MAX - MAP_REQ_SZ + 1,
		  RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_REQ_NOT_RAM);

	/* Small start, wrapping end through count. */
	setup(state);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 16, UINT64_MAX - 0x80, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_REQ_NOT_RAM);
}

static void test_apple_dma_batch_process_resp_gpa_overflow(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, UINT64_MAX - 8);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM);
}

static void test_apple_dma_batch_process_req_overlaps_resp(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, DATA_GPA + 0x1000, 0x1000, 0);
	/* Responses 24 bytes from the start of the requests. */
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, REQ_GPA, REQ_GPA + MAP_REQ_SZ);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_OVERLAP);
}

static void test_apple_dma_batch_process_resp_overlaps_req_end(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, DATA_GPA + 0x1000, 0x1000, 0);
	/* Responses below the requests, last byte inside them. */
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, REQ_GPA,
		  REQ_GPA - 2 * MAP_RESP_SZ + 1);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_OVERLAP);
}

static void test_apple_dma_batch_process_cmd_overlaps_req(void **state)
{
	uint64_t req = CMD_GPA + sizeof(struct apple_dma_cmd) - 1;

	(void)state;
	guest_map_req(req, 0, DATA_GPA, 0x1000, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, req, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_OVERLAP);
}

static void test_apple_dma_batch_process_cmd_overlaps_resp(void **state)
{
	(void)state;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, CMD_GPA - 8);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_OVERLAP);
}

/* Different GPAs, same host memory: still an overlap. */
static void test_apple_dma_batch_process_alias_overlap(void **state)
{
	(void)state;
	alias_enabled = true;
	guest_one_map();
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA,
		  ALIAS_GPA + (REQ_GPA - BLK_A_GPA));
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_OVERLAP);
}

/* Back to back without overlap is fine. */
static void test_apple_dma_batch_process_adjacent_ranges(void **state)
{
	uint64_t req = CMD_GPA + sizeof(struct apple_dma_cmd);
	uint64_t resp = req + 2 * MAP_REQ_SZ;

	(void)state;
	guest_map_req(req, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(req, 1, DATA_GPA + 0x1000, 0x800, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, req, resp);
	expect_snapshot();
	expect_map_ok(resp, 0, DATA_GPA, 0x1000);
	expect_map_ok(resp, 1, DATA_GPA + 0x1000, 0x800);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
}

/* ---- R4: MAP entries ---- */

static void test_apple_dma_batch_process_map_ok(void **state)
{
	(void)state;
	guest_one_map();
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, 0x1000);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);

	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
	assert_int_equal(dext.ncalls, 1);
	assert_int_equal(dext.calls[0].op, DEXT_REGISTER);
	assert_dext_has(DATA_GPA, 0x1000);
	assert_int_equal(stats.batches, 1);
	assert_int_equal(stats.entries, 1);
	assert_int_equal(stats.map_ok, 1);
	assert_int_equal(stats.map_failed, 0);
	assert_int_equal(stats.invalid_batches, 0);
	assert_int_equal(stats.failed_batches, 0);
}

/* A failing single-entry MAP: entry @status, batch IOERR, only status written. */
static void check_map_entry_fails(uint64_t gpa, uint32_t len, uint32_t flags,
				  uint32_t status)
{
	guest_map_req(REQ_GPA, 0, gpa, len, flags);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, RESP_GPA);
	expect_snapshot();
	expect_map_status(RESP_GPA, 0, status);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);

	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();
	assert_int_equal(dext_registered(), 0);
	assert_int_equal(stats.map_failed, 1);
	assert_int_equal(stats.failed_batches, 1);
}

static void test_apple_dma_batch_process_map_len_zero(void **state)
{
	(void)state;
	check_map_entry_fails(DATA_GPA, 0, 0, APPLE_DMA_STATUS_INVAL);
	assert_int_equal(dext.ncalls, 0);
}

static void test_apple_dma_batch_process_map_flags_nonzero(void **state)
{
	(void)state;
	check_map_entry_fails(DATA_GPA, 0x1000, 1, APPLE_DMA_STATUS_INVAL);
	assert_int_equal(dext.ncalls, 0);
	setup(state);
	check_map_entry_fails(DATA_GPA, 0x1000, 0x80000000, APPLE_DMA_STATUS_INVAL);
	assert_int_equal(dext.ncalls, 0);
}

static void test_apple_dma_batch_process_map_crosses_hole(void **state)
{
	(void)state;
	check_map_entry_fails(BLK_A_GPA + BLK_SIZE - 0x100, 0x200, 0,
			      APPLE_DMA_STATUS_IOERR);
	assert_int_equal(dext.ncalls, 0);
}

/* Ours: the device could write what it may read, so read-only RAM is not mapped. */
static void test_apple_dma_batch_process_map_read_only(void **state)
{
	(void)state;
	ro_lo = DATA_GPA + 0xfff;
	ro_hi = DATA_GPA + 0x1000;
	check_map_entry_fails(DATA_GPA, 0x1000, 0, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(dext.ncalls, 0);
}

static void test_apple_dma_batch_process_map_outside_ram(void **state)
{
	(void)state;
	check_map_entry_fails(OUTSIDE_GPA, 0x1000, 0, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(dext.ncalls, 0);
}

static void test_apple_dma_batch_process_map_gpa_wraps(void **state)
{
	(void)state;
	check_map_entry_fails(UINT64_MAX - 0xff, 0x1000, 0, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(dext.ncalls, 0);
}

static void test_apple_dma_batch_process_map_register_fails(void **state)
{
	(void)state;
	dext.fail_armed = true;
	dext.fail_key = DATA_GPA;
	dext.fail_err = -ENOSPC;
	check_map_entry_fails(DATA_GPA, 0x1000, 0, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(dext.ncalls, 1);
	assert_int_equal(dext.calls[0].key, DATA_GPA);
	assert_ptr_equal(dext.calls[0].hva, host(DATA_GPA, 0x1000));
	assert_int_equal(dext.calls[0].len, 0x1000);
}

/* The dext rejects a second registration under the same key. */
static void test_apple_dma_batch_process_map_duplicate_key(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, DATA_GPA, 0x800, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, REQ_GPA, RESP_GPA);
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, 0x1000);
	expect_map_status(RESP_GPA, 1, APPLE_DMA_STATUS_IOERR);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);

	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();
	assert_int_equal(dext_registered(), 1);
	assert_dext_has(DATA_GPA, 0x1000);
}

static void test_apple_dma_batch_process_map_dma_len_clamped(void **state)
{
	(void)state;
	dext.bus_len = 0x100000005ULL;
	guest_one_map();
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, UINT32_MAX);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
}

/* A short bus range is reported as is: the guest checks dma_len >= len. */
static void test_apple_dma_batch_process_map_dma_len_short(void **state)
{
	(void)state;
	dext.bus_len = 0x400;
	guest_one_map();
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, 0x400);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
}

/* Unaligned arrays and a map range in the second block. */
static void test_apple_dma_batch_process_map_unaligned(void **state)
{
	uint64_t cmd = BLK_B_GPA + 0x3;
	uint64_t req = BLK_A_GPA + 0x5;
	uint64_t resp = BLK_B_GPA + 0x101;
	uint64_t gpa = BLK_B_GPA + 0x2001;

	(void)state;
	guest_map_req(req, 0, gpa, 0xfff, 0);
	guest_cmd(cmd, APPLE_DMA_CMD_MAP, 1, req, resp);
	expect_snapshot();
	expect_map_ok(resp, 0, gpa, 0xfff);
	expect_cmd_status(cmd, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(cmd), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
	assert_dext_has(gpa, 0xfff);
}

/* ---- R6: mixed batches ---- */

static void test_apple_dma_batch_process_map_mixed(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, BLK_A_GPA + BLK_SIZE - 0x10, 0x20, 0);
	guest_map_req(REQ_GPA, 2, BLK_B_GPA + 0x3000, 0x1000, 0);
	guest_map_req(REQ_GPA, 3, DATA_GPA + 0x1000, 0x1000, 2);
	guest_map_req(REQ_GPA, 4, DATA_GPA + 0x1800, 0, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 5, REQ_GPA, RESP_GPA);
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, 0x1000);
	expect_map_status(RESP_GPA, 1, APPLE_DMA_STATUS_IOERR);
	expect_map_ok(RESP_GPA, 2, BLK_B_GPA + 0x3000, 0x1000);
	expect_map_status(RESP_GPA, 3, APPLE_DMA_STATUS_INVAL);
	expect_map_status(RESP_GPA, 4, APPLE_DMA_STATUS_INVAL);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);

	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();
	/* No rollback: the successful entries stay registered. */
	assert_int_equal(dext_registered(), 2);
	assert_dext_has(DATA_GPA, 0x1000);
	assert_dext_has(BLK_B_GPA + 0x3000, 0x1000);
	assert_int_equal(stats.entries, 5);
	assert_int_equal(stats.map_ok, 2);
	assert_int_equal(stats.map_failed, 3);
	assert_int_equal(stats.failed_batches, 1);
	assert_int_equal(stats.invalid_batches, 0);
}

/* ---- R5: UNMAP entries ---- */

static void test_apple_dma_batch_process_unmap_unknown_id(void **state)
{
	(void)state;
	guest_unmap_req(REQ_GPA, 0, 0x123456789abcULL, 0x1000);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_UNMAP, 1, REQ_GPA, RESP_GPA);
	expect_snapshot();
	expect_unmap(RESP_GPA, 0, 0x123456789abcULL, APPLE_DMA_STATUS_IOERR);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);

	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();
	assert_int_equal(dext.ncalls, 1);
	assert_int_equal(dext.calls[0].op, DEXT_UNREGISTER);
	assert_int_equal(dext.calls[0].key, 0x123456789abcULL);
	assert_int_equal(stats.unmap_failed, 1);
	assert_int_equal(stats.unmap_ok, 0);
}

/* Map two ranges, unmap by the returned ids, unmap again: unknown. */
static void test_apple_dma_batch_process_map_unmap_round_trip(void **state)
{
	uint64_t id0, id1;

	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, BLK_B_GPA + 0x3000, 0x800, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 2, REQ_GPA, RESP_GPA);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_int_equal(dext_registered(), 2);
	id0 = rd64(host(RESP_GPA, MAP_RESP_SZ) + offsetof(struct apple_dma_map_resp, id));
	id1 = rd64(host(RESP_GPA + MAP_RESP_SZ, MAP_RESP_SZ) +
		   offsetof(struct apple_dma_map_resp, id));
	assert_int_equal(id0, DATA_GPA);
	assert_int_equal(id1, BLK_B_GPA + 0x3000);

	/* Unmap in reverse order; size is informational. */
	guest_unmap_req(REQ_GPA, 0, id1, 0);
	guest_unmap_req(REQ_GPA, 1, id0, 0xdead);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_UNMAP, 2, REQ_GPA, RESP_GPA);
	expect_snapshot();
	expect_unmap(RESP_GPA, 0, id1, APPLE_DMA_STATUS_OK);
	expect_unmap(RESP_GPA, 1, id0, APPLE_DMA_STATUS_OK);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
	assert_int_equal(dext_registered(), 0);

	expect_snapshot();
	expect_unmap(RESP_GPA, 0, id1, APPLE_DMA_STATUS_IOERR);
	expect_unmap(RESP_GPA, 1, id0, APPLE_DMA_STATUS_IOERR);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();

	assert_int_equal(stats.batches, 3);
	assert_int_equal(stats.entries, 6);
	assert_int_equal(stats.map_ok, 2);
	assert_int_equal(stats.unmap_ok, 2);
	assert_int_equal(stats.unmap_failed, 2);
	assert_int_equal(stats.failed_batches, 1);
}

static void test_apple_dma_batch_process_unmap_mixed(void **state)
{
	(void)state;
	guest_one_map();
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);

	guest_unmap_req(REQ_GPA, 0, 0x777, 0x1000);
	guest_unmap_req(REQ_GPA, 1, DATA_GPA, 0x1000);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_UNMAP, 2, REQ_GPA, RESP_GPA);
	expect_snapshot();
	expect_unmap(RESP_GPA, 0, 0x777, APPLE_DMA_STATUS_IOERR);
	expect_unmap(RESP_GPA, 1, DATA_GPA, APPLE_DMA_STATUS_OK);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_IOERR);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);
	assert_ram_expected();
	assert_int_equal(dext_registered(), 0);
}

/* ---- limits ---- */

/*
 * count == max_entries is accepted, one more is not. 40 entries also
 * exceeds the processor's on-stack snapshot, exercising the heap path.
 */
static void test_apple_dma_batch_process_max_entries_boundary(void **state)
{
	const uint32_t max = 40;
	unsigned int i;

	(void)state;
	env.max_entries = max;
	for (i = 0; i < max; i++)
		guest_map_req(REQ_GPA, i, DATA_GPA + i * 0x40, 0x40, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, max, REQ_GPA, RESP_GPA);
	expect_snapshot();
	for (i = 0; i < max; i++)
		expect_map_ok(RESP_GPA, i, DATA_GPA + i * 0x40, 0x40);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
	assert_int_equal(dext_registered(), max);
	assert_int_equal(stats.map_ok, max);

	setup(state);
	env.max_entries = max;
	for (i = 0; i < max + 1; i++)
		guest_map_req(REQ_GPA, i, DATA_GPA + i * 0x40, 0x40, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, max + 1, REQ_GPA, RESP_GPA);
	check_rejected(CMD_GPA, APPLE_DMA_BATCH_REJECT_BAD_COUNT);
}

/* ---- concurrency: the guest rewrites its buffers mid-batch ---- */

/* Runs inside the first dext call, as another vCPU would. */
static void rewrite_hook(unsigned int call)
{
	uint8_t *c = host(CMD_GPA, sizeof(struct apple_dma_cmd));

	if (call != 0)
		return;
	guest_map_req(REQ_GPA, 1, BLK_B_GPA + 0x3800, 0, 7);
	guest_map_req(REQ_GPA, 2, OUTSIDE_GPA, 0x1000, 0);
	wr32(c + offsetof(struct apple_dma_cmd, type), APPLE_DMA_CMD_UNMAP);
	wr32(c + offsetof(struct apple_dma_cmd, count), 1);
	wr64(c + offsetof(struct apple_dma_cmd, resp_gpa), BLK_B_GPA + 0x3000);
	/* These changes are the guest's, not the device's. */
	expect_mirror(REQ_GPA + MAP_REQ_SZ, 2 * MAP_REQ_SZ);
	expect_mirror(CMD_GPA, offsetof(struct apple_dma_cmd, status));
	expect_mirror(CMD_GPA + offsetof(struct apple_dma_cmd, req_gpa), 16);
}

static void test_apple_dma_batch_process_snapshot_requests(void **state)
{
	(void)state;
	guest_map_req(REQ_GPA, 0, DATA_GPA, 0x1000, 0);
	guest_map_req(REQ_GPA, 1, DATA_GPA + 0x1000, 0x800, 0);
	guest_map_req(REQ_GPA, 2, BLK_B_GPA + 0x2000, 0x1000, 0);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 3, REQ_GPA, RESP_GPA);
	dext.hook = rewrite_hook;
	expect_snapshot();
	expect_map_ok(RESP_GPA, 0, DATA_GPA, 0x1000);
	expect_map_ok(RESP_GPA, 1, DATA_GPA + 0x1000, 0x800);
	expect_map_ok(RESP_GPA, 2, BLK_B_GPA + 0x2000, 0x1000);
	expect_cmd_status(CMD_GPA, APPLE_DMA_STATUS_OK);

	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_ram_expected();
	assert_int_equal(dext.ncalls, 3);
	assert_int_equal(dext_registered(), 3);
	assert_dext_has(DATA_GPA + 0x1000, 0x800);
	assert_dext_has(BLK_B_GPA + 0x2000, 0x1000);
}

/* ---- stats and helpers ---- */

static void test_apple_dma_batch_process_stats_null(void **state)
{
	(void)state;
	guest_one_map();
	assert_int_equal(apple_dma_batch_process(&env, CMD_GPA, NULL),
			 APPLE_DMA_STATUS_OK);
	assert_int_equal(apple_dma_batch_process(&env, 0, NULL),
			 APPLE_DMA_STATUS_INVAL);
	assert_dext_has(DATA_GPA, 0x1000);
}

static void test_apple_dma_batch_process_stats_accumulate(void **state)
{
	(void)state;
	guest_one_map();
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_OK);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_IOERR);	/* duplicate */
	assert_int_equal(process(0), APPLE_DMA_STATUS_INVAL);
	guest_cmd(CMD_GPA, APPLE_DMA_CMD_MAP, 1, REQ_GPA, REQ_GPA);
	assert_int_equal(process(CMD_GPA), APPLE_DMA_STATUS_INVAL);

	assert_int_equal(stats.batches, 4);
	assert_int_equal(stats.invalid_batches, 2);
	assert_int_equal(stats.failed_batches, 1);
	assert_int_equal(stats.entries, 2);
	assert_int_equal(stats.map_ok, 1);
	assert_int_equal(stats.map_failed, 1);
	assert_int_equal(stats.unmap_ok, 0);
	assert_int_equal(stats.unmap_failed, 0);
	assert_int_equal(stats.nomem, 0);
	assert_int_equal(stats.last_reject, APPLE_DMA_BATCH_REJECT_OVERLAP);
}

static void test_apple_dma_batch_reject_str_all(void **state)
{
	int r, s;

	(void)state;
	for (r = APPLE_DMA_BATCH_REJECT_NONE; r <= APPLE_DMA_BATCH_REJECT_OVERLAP; r++) {
		const char *a = apple_dma_batch_reject_str(r);

		assert_non_null(a);
		assert_string_not_equal(a, "unknown");
		for (s = APPLE_DMA_BATCH_REJECT_NONE; s < r; s++)
			assert_string_not_equal(a, apple_dma_batch_reject_str(s));
	}
	assert_string_equal(apple_dma_batch_reject_str(APPLE_DMA_BATCH_REJECT_OVERLAP + 1),
			    "unknown");
	assert_string_equal(apple_dma_batch_reject_str(-1), "unknown");
}

#define BATCH_TEST(f)	cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BATCH_TEST(test_apple_dma_batch_process_cmd_gpa_zero),
		BATCH_TEST(test_apple_dma_batch_process_cmd_page_outside_ram),
		BATCH_TEST(test_apple_dma_batch_process_cmd_page_crosses_hole),
		BATCH_TEST(test_apple_dma_batch_process_cmd_page_wraps),
		BATCH_TEST(test_apple_dma_batch_process_cmd_page_read_only),
		BATCH_TEST(test_apple_dma_batch_process_count_zero),
		BATCH_TEST(test_apple_dma_batch_process_count_above_max),
		BATCH_TEST(test_apple_dma_batch_process_count_huge),
		BATCH_TEST(test_apple_dma_batch_process_max_entries_zero),
		BATCH_TEST(test_apple_dma_batch_process_req_gpa_zero),
		BATCH_TEST(test_apple_dma_batch_process_resp_gpa_zero),
		BATCH_TEST(test_apple_dma_batch_process_unknown_type),
		BATCH_TEST(test_apple_dma_batch_process_req_crosses_hole),
		BATCH_TEST(test_apple_dma_batch_process_resp_outside_ram),
		BATCH_TEST(test_apple_dma_batch_process_resp_read_only),
		BATCH_TEST(test_apple_dma_batch_process_req_read_only_ok),
		BATCH_TEST(test_apple_dma_batch_process_resp_size_per_type),
		BATCH_TEST(test_apple_dma_batch_process_req_gpa_overflow),
		BATCH_TEST(test_apple_dma_batch_process_resp_gpa_overflow),
		BATCH_TEST(test_apple_dma_batch_process_req_overlaps_resp),
		BATCH_TEST(test_apple_dma_batch_process_resp_overlaps_req_end),
		BATCH_TEST(test_apple_dma_batch_process_cmd_overlaps_req),
		BATCH_TEST(test_apple_dma_batch_process_cmd_overlaps_resp),
		BATCH_TEST(test_apple_dma_batch_process_alias_overlap),
		BATCH_TEST(test_apple_dma_batch_process_adjacent_ranges),
		BATCH_TEST(test_apple_dma_batch_process_map_ok),
		BATCH_TEST(test_apple_dma_batch_process_map_len_zero),
		BATCH_TEST(test_apple_dma_batch_process_map_flags_nonzero),
		BATCH_TEST(test_apple_dma_batch_process_map_crosses_hole),
		BATCH_TEST(test_apple_dma_batch_process_map_read_only),
		BATCH_TEST(test_apple_dma_batch_process_map_outside_ram),
		BATCH_TEST(test_apple_dma_batch_process_map_gpa_wraps),
		BATCH_TEST(test_apple_dma_batch_process_map_register_fails),
		BATCH_TEST(test_apple_dma_batch_process_map_duplicate_key),
		BATCH_TEST(test_apple_dma_batch_process_map_dma_len_clamped),
		BATCH_TEST(test_apple_dma_batch_process_map_dma_len_short),
		BATCH_TEST(test_apple_dma_batch_process_map_unaligned),
		BATCH_TEST(test_apple_dma_batch_process_map_mixed),
		BATCH_TEST(test_apple_dma_batch_process_unmap_unknown_id),
		BATCH_TEST(test_apple_dma_batch_process_map_unmap_round_trip),
		BATCH_TEST(test_apple_dma_batch_process_unmap_mixed),
		BATCH_TEST(test_apple_dma_batch_process_max_entries_boundary),
		BATCH_TEST(test_apple_dma_batch_process_snapshot_requests),
		BATCH_TEST(test_apple_dma_batch_process_stats_null),
		BATCH_TEST(test_apple_dma_batch_process_stats_accumulate),
		BATCH_TEST(test_apple_dma_batch_reject_str_all),
	};

	return cmocka_run_group_tests_name("apple_dma_batch", tests, NULL, NULL);
}
