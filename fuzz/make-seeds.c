// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writes the seed corpora of the fuzz targets:
 *   make-seeds DIR   ->  DIR/fuzz_apple_dma_batch/..., DIR/fuzz_dext_msg/...,
 *                        DIR/fuzz_dart_ops/..., DIR/fuzz_nvme_cmd/...
 * The output is committed in fuzz/corpus/; rerun after an input format
 * change (see docs/fuzzing.md). Input formats: the comment at the top of
 * each fuzz_*.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vfio-apple/apple-dma-abi.h>
#include <vfio-apple/dext-abi.h>
#include <vfio-apple/dext-wire.h>
#include <vfio-apple/dmatest-regs.h>

static const char *outdir;

struct buf {
	uint8_t b[16384];
	size_t len;
};

static void put_le(struct buf *b, size_t off, uint64_t v, unsigned int n)
{
	if (off + n > sizeof(b->b)) {
		fprintf(stderr, "seed too large\n");
		exit(1);
	}
	for (unsigned int i = 0; i < n; i++)
		b->b[off + i] = (uint8_t)(v >> (8 * i));
	if (off + n > b->len)
		b->len = off + n;
}

static void append(struct buf *b, uint64_t v, unsigned int n)
{
	put_le(b, b->len, v, n);
}

static void write_seed(const char *target, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->b, 1, b->len, f) != b->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_apple_dma_batch ---- */

#define HDR		36
#define A(gpa)		(HDR + (gpa) - 0x1000)	/* block A: GPA 0x1000.. */
#define B(gpa)		(HDR + 0x1000 + (gpa) - 0x3000)
#define TOP_GPA		0xfffffffffffff000ull

static void batch_hdr(struct buf *b, unsigned int max, unsigned int regfail,
		      unsigned int unregfail, unsigned int flags, const uint64_t cmd[4])
{
	memset(b, 0, sizeof(*b));
	put_le(b, 0, max, 1);
	put_le(b, 1, regfail, 1);
	put_le(b, 2, unregfail, 1);
	put_le(b, 3, flags, 1);
	for (int i = 0; i < 4; i++)
		put_le(b, 4 + 8 * i, cmd[i], 8);
}

static void cmd_page(struct buf *b, size_t off, uint32_t type, uint32_t count, uint64_t req,
		     uint64_t resp)
{
	put_le(b, off, type, 4);
	put_le(b, off + 4, count, 4);
	put_le(b, off + 8, 0xffffffff, 4);	/* status: overwritten */
	put_le(b, off + 16, req, 8);
	put_le(b, off + 24, resp, 8);
}

static void map_req(struct buf *b, size_t off, uint64_t gpa, uint32_t len, uint32_t flags)
{
	put_le(b, off, gpa, 8);
	put_le(b, off + 8, len, 4);
	put_le(b, off + 12, flags, 4);
}

static void unmap_req(struct buf *b, size_t off, uint64_t id, uint64_t size)
{
	put_le(b, off, id, 8);
	put_le(b, off + 8, size, 8);
}

