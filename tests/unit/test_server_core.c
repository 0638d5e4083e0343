// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the server's pure parts: the config-space write filter,
 * the guest RAM table (with the batch processor on top of it, as the
 * apple-dma endpoint uses them), the registration table and the log rate
 * limiter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apple-dma/batch.h"

#include "config-filter.h"
#include "guest-ram.h"
#include "ram-alias.h"
#include "ram-share.h"
#include "ratelimit.h"
#include "reg-table.h"

static int filter(uint32_t off, const void *data, size_t len, struct config_write_op *ops)
{
	return config_filter_write(NULL, off, data, len, ops, 64);
}

static void test_config_filter_command_forwarded_bytewise(void **state)
{
	struct config_write_op ops[64];
	const uint8_t v[2] = { 0x06, 0x04 };

	(void)state;
	assert_int_equal(filter(0x04, v, 2, ops), 2);
	assert_int_equal(ops[0].offset, 0x04);
	assert_int_equal(ops[0].width, 1);
	assert_int_equal(ops[0].value, 0x06);
	assert_int_equal(ops[1].offset, 0x05);
	assert_int_equal(ops[1].width, 1);
	assert_int_equal(ops[1].value, 0x04);
}

static void test_config_filter_command_status_dword_drops_status(void **state)
{
	struct config_write_op ops[64];
	const uint8_t v[4] = { 0x07, 0x00, 0xff, 0xff };

	(void)state;
	/* The usual 4-byte write at 0x04: COMMAND goes, STATUS does not. */
	assert_int_equal(filter(0x04, v, 4, ops), 2);
	assert_int_equal(ops[0].offset, 0x04);
	assert_int_equal(ops[1].offset, 0x05);
	assert_true(config_filter_drops(NULL, 0x06));
	assert_true(config_filter_drops(NULL, 0x07));
}

static void test_config_filter_bars_dropped(void **state)
{
	struct config_write_op ops[64];
	uint8_t v[24];

	(void)state;
	memset(v, 0xff, sizeof(v));
	for (uint32_t off = 0x10; off < 0x28; off += 4)
		assert_int_equal(filter(off, v, 4, ops), 0);
	assert_int_equal(filter(0x10, v, 24, ops), 0);
	assert_int_equal(filter(0x30, v, 4, ops), 0);	/* expansion ROM */
	assert_false(config_filter_drops(NULL, 0x0c));
	assert_false(config_filter_drops(NULL, 0x28));
}

static void test_config_filter_capability_writes_aligned(void **state)
{
	struct config_write_op ops[64];
	const uint8_t v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	/* Aligned dword. */
	assert_int_equal(filter(0x40, v, 4, ops), 1);
	assert_int_equal(ops[0].width, 4);
	assert_int_equal(ops[0].value, 0x04030201);
	/* MSI-X control: a word at 0x42. */
	assert_int_equal(filter(0x42, v, 2, ops), 1);
	assert_int_equal(ops[0].offset, 0x42);
	assert_int_equal(ops[0].width, 2);
	assert_int_equal(ops[0].value, 0x0201);
	/* Unaligned 7 bytes at 0x41: 1 + 2 + 4. */
	assert_int_equal(filter(0x41, v, 7, ops), 3);
	assert_int_equal(ops[0].width, 1);
	assert_int_equal(ops[1].offset, 0x42);
	assert_int_equal(ops[1].width, 2);
	assert_int_equal(ops[2].offset, 0x44);
	assert_int_equal(ops[2].width, 4);
	assert_int_equal(ops[2].value, 0x07060504);
}

static void test_config_filter_whole_header(void **state)
{
	struct config_write_op ops[64];
	uint8_t v[64];
	uint32_t forwarded = 0;
	int n;

	(void)state;
	memset(v, 0xaa, sizeof(v));
	n = filter(0, v, 64, ops);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		for (uint32_t b = 0; b < ops[i].width; b++)
			assert_false(config_filter_drops(NULL, ops[i].offset + b));
		assert_int_equal(ops[i].offset % ops[i].width, 0);
		forwarded += ops[i].width;
	}
	/* 64 bytes minus STATUS (2), BARs (24) and the ROM BAR (4). */
	assert_int_equal(forwarded, 64 - 2 - 24 - 4);
}

