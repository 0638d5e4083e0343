// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the apple-dma-pci batch processor
 * (lib/apple-dma/batch.h) against arbitrary guest memory.
 *
 * Input layout (missing bytes read as zero):
 *   [0]      max_entries = byte % 25 (0 rejects every batch)
 *   [1]      fake dext: register call n fails with -ENOSPC if bit n % 8 set
 *   [2]      fake dext: unregister call n fails with -EIO if bit n % 8 set
 *   [3]      bits 0-2: dext slots - 1; bit 3: bus_len > UINT32_MAX;
 *            bits 4-5: doorbells - 1 (1..4); bit 6: block B is read-only
 *   [4..36)  four little-endian u64 command page GPAs, one per doorbell
 *   [36..)   guest RAM image: block A, then block B, then block TOP
 *
 * Guest RAM (GPA -> host):
 *   A    [0x1000, 0x2000)       ram[0x0000..]
 *   B    [0x3000, 0x4000)       ram[0x1000..]  (hole at 0x2000; B follows
 *                               A in host memory, so a bypass of
 *                               gpa_to_host that runs off A lands in B)
 *   ALI  [0x10000, 0x10100)     ram[0x0000..]  (aliases the start of A)
 *   TOP  [2^64 - 0x1000, 2^64)  ram[0x2000..]  (ends exactly at the top;
 *                               its last byte is refused, see ram_ok())
 *
 * After every doorbell the target checks (abort on violation):
 *  - every gpa_to_host call has len != 0 and does not wrap;
 *  - a read-only block B is never written, never registered for DMA, and
 *    cannot hold the command page or the response array;
 *  - dma_register gets a host range inside one RAM block;
 *  - the returned status is OK, IOERR or INVAL, and equals the command page
 *    status field when that was written;
 *  - no byte of RAM changed outside the command page status field and the
 *    response array (computed from the pre-doorbell copy); a rejected batch
 *    changes at most the status field (nothing for R1);
 *  - every response describes its request and the dext call it caused
 *    (R4/R5), failed MAP responses change only their status field;
 *  - live fake-dext registrations == successful MAP responses minus
 *    successful UNMAP responses, and the stats counters agree.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "apple-dma/batch.h"
#include "fuzz-util.h"

#define RAM_SIZE	0x3000u
#define HDR_SIZE	36u
#define MAX_DOORBELLS	4
#define MAX_SLOTS	8
#define MAX_CALLS	256

#define MAP_REQ_SZ	sizeof(struct apple_dma_map_req)
#define MAP_RESP_SZ	sizeof(struct apple_dma_map_resp)
#define UNMAP_REQ_SZ	sizeof(struct apple_dma_unmap_req)
#define UNMAP_RESP_SZ	sizeof(struct apple_dma_unmap_resp)

static const struct ram_block {
	uint64_t gpa, size;
	size_t host_off;
} blocks[] = {
	{ 0x1000, 0x1000, 0x0000 },
	{ 0x3000, 0x1000, 0x1000 },
	{ 0x10000, 0x100, 0x0000 },
	{ 0xfffffffffffff000ull, 0x1000, 0x2000 },
};

#define BLOCK_B		1

static uint8_t ram[RAM_SIZE];
static bool b_read_only;
static uint8_t before[RAM_SIZE];
static uint8_t expect[RAM_SIZE];

/* Host byte ranges a doorbell may write. */
struct ranges {
	long off[2];
	uint64_t len[2];
	unsigned int n;
};

struct dext_slot {
	bool used;
	uint64_t key;
	void *hva;
	uint64_t len;
	uint64_t bus;
};

struct dext_call {
	bool reg;
	uint64_t key;
	int ret;
	uint64_t bus, bus_len;
};

static struct fake_dext {
	struct dext_slot slot[MAX_SLOTS];
	unsigned int nslots;
	unsigned int live;
	uint8_t reg_fail, unreg_fail;
	bool big_len;
	unsigned int n_reg, n_unreg;
	struct dext_call call[MAX_CALLS];
	unsigned int ncalls;
} dx;

/* Index of the block holding [gpa, gpa + len), or -1. */
static int ram_block(uint64_t gpa, uint64_t len)
{
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		const struct ram_block *b = &blocks[i];

		if (gpa >= b->gpa && gpa - b->gpa < b->size &&
		    len <= b->size - (gpa - b->gpa))
			return (int)i;
	}
	return -1;
}

/* Host offset of [gpa, gpa + len) if it lies in one block, else -1. */
static long ram_off(uint64_t gpa, uint64_t len)
{
	int i = ram_block(gpa, len);

	return i < 0 ? -1 : (long)(blocks[i].host_off + (gpa - blocks[i].gpa));
}

