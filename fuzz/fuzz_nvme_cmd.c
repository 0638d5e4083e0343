// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: dextd's NVMe model as a hostile guest drives it, i.e.
 * admin and NVM commands with PRP1/PRP2 and (chained) PRP lists, the
 * registers and doorbells, and the worker's fetch/complete step, all
 * against the real DART model with mappings and guest memory from the
 * input.
 *
 * Seam (fuzz-nvme.h): the controller is created by the real nvme_create()
 * and its worker thread is stopped at once, so the harness runs every step synchronously
 * (nvme_admin/nvme_io for a command given directly, nvme_next_sq/
 * nvme_process for one fetched from a submission queue). Guest memory is a
 * harness-owned arena; DART mappings point into it with the fuzzer's own
 * pid as the cookie, so fn_dma_read/write reach it with process_vm_*v as
 * they reach a client's memory in dextd, without a second process.
 *
 * Input: byte 0 seeds the DART's placement (a fresh DART per input), then
 * records, each an opcode byte followed by its operands (little endian;
 * missing bytes read as zero):
 *   0 MAP       key u8, off u32, size u32: dart_map(key, arena + off % ARENA,
 *               size clamped to the arena)
 *   1 UNMAP     key u8
 *   2 POKE      off u32, len u8, len bytes: copied into the arena
 *   3 POKE_IOVA off u32, key u8, delta u32: the qword IOVA(key) + delta
 *               (the key's last IOVA, live or stale; 0 if never mapped)
 *   4 CMD       flags u8, 64-byte SQE, then key u8 + delta u32 for each of
 *               PRP1 (flags bit 1) and PRP2 (bit 2) to rewrite as IOVAs;
 *               bit 0: admin (else NVM); run at once
 *   5 MMIO      off u16, width u8, flags u8, val u64 (bit 0: val is
 *               IOVA(key = val & 0xff) + (val >> 8))
 *   6 STEP      count u8: up to count % 16 commands fetched from the SQs
 *   7 BME       on u8: bus mastering on or off
 *
 * Checked (abort on violation): no sanitizer finding anywhere in the model,
 * the DART or fn_dma (an overrun of the PRP segment array or list buffer
 * is one); every completion status is success or carries DNR; and guest
 * memory changes only inside the targets of live DART mappings (the device
 * never writes where it has no mapping, whatever the command says).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "function.h"
#include "fuzz-nvme.h"

#define ARENA_SIZE	(256u * 1024)
#define KEYS		8
#define OWNER		1

static struct dext_function *fn;
static struct nvme_ctrl *ctrl;
static uint8_t arena[ARENA_SIZE] __attribute__((aligned(16384)));
static uint8_t before[ARENA_SIZE];

static struct {
	bool live;
	uint64_t iova;		/* last IOVA, kept after unmap */
	uint32_t off, size;
} keys[KEYS];

static void setup_once(void)
{
	struct dart_config dc;

	log_init("fuzz_nvme_cmd", LOG_LVL_ERROR);
	dart_config_defaults(&dc);
	dc.seed = 1;
	fn = fuzz_nvme_create(0, 4, &dc);
	ctrl = fn->priv;
}

/* A fresh DART (placement seeded by the input) and a reset controller. */
static void reset(uint8_t seed)
{
	struct dart_config dc;

	dart_config_defaults(&dc);
	dc.seed = seed + 1u;
	dc.stream = 0x400;
	dart_destroy(fn->dart);
	fn->dart = dart_create(&dc);
	FUZZ_CHECK(fn->dart);
	pthread_mutex_lock(&fn->lock);
	fn_reset(fn);
	fn_config_write(fn, 0x04, 2, 0x0006);	/* memory space, bus master */
	pthread_mutex_unlock(&fn->lock);
	memset(keys, 0, sizeof(keys));
	memset(arena, 0, sizeof(arena));
}

static uint64_t iova_of(unsigned int key, uint32_t delta)
{
	return keys[key % KEYS].iova + delta;
}

/* Every arena byte that changed lies inside a live mapping's target. */
static void check_writes(void)
{
	for (size_t i = 0; i < ARENA_SIZE; i++) {
		bool inside = false;

		if (!(i & 1023) && !memcmp(arena + i, before + i, 1024)) {
			i += 1023;
			continue;
		}
		if (arena[i] == before[i])
			continue;
		for (unsigned int k = 0; k < KEYS && !inside; k++)
			inside = keys[k].live && i >= keys[k].off && i - keys[k].off < keys[k].size;
		FUZZ_CHECK(inside);
	}
}

static void check_status(const struct nvme_result *res)
{
	FUZZ_CHECK(res->status == 0 || (res->status & NVME_STATUS_DNR));
}

static void op_map(struct fuzz_in *in)
{
	unsigned int key = (unsigned int)fuzz_take(in, 1) % KEYS;
	uint32_t off = (uint32_t)fuzz_take(in, 4) % ARENA_SIZE;
	uint32_t size = (uint32_t)fuzz_take(in, 4) % (ARENA_SIZE - off) + 1;
	struct dart_map_result res;

	if (dart_map(fn->dart, OWNER, key, (uint64_t)(uintptr_t)(arena + off), size,
		     (void *)(uintptr_t)getpid(), &res) == 0)
		keys[key] = (typeof(keys[0])){ .live = true, .iova = res.iova, .off = off,
					       .size = size };
}

static void op_unmap(struct fuzz_in *in)
{
	unsigned int key = (unsigned int)fuzz_take(in, 1) % KEYS;
	int r = dart_unmap(fn->dart, OWNER, key);

	FUZZ_CHECK(r == (keys[key].live ? 0 : -ENOENT));
	keys[key].live = false;
}

static void op_poke(struct fuzz_in *in)
{
	uint32_t off = (uint32_t)fuzz_take(in, 4) % ARENA_SIZE;
	size_t len = (size_t)fuzz_take(in, 1);

	for (size_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)fuzz_take(in, 1);

		if (off + i < ARENA_SIZE)
			arena[off + i] = b;
	}
}