/* A device with MSI at 0x50 (64-bit, per-vector masking) and PCIe at 0x70. */
static const struct config_filter_caps caps = { .msi = 0x50, .msi_len = 24, .pcie = 0x70 };

static void test_config_filter_msi_lengths(void **state)
{
	(void)state;
	assert_int_equal(config_filter_msi_len(0x0000), 10);
	assert_int_equal(config_filter_msi_len(0x0080), 14);
	assert_int_equal(config_filter_msi_len(0x0100), 20);
	assert_int_equal(config_filter_msi_len(0x0180), 24);
}

static void test_config_filter_msi_capability_dropped(void **state)
{
	struct config_write_op ops[64];
	uint8_t v[32];

	(void)state;
	memset(v, 0xff, sizeof(v));
	/* Control (enable), address, data, mask: all the dext's routing. */
	assert_int_equal(config_filter_write(&caps, 0x52, v, 2, ops, 64), 0);
	assert_int_equal(config_filter_write(&caps, 0x54, v, 4, ops, 64), 0);
	assert_int_equal(config_filter_write(&caps, 0x50, v, 24, ops, 64), 0);
	assert_true(config_filter_drops(&caps, 0x50 + 23));
	/* The bytes around it still go through. */
	assert_false(config_filter_drops(&caps, 0x4f));
	assert_false(config_filter_drops(&caps, 0x50 + 24));
	assert_int_equal(config_filter_write(&caps, 0x4c, v, 32, ops, 64), 2);
	assert_int_equal(ops[0].offset, 0x4c);
	assert_int_equal(ops[0].width, 4);
	assert_int_equal(ops[1].offset, 0x68);
	assert_int_equal(ops[1].width, 4);
}

static void test_config_filter_devctl_devctl2_dropped(void **state)
{
	struct config_write_op ops[64];
	uint8_t v[0x30];

	(void)state;
	memset(v, 0, sizeof(v));
	assert_int_equal(config_filter_write(&caps, 0x78, v, 2, ops, 64), 0);	/* DEVCTL */
	assert_int_equal(config_filter_write(&caps, 0x98, v, 2, ops, 64), 0);	/* DEVCTL2 */
	/* DEVCTL + DEVSTA as a dword: only DEVSTA (W1C status) goes. */
	assert_int_equal(config_filter_write(&caps, 0x78, v, 4, ops, 64), 1);
	assert_int_equal(ops[0].offset, 0x7a);
	assert_int_equal(ops[0].width, 2);
	/* LNKCTL and the rest of the capability are forwarded. */
	assert_false(config_filter_drops(&caps, 0x80));
	assert_false(config_filter_drops(&caps, 0x9a));
	/* Without caps (NULL) the same offsets are plain forwarded bytes. */
	assert_false(config_filter_drops(NULL, 0x78));
}

static void test_config_filter_flr_request(void **state)
{
	const uint8_t flr[2] = { 0x10, 0x80 }, no_flr[2] = { 0x10, 0x00 };
	const uint8_t dword[4] = { 0x00, 0x80, 0x00, 0x00 };

	(void)state;
	assert_true(config_filter_requests_flr(&caps, 0x78, flr, 2));
	assert_true(config_filter_requests_flr(&caps, 0x79, flr + 1, 1));
	assert_true(config_filter_requests_flr(&caps, 0x78, dword, 4));
	assert_false(config_filter_requests_flr(&caps, 0x78, no_flr, 2));
	assert_false(config_filter_requests_flr(&caps, 0x78, flr, 1));	/* low byte only */
	assert_false(config_filter_requests_flr(&caps, 0x7a, flr, 2));	/* DEVSTA */
	assert_false(config_filter_requests_flr(NULL, 0x78, flr, 2));
}

static void test_config_filter_outside_config_space(void **state)
{
	struct config_write_op ops[64];
	uint8_t v[4] = { 0 };

	(void)state;
	assert_int_equal(filter(4094, v, 4, ops), -1);
	assert_int_equal(filter(4096, v, 1, ops), -1);
	assert_int_equal(filter(4092, v, 4, ops), 1);
}

