// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmatest_guest: test driver for the dmatest device (1234:11f0).
 *
 * It uses nothing but the standard DMA API on its own device, so when
 * apple_dma manages that device every test here exercises apple_dma's ops
 * (map_page, map_sg, alloc, unmap...) end to end through the DART.
 *
 * Interface (debugfs, one device): /sys/kernel/debug/dmatest/
 *   cmd     write a command line; the write runs the test synchronously
 *           and succeeds (returns the byte count, so the shell's exit
 *           status is 0) only if the test passed, else fails with a
 *           negative errno (-EIO: ran but failed; -EINVAL: bad command)
 *   result  "key value" lines of the last test, first "status ok|fail"
 *   irqs    interrupts per MSI-X vector and the device's counters
 *
 * Commands (an optional last token seed=N makes the data reproducible):
 *   copy SIZE SRC_OFF DST_OFF [single|coherent]
 *   fill SIZE OFF PATTERN
 *   checksum SIZE OFF
 *   sg NSEGS SEGSIZE
 *   sgrun NSEGS SEGSIZE
 *   stale SIZE
 *   exhaust MAX SIZE
 *   stress ITERATIONS | stress SECONDSs
 * SIZE + offset is at most 4 MiB (one physically contiguous buffer).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <vfio-apple/dmatest-regs.h>

#define DT_TIMEOUT		(10 * HZ)
#define DT_GUARD		64
#define DT_MAX_SIZE		SZ_4M
#define DT_SG_MAX_SEGS		256
#define DT_SG_MAX_TOTAL		SZ_16M
#define DT_EXHAUST_MAX		(1U << 20)
#define DT_EXHAUST_SPREAD	SZ_256K
#define DT_RESULT_SIZE		4096
#define DT_KMALLOC_MAX		(2 * PAGE_SIZE)

struct dt_dev;

struct dt_vec {
	struct dt_dev *dt;
	atomic64_t count;
};

/**
 * struct dt_dev - the device and the test interface
 * @pdev: PCI function
 * @dev: &pdev->dev, the device all DMA API calls are made on
 * @regs: BAR0
 * @nvec: MSI-X (or MSI) vectors in use
 * @vec: per-vector handler data and interrupt count
 * @next_vec: round-robin vector selection
 * @hw_lock: one operation on the engine at a time
 * @done: completed by any vector's interrupt, waited for under @hw_lock
 * @cmd_lock: one test at a time; protects @result
 * @result: text of the last test
 * @debugfs: /sys/kernel/debug/dmatest
 */
struct dt_dev {
	struct pci_dev *pdev;
	struct device *dev;
	void __iomem *regs;
	int nvec;
	struct dt_vec vec[DMATEST_MSIX_VECTORS];
	atomic_t next_vec;
	struct mutex hw_lock;
	struct completion done;
	struct mutex cmd_lock;
	char *result;
	struct dentry *debugfs;
	/* "hold": mappings kept on purpose until "release" or remove */
	void **held_va;
	dma_addr_t *held_dma;
	size_t held_n, held_size;
};

/* The debugfs interface serves one device. */
static struct dt_dev *dt_the_dev;
static DEFINE_MUTEX(dt_probe_lock);

/* ---- helpers ------------------------------------------------------------- */

/* xorshift64*: reproducible data from a seed. */
static u64 dt_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void dt_fill_random(u64 *state, void *buf, size_t len)
{
	u8 *p = buf;

	while (len >= 8) {
		u64 v = dt_rand(state);

		memcpy(p, &v, sizeof(v));
		p += 8;
		len -= 8;
	}
	while (len--)
		*p++ = dt_rand(state);
}

static u64 dt_fnv1a(const void *buf, size_t len)
{
	const u8 *p = buf;
	u64 h = DMATEST_FNV_OFFSET;

	while (len--) {
		h ^= *p++;
		h *= DMATEST_FNV_PRIME;
	}
	return h;
}

/* Bytes that differ in [start, end); *first gets the first such offset. */
static u64 dt_diff(const u8 *a, const u8 *b, size_t start, size_t end,
		   s64 *first)
{
	u64 n = 0;
	size_t i;

	for (i = start; i < end; i++) {
		if (a[i] == b[i])
			continue;
		if (!n && first)
			*first = i;
		n++;
	}
	return n;
}

struct dt_buf {
	void *va;
	size_t size;
	struct page *page;
	dma_addr_t coh_dma;
	bool coherent;
};

/* Physically contiguous, linear-map memory (kmalloc or pages), or coherent. */
static int dt_buf_alloc(struct dt_dev *dt, struct dt_buf *b, size_t size,
			bool coherent)
{
	memset(b, 0, sizeof(*b));
	b->size = size;
	b->coherent = coherent;
	if (coherent)
		b->va = dma_alloc_coherent(dt->dev, size, &b->coh_dma,
					   GFP_KERNEL);
	else if (size <= DT_KMALLOC_MAX)
		b->va = kmalloc(size, GFP_KERNEL);
	else {
		b->page = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
				      get_order(size));
		if (b->page)
			b->va = page_address(b->page);
	}
	return b->va ? 0 : -ENOMEM;
}

static void dt_buf_free(struct dt_dev *dt, struct dt_buf *b)
{
	if (!b->va)
		return;
	if (b->coherent)
		dma_free_coherent(dt->dev, b->size, b->va, b->coh_dma);
	else if (b->page)
		__free_pages(b->page, get_order(b->size));
	else
		kfree(b->va);
	b->va = NULL;
}

/* ---- the engine ------------------------------------------------------------ */

struct dt_op {
	u32 status;
	u64 result;
	u64 bytes_done;
	u64 fault_iova;
};

static irqreturn_t dt_irq(int irq, void *data)
{
	struct dt_vec *v = data;

	atomic64_inc(&v->count);
	complete(&v->dt->done);
	return IRQ_HANDLED;
}

/*
 * Run one operation and wait for its interrupt. Returns 0 when the engine
 * ended (op->status says DONE or ERROR) or -ETIMEDOUT.
 */