static void seeds_batch(void)
{
	static const char t[] = "fuzz_apple_dma_batch";
	struct buf b;

	/* Three good MAPs, one in the alias block. */
	batch_hdr(&b, 16, 0, 0, 7, (uint64_t[4]){ 0x1000 });
	cmd_page(&b, A(0x1000), APPLE_DMA_CMD_MAP, 3, 0x1100, 0x1200);
	map_req(&b, A(0x1100), 0x1800, 0x100, 0);
	map_req(&b, A(0x1110), 0x1900, 0x80, 0);
	map_req(&b, A(0x1120), 0x10080, 0x10, 0);
	b.len = A(0x1300);
	write_seed(t, "map-ok", &b);

	/* MAP two, then UNMAP both plus an unknown id; big bus_len. */
	batch_hdr(&b, 8, 0, 0, 0x1f, (uint64_t[4]){ 0x1000, 0x1020 });
	cmd_page(&b, A(0x1000), APPLE_DMA_CMD_MAP, 2, 0x1100, 0x1200);
	map_req(&b, A(0x1100), 0x1800, 0x100, 0);
	map_req(&b, A(0x1110), 0x1a00, 0x600, 0);
	cmd_page(&b, A(0x1020), APPLE_DMA_CMD_UNMAP, 3, 0x1140, 0x1280);
	unmap_req(&b, A(0x1140), 0x1800, 0x100);
	unmap_req(&b, A(0x1150), 0xdead000, 0);
	unmap_req(&b, A(0x1160), 0x1a00, 0x600);
	b.len = A(0x1300);
	write_seed(t, "map-unmap", &b);

	/* Entry errors: len 0, flags, hole, runs off A, duplicate key, injected failure. */
	batch_hdr(&b, 24, 0x20, 0, 0x02, (uint64_t[4]){ 0x1000 });
	cmd_page(&b, A(0x1000), APPLE_DMA_CMD_MAP, 7, 0x1100, 0x1200);
	map_req(&b, A(0x1100), 0x1800, 0, 0);
	map_req(&b, A(0x1110), 0x1800, 0x10, 1);
	map_req(&b, A(0x1120), 0x2000, 0x10, 0);
	map_req(&b, A(0x1130), 0x1f00, 0x200, 0);
	map_req(&b, A(0x1140), 0x1800, 0x10, 0);
	map_req(&b, A(0x1150), 0x1800, 0x10, 0);
	map_req(&b, A(0x1160), 0x1c00, 0x10, 0);
	b.len = A(0x1300);
	write_seed(t, "map-errors", &b);

	/* Whole-batch rejections: zero, hole, bad type, count, overlap. */
	batch_hdr(&b, 2, 0, 0, 0x30, (uint64_t[4]){ 0, 0x2000, 0x1000, 0x1040 });
	cmd_page(&b, A(0x1000), 7, 1, 0x1100, 0x1200);
	cmd_page(&b, A(0x1040), APPLE_DMA_CMD_MAP, 2, 0x1100, 0x1108);
	b.len = A(0x1300);
	write_seed(t, "reject", &b);

	/* Arrays in block B and at the top of the address space. */
	batch_hdr(&b, 4, 0, 0x01, 0x13, (uint64_t[4]){ TOP_GPA + 0xf00, 0x3000 });
	put_le(&b, B(0x3fff), 0, 1);
	put_le(&b, HDR + 0x2000 + 0xf00, APPLE_DMA_CMD_MAP, 4);
	put_le(&b, HDR + 0x2000 + 0xf04, 2, 4);
	put_le(&b, HDR + 0x2000 + 0xf10, TOP_GPA + 0xf80, 8);
	put_le(&b, HDR + 0x2000 + 0xf18, TOP_GPA + 0xfd0, 8);
	map_req(&b, HDR + 0x2000 + 0xf80, TOP_GPA + 0x100, 0xf00, 0);
	map_req(&b, HDR + 0x2000 + 0xf90, TOP_GPA + 0x100, 0x1000, 0);
	cmd_page(&b, B(0x3000), APPLE_DMA_CMD_UNMAP, 2, 0x3100, 0x3200);
	unmap_req(&b, B(0x3100), TOP_GPA + 0x100, 0);
	unmap_req(&b, B(0x3110), TOP_GPA + 0x100, 0);
	write_seed(t, "top-and-b", &b);

	/* Block B read-only: command page there, responses there, a map of it, then a good batch. */
	batch_hdr(&b, 8, 0, 0, 0x70, (uint64_t[4]){ 0x3000, 0x1000, 0x1040, 0x1080 });
	cmd_page(&b, B(0x3000), APPLE_DMA_CMD_MAP, 1, 0x1100, 0x1200);
	cmd_page(&b, A(0x1000), APPLE_DMA_CMD_MAP, 1, 0x1100, 0x3200);
	cmd_page(&b, A(0x1040), APPLE_DMA_CMD_MAP, 2, 0x3100, 0x1200);
	cmd_page(&b, A(0x1080), APPLE_DMA_CMD_MAP, 1, 0x1100, 0x1300);
	map_req(&b, A(0x1100), 0x1800, 0x100, 0);
	map_req(&b, B(0x3100), 0x3800, 0x100, 0);
	map_req(&b, B(0x3110), 0x1900, 0x100, 0);
	b.len = B(0x3400);
	write_seed(t, "read-only", &b);
}

/* ---- fuzz_dext_msg ---- */