/* Every 4 KiB offset in the 16 KiB page: the alias is congruent and shares the pages. */
static void test_ram_alias_congruent(void **state)
{
	const size_t len = 64 << 10;
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);
	uint8_t *orig;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	orig = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(orig != MAP_FAILED);
	for (uint64_t gpa = 0x40000000; gpa < 0x40000000 + 0x4000; gpa += 0x1000) {
		uint8_t *a = ram_alias_congruent(orig, len, gpa);

		assert_non_null(a);
		assert_true(ram_congruent(a, gpa));
		assert_int_equal(((uintptr_t)a - gpa) & 0x3fff, 0);
		a[len - 1] = (uint8_t)gpa;
		orig[0] = (uint8_t)(gpa >> 12);
		assert_int_equal(orig[len - 1], (uint8_t)gpa);
		assert_int_equal(a[0], (uint8_t)(gpa >> 12));
		assert_int_equal(munmap(a, len), 0);
		/* The original mapping is untouched by the alias going. */
		assert_int_equal(orig[len - 1], (uint8_t)gpa);
	}
	assert_false(ram_congruent(orig + 0x1000, 0x40000000 + ((uintptr_t)orig & 0x3fff)));
	munmap(orig, len);
	close(fd);
}

/* Private memory cannot be aliased: a clear failure, nothing left mapped. */
static void test_ram_alias_private_refused(void **state)
{
	const size_t len = 16 << 10;
	uint8_t *priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(priv != MAP_FAILED);
	assert_null(ram_alias_congruent(priv, len, (uintptr_t)priv + 0x1000));
	assert_null(ram_alias_congruent(priv, 0, 0));
	munmap(priv, len);
}

/* The fd and file offset behind a shared mapping; nothing for the rest. */
static void test_ram_share_fd(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("test-ram", MFD_CLOEXEC), got = -1;
	struct stat a, b;
	uint64_t off = 0;
	uint8_t *p, *priv, *anon;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * page), 0);
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page);
	priv = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	anon = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED && priv != MAP_FAILED && anon != MAP_FAILED);
	assert_int_equal(ram_share_fd(p + page + 100, &got, &off), 0);
	assert_int_equal(off, 2 * page + 100);
	assert_true(got >= 0 && got != fd);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(got, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(got);
	/* A private mapping is no one else's memory; shared anonymous memory has no fd. */
	assert_int_equal(ram_share_fd(priv, &got, &off), -ENOENT);
	assert_int_equal(ram_share_fd(anon, &got, &off), -ENOENT);
	/* Its file's fd closed: nothing to share. */
	munmap(priv, page);
	close(fd);
	assert_int_equal(ram_share_fd(p, &got, &off), -ENOENT);
	munmap(p, 2 * page);
	munmap(anon, page);
}

static void test_guest_ram_lookup_inside_one_region(void **state)
{
	struct guest_ram ram = { 0 };
	static uint8_t low[0xa0000], high[0x100000];

	(void)state;
	assert_int_equal(guest_ram_add(&ram, 0, sizeof(low), low, true), 0);
	assert_int_equal(guest_ram_add(&ram, 0x100000, sizeof(high), high, true), 0);
	assert_ptr_equal(guest_ram_lookup(&ram, 0x1000, 16, false), low + 0x1000);
	assert_ptr_equal(guest_ram_lookup(&ram, 0x100000, sizeof(high), false), high);
	/* Crossing the hole, past the end, wrapping. */
	assert_null(guest_ram_lookup(&ram, 0x9ff00, 0x200, false));
	assert_null(guest_ram_lookup(&ram, 0x1fffff, 2, false));
	assert_null(guest_ram_lookup(&ram, UINT64_MAX - 4, 16, false));
	assert_null(guest_ram_lookup(&ram, 0xa0000, 1, false));
	/* Overlap refused; removal. */
	assert_int_equal(guest_ram_add(&ram, 0x90000, 0x20000, low, true), -EEXIST);
	assert_int_equal(guest_ram_remove(&ram, 0, sizeof(low)), 0);
	assert_null(guest_ram_lookup(&ram, 0x1000, 16, false));
	assert_int_equal(guest_ram_remove(&ram, 0, sizeof(low)), -ENOENT);
}

static void test_guest_ram_region_without_mapping_unreachable(void **state)
{
	struct guest_ram ram = { 0 };

	(void)state;
	assert_int_equal(guest_ram_add(&ram, 0x1000, 0x1000, NULL, true), 0);
	assert_null(guest_ram_lookup(&ram, 0x1000, 4, false));
}