static int dt_run(struct dt_dev *dt, u32 cmd, dma_addr_t src, dma_addr_t dst,
		  u64 len, u8 pattern, struct dt_op *op)
{
	unsigned int vector = (unsigned int)atomic_inc_return(&dt->next_vec) %
			      dt->nvec;
	unsigned long deadline = jiffies + DT_TIMEOUT;
	void __iomem *r = dt->regs;
	int ret = 0;

	mutex_lock(&dt->hw_lock);
	reinit_completion(&dt->done);
	lo_hi_writeq(src, r + DMATEST_REG_SRC);
	lo_hi_writeq(dst, r + DMATEST_REG_DST);
	lo_hi_writeq(len, r + DMATEST_REG_LEN);
	writel(pattern, r + DMATEST_REG_PATTERN);
	writel(vector, r + DMATEST_REG_VECTOR);
	writel(cmd, r + DMATEST_REG_CMD);

	for (;;) {
		long left = (long)(deadline - jiffies);

		if (left <= 0 ||
		    !wait_for_completion_timeout(&dt->done, left)) {
			ret = -ETIMEDOUT;
			break;
		}
		/* a late interrupt of an earlier, timed-out operation */
		if (!(readl(r + DMATEST_REG_STATUS) & DMATEST_STATUS_BUSY))
			break;
	}
	op->status = readl(r + DMATEST_REG_STATUS);
	op->result = lo_hi_readq(r + DMATEST_REG_RESULT);
	op->bytes_done = lo_hi_readq(r + DMATEST_REG_BYTES_DONE);
	op->fault_iova = lo_hi_readq(r + DMATEST_REG_FAULT_IOVA);
	mutex_unlock(&dt->hw_lock);

	if (ret)
		dev_err_ratelimited(dt->dev,
				    "operation %u timed out (status %#x)\n",
				    cmd, op->status);
	return ret;
}

static bool dt_op_ok(const struct dt_op *op, u64 len)
{
	return (op->status & DMATEST_STATUS_DONE) &&
	       !(op->status & DMATEST_STATUS_ERROR) && op->bytes_done == len;
}

/* ---- test context and result text ---------------------------------------- */

struct dt_ctx {
	struct dt_dev *dt;
	u64 seed;
	u64 rng;
	bool failed;
	char detail[160];
	char *body;
	size_t len;
};

static __printf(2, 3) void dt_res(struct dt_ctx *c, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	c->len += vscnprintf(c->body + c->len, DT_RESULT_SIZE - c->len, fmt,
			     args);
	va_end(args);
}

/* Record a failure; the first reason is reported as "detail". */
static __printf(2, 3) void dt_fail(struct dt_ctx *c, const char *fmt, ...)
{
	va_list args;

	if (!c->failed) {
		va_start(args, fmt);
		vscnprintf(c->detail, sizeof(c->detail), fmt, args);
		va_end(args);
	}
	c->failed = true;
}

static void dt_res_op(struct dt_ctx *c, const struct dt_op *op)
{
	dt_res(c, "dev_status %#x\nbytes_done %llu\nfault_iova %#llx\n",
	       op->status, op->bytes_done, op->fault_iova);
}

static size_t dt_alloc_len(u64 off, u64 size)
{
	return min_t(u64, off + size + DT_GUARD, DT_MAX_SIZE);
}