static void msg(struct buf *b, uint16_t type, uint16_t op, unsigned int n_out, unsigned int n,
		const uint64_t *s)
{
	append(b, 24 + 8 * n, 1);	/* record length */
	append(b, 24 + 8 * n, 4);	/* size */
	append(b, type, 2);
	append(b, op, 2);
	append(b, b->len, 4);		/* id */
	append(b, 0, 4);		/* error */
	append(b, n, 2);
	append(b, n_out, 2);
	append(b, 0, 4);		/* flags */
	for (unsigned int i = 0; i < n; i++)
		append(b, s[i], 8);
}

#define CTL(b, op, nout, ...)	do {						\
	const uint64_t s_[] = { __VA_ARGS__ };					\
	msg(b, DEXT_MSG_CONTROL, op, nout, sizeof(s_) / 8, s_);			\
} while (0)
#define CALL(b, sel, nout, ...)	do {						\
	const uint64_t s_[] = { 0, ##__VA_ARGS__ };				\
	msg(b, DEXT_MSG_CALL, sel, nout, sizeof(s_) / 8 - 1, s_ + 1);		\
} while (0)

static void open_claim(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	CTL(b, DEXT_CTL_HELLO, 2, DEXT_WIRE_VERSION);
	CTL(b, DEXT_CTL_OPEN, 0, 0, 3, 0);
	CALL(b, DEXT_SEL_CLAIM, 0);
}