static void test_guest_ram_read_only_region(void **state)
{
	struct guest_ram ram = { 0 };
	static uint8_t rom[0x10000], rw[0x1000];

	(void)state;
	assert_int_equal(guest_ram_add(&ram, 0xf0000, sizeof(rom), rom, false), 0);
	assert_int_equal(guest_ram_add(&ram, 0x1000, sizeof(rw), rw, true), 0);
	assert_ptr_equal(guest_ram_lookup(&ram, 0xf0010, 32, false), rom + 0x10);
	assert_null(guest_ram_lookup(&ram, 0xf0010, 32, true));
	assert_ptr_equal(guest_ram_lookup(&ram, 0x1010, 32, true), rw + 0x10);
}

/*
 * The endpoint's composition: the batch processor on guest_ram, with
 * read-only guest RAM mapped PROT_READ as libvfio-user maps it. A store
 * into it kills the test with SIGSEGV.
 */
#define RO_GPA	0xf0000ull
#define RW_GPA	0x10000ull

static struct guest_ram ro_ram;
static unsigned int ro_registers;

static void *ro_gpa_to_host(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	return guest_ram_lookup(opaque, gpa, len, write);
}

static int ro_register(void *opaque, uint64_t key, void *hva, uint64_t len, uint64_t *bus_addr,
		       uint64_t *bus_len)
{
	(void)opaque;
	(void)hva;
	ro_registers++;
	*bus_addr = 0x80000000ull + key;
	*bus_len = len;
	return 0;
}

static int ro_unregister(void *opaque, uint64_t key)
{
	(void)opaque;
	(void)key;
	return 0;
}