/*
 * What the processor accepts as one RAM range. Like batch.c, a range must
 * end at or below UINT64_MAX (gpa + len <= UINT64_MAX): the last byte of
 * block TOP is never usable, a range ending exactly at 2^64 is refused.
 */
static bool ram_ok(uint64_t gpa, uint64_t len)
{
	return len && gpa <= UINT64_MAX - len && ram_off(gpa, len) >= 0;
}

/* ram_ok() and writable. */
static bool ram_ok_w(uint64_t gpa, uint64_t len)
{
	return ram_ok(gpa, len) && !(b_read_only && ram_block(gpa, len) == BLOCK_B);
}

static void *f_gpa_to_host(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	long off;

	FUZZ_CHECK(opaque == &dx);
	FUZZ_CHECK(len != 0);
	FUZZ_CHECK(gpa + (len - 1) >= gpa);
	if (write && b_read_only && ram_block(gpa, len) == BLOCK_B)
		return NULL;
	off = ram_off(gpa, len);
	return off < 0 ? NULL : ram + off;
}

static void record(bool reg, uint64_t key, int ret, uint64_t bus, uint64_t bus_len)
{
	FUZZ_CHECK(dx.ncalls < MAX_CALLS);
	dx.call[dx.ncalls++] = (struct dext_call){ reg, key, ret, bus, bus_len };
}

static int f_register(void *opaque, uint64_t key, void *hva, uint64_t len,
		      uint64_t *bus_addr, uint64_t *bus_len)
{
	unsigned int n = dx.n_reg++, free_slot = MAX_SLOTS;
	uintptr_t h = (uintptr_t)hva;
	bool inside = false;

	FUZZ_CHECK(opaque == &dx);
	FUZZ_CHECK(len != 0);
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		uintptr_t lo = (uintptr_t)ram + blocks[i].host_off;

		if (h >= lo && h - lo < blocks[i].size && len <= blocks[i].size - (h - lo))
			inside = true;
	}
	FUZZ_CHECK(inside);
	/* Only block B's GPAs reach its host bytes: read-only RAM is never registered. */
	FUZZ_CHECK(!b_read_only || h + len <= (uintptr_t)ram + blocks[BLOCK_B].host_off ||
		   h >= (uintptr_t)ram + blocks[BLOCK_B].host_off + blocks[BLOCK_B].size);
	if (dx.reg_fail & (1u << (n % 8))) {
		record(true, key, -ENOSPC, 0, 0);
		return -ENOSPC;
	}
	for (unsigned int i = 0; i < dx.nslots; i++) {
		if (dx.slot[i].used && dx.slot[i].key == key) {
			record(true, key, -EEXIST, 0, 0);
			return -EEXIST;
		}
		if (!dx.slot[i].used && free_slot == MAX_SLOTS)
			free_slot = i;
	}
	if (free_slot == MAX_SLOTS) {
		record(true, key, -ENOSPC, 0, 0);
		return -ENOSPC;
	}
	dx.slot[free_slot] = (struct dext_slot){
		true, key, hva, len,
		0xd000000000ull + ((uint64_t)free_slot << 24) + (h & 0x3fff),
	};
	dx.live++;
	*bus_addr = dx.slot[free_slot].bus;
	*bus_len = dx.big_len ? len + (1ull << 32) : len;
	record(true, key, 0, *bus_addr, *bus_len);
	return 0;
}

static int f_unregister(void *opaque, uint64_t key)
{
	unsigned int n = dx.n_unreg++;

	FUZZ_CHECK(opaque == &dx);
	if (dx.unreg_fail & (1u << (n % 8))) {
		record(false, key, -EIO, 0, 0);
		return -EIO;
	}
	for (unsigned int i = 0; i < dx.nslots; i++) {
		if (dx.slot[i].used && dx.slot[i].key == key) {
			dx.slot[i].used = false;
			dx.live--;
			record(false, key, 0, 0, 0);
			return 0;
		}
	}
	record(false, key, -ENOENT, 0, 0);
	return -ENOENT;
}

static void allow(struct ranges *r, uint64_t gpa, uint64_t len)
{
	long off = ram_off(gpa, len);

	FUZZ_CHECK(off >= 0 && r->n < 2);
	r->off[r->n] = off;
	r->len[r->n++] = len;
}

/* True if RAM differs from the pre-doorbell copy only inside the first n ranges. */
static bool only_changed(const struct ranges *r, unsigned int n)
{
	memcpy(expect, before, sizeof(expect));
	for (unsigned int i = 0; i < n && i < r->n; i++)
		memcpy(expect + r->off[i], ram + r->off[i], r->len[i]);
	return !memcmp(expect, ram, sizeof(ram));
}