static void seeds_msg(void)
{
	static const char t[] = "fuzz_dext_msg";
	struct buf b;

	memset(&b, 0, sizeof(b));
	CTL(&b, DEXT_CTL_HELLO, 2, DEXT_WIRE_VERSION);
	CTL(&b, DEXT_CTL_ENUM, 6, 0);
	CTL(&b, DEXT_CTL_ENUM, 6, 1);
	CTL(&b, DEXT_CTL_OPEN, 0, 0, 3, 0);
	CALL(&b, DEXT_SEL_GET_IDENTITY, 6);
	CALL(&b, DEXT_SEL_GET_BAR_INFO, 3, 2);
	CALL(&b, DEXT_SEL_CONFIG_READ, 1, 0, 4);
	CALL(&b, DEXT_SEL_CLAIM, 0);
	CALL(&b, DEXT_SEL_MMIO_READ, 1, 0, 0, 4);
	CTL(&b, DEXT_CTL_STATUS, DEXT_STATUS_COUNT, 0);
	write_seed(t, "identity", &b);

	open_claim(&b);
	CALL(&b, DEXT_SEL_REGISTER_DMA_REGION, 3, 1, 0x1000, 0x8000);
	CALL(&b, DEXT_SEL_REGISTER_DMA_REGION, 3, 2, 0x20000, 0x100);
	CALL(&b, DEXT_SEL_PROBE_DMA_REGION, 1, 1, 0x10);
	CALL(&b, DEXT_SEL_UNREGISTER_DMA_REGION, 0, 1);
	CALL(&b, DEXT_SEL_UNREGISTER_DMA_REGION, 0, 1);
	CTL(&b, DEXT_CTL_FAULT, 4, 0, 0);
	write_seed(t, "register", &b);

	open_claim(&b);
	CALL(&b, DEXT_SEL_ALLOCATE_DMA_BUFFER, 6, 0x4000, 0);
	CTL(&b, DEXT_CTL_MAP_MEMORY, 2, DEXT_MEM_DMA_BUFFER);
	CTL(&b, DEXT_CTL_MAP_MEMORY, 2, DEXT_MEM_BAR0 + 2);
	CTL(&b, DEXT_CTL_MAP_MEMORY, 2, DEXT_MEM_IRQ_STATE);
	CALL(&b, DEXT_SEL_FREE_DMA_BUFFER, 0);
	write_seed(t, "dma-buffer", &b);

	open_claim(&b);
	CALL(&b, DEXT_SEL_SETUP_INTERRUPTS, 1);
	CALL(&b, DEXT_SEL_SET_IRQ_MASK, 0, ~0ull, 0, 0, 0);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, DMATEST_REG_VECTOR, 4, 1);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, DMATEST_REG_CMD, 4, DMATEST_CMD_RAISE);
	CALL(&b, DEXT_SEL_CHECK_INTERRUPT, 4);
	CALL(&b, DEXT_SEL_WAIT_INTERRUPT, 0);
	CALL(&b, DEXT_SEL_WAIT_INTERRUPT, 0);
	CALL(&b, DEXT_SEL_RESET_DEVICE, 0);
	write_seed(t, "interrupts", &b);

	open_claim(&b);
	CALL(&b, DEXT_SEL_CONFIG_WRITE, 0, 4, 2, 6);
	CALL(&b, DEXT_SEL_REGISTER_DMA_REGION, 3, 1, 0x4000, 0x4000);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, DMATEST_REG_LEN, 8, 0x100);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, DMATEST_REG_CMD, 4, DMATEST_CMD_CHECKSUM);
	CALL(&b, DEXT_SEL_MMIO_READ, 1, 0, DMATEST_REG_STATUS, 4);
	CALL(&b, DEXT_SEL_TERMINATE, 0);
	CALL(&b, DEXT_SEL_GET_IDENTITY, 6);
	write_seed(t, "dma-terminate", &b);

	/* The NVMe controller at 00:04.0: registers, enable, a doorbell, reset. */
	memset(&b, 0, sizeof(b));
	CTL(&b, DEXT_CTL_HELLO, 2, DEXT_WIRE_VERSION);
	CTL(&b, DEXT_CTL_OPEN, 0, 0, 4, 0);
	CALL(&b, DEXT_SEL_GET_IDENTITY, 6);
	CALL(&b, DEXT_SEL_GET_BAR_INFO, 3, 0);
	CALL(&b, DEXT_SEL_GET_BAR_INFO, 3, 4);
	CALL(&b, DEXT_SEL_CLAIM, 0);
	CALL(&b, DEXT_SEL_REGISTER_DMA_REGION, 3, 1, 0x4000, 0x8000);
	CALL(&b, DEXT_SEL_MMIO_READ, 1, 0, 0x00, 8);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, 0x24, 4, 0x000f000f);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, 0x28, 8, 0x4000);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, 0x30, 8, 0x5000);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, 0x14, 4, 0x00460001);
	CALL(&b, DEXT_SEL_MMIO_READ, 1, 0, 0x1c, 4);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, 0x1000, 4, 1);
	CALL(&b, DEXT_SEL_MMIO_WRITE, 0, 0, 0x16, 2, 0x4000);
	CALL(&b, DEXT_SEL_MMIO_READ, 1, 4, 0x2000, 8);
	CALL(&b, DEXT_SEL_RESET_DEVICE, 0);
	CALL(&b, DEXT_SEL_MMIO_READ, 1, 0, 0x14, 4);
	write_seed(t, "nvme", &b);

	/* Malformed: bad type, size mismatch, too many scalars, bad flags. */
	memset(&b, 0, sizeof(b));
	msg(&b, 9, 0, 0, 0, NULL);
	msg(&b, DEXT_MSG_REPLY, 0, 0, 0, NULL);
	msg(&b, DEXT_MSG_CALL, 99, 16, 0, NULL);
	append(&b, 24, 1);
	append(&b, 32, 4);
	append(&b, DEXT_MSG_CALL, 2);
	for (int i = 0; i < 8; i++)
		append(&b, 0, 2);
	append(&b, 2, 4);
	write_seed(t, "malformed", &b);
}

/* ---- fuzz_dart_ops ---- */

enum { OP_MAP, OP_UNMAP, OP_UNMAP_OWNER, OP_XL_LIVE, OP_XL_ANY, OP_LOOKUP, OP_KEY_TARGET,
       OP_BAD };

static void dart_hdr(struct buf *b, unsigned int bits, unsigned int maps, unsigned int pages,
		     unsigned int chunk_pages, unsigned int chunks, uint32_t seed)
{
	memset(b, 0, sizeof(*b));
	append(b, bits - 24, 1);
	append(b, maps - 1, 1);
	append(b, pages - 1, 1);
	append(b, chunk_pages - 1, 1);
	append(b, chunks - 1, 1);
	append(b, seed, 3);
}

static void d_map(struct buf *b, unsigned int o, unsigned int k, uint64_t target, uint32_t size)
{
	append(b, OP_MAP, 1);
	append(b, o | k << 2, 1);
	append(b, target, 5);
	append(b, size, 3);
}

static void d_sel(struct buf *b, unsigned int op, unsigned int o, unsigned int k)
{
	append(b, op, 1);
	append(b, o | k << 2, 1);
}