struct ro_fixture {
	uint8_t *rw, *ro;
	size_t page;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* the tests run little-endian, as the ABI */
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A MAP command at @cmd with one request at @req and its response at @resp. */
static uint32_t ro_doorbell(struct ro_fixture *f, uint64_t cmd, uint64_t req, uint64_t resp,
			    uint64_t map_gpa)
{
	const struct apple_dma_batch_env env = {
		.gpa_to_host = ro_gpa_to_host,
		.dma_register = ro_register,
		.dma_unregister = ro_unregister,
		.opaque = &ro_ram,
		.max_entries = 16,
	};
	uint8_t *c = guest_ram_lookup(&ro_ram, cmd, 32, false);
	uint8_t *q = guest_ram_lookup(&ro_ram, req, 16, false);

	/* The test writes only what lies in the writable page. */
	if (c >= f->rw && c < f->rw + f->page) {
		put32(c + offsetof(struct apple_dma_cmd, type), APPLE_DMA_CMD_MAP);
		put32(c + offsetof(struct apple_dma_cmd, count), 1);
		put32(c + offsetof(struct apple_dma_cmd, status), 0xdeadbeef);
		put64(c + offsetof(struct apple_dma_cmd, req_gpa), req);
		put64(c + offsetof(struct apple_dma_cmd, resp_gpa), resp);
	}
	if (q >= f->rw && q < f->rw + f->page) {
		put64(q + offsetof(struct apple_dma_map_req, gpa), map_gpa);
		put32(q + offsetof(struct apple_dma_map_req, len), 64);
		put32(q + offsetof(struct apple_dma_map_req, flags), 0);
	}
	return apple_dma_batch_process(&env, cmd, NULL);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_batch_honours_read_only_ram(void **state)
{
	struct ro_fixture f = { .page = (size_t)sysconf(_SC_PAGESIZE) };
	uint8_t *mem, *snapshot;

	(void)state;
	mem = mmap(NULL, 2 * f.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	f.rw = mem;
	f.ro = mem + f.page;
	/* A valid command page and request in the read-only page, as a guest could leave them. */
	put32(f.ro + offsetof(struct apple_dma_cmd, type), APPLE_DMA_CMD_MAP);
	put32(f.ro + offsetof(struct apple_dma_cmd, count), 1);
	put64(f.ro + offsetof(struct apple_dma_cmd, req_gpa), RW_GPA + 0x100);
	put64(f.ro + offsetof(struct apple_dma_cmd, resp_gpa), RW_GPA + 0x200);
	put64(f.ro + 0x100 + offsetof(struct apple_dma_map_req, gpa), RW_GPA + 0x800);
	put32(f.ro + 0x100 + offsetof(struct apple_dma_map_req, len), 64);
	assert_int_equal(mprotect(f.ro, f.page, PROT_READ), 0);
	snapshot = malloc(f.page);
	assert_non_null(snapshot);
	memcpy(snapshot, f.ro, f.page);

	memset(&ro_ram, 0, sizeof(ro_ram));
	assert_int_equal(guest_ram_add(&ro_ram, RW_GPA, f.page, f.rw, true), 0);
	assert_int_equal(guest_ram_add(&ro_ram, RO_GPA, f.page, f.ro, false), 0);
	ro_registers = 0;

	/* Command page in read-only RAM: INVAL, nothing written (R1). */
	assert_int_equal(ro_doorbell(&f, RO_GPA, 0, 0, 0), APPLE_DMA_STATUS_INVAL);
	/* Response array in read-only RAM: INVAL in the command page (R3). */
	assert_int_equal(ro_doorbell(&f, RW_GPA, RW_GPA + 0x100, RO_GPA + 0x200, RW_GPA + 0x800),
			 APPLE_DMA_STATUS_INVAL);
	assert_int_equal(get32(f.rw + offsetof(struct apple_dma_cmd, status)),
			 APPLE_DMA_STATUS_INVAL);
	assert_int_equal(ro_registers, 0);
	/* A map of read-only RAM: the entry fails, nothing registered (R4). */
	assert_int_equal(ro_doorbell(&f, RW_GPA, RW_GPA + 0x100, RW_GPA + 0x200, RO_GPA + 0x800),
			 APPLE_DMA_STATUS_IOERR);
	assert_int_equal(get32(f.rw + 0x200 + offsetof(struct apple_dma_map_resp, status)),
			 APPLE_DMA_STATUS_IOERR);
	assert_int_equal(ro_registers, 0);
	/* Requests may lie in read-only RAM: they are only read. */
	assert_int_equal(ro_doorbell(&f, RW_GPA, RO_GPA + 0x100, RW_GPA + 0x200, 0),
			 APPLE_DMA_STATUS_OK);
	assert_int_equal(ro_registers, 1);
	assert_memory_equal(f.ro, snapshot, f.page);

	free(snapshot);
	munmap(mem, 2 * f.page);
}

static void test_ratelimit_burst_then_window(void **state)
{
	struct ratelimit rl = { .interval_ns = 1000, .burst = 3 };
	uint64_t sup = 99;
	unsigned int allowed = 0;

	(void)state;
	for (uint64_t t = 100; t < 100 + 500; t += 5)
		allowed += ratelimit_allow(&rl, t, &sup);
	assert_int_equal(allowed, 3);
	assert_int_equal(rl.suppressed, 97);
	/* The next window lets one through and reports the dropped run once. */
	assert_true(ratelimit_allow(&rl, 1100, &sup));
	assert_int_equal(sup, 97);
	assert_true(ratelimit_allow(&rl, 1101, &sup));
	assert_int_equal(sup, 0);
}

static void test_ratelimit_flood_is_bounded(void **state)
{
	struct ratelimit rl = RATELIMIT_DEFAULT;
	uint64_t sup, total_sup = 0, allowed = 0, n = 1000000;

	(void)state;
	/* A million messages over 60 s: at most burst per started 5 s window. */
	for (uint64_t i = 0; i < n; i++) {
		if (ratelimit_allow(&rl, 1 + i * 60000, &sup)) {
			allowed++;
			total_sup += sup;
		}
	}
	assert_true(allowed <= 10 * 13);
	assert_true(allowed >= 10 * 12);
	/* Exact accounting: every message is either logged or counted. */
	assert_int_equal(allowed + total_sup + rl.suppressed, n);
}

static void test_ratelimit_clock_backwards(void **state)
{
	struct ratelimit rl = { .interval_ns = 1000, .burst = 1 };
	uint64_t sup;

	(void)state;
	assert_true(ratelimit_allow(&rl, 5000, &sup));
	assert_false(ratelimit_allow(&rl, 5001, &sup));
	assert_true(ratelimit_allow(&rl, 10, &sup));
	assert_int_equal(sup, 1);
}

static void test_reg_table_add_del_has(void **state)
{
	struct reg_table t;

	(void)state;
	reg_table_init(&t);
	assert_int_equal(reg_table_add(&t, 0x4000, 0x1000), 0);
	assert_int_equal(reg_table_add(&t, 0x4000, 0x2000), -EEXIST);
	assert_int_equal(reg_table_add(&t, 0x8000, 0), -EINVAL);
	assert_true(reg_table_has(&t, 0x4000));
	assert_false(reg_table_has(&t, 0x8000));
	assert_int_equal(reg_table_del(&t, 0x8000), -ENOENT);
	assert_int_equal(reg_table_del(&t, 0x4000), 0);
	assert_false(reg_table_has(&t, 0x4000));
	assert_int_equal(t.n, 0);
	reg_table_free(&t);
}

static void test_reg_table_stress_against_model(void **state)
{
	enum { KEYS = 5000 };
	static bool model[KEYS];
	struct reg_table t;
	uint64_t rng = 12345;

	(void)state;
	reg_table_init(&t);
	for (int i = 0; i < 200000; i++) {
		unsigned int k;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		k = (unsigned int)(rng >> 33) % KEYS;
		if (model[k]) {
			assert_int_equal(reg_table_del(&t, (uint64_t)k << 14), 0);
			model[k] = false;
		} else {
			assert_int_equal(reg_table_add(&t, (uint64_t)k << 14, 1), 0);
			model[k] = true;
		}
		/* Deletion must not lose other keys of a probe run. */
		if (i % 1000 == 0)
			for (unsigned int j = 0; j < KEYS; j++)
				assert_int_equal(reg_table_has(&t, (uint64_t)j << 14), model[j]);
	}
	reg_table_free(&t);
}

static void test_reg_table_overlapping(void **state)
{
	struct reg_table t;
	uint64_t keys[8];

	(void)state;
	reg_table_init(&t);
	assert_int_equal(reg_table_add(&t, 0x0000, 0x4000), 0);
	assert_int_equal(reg_table_add(&t, 0x4000, 0x4000), 0);
	assert_int_equal(reg_table_add(&t, 0x10000, 0x40000), 0);
	assert_int_equal(reg_table_overlapping(&t, 0x3fff, 2, keys, 8), 2);
	assert_int_equal(reg_table_overlapping(&t, 0x8000, 0x8000, keys, 8), 0);
	assert_int_equal(reg_table_overlapping(&t, 0x40000, 1, keys, 8), 1);
	assert_int_equal(keys[0], 0x10000);
	assert_int_equal(reg_table_overlapping(&t, 0, 0x100000, keys, 1), 3);
	reg_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_filter_command_forwarded_bytewise),
		cmocka_unit_test(test_config_filter_command_status_dword_drops_status),
		cmocka_unit_test(test_config_filter_bars_dropped),
		cmocka_unit_test(test_config_filter_capability_writes_aligned),
		cmocka_unit_test(test_config_filter_whole_header),
		cmocka_unit_test(test_config_filter_msi_lengths),
		cmocka_unit_test(test_config_filter_msi_capability_dropped),
		cmocka_unit_test(test_config_filter_devctl_devctl2_dropped),
		cmocka_unit_test(test_config_filter_flr_request),
		cmocka_unit_test(test_config_filter_outside_config_space),
		cmocka_unit_test(test_ram_alias_congruent),
		cmocka_unit_test(test_ram_alias_private_refused),
		cmocka_unit_test(test_ram_share_fd),
		cmocka_unit_test(test_guest_ram_lookup_inside_one_region),
		cmocka_unit_test(test_guest_ram_region_without_mapping_unreachable),
		cmocka_unit_test(test_guest_ram_read_only_region),
		cmocka_unit_test(test_batch_honours_read_only_ram),
		cmocka_unit_test(test_ratelimit_burst_then_window),
		cmocka_unit_test(test_ratelimit_flood_is_bounded),
		cmocka_unit_test(test_ratelimit_clock_backwards),
		cmocka_unit_test(test_reg_table_add_del_has),
		cmocka_unit_test(test_reg_table_stress_against_model),
		cmocka_unit_test(test_reg_table_overlapping),
	};

	return cmocka_run_group_tests_name("server core", tests, NULL, NULL);
}