/* Checks the responses of a processed batch against requests and calls. */
static void check_entries(uint32_t type, uint32_t count, uint64_t req_gpa, uint64_t resp_gpa,
			  unsigned int first_call, int64_t *balance,
			  const struct apple_dma_batch_stats *st0,
			  const struct apple_dma_batch_stats *st)
{
	const uint8_t *req = before + ram_off(req_gpa, 1);
	const uint8_t *resp = ram + ram_off(resp_gpa, 1);
	const uint8_t *resp0 = before + ram_off(resp_gpa, 1);
	unsigned int c = first_call, ok = 0, failed = 0;
	bool all_ok = true;

	for (uint32_t i = 0; i < count; i++) {
		if (type == APPLE_DMA_CMD_MAP) {
			const uint8_t *q = req + i * MAP_REQ_SZ, *r = resp + i * MAP_RESP_SZ;
			uint64_t gpa = fuzz_ld64(q);
			uint32_t len = fuzz_ld32(q + 8), flags = fuzz_ld32(q + 12);
			uint32_t want;

			if (len == 0 || flags != 0) {
				want = APPLE_DMA_STATUS_INVAL;
			} else if (!ram_ok_w(gpa, len)) {
				want = APPLE_DMA_STATUS_IOERR;
			} else {
				FUZZ_CHECK(c < dx.ncalls && dx.call[c].reg && dx.call[c].key == gpa);
				want = dx.call[c].ret ? APPLE_DMA_STATUS_IOERR : APPLE_DMA_STATUS_OK;
				c++;
			}
			FUZZ_CHECK(fuzz_ld32(r + 20) == want);
			if (want == APPLE_DMA_STATUS_OK) {
				const struct dext_call *k = &dx.call[c - 1];

				FUZZ_CHECK(fuzz_ld64(r) == gpa);
				FUZZ_CHECK(fuzz_ld64(r + 8) == k->bus);
				FUZZ_CHECK(fuzz_ld32(r + 16) ==
					   (k->bus_len > UINT32_MAX ? UINT32_MAX : k->bus_len));
				ok++;
				(*balance)++;
			} else {
				/* Only the status field of a failed MAP response. */
				FUZZ_CHECK(!memcmp(r, resp0 + i * MAP_RESP_SZ, 20));
				failed++;
				all_ok = false;
			}
		} else {
			const uint8_t *q = req + i * UNMAP_REQ_SZ, *r = resp + i * UNMAP_RESP_SZ;
			uint64_t id = fuzz_ld64(q);
			uint32_t want;

			FUZZ_CHECK(c < dx.ncalls && !dx.call[c].reg && dx.call[c].key == id);
			want = dx.call[c].ret ? APPLE_DMA_STATUS_IOERR : APPLE_DMA_STATUS_OK;
			c++;
			FUZZ_CHECK(fuzz_ld64(r) == id);
			FUZZ_CHECK(fuzz_ld32(r + 8) == want);
			FUZZ_CHECK(fuzz_ld32(r + 12) == 0);
			if (want == APPLE_DMA_STATUS_OK) {
				ok++;
				(*balance)--;
			} else {
				failed++;
				all_ok = false;
			}
		}
	}
	FUZZ_CHECK(c == dx.ncalls);
	FUZZ_CHECK(st->entries - st0->entries == count);
	if (type == APPLE_DMA_CMD_MAP) {
		FUZZ_CHECK(st->map_ok - st0->map_ok == ok);
		FUZZ_CHECK(st->map_failed - st0->map_failed == failed);
	} else {
		FUZZ_CHECK(st->unmap_ok - st0->unmap_ok == ok);
		FUZZ_CHECK(st->unmap_failed - st0->unmap_failed == failed);
	}
	FUZZ_CHECK((st->failed_batches - st0->failed_batches) == !all_ok);
}

static void doorbell(const struct apple_dma_batch_env *env, uint64_t cmd_gpa,
		     struct apple_dma_batch_stats *st, int64_t *balance)
{
	struct apple_dma_batch_stats st0 = *st;
	uint32_t status, type = 0, count = 0;
	uint64_t req_gpa = 0, resp_gpa = 0, esz = 0;
	bool cmd_ram = cmd_gpa && ram_ok_w(cmd_gpa, sizeof(struct apple_dma_cmd));
	bool arrays_ok = false;
	unsigned int first_call = dx.ncalls;
	struct ranges allowed = { .n = 0 };