static void seeds_dart(void)
{
	static const char t[] = "fuzz_dart_ops";
	struct buf b;

	dart_hdr(&b, 24, 8, 32, 2, 4, 0x1234);
	d_map(&b, 0, 0, 0x10000123, 0x100);
	d_map(&b, 0, 1, 0x20003ff0, 0x20);
	d_map(&b, 1, 0, 0x30000000, 0x9000);
	d_map(&b, 0, 0, 0x40000000, 0x10);		/* EEXIST */
	d_sel(&b, OP_XL_LIVE, 0, 0);
	append(&b, 0x10, 2);
	append(&b, 0x400, 2);
	d_sel(&b, OP_XL_LIVE, 0, 1);
	append(&b, 0x0, 2);
	append(&b, 0x40, 2);
	d_sel(&b, OP_LOOKUP, 1, 0);
	d_sel(&b, OP_KEY_TARGET, 1, 0);
	append(&b, 0x8fff, 3);
	d_sel(&b, OP_UNMAP, 0, 1);
	d_sel(&b, OP_UNMAP, 0, 1);
	d_sel(&b, OP_UNMAP_OWNER, 1, 0);
	write_seed(t, "basic", &b);

	dart_hdr(&b, 24, 16, 64, 1, 8, 0x777);
	d_map(&b, 2, 3, 0x5000, 0x1c000);		/* 8 chunks */
	d_map(&b, 2, 4, 0x5000, 0x24000);		/* E2BIG */
	d_map(&b, 3, 0, 0, 0);				/* EINVAL */
	d_map(&b, 3, 0, 0x100, 0x100000);		/* ENOSPC: bytes */
	append(&b, OP_XL_ANY, 1);
	append(&b, 0x8000, 4);
	append(&b, 0x10, 2);
	append(&b, 0, 1);
	append(&b, OP_XL_ANY, 1);
	append(&b, 0x10, 4);
	append(&b, 0x10, 2);
	append(&b, 1, 1);
	append(&b, OP_BAD, 1);
	append(&b, 0x4000, 4);
	write_seed(t, "chunks-limits", &b);

	dart_hdr(&b, 24, 2, 64, 4, 2, 0x99);
	for (unsigned int k = 0; k < 4; k++)
		d_map(&b, k & 1, k, 0x100000ull * k + 0x3f00, 0x300);
	d_sel(&b, OP_UNMAP_OWNER, 0, 0);
	d_map(&b, 0, 2, 0x2000, 0x10000);
	d_sel(&b, OP_XL_LIVE, 0, 2);
	append(&b, 0xfff0, 2);
	append(&b, 0x100, 2);
	write_seed(t, "max-mappings", &b);
}

/* ---- fuzz_nvme_cmd ---- */

enum { N_MAP, N_UNMAP, N_POKE, N_POKE_IOVA, N_CMD, N_MMIO, N_STEP, N_BME };

#define N_ADMIN		1
#define N_PRP1		2
#define N_PRP2		4
#define N_WHOLE		0x40000u	/* the harness's arena */

struct sqe {
	uint8_t opcode;
	uint32_t nsid;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12;
};

static void n_map(struct buf *b, unsigned int key, uint32_t off, uint32_t size)
{
	append(b, N_MAP, 1);
	append(b, key, 1);
	append(b, off, 4);
	append(b, size - 1, 4);		/* the harness takes size % room + 1 */
}

static void n_unmap(struct buf *b, unsigned int key)
{
	append(b, N_UNMAP, 1);
	append(b, key, 1);
}

static void n_poke_iova(struct buf *b, uint32_t off, unsigned int key, uint32_t delta)
{
	append(b, N_POKE_IOVA, 1);
	append(b, off, 4);
	append(b, key, 1);
	append(b, delta, 4);
}

static void sqe_bytes(struct buf *b, const struct sqe *c)
{
	size_t at = b->len;

	put_le(b, at + 63, 0, 1);	/* the 64 bytes, zeroed */
	put_le(b, at + 0, c->opcode, 1);
	put_le(b, at + 4, c->nsid, 4);
	put_le(b, at + 24, c->prp1, 8);
	put_le(b, at + 32, c->prp2, 8);
	put_le(b, at + 40, c->cdw10, 4);
	put_le(b, at + 44, c->cdw11, 4);
	put_le(b, at + 48, c->cdw12, 4);
}