static void op_poke_iova(struct fuzz_in *in)
{
	uint32_t off = (uint32_t)fuzz_take(in, 4) % (ARENA_SIZE - 7);
	unsigned int key = (unsigned int)fuzz_take(in, 1);
	uint64_t v = iova_of(key, (uint32_t)fuzz_take(in, 4));

	memcpy(arena + off, &v, sizeof(v));
}

static void op_cmd(struct fuzz_in *in)
{
	unsigned int flags = (unsigned int)fuzz_take(in, 1);
	struct nvme_result res = { 0 };
	struct nvme_sqe cmd;
	uint8_t raw[sizeof(cmd)];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)fuzz_take(in, 1);
	memcpy(&cmd, raw, sizeof(cmd));
	if (flags & 2) {
		unsigned int key = (unsigned int)fuzz_take(in, 1);

		cmd.prp1 = iova_of(key, (uint32_t)fuzz_take(in, 4));
	}
	if (flags & 4) {
		unsigned int key = (unsigned int)fuzz_take(in, 1);

		cmd.prp2 = iova_of(key, (uint32_t)fuzz_take(in, 4));
	}
	memcpy(before, arena, sizeof(arena));
	if (flags & 1)
		nvme_admin(&ctrl->workers[0], &cmd, ctrl->generation, &res);
	else
		nvme_io(&ctrl->workers[0], &cmd, ctrl->feat.wce, &res);
	check_status(&res);
	check_writes();
}

static void op_mmio(struct fuzz_in *in)
{
	static const unsigned int widths[4] = { 1, 2, 4, 8 };
	uint64_t off = fuzz_take(in, 2) % NVME_BAR0_SIZE;
	unsigned int width = widths[fuzz_take(in, 1) & 3];
	unsigned int flags = (unsigned int)fuzz_take(in, 1);
	uint64_t val = fuzz_take(in, 8);

	off &= ~(uint64_t)(width - 1);
	if (flags & 1)
		val = iova_of((unsigned int)(val & 0xff), (uint32_t)(val >> 8));
	pthread_mutex_lock(&fn->lock);
	FUZZ_CHECK(nvme_mmio_write(fn, 0, off, width, val) == 0);
	FUZZ_CHECK(nvme_mmio_read(fn, 0, off, width, &val) == 0);
	pthread_mutex_unlock(&fn->lock);
}

static void op_step(struct fuzz_in *in)
{
	unsigned int count = (unsigned int)fuzz_take(in, 1) % 16;

	memcpy(before, arena, sizeof(arena));
	pthread_mutex_lock(&fn->lock);
	for (unsigned int i = 0; i < count; i++) {
		int q = nvme_next_sq(ctrl);

		if (q < 0)
			break;
		nvme_process(&ctrl->workers[0], (unsigned int)q);
	}
	pthread_mutex_unlock(&fn->lock);
	check_writes();
}

static void op_bme(struct fuzz_in *in)
{
	bool on = fuzz_take(in, 1) & 1;

	pthread_mutex_lock(&fn->lock);
	fn_config_write(fn, 0x04, 2, on ? 0x0006 : 0x0002);
	pthread_mutex_unlock(&fn->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	if (!fn)
		setup_once();
	reset((uint8_t)fuzz_take(&in, 1));
	while (in.left) {
		switch (fuzz_take(&in, 1) % 8) {
		case 0:
			op_map(&in);
			break;
		case 1:
			op_unmap(&in);
			break;
		case 2:
			op_poke(&in);
			break;
		case 3:
			op_poke_iova(&in);
			break;
		case 4:
			op_cmd(&in);
			break;
		case 5:
			op_mmio(&in);
			break;
		case 6:
			op_step(&in);
			break;
		default:
			op_bme(&in);
			break;
		}
	}
	return 0;
}