	memcpy(before, ram, sizeof(ram));
	if (cmd_ram) {
		const uint8_t *cmd = ram + ram_off(cmd_gpa, 1);

		type = fuzz_ld32(cmd);
		count = fuzz_ld32(cmd + 4);
		req_gpa = fuzz_ld64(cmd + 16);
		resp_gpa = fuzz_ld64(cmd + 24);
		allow(&allowed, cmd_gpa + 8, 4);
		esz = type == APPLE_DMA_CMD_MAP ? MAP_RESP_SZ :
		      type == APPLE_DMA_CMD_UNMAP ? UNMAP_RESP_SZ : 0;
		arrays_ok = esz && count && count <= env->max_entries && req_gpa && resp_gpa &&
			    ram_ok(req_gpa, count * 16ull) && ram_ok_w(resp_gpa, count * esz);
		if (arrays_ok)
			allow(&allowed, resp_gpa, count * esz);
	}

	status = apple_dma_batch_process(env, cmd_gpa, st);

	FUZZ_CHECK(status == APPLE_DMA_STATUS_OK || status == APPLE_DMA_STATUS_IOERR ||
		   status == APPLE_DMA_STATUS_INVAL);
	FUZZ_CHECK(st->batches == st0.batches + 1);
	FUZZ_CHECK(only_changed(&allowed, 2));
	if (b_read_only)
		FUZZ_CHECK(!memcmp(ram + blocks[BLOCK_B].host_off, before + blocks[BLOCK_B].host_off,
				   blocks[BLOCK_B].size));
	if (!cmd_ram) {
		/* R1: nothing written, nothing called. */
		FUZZ_CHECK(status == APPLE_DMA_STATUS_INVAL);
		FUZZ_CHECK(!memcmp(ram, before, sizeof(ram)));
		FUZZ_CHECK(st->last_reject == APPLE_DMA_BATCH_REJECT_CMD_GPA_ZERO ||
			   st->last_reject == APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM);
	} else {
		FUZZ_CHECK(fuzz_ld32(ram + ram_off(cmd_gpa + 8, 4)) == status);
	}
	if (!arrays_ok)
		FUZZ_CHECK(status == APPLE_DMA_STATUS_INVAL);
	if (status == APPLE_DMA_STATUS_INVAL) {
		FUZZ_CHECK(st->invalid_batches == st0.invalid_batches + 1);
		FUZZ_CHECK(st->last_reject != APPLE_DMA_BATCH_REJECT_NONE);
		FUZZ_CHECK(dx.ncalls == first_call);
		/* Only the status field (which may lie inside the array). */
		FUZZ_CHECK(only_changed(&allowed, 1));
		return;
	}
	FUZZ_CHECK(st->invalid_batches == st0.invalid_batches);
	if (st->nomem != st0.nomem) {
		FUZZ_CHECK(dx.ncalls == first_call);
		FUZZ_CHECK(status == APPLE_DMA_STATUS_IOERR);
		return;
	}
	check_entries(type, count, req_gpa, resp_gpa, first_call, balance, &st0, st);
	FUZZ_CHECK((status == APPLE_DMA_STATUS_OK) ==
		   (st->failed_batches == st0.failed_batches));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct apple_dma_batch_stats st;
	struct apple_dma_batch_env env = {
		.gpa_to_host = f_gpa_to_host,
		.dma_register = f_register,
		.dma_unregister = f_unregister,
		.opaque = &dx,
	};
	uint64_t cmd[MAX_DOORBELLS];
	unsigned int n, flags;
	int64_t balance = 0;

	memset(&dx, 0, sizeof(dx));
	memset(&st, 0, sizeof(st));
	env.max_entries = (uint32_t)(fuzz_take(&in, 1) % 25);
	dx.reg_fail = (uint8_t)fuzz_take(&in, 1);
	dx.unreg_fail = (uint8_t)fuzz_take(&in, 1);
	flags = (unsigned int)fuzz_take(&in, 1);
	dx.nslots = (flags & 7) + 1;
	dx.big_len = flags & 8;
	n = ((flags >> 4) & 3) + 1;
	b_read_only = flags & 0x40;
	for (unsigned int i = 0; i < MAX_DOORBELLS; i++)
		cmd[i] = fuzz_take(&in, 8);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, in.p, in.left < RAM_SIZE ? in.left : RAM_SIZE);

	for (unsigned int i = 0; i < n; i++) {
		doorbell(&env, cmd[i], &st, &balance);
		FUZZ_CHECK(balance >= 0 && (uint64_t)balance == dx.live);
		FUZZ_CHECK(st.map_ok - st.unmap_ok == dx.live);
	}
	return 0;
}