/* A command run at once; PRPs given as key 0 + delta when flagged. */
static void n_cmd(struct buf *b, unsigned int flags, const struct sqe *c)
{
	append(b, N_CMD, 1);
	append(b, flags, 1);
	sqe_bytes(b, c);
	if (flags & N_PRP1) {
		append(b, 0, 1);
		append(b, c->prp1, 4);
	}
	if (flags & N_PRP2) {
		append(b, 0, 1);
		append(b, c->prp2, 4);
	}
}

/* An SQE placed in the arena at off (PRP1 as key 0 + prp1). */
static void n_sqe_at(struct buf *b, uint32_t off, const struct sqe *c)
{
	append(b, N_POKE, 1);
	append(b, off, 4);
	append(b, 64, 1);
	sqe_bytes(b, c);
	n_poke_iova(b, off + 24, 0, (uint32_t)c->prp1);
}

static void n_mmio(struct buf *b, uint16_t off, unsigned int width_code, bool iova, uint64_t val)
{
	append(b, N_MMIO, 1);
	append(b, off, 2);
	append(b, width_code, 1);	/* 0..3: 1, 2, 4, 8 bytes */
	append(b, iova, 1);
	append(b, iova ? val << 8 : val, 8);	/* key 0 + val */
}

static void n_step(struct buf *b, unsigned int count)
{
	append(b, N_STEP, 1);
	append(b, count, 1);
}

/* 3 pages to or from data: PRP1 = data, PRP2 -> a list of two at list. */
static void n_rw3(struct buf *b, uint8_t opcode, uint32_t data, uint32_t list)
{
	n_poke_iova(b, list, 0, data + 0x1000);
	n_poke_iova(b, list + 8, 0, data + 0x2000);
	n_cmd(b, N_PRP1 | N_PRP2, &(struct sqe){ .opcode = opcode, .nsid = 1, .prp1 = data,
						  .prp2 = list, .cdw12 = 23 });
}