static int dt_check_range(struct dt_ctx *c, u64 size, u64 off)
{
	if (!size || size > DT_MAX_SIZE || off > DT_MAX_SIZE - size) {
		dt_fail(c, "size/offset out of range (size 1..%u, size+offset <= %u)",
			DT_MAX_SIZE, DT_MAX_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* ---- copy -------------------------------------------------------------- */

static int dt_test_copy(struct dt_ctx *c, u64 size, u64 soff, u64 doff,
			bool coherent)
{
	struct dt_dev *dt = c->dt;
	struct dt_buf src, dst;
	dma_addr_t sdma = DMA_MAPPING_ERROR, ddma = DMA_MAPPING_ERROR;
	size_t slen, dlen;
	u8 *expect = NULL;
	struct dt_op op;
	u64 bad, guard;
	s64 first = -1;
	int ret;

	if (dt_check_range(c, size, soff) || dt_check_range(c, size, doff))
		return -EINVAL;
	slen = dt_alloc_len(soff, size);
	dlen = dt_alloc_len(doff, size);

	ret = dt_buf_alloc(dt, &src, slen, coherent);
	if (!ret)
		ret = dt_buf_alloc(dt, &dst, dlen, coherent);
	else
		dst.va = NULL;
	expect = kvmalloc(dlen, GFP_KERNEL);
	if (ret || !expect) {
		dt_fail(c, "buffer allocation failed");
		ret = -ENOMEM;
		goto out;
	}

	dt_fill_random(&c->rng, src.va, slen);
	dt_fill_random(&c->rng, dst.va, dlen);
	memcpy(expect, dst.va, dlen);
	memcpy(expect + doff, src.va + soff, size);

	if (coherent) {
		sdma = src.coh_dma + soff;
		ddma = dst.coh_dma + doff;
	} else {
		sdma = dma_map_single(dt->dev, src.va + soff, size,
				      DMA_TO_DEVICE);
		if (dma_mapping_error(dt->dev, sdma)) {
			sdma = DMA_MAPPING_ERROR;
			dt_fail(c, "dma_map_single(src) failed");
			ret = -EIO;
			goto out;
		}
		ddma = dma_map_single(dt->dev, dst.va + doff, size,
				      DMA_FROM_DEVICE);
		if (dma_mapping_error(dt->dev, ddma)) {
			ddma = DMA_MAPPING_ERROR;
			dt_fail(c, "dma_map_single(dst) failed");
			ret = -EIO;
			goto out;
		}
	}
	dt_res(c, "src_dma %#llx\ndst_dma %#llx\n", (u64)sdma, (u64)ddma);

	ret = dt_run(dt, DMATEST_CMD_COPY, sdma, ddma, size, 0, &op);
	if (!coherent) {
		dma_unmap_single(dt->dev, ddma, size, DMA_FROM_DEVICE);
		dma_unmap_single(dt->dev, sdma, size, DMA_TO_DEVICE);
		sdma = ddma = DMA_MAPPING_ERROR;
	}
	dt_res_op(c, &op);
	if (ret) {
		dt_fail(c, "device timeout");
		goto out;
	}
	if (!dt_op_ok(&op, size))
		dt_fail(c, "device reported status %#x after %llu bytes",
			op.status, op.bytes_done);

	bad = dt_diff(dst.va, expect, doff, doff + size, &first);
	guard = dt_diff(dst.va, expect, 0, doff, NULL) +
		dt_diff(dst.va, expect, doff + size, dlen, NULL);
	dt_res(c, "bytes %llu\nmismatches %llu\nfirst_mismatch %lld\nguard_corrupt %llu\n",
	       size, bad, first, guard);
	if (bad)
		dt_fail(c, "%llu bytes differ, first at offset %lld", bad,
			first);
	if (guard)
		dt_fail(c, "%llu guard bytes changed", guard);
out:
	if (!coherent && sdma != DMA_MAPPING_ERROR)
		dma_unmap_single(dt->dev, sdma, size, DMA_TO_DEVICE);
	kvfree(expect);
	dt_buf_free(dt, &dst);
	dt_buf_free(dt, &src);
	return ret;
}

/* ---- fill / checksum ------------------------------------------------------ */

static int dt_test_fill(struct dt_ctx *c, u64 size, u64 off, u8 pattern)
{
	struct dt_dev *dt = c->dt;
	struct dt_buf b;
	u8 *expect = NULL;
	struct dt_op op;
	dma_addr_t dma;
	u64 bad, guard;
	s64 first = -1;
	size_t len;
	int ret;

	if (dt_check_range(c, size, off))
		return -EINVAL;
	len = dt_alloc_len(off, size);
	ret = dt_buf_alloc(dt, &b, len, false);
	expect = kvmalloc(len, GFP_KERNEL);
	if (ret || !expect) {
		dt_fail(c, "buffer allocation failed");
		ret = -ENOMEM;
		goto out;
	}
	dt_fill_random(&c->rng, b.va, len);
	memcpy(expect, b.va, len);
	memset(expect + off, pattern, size);

	dma = dma_map_single(dt->dev, b.va + off, size, DMA_FROM_DEVICE);
	if (dma_mapping_error(dt->dev, dma)) {
		dt_fail(c, "dma_map_single failed");
		ret = -EIO;
		goto out;
	}
	dt_res(c, "dma_addr %#llx\n", (u64)dma);
	ret = dt_run(dt, DMATEST_CMD_FILL, 0, dma, size, pattern, &op);
	dma_unmap_single(dt->dev, dma, size, DMA_FROM_DEVICE);
	dt_res_op(c, &op);
	if (ret) {
		dt_fail(c, "device timeout");
		goto out;
	}
	if (!dt_op_ok(&op, size))
		dt_fail(c, "device reported status %#x", op.status);

	bad = dt_diff(b.va, expect, off, off + size, &first);
	guard = dt_diff(b.va, expect, 0, off, NULL) +
		dt_diff(b.va, expect, off + size, len, NULL);
	dt_res(c, "bytes %llu\nmismatches %llu\nfirst_mismatch %lld\nguard_corrupt %llu\n",
	       size, bad, first, guard);
	if (bad)
		dt_fail(c, "%llu bytes not filled, first at %lld", bad, first);
	if (guard)
		dt_fail(c, "%llu guard bytes changed", guard);
out:
	kvfree(expect);
	dt_buf_free(dt, &b);
	return ret;
}

static int dt_test_checksum(struct dt_ctx *c, u64 size, u64 off)
{
	struct dt_dev *dt = c->dt;
	struct dt_buf b;
	struct dt_op op;
	dma_addr_t dma;
	u64 cpu;
	int ret;

	if (dt_check_range(c, size, off))
		return -EINVAL;
	ret = dt_buf_alloc(dt, &b, dt_alloc_len(off, size), false);
	if (ret) {
		dt_fail(c, "buffer allocation failed");
		return ret;
	}
	dt_fill_random(&c->rng, b.va, b.size);
	cpu = dt_fnv1a(b.va + off, size);

	dma = dma_map_single(dt->dev, b.va + off, size, DMA_TO_DEVICE);
	if (dma_mapping_error(dt->dev, dma)) {
		dt_fail(c, "dma_map_single failed");
		ret = -EIO;
		goto out;
	}
	dt_res(c, "dma_addr %#llx\n", (u64)dma);
	ret = dt_run(dt, DMATEST_CMD_CHECKSUM, dma, 0, size, 0, &op);
	dma_unmap_single(dt->dev, dma, size, DMA_TO_DEVICE);
	dt_res_op(c, &op);
	dt_res(c, "bytes %llu\ncpu_checksum %#llx\ndev_checksum %#llx\n",
	       size, cpu, op.result);
	if (ret)
		dt_fail(c, "device timeout");
	else if (!dt_op_ok(&op, size))
		dt_fail(c, "device reported status %#x", op.status);
	else if (op.result != cpu)
		dt_fail(c, "checksum mismatch");
out:
	dt_buf_free(dt, &b);
	return ret;
}

/* ---- scatter-gather ------------------------------------------------------------ */

static int dt_test_sg(struct dt_ctx *c, u64 nsegs, u64 segsize)
{
	struct dt_dev *dt = c->dt;
	struct dt_buf *bufs = NULL;
	u8 **expect = NULL;
	u32 *offs = NULL;
	struct scatterlist *s;
	struct sg_table sgt;
	u64 csum_bad = 0, fill_bad = 0, guard = 0, dev_err = 0;
	bool table = false;
	int count = 0, ret = 0, i;
	struct dt_op op;

	if (!nsegs || nsegs > DT_SG_MAX_SEGS || !segsize ||
	    segsize > DT_MAX_SIZE - 512 || nsegs * segsize > DT_SG_MAX_TOTAL) {
		dt_fail(c, "NSEGS 1..%d, SEGSIZE >= 1, total <= %u",
			DT_SG_MAX_SEGS, DT_SG_MAX_TOTAL);
		return -EINVAL;
	}

	bufs = kcalloc(nsegs, sizeof(*bufs), GFP_KERNEL);
	expect = kcalloc(nsegs, sizeof(*expect), GFP_KERNEL);
	offs = kcalloc(nsegs, sizeof(*offs), GFP_KERNEL);
	if (!bufs || !expect || !offs)
		goto nomem;
	for (i = 0; i < nsegs; i++) {
		size_t len;

		/* varying offsets, some 0, some odd */
		offs[i] = (i % 4 == 0) ? 0 : dt_rand(&c->rng) % 512;
		len = dt_alloc_len(offs[i], segsize);
		if (dt_buf_alloc(dt, &bufs[i], len, false))
			goto nomem;
		expect[i] = kvmalloc(len, GFP_KERNEL);
		if (!expect[i])
			goto nomem;
		dt_fill_random(&c->rng, bufs[i].va, len);
		memcpy(expect[i], bufs[i].va, len);
		memset(expect[i] + offs[i], 0xa5 ^ (u8)i, segsize);
	}
	if (sg_alloc_table(&sgt, nsegs, GFP_KERNEL))
		goto nomem;
	table = true;
	for_each_sg(sgt.sgl, s, nsegs, i)
		sg_set_buf(s, bufs[i].va + offs[i], segsize);

	count = dma_map_sg(dt->dev, sgt.sgl, nsegs, DMA_BIDIRECTIONAL);
	dt_res(c, "mapped_segs %d\n", count);
	if (!count) {
		dt_fail(c, "dma_map_sg failed");
		ret = -EIO;
		goto out;
	}
	if (count != nsegs) {
		/* per-segment CPU checks need one DMA segment per entry */
		dt_fail(c, "%d DMA segments for %llu entries", count, nsegs);
		goto unmap;
	}

	for_each_sg(sgt.sgl, s, count, i) {
		if (i == 0)
			dt_res(c, "dma_addr %#llx\n", (u64)sg_dma_address(s));
		ret = dt_run(dt, DMATEST_CMD_CHECKSUM, sg_dma_address(s), 0,
			     sg_dma_len(s), 0, &op);
		if (ret)
			goto unmap;
		if (!dt_op_ok(&op, segsize)) {
			dev_err++;
			continue;
		}
		if (op.result != dt_fnv1a(bufs[i].va + offs[i], segsize))
			csum_bad++;
	}
	for_each_sg(sgt.sgl, s, count, i) {
		ret = dt_run(dt, DMATEST_CMD_FILL, 0, sg_dma_address(s),
			     sg_dma_len(s), 0xa5 ^ (u8)i, &op);
		if (ret)
			goto unmap;
		if (!dt_op_ok(&op, segsize))
			dev_err++;
	}
unmap:
	dma_unmap_sg(dt->dev, sgt.sgl, nsegs, DMA_BIDIRECTIONAL);
	if (ret) {
		dt_fail(c, "device timeout");
		goto out;
	}
	if (count != nsegs)
		goto out;
	for (i = 0; i < nsegs; i++) {
		fill_bad += dt_diff(bufs[i].va, expect[i], offs[i],
				    offs[i] + segsize, NULL);
		guard += dt_diff(bufs[i].va, expect[i], 0, offs[i], NULL) +
			 dt_diff(bufs[i].va, expect[i], offs[i] + segsize,
				 bufs[i].size, NULL);
	}
	dt_res(c, "bytes %llu\nchecksum_mismatches %llu\nmismatches %llu\nguard_corrupt %llu\ndevice_errors %llu\n",
	       nsegs * segsize, csum_bad, fill_bad, guard, dev_err);
	if (dev_err)
		dt_fail(c, "%llu device operations failed", dev_err);
	if (csum_bad)
		dt_fail(c, "%llu segment checksums differ", csum_bad);
	if (fill_bad)
		dt_fail(c, "%llu bytes not filled", fill_bad);
	if (guard)
		dt_fail(c, "%llu guard bytes changed", guard);
	goto out;

nomem:
	dt_fail(c, "allocation failed");
	ret = -ENOMEM;
out:
	if (table)
		sg_free_table(&sgt);
	for (i = 0; bufs && expect && i < nsegs; i++) {
		kvfree(expect[i]);
		dt_buf_free(dt, &bufs[i]);
	}
	kfree(offs);
	kfree(expect);
	kfree(bufs);
	return ret;
}

/*
 * NSEGS consecutive pieces of one buffer (a naturally aligned block of
 * pages), one dma_map_sg: a run of entries inside one mapping, as a block
 * I/O's pages often are. Per segment a device CHECKSUM, checked on the CPU.
 */
static int dt_test_sgrun(struct dt_ctx *c, u64 nsegs, u64 segsize)
{
	struct dt_dev *dt = c->dt;
	u64 csum_bad = 0, dev_err = 0;
	struct scatterlist *s;
	struct sg_table sgt;
	struct page *page;
	int count, ret = 0, i;
	struct dt_op op;
	u8 *va;

	if (!nsegs || nsegs > DT_SG_MAX_SEGS || !segsize ||
	    nsegs * segsize > DT_SG_MAX_TOTAL) {
		dt_fail(c, "NSEGS 1..%d, SEGSIZE >= 1, total <= %u",
			DT_SG_MAX_SEGS, DT_SG_MAX_TOTAL);
		return -EINVAL;
	}
	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
			   get_order(nsegs * segsize));
	if (!page) {
		dt_fail(c, "allocation failed");
		return -ENOMEM;
	}
	va = page_address(page);
	dt_fill_random(&c->rng, va, nsegs * segsize);
	if (sg_alloc_table(&sgt, nsegs, GFP_KERNEL)) {
		dt_fail(c, "allocation failed");
		ret = -ENOMEM;
		goto out;
	}
	for_each_sg(sgt.sgl, s, nsegs, i)
		sg_set_buf(s, va + i * segsize, segsize);

	count = dma_map_sg(dt->dev, sgt.sgl, nsegs, DMA_TO_DEVICE);
	dt_res(c, "mapped_segs %d\n", count);
	if (!count) {
		dt_fail(c, "dma_map_sg failed");
		ret = -EIO;
		goto free_table;
	}
	for_each_sg(sgt.sgl, s, count, i) {
		ret = dt_run(dt, DMATEST_CMD_CHECKSUM, sg_dma_address(s), 0,
			     sg_dma_len(s), 0, &op);
		if (ret)
			break;
		if (!dt_op_ok(&op, sg_dma_len(s)))
			dev_err++;
		else if (op.result != dt_fnv1a(sg_virt(s), sg_dma_len(s)))
			csum_bad++;
	}
	dma_unmap_sg(dt->dev, sgt.sgl, nsegs, DMA_TO_DEVICE);
	if (ret) {
		dt_fail(c, "device timeout");
		goto free_table;
	}
	dt_res(c, "bytes %llu\nchecksum_mismatches %llu\ndevice_errors %llu\n",
	       nsegs * segsize, csum_bad, dev_err);
	if (dev_err)
		dt_fail(c, "%llu device operations failed", dev_err);
	if (csum_bad)
		dt_fail(c, "%llu segment checksums differ", csum_bad);
free_table:
	sg_free_table(&sgt);
out:
	__free_pages(page, get_order(nsegs * segsize));
	return ret;
}

/* ---- stale mapping ---------------------------------------------------------- */

/*
 * After unmap the address must fault. Nothing else of this driver is mapped
 * meanwhile (tests run one at a time), so no shared window keeps it alive.
 */
static int dt_test_stale(struct dt_ctx *c, u64 size)
{
	struct dt_dev *dt = c->dt;
	u8 *expect = NULL;
	struct dt_buf b;
	struct dt_op op;
	dma_addr_t dma;
	u64 changed;
	int ret;

	if (dt_check_range(c, size, 0))
		return -EINVAL;
	ret = dt_buf_alloc(dt, &b, size, false);
	expect = kvmalloc(size, GFP_KERNEL);
	if (ret || !expect) {
		dt_fail(c, "buffer allocation failed");
		ret = -ENOMEM;
		goto out;
	}
	dt_fill_random(&c->rng, b.va, size);
	memcpy(expect, b.va, size);

	dma = dma_map_single(dt->dev, b.va, size, DMA_FROM_DEVICE);
	if (dma_mapping_error(dt->dev, dma)) {
		dt_fail(c, "dma_map_single failed");
		ret = -EIO;
		goto out;
	}
	dma_unmap_single(dt->dev, dma, size, DMA_FROM_DEVICE);
	dt_res(c, "dma_addr %#llx\n", (u64)dma);

	ret = dt_run(dt, DMATEST_CMD_FILL, 0, dma, size, 0x5a, &op);
	dt_res_op(c, &op);
	if (ret) {
		dt_fail(c, "device timeout");
		goto out;
	}
	changed = dt_diff(b.va, expect, 0, size, NULL);
	dt_res(c, "bytes_changed %llu\n", changed);
	if (!(op.status & DMATEST_STATUS_ERROR))
		dt_fail(c, "stale address did not fault (status %#x)",
			op.status);
	else if (op.fault_iova != dma)
		dt_fail(c, "fault at %#llx, expected %#llx", op.fault_iova,
			(u64)dma);
	if (changed)
		dt_fail(c, "%llu bytes changed through a stale mapping",
			changed);
out:
	kvfree(expect);
	dt_buf_free(dt, &b);
	return ret;
}

/* ---- a quick copy, for recovery checks ------------------------------------------- */

static int dt_quick_copy(struct dt_dev *dt, size_t size, u64 *rng)
{
	struct dt_buf src, dst;
	dma_addr_t sdma, ddma;
	struct dt_op op;
	int ret = -ENOMEM;

	if (dt_buf_alloc(dt, &src, size, false))
		return -ENOMEM;
	if (dt_buf_alloc(dt, &dst, size, false))
		goto free_src;
	dt_fill_random(rng, src.va, size);
	memset(dst.va, 0, size);

	ret = -EIO;
	sdma = dma_map_single(dt->dev, src.va, size, DMA_TO_DEVICE);
	if (dma_mapping_error(dt->dev, sdma))
		goto free_dst;
	ddma = dma_map_single(dt->dev, dst.va, size, DMA_FROM_DEVICE);
	if (dma_mapping_error(dt->dev, ddma))
		goto unmap_src;
	ret = dt_run(dt, DMATEST_CMD_COPY, sdma, ddma, size, 0, &op);
	dma_unmap_single(dt->dev, ddma, size, DMA_FROM_DEVICE);
	if (!ret && (!dt_op_ok(&op, size) || memcmp(src.va, dst.va, size)))
		ret = -EIO;
unmap_src:
	dma_unmap_single(dt->dev, sdma, size, DMA_TO_DEVICE);
free_dst:
	dt_buf_free(dt, &dst);
free_src:
	dt_buf_free(dt, &src);
	return ret;
}

/* ---- exhaustion ------------------------------------------------------------------- */

struct dt_ebuf {
	struct page *page;
	dma_addr_t dma;
};

/*
 * Each buffer is its own naturally aligned block of at least 256 KiB, so
 * with apple_dma's default window (256 KiB) no two buffers share a window
 * and every map needs its own host mapping. Memory used: MAX * 256 KiB.
 */
static int dt_test_exhaust(struct dt_ctx *c, u64 max, u64 size)
{
	struct dt_dev *dt = c->dt;
	unsigned int order = get_order(max_t(u64, size, DT_EXHAUST_SPREAD));
	struct dt_ebuf *bufs;
	s64 failed_at = -1;
	bool alloc_failed = false;
	u64 n = 0, i;
	int rec;

	if (!max || max > DT_EXHAUST_MAX || !size || size > DT_MAX_SIZE) {
		dt_fail(c, "MAX 1..%u, SIZE 1..%u", DT_EXHAUST_MAX,
			DT_MAX_SIZE);
		return -EINVAL;
	}
	bufs = kvcalloc(max, sizeof(*bufs), GFP_KERNEL);
	if (!bufs) {
		dt_fail(c, "allocation failed");
		return -ENOMEM;
	}
	for (i = 0; i < max; i++) {
		struct page *page;
		dma_addr_t dma;

		page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
		if (!page) {
			alloc_failed = true;
			break;
		}
		dma = dma_map_page(dt->dev, page, 0, size, DMA_BIDIRECTIONAL);
		if (dma_mapping_error(dt->dev, dma)) {
			__free_pages(page, order);
			failed_at = i;
			break;
		}
		bufs[n].page = page;
		bufs[n].dma = dma;
		n++;
		cond_resched();
	}
	for (i = 0; i < n; i++) {
		dma_unmap_page(dt->dev, bufs[i].dma, size, DMA_BIDIRECTIONAL);
		__free_pages(bufs[i].page, order);
		cond_resched();
	}
	kvfree(bufs);

	rec = dt_quick_copy(dt, SZ_16K, &c->rng);
	dt_res(c, "mapped %llu\nfailed_at %lld\nalloc_failed %d\nrecovered %d\n",
	       n, failed_at, alloc_failed, !rec);
	if (rec)
		dt_fail(c, "map + copy after releasing everything failed: %d",
			rec);
	return 0;
}

/* ---- stress ------------------------------------------------------------------------- */

struct dt_stress {
	struct dt_dev *dt;
	u64 iters;
	unsigned long deadline;
	u64 seed;
	atomic64_t *errors;
	atomic64_t *ops;
	atomic_t *running;
	wait_queue_head_t *wq;
};

/* Map + unmap with interrupts off: the DMA ops must not sleep. */
static int dt_stress_atomic(struct dt_dev *dt, void *va, size_t len)
{
	unsigned long flags;
	dma_addr_t dma;
	int ret = 0;

	local_irq_save(flags);
	dma = dma_map_single(dt->dev, va, len, DMA_TO_DEVICE);
	if (dma_mapping_error(dt->dev, dma))
		ret = -EIO;
	else
		dma_unmap_single(dt->dev, dma, len, DMA_TO_DEVICE);
	local_irq_restore(flags);
	return ret;
}

static int dt_stress_sg(struct dt_dev *dt, u8 *va, size_t len)
{
	struct scatterlist sg[4];
	size_t part = len / 4;
	int i, n;

	if (part < 1)
		return 0;
	sg_init_table(sg, 4);
	for (i = 0; i < 4; i++)
		sg_set_buf(&sg[i], va + i * part, part);
	n = dma_map_sg(dt->dev, sg, 4, DMA_BIDIRECTIONAL);
	if (!n)
		return -EIO;
	dma_unmap_sg(dt->dev, sg, 4, DMA_BIDIRECTIONAL);
	return 0;
}

static int dt_stress_one(struct dt_dev *dt, u64 *rng, u64 i)
{
	size_t size = 1 + dt_rand(rng) % SZ_16K;
	size_t soff = dt_rand(rng) % 256, doff = dt_rand(rng) % 256;
	u8 *src, *dst;
	dma_addr_t sdma, ddma;
	struct dt_op op;
	int ret = -ENOMEM;

	src = kmalloc(soff + size, GFP_KERNEL);
	dst = kzalloc(doff + size, GFP_KERNEL);
	if (!src || !dst)
		goto out;
	dt_fill_random(rng, src, soff + size);

	ret = dt_stress_atomic(dt, src, soff + size);
	if (!ret && i % 8 == 0)
		ret = dt_stress_sg(dt, src, soff + size);
	if (ret)
		goto out;

	ret = -EIO;
	sdma = dma_map_single(dt->dev, src + soff, size, DMA_TO_DEVICE);
	if (dma_mapping_error(dt->dev, sdma))
		goto out;
	ddma = dma_map_single(dt->dev, dst + doff, size, DMA_FROM_DEVICE);
	if (dma_mapping_error(dt->dev, ddma)) {
		dma_unmap_single(dt->dev, sdma, size, DMA_TO_DEVICE);
		goto out;
	}
	ret = dt_run(dt, DMATEST_CMD_COPY, sdma, ddma, size, 0, &op);
	dma_unmap_single(dt->dev, ddma, size, DMA_FROM_DEVICE);
	dma_unmap_single(dt->dev, sdma, size, DMA_TO_DEVICE);
	if (!ret && (!dt_op_ok(&op, size) ||
		     memcmp(src + soff, dst + doff, size)))
		ret = -EIO;
out:
	kfree(dst);
	kfree(src);
	return ret;
}

static int dt_stress_thread(void *data)
{
	struct dt_stress *st = data;
	u64 rng = st->seed, i;

	for (i = 0; !kthread_should_stop(); i++) {
		if (st->iters ? i >= st->iters :
				time_after(jiffies, st->deadline))
			break;
		if (dt_stress_one(st->dt, &rng, i))
			atomic64_inc(st->errors);
		atomic64_inc(st->ops);
		cond_resched();
	}

	if (atomic_dec_and_test(st->running))
		wake_up(st->wq);
	/* kthread_stop() collects us */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static int dt_test_stress(struct dt_ctx *c, const char *arg)
{
	DECLARE_WAIT_QUEUE_HEAD_ONSTACK(wq);
	struct task_struct **tasks;
	struct dt_stress *st;
	atomic64_t errors = ATOMIC64_INIT(0), ops = ATOMIC64_INIT(0);
	atomic_t running = ATOMIC_INIT(0);
	u64 amount, iters = 0;
	unsigned long deadline = 0;
	char num[24];
	size_t len = strlen(arg);
	int cpu, n = 0, i, ret = 0;
	bool secs = len && arg[len - 1] == 's';

	if (!len || len >= sizeof(num))
		goto bad;
	strscpy(num, arg, sizeof(num));
	if (secs)
		num[len - 1] = '\0';
	if (kstrtou64(num, 0, &amount) || !amount)
		goto bad;
	if (secs) {
		if (amount > 600)
			goto bad;
		deadline = jiffies + amount * HZ;
	} else {
		if (amount > 1000000)
			goto bad;
		iters = amount;
	}

	tasks = kcalloc(nr_cpu_ids, sizeof(*tasks), GFP_KERNEL);
	st = kcalloc(nr_cpu_ids, sizeof(*st), GFP_KERNEL);
	if (!tasks || !st) {
		ret = -ENOMEM;
		dt_fail(c, "allocation failed");
		goto out;
	}

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		st[n] = (struct dt_stress) {
			.dt = c->dt, .iters = iters, .deadline = deadline,
			.seed = c->seed ^ ((u64)(cpu + 1) * 0x9e3779b97f4a7c15ULL),
			.errors = &errors, .ops = &ops, .running = &running,
			.wq = &wq,
		};
		if (!st[n].seed)
			st[n].seed = 1;
		tasks[n] = kthread_create(dt_stress_thread, &st[n],
					  "dmatest/%d", cpu);
		if (IS_ERR(tasks[n])) {
			ret = PTR_ERR(tasks[n]);
			tasks[n] = NULL;
			break;
		}
		kthread_bind(tasks[n], cpu);
		n++;
	}
	cpus_read_unlock();

	if (ret) {
		dt_fail(c, "could not start threads: %d", ret);
		for (i = 0; i < n; i++)
			kthread_stop(tasks[i]);
		goto out;
	}
	atomic_set(&running, n);
	for (i = 0; i < n; i++)
		wake_up_process(tasks[i]);
	wait_event(wq, !atomic_read(&running));
	for (i = 0; i < n; i++)
		kthread_stop(tasks[i]);

	dt_res(c, "threads %d\noperations %lld\nerrors %lld\n", n,
	       (long long)atomic64_read(&ops),
	       (long long)atomic64_read(&errors));
	if (atomic64_read(&errors))
		dt_fail(c, "%lld operations failed",
			(long long)atomic64_read(&errors));
out:
	kfree(st);
	kfree(tasks);
	return ret;
bad:
	dt_fail(c, "stress ITERATIONS (1..1000000) or SECONDSs (1..600)");
	return -EINVAL;
}

/* ---- command dispatch ----------------------------------------------------------------- */

#define DT_MAX_ARGS 8

/* RAISE n times: each operation completes only when its MSI-X vector arrives. */
static int dt_test_raise(struct dt_ctx *c, u64 n)
{
	struct dt_op op;
	u64 i;
	int ret;

	if (n == 0 || n > 100000) {
		dt_fail(c, "count %llu not in 1..100000", n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		ret = dt_run(c->dt, DMATEST_CMD_RAISE, 0, 0, 0, 0, &op);
		if (ret) {
			dt_fail(c, "raise %llu: no interrupt", i);
			return ret;
		}
		if (op.status != DMATEST_STATUS_DONE) {
			dt_fail(c, "raise %llu: status %#x", i, op.status);
			return -EIO;
		}
	}
	dt_res(c, "raised %llu\n", n);
	return 0;
}

/* Drops the mappings "hold" kept. Caller holds cmd_lock (or is remove). */
static void dt_release_held(struct dt_dev *dt)
{
	size_t i;

	for (i = 0; i < dt->held_n; i++) {
		dma_unmap_single(dt->dev, dt->held_dma[i], dt->held_size, DMA_BIDIRECTIONAL);
		kfree(dt->held_va[i]);
	}
	kfree(dt->held_va);
	kfree(dt->held_dma);
	dt->held_va = NULL;
	dt->held_dma = NULL;
	dt->held_n = 0;
}

/*
 * Map n buffers of size bytes and keep them mapped, so that a test can see
 * live mappings on the host (and that killing a VM releases them).
 */
static int dt_test_hold(struct dt_ctx *c, u64 n, u64 size)
{
	struct dt_dev *dt = c->dt;

	if (dt->held_n) {
		dt_fail(c, "already holding %zu mappings", dt->held_n);
		return -EBUSY;
	}
	if (n == 0 || n > 4096 || size == 0 || size > SZ_64K) {
		dt_fail(c, "hold N SIZE: N 1..4096, SIZE 1..65536");
		return -EINVAL;
	}
	dt->held_va = kcalloc(n, sizeof(*dt->held_va), GFP_KERNEL);
	dt->held_dma = kcalloc(n, sizeof(*dt->held_dma), GFP_KERNEL);
	if (!dt->held_va || !dt->held_dma) {
		dt_release_held(dt);
		return -ENOMEM;
	}
	dt->held_size = size;
	for (; dt->held_n < n; dt->held_n++) {
		/* 256 KiB apart would need big allocations; distinct kmallocs suffice */
		void *va = kmalloc(size, GFP_KERNEL);
		dma_addr_t a;

		if (!va)
			break;
		a = dma_map_single(dt->dev, va, size, DMA_BIDIRECTIONAL);
		if (dma_mapping_error(dt->dev, a)) {
			kfree(va);
			break;
		}
		dt->held_va[dt->held_n] = va;
		dt->held_dma[dt->held_n] = a;
	}
	dt_res(c, "held %zu\n", dt->held_n);
	if (dt->held_n != n) {
		dt_fail(c, "mapped only %zu of %llu", dt->held_n, n);
		dt_release_held(dt);
		return -EIO;
	}
	return 0;
}

static int dt_parse_u64(struct dt_ctx *c, const char *s, u64 *v)
{
	if (kstrtou64(s, 0, v)) {
		dt_fail(c, "bad number '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int dt_exec(struct dt_dev *dt, char *line)
{
	struct dt_ctx c = { .dt = dt };
	char *argv[DT_MAX_ARGS], *tok;
	u64 a[3] = { 0 };
	int argc = 0, ret = -EINVAL, i;
	bool seeded = false;

	c.body = kzalloc(DT_RESULT_SIZE, GFP_KERNEL);
	if (!c.body)
		return -ENOMEM;

	while ((tok = strsep(&line, " \t")) != NULL) {
		if (!*tok)
			continue;
		if (!strncmp(tok, "seed=", 5)) {
			if (kstrtou64(tok + 5, 0, &c.seed))
				goto bad;
			seeded = true;
			continue;
		}
		if (argc == DT_MAX_ARGS)
			goto bad;
		argv[argc++] = tok;
	}
	if (!argc)
		goto bad;
	if (!seeded)
		c.seed = get_random_u64();
	c.rng = c.seed ? c.seed : 1;

	/* numeric arguments: all but stress's and copy's mode */
	for (i = 1; strcmp(argv[0], "stress") && i < argc && i <= 3; i++)
		if (dt_parse_u64(&c, argv[i], &a[i - 1]))
			goto done;

	if (!strcmp(argv[0], "copy") && (argc == 4 || argc == 5)) {
		bool coherent = argc == 5 && !strcmp(argv[4], "coherent");

		if (argc == 5 && !coherent && strcmp(argv[4], "single"))
			goto bad;
		ret = dt_test_copy(&c, a[0], a[1], a[2], coherent);
	} else if (!strcmp(argv[0], "fill") && argc == 4) {
		ret = dt_test_fill(&c, a[0], a[1], (u8)a[2]);
	} else if (!strcmp(argv[0], "checksum") && argc == 3) {
		ret = dt_test_checksum(&c, a[0], a[1]);
	} else if (!strcmp(argv[0], "sg") && argc == 3) {
		ret = dt_test_sg(&c, a[0], a[1]);
	} else if (!strcmp(argv[0], "sgrun") && argc == 3) {
		ret = dt_test_sgrun(&c, a[0], a[1]);
	} else if (!strcmp(argv[0], "stale") && argc == 2) {
		ret = dt_test_stale(&c, a[0]);
	} else if (!strcmp(argv[0], "exhaust") && argc == 3) {
		ret = dt_test_exhaust(&c, a[0], a[1]);
	} else if (!strcmp(argv[0], "stress") && argc == 2) {
		ret = dt_test_stress(&c, argv[1]);
	} else if (!strcmp(argv[0], "raise") && argc == 2) {
		ret = dt_test_raise(&c, a[0]);
	} else if (!strcmp(argv[0], "hold") && argc == 3) {
		ret = dt_test_hold(&c, a[0], a[1]);
	} else if (!strcmp(argv[0], "release") && argc == 1) {
		dt_res(&c, "released %zu\n", dt->held_n);
		dt_release_held(dt);
		ret = 0;
	} else {
		goto bad;
	}
	goto done;

bad:
	dt_fail(&c, "unknown or malformed command");
	ret = -EINVAL;
done:
	if (!ret && c.failed)
		ret = -EIO;
	if (ret && !c.failed)
		dt_fail(&c, "error %d", ret);
	scnprintf(dt->result, DT_RESULT_SIZE, "status %s\n%s%s%sseed %llu\n%s",
		  c.failed ? "fail" : "ok",
		  c.failed ? "detail " : "", c.failed ? c.detail : "",
		  c.failed ? "\n" : "", c.seed, c.body);
	kfree(c.body);
	return ret;
}

/* ---- debugfs ---------------------------------------------------------------------------- */

static ssize_t dt_cmd_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct dt_dev *dt = file->private_data;
	char line[128];
	int ret;

	if (!len || len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';

	if (mutex_lock_interruptible(&dt->cmd_lock))
		return -EINTR;
	ret = dt_exec(dt, strim(line));
	mutex_unlock(&dt->cmd_lock);
	return ret ? ret : len;
}

static const struct file_operations dt_cmd_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = dt_cmd_write,
	.llseek = noop_llseek,
};

static ssize_t dt_result_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct dt_dev *dt = file->private_data;
	ssize_t ret;

	if (mutex_lock_interruptible(&dt->cmd_lock))
		return -EINTR;
	ret = simple_read_from_buffer(ubuf, len, ppos, dt->result,
				      strlen(dt->result));
	mutex_unlock(&dt->cmd_lock);
	return ret;
}

static const struct file_operations dt_result_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = dt_result_read,
	.llseek = default_llseek,
};

static int dt_irqs_show(struct seq_file *m, void *unused)
{
	struct dt_dev *dt = m->private;
	int i;

	for (i = 0; i < dt->nvec; i++)
		seq_printf(m, "vector%d %lld\n", i,
			   (long long)atomic64_read(&dt->vec[i].count));
	seq_printf(m, "completions %u\nfaults %u\n",
		   readl(dt->regs + DMATEST_REG_COMPLETIONS),
		   readl(dt->regs + DMATEST_REG_FAULTS));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dt_irqs);

/* ---- probe / remove --------------------------------------------------------------------- */

static void dt_free_irqs(struct dt_dev *dt, int n)
{
	while (--n >= 0)
		free_irq(pci_irq_vector(dt->pdev, n), &dt->vec[n]);
	pci_free_irq_vectors(dt->pdev);
}

static int dt_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct dt_dev *dt;
	u32 ident, version;
	int ret, i;

	mutex_lock(&dt_probe_lock);
	if (dt_the_dev) {
		mutex_unlock(&dt_probe_lock);
		dev_info(&pdev->dev, "only one dmatest device is supported\n");
		return -EBUSY;
	}

	dt = kzalloc(sizeof(*dt), GFP_KERNEL);
	if (!dt) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	dt->pdev = pdev;
	dt->dev = &pdev->dev;
	mutex_init(&dt->hw_lock);
	mutex_init(&dt->cmd_lock);
	init_completion(&dt->done);
	dt->result = kzalloc(DT_RESULT_SIZE, GFP_KERNEL);
	if (!dt->result) {
		ret = -ENOMEM;
		goto err_free;
	}
	strscpy(dt->result, "status none\n", DT_RESULT_SIZE);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	ret = pci_request_region(pdev, 0, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	dt->regs = pci_iomap(pdev, 0, DMATEST_BAR0_SIZE);
	if (!dt->regs) {
		ret = -ENOMEM;
		goto err_release;
	}
	ident = readl(dt->regs + DMATEST_REG_ID);
	version = readl(dt->regs + DMATEST_REG_VERSION);
	if (ident != DMATEST_ID_VALUE || version != DMATEST_VERSION_VALUE) {
		dev_err(&pdev->dev, "unexpected id %#x version %u\n", ident,
			version);
		ret = -ENODEV;
		goto err_unmap;
	}
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err(&pdev->dev, "no usable DMA mask: %d\n", ret);
		goto err_unmap;
	}

	/* MSI-X, else one MSI vector (a dext-served function may have only MSI). */
	ret = pci_alloc_irq_vectors(pdev, 1, DMATEST_MSIX_VECTORS,
				    PCI_IRQ_MSIX | PCI_IRQ_MSI);
	if (ret < 0) {
		dev_err(&pdev->dev, "no MSI-X or MSI vectors: %d\n", ret);
		goto err_unmap;
	}
	dt->nvec = ret;
	for (i = 0; i < dt->nvec; i++) {
		dt->vec[i].dt = dt;
		ret = request_irq(pci_irq_vector(pdev, i), dt_irq, 0,
				  KBUILD_MODNAME, &dt->vec[i]);
		if (ret) {
			dt_free_irqs(dt, i);
			goto err_unmap;
		}
	}

	pci_set_drvdata(pdev, dt);
	dt->debugfs = debugfs_create_dir("dmatest", NULL);
	debugfs_create_file("cmd", 0200, dt->debugfs, dt, &dt_cmd_fops);
	debugfs_create_file("result", 0444, dt->debugfs, dt,
			    &dt_result_fops);
	debugfs_create_file("irqs", 0444, dt->debugfs, dt, &dt_irqs_fops);
	dt_the_dev = dt;
	mutex_unlock(&dt_probe_lock);

	dev_info(&pdev->dev, "dmatest ready, %d %s vector%s\n", dt->nvec,
		 pdev->msix_enabled ? "MSI-X" : "MSI", dt->nvec == 1 ? "" : "s");
	return 0;

err_unmap:
	pci_clear_master(pdev);
	pci_iounmap(pdev, dt->regs);
err_release:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(dt->result);
	kfree(dt);
err_unlock:
	mutex_unlock(&dt_probe_lock);
	return ret;
}

static void dt_remove(struct pci_dev *pdev)
{
	struct dt_dev *dt = pci_get_drvdata(pdev);

	/* waits for a running test: every test unmaps all it mapped */
	debugfs_remove_recursive(dt->debugfs);
	mutex_lock(&dt_probe_lock);
	dt_the_dev = NULL;
	mutex_unlock(&dt_probe_lock);

	dt_release_held(dt);
	dt_free_irqs(dt, dt->nvec);
	pci_clear_master(pdev);
	pci_iounmap(pdev, dt->regs);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	kfree(dt->result);
	kfree(dt);
}

static const struct pci_device_id dt_ids[] = {
	{ PCI_DEVICE(DMATEST_VENDOR_ID, DMATEST_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, dt_ids);

static struct pci_driver dt_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= dt_ids,
	.probe		= dt_probe,
	.remove		= dt_remove,
};
module_pci_driver(dt_driver);

MODULE_DESCRIPTION("DMA API test driver for the vfio-apple dmatest device");
MODULE_AUTHOR("vfio-apple");
MODULE_LICENSE("GPL");