static void seeds_nvme(void)
{
	static const char t[] = "fuzz_nvme_cmd";
	struct buf b;

	/* Identify controller and namespace into mapped memory. */
	memset(&b, 0, sizeof(b));
	append(&b, 0, 1);
	n_map(&b, 0, 0, N_WHOLE);
	n_cmd(&b, N_ADMIN | N_PRP1, &(struct sqe){ .opcode = 0x06, .prp1 = 0x8000, .cdw10 = 1 });
	n_cmd(&b, N_ADMIN | N_PRP1, &(struct sqe){ .opcode = 0x06, .nsid = 1, .prp1 = 0x9000 });
	n_cmd(&b, N_ADMIN | N_PRP1 | N_PRP2,
	      &(struct sqe){ .opcode = 0x02, .prp1 = 0x8800, .prp2 = 0x9000,
			     .cdw10 = 0x02 | (511u << 16) });
	write_seed(t, "identify-log", &b);

	/* Write and read back 3 pages through PRP lists. */
	memset(&b, 0, sizeof(b));
	append(&b, 1, 1);
	n_map(&b, 0, 0, N_WHOLE);
	n_rw3(&b, 0x01, 0x20000, 0x10000);
	n_rw3(&b, 0x02, 0x30000, 0x11000);
	write_seed(t, "rw-list", &b);

	/* A list that chains after one entry (pointer at 0xff0), 4 pages. */
	memset(&b, 0, sizeof(b));
	append(&b, 2, 1);
	n_map(&b, 0, 0, N_WHOLE);
	n_poke_iova(&b, 0x10ff0, 0, 0x21000);
	n_poke_iova(&b, 0x10ff8, 0, 0x12000);
	n_poke_iova(&b, 0x12000, 0, 0x22000);
	n_poke_iova(&b, 0x12008, 0, 0x23000);
	n_cmd(&b, N_PRP1 | N_PRP2, &(struct sqe){ .opcode = 0x02, .nsid = 1, .prp1 = 0x20000,
						  .prp2 = 0x10ff0, .cdw12 = 31 });
	write_seed(t, "chained", &b);

	/* Issue 11 item 1: a list pointer at 0xffc, and stale memory. */
	memset(&b, 0, sizeof(b));
	append(&b, 3, 1);
	n_map(&b, 0, 0, 0x30000);
	n_map(&b, 1, 0x38000, 0x4000);
	n_unmap(&b, 1);
	n_cmd(&b, N_PRP1 | N_PRP2, &(struct sqe){ .opcode = 0x02, .nsid = 1, .prp1 = 0x20000,
						  .prp2 = 0x10ffc, .cdw12 = 23 });
	n_cmd(&b, N_ADMIN | N_PRP1 | N_PRP2,
	      &(struct sqe){ .opcode = 0x02, .prp1 = 0x20000, .prp2 = 0x10ffc,
			     .cdw10 = 0x02 | (3071u << 16) });
	append(&b, N_CMD, 1);
	append(&b, N_PRP1, 1);
	sqe_bytes(&b, &(struct sqe){ .opcode = 0x02, .nsid = 1 });
	append(&b, 1, 1);		/* key 1: stale */
	append(&b, 0, 4);
	write_seed(t, "prp-offset-stale", &b);

	/* Admin and I/O queues in guest memory, run by the worker step. */
	memset(&b, 0, sizeof(b));
	append(&b, 4, 1);
	n_map(&b, 0, 0, N_WHOLE);
	n_mmio(&b, 0x24, 2, false, 15u << 16 | 15);		/* AQA */
	n_mmio(&b, 0x28, 3, true, 0x0000);			/* ASQ */
	n_mmio(&b, 0x30, 3, true, 0x1000);			/* ACQ */
	n_mmio(&b, 0x14, 2, false, 0x460001);			/* CC: EN */
	n_sqe_at(&b, 0x0000, &(struct sqe){ .opcode = 0x06, .prp1 = 0x8000, .cdw10 = 1 });
	n_sqe_at(&b, 0x0040, &(struct sqe){ .opcode = 0x05, .prp1 = 0x3000,
					     .cdw10 = 15u << 16 | 1, .cdw11 = 1u << 16 | 3 });
	n_sqe_at(&b, 0x0080, &(struct sqe){ .opcode = 0x01, .prp1 = 0x2000,
					     .cdw10 = 15u << 16 | 1, .cdw11 = 1u << 16 | 1 });
	n_mmio(&b, 0x1000, 2, false, 3);			/* SQ0 tail */
	n_step(&b, 3);
	n_sqe_at(&b, 0x2000, &(struct sqe){ .opcode = 0x01, .nsid = 1, .prp1 = 0x20000,
					     .cdw12 = 7 });
	n_mmio(&b, 0x1008, 2, false, 1);			/* SQ1 tail */
	n_step(&b, 1);
	n_mmio(&b, 0x1004, 2, false, 3);			/* CQ0 head */
	n_mmio(&b, 0x100c, 2, false, 1);			/* CQ1 head */
	n_mmio(&b, 0x14, 2, false, 0x464001);			/* CC: shutdown */
	write_seed(t, "queues", &b);

	/* DSM, features, Write Zeroes, Flush; then bus mastering off. */
	memset(&b, 0, sizeof(b));
	append(&b, 5, 1);
	n_map(&b, 0, 0x4000, 0x10000);
	/* Two DSM ranges of zeroes (LBA 0, no blocks) at key 0 + 0x100. */
	n_cmd(&b, N_PRP1, &(struct sqe){ .opcode = 0x09, .nsid = 1, .prp1 = 0x100,
					 .cdw10 = 1, .cdw11 = 4 });
	n_cmd(&b, N_ADMIN, &(struct sqe){ .opcode = 0x09, .cdw10 = 0x07, .cdw11 = 0x00030003 });
	n_cmd(&b, N_ADMIN, &(struct sqe){ .opcode = 0x0a, .cdw10 = 0x04 });
	n_cmd(&b, 0, &(struct sqe){ .opcode = 0x08, .nsid = 1, .cdw10 = 8, .cdw12 = 15 });
	n_cmd(&b, 0, &(struct sqe){ .opcode = 0x00, .nsid = 0xffffffff });
	append(&b, N_BME, 1);
	append(&b, 0, 1);
	n_cmd(&b, N_PRP1, &(struct sqe){ .opcode = 0x02, .nsid = 1, .prp1 = 0x1000 });
	write_seed(t, "misc", &b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	seeds_batch();
	seeds_msg();
	seeds_dart();
	seeds_nvme();
	return 0;
}
