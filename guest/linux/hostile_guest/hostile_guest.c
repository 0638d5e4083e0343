// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostile_guest: a deliberately misbehaving driver for apple-dma-pci
 * (1b36:0015). It submits malformed batches (and valid controls) directly
 * and checks that the host answers each with the status that
 * lib/apple-dma/batch.h (rules R1-R7) documents, and writes nothing but the
 * areas those rules allow.
 *
 * It binds the device itself: apple_dma must not be loaded in the same
 * guest. It never installs DMA ops; the managed device is left alone.
 *
 * All guest memory the device is pointed at lives in one physically
 * contiguous "arena" of guard-padded sections (command page, request array,
 * response array, data pages), filled with a known pattern before every
 * batch and compared byte for byte afterwards. Cases that point the device
 * at RAM outside the arena (page 0, the last page of RAM) also watch that
 * page when it is not memory the kernel uses.
 *
 * Interface (debugfs): /sys/kernel/debug/hostile/
 *   cmd     write a case name (or "info", "list"); the write runs it
 *           synchronously and succeeds only if the host behaved as
 *           documented (-EIO: it did not; -EINVAL: unknown case)
 *   result  "key value" lines of the last case: status ok|fail, detail,
 *           case, reg_status, cmd_status, outside_changes, then per-entry
 *           lines
 *
 * Module parameters: ram_end (GPA just past the end of guest RAM, 0 =
 * detect from the System RAM resources rounded up to 2 MiB), mmio_gpa (a
 * GPA in an MMIO hole, 0 = 0xfee00000 on x86, 0x08000000 on arm64),
 * rom_gpa (a GPA of read-only guest RAM that QEMU shares with the device:
 * default 0xf0000 on x86, the BIOS area q35 leaves read-only; none on arm64,
 * where the *_rom cases fail).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <vfio-apple/apple-dma-abi.h>

#define HG_RESULT_SIZE		8192
#define HG_MAX_ENTRIES_CAP	16384	/* arrays are sized for MAX_ENTRIES + 1 */
#define HG_CMD_OFF_IN_PAGE	0x200	/* command page inside its section */
#define HG_ARRAY_OFF		64	/* arrays start this far into their section */
#define HG_DATA_PAGES		8
#define HG_SENTINEL		0xdeadbeefU
#define HG_FAR_DISTANCE		(64ULL * SZ_1G)

static unsigned long ram_end;
module_param(ram_end, ulong, 0444);
MODULE_PARM_DESC(ram_end, "GPA just past the end of guest RAM (0 = detect)");

static unsigned long rom_gpa = IS_ENABLED(CONFIG_X86) ? 0xf0000 : 0;
module_param(rom_gpa, ulong, 0444);
MODULE_PARM_DESC(rom_gpa, "A GPA of read-only guest RAM (0 = none)");

static unsigned long mmio_gpa;
module_param(mmio_gpa, ulong, 0444);
MODULE_PARM_DESC(mmio_gpa, "A GPA in an MMIO hole (0 = the architecture's default)");

/**
 * struct hg_dev - the device, the arena and the test interface
 * @pdev: the apple-dma-pci function
 * @regs: BAR0
 * @max_entries: the MAX_ENTRIES register
 * @cmd_gpa_set: CMD_GPA was written since probe
 * @ram_end: GPA past the end of guest RAM
 * @mmio_gpa: a GPA in an MMIO hole
 * @arena: guard-padded memory the device is pointed at
 * @arena_gpa: its guest-physical address
 * @arena_size: its size
 * @shadow: the arena's contents before a doorbell
 * @cmd_off, @req_off, @resp_off, @data_off: offsets in @arena
 * @lock: one case at a time; protects @result and the device
 * @result: text of the last case
 * @debugfs: /sys/kernel/debug/hostile
 */
struct hg_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	u32 max_entries;
	bool cmd_gpa_set;
	u64 ram_end;
	u64 mmio_gpa;
	u8 *arena;
	u64 arena_gpa;
	size_t arena_size;
	u8 *shadow;
	size_t cmd_off, req_off, resp_off, data_off;
	struct mutex lock;
	char *result;
	struct dentry *debugfs;
};

static struct hg_dev *hg_the_dev;
static DEFINE_MUTEX(hg_probe_lock);

/* ---- result text ----------------------------------------------------------- */

/**
 * struct hg_ctx - one case
 * @hg: the device
 * @failed: the host did not behave as documented
 * @detail: the first reason
 * @body: extra result lines
 * @len: used length of @body
 * @reg_status: STATUS register after the subject batch
 * @cmd_status: command page status field after the subject batch
 * @outside: bytes changed outside the allowed areas, over all batches
 */
struct hg_ctx {
	struct hg_dev *hg;
	bool failed;
	char detail[200];
	char *body;
	size_t len;
	u32 reg_status;
	u32 cmd_status;
	u64 outside;
};

static __printf(2, 3) void hg_res(struct hg_ctx *c, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	c->len += vscnprintf(c->body + c->len, HG_RESULT_SIZE - c->len, fmt,
			     args);
	va_end(args);
}

static __printf(2, 3) void hg_fail(struct hg_ctx *c, const char *fmt, ...)
{
	va_list args;

	if (!c->failed) {
		va_start(args, fmt);
		vscnprintf(c->detail, sizeof(c->detail), fmt, args);
		va_end(args);
	}
	c->failed = true;
}

/* ---- arena ----------------------------------------------------------------- */

static u8 hg_pattern(size_t off)
{
	u32 x = (u32)off * 2654435761U;

	return (u8)((x >> 13) ^ 0x5a);
}

static void hg_fill_pattern(struct hg_dev *hg)
{
	size_t i;

	for (i = 0; i < hg->arena_size; i++)
		hg->arena[i] = hg_pattern(i);
}

static u64 hg_gpa(struct hg_dev *hg, size_t off)
{
	return hg->arena_gpa + off;
}

static u64 hg_data_gpa(struct hg_dev *hg, unsigned int page)
{
	return hg_gpa(hg, hg->data_off + (size_t)(page % HG_DATA_PAGES) *
			  PAGE_SIZE);
}

static struct apple_dma_cmd *hg_cmd(struct hg_dev *hg)
{
	return (struct apple_dma_cmd *)(hg->arena + hg->cmd_off);
}

static struct apple_dma_map_req *hg_map_req(struct hg_dev *hg, u32 i)
{
	return (struct apple_dma_map_req *)(hg->arena + hg->req_off) + i;
}

static struct apple_dma_unmap_req *hg_unmap_req(struct hg_dev *hg, u32 i)
{
	return (struct apple_dma_unmap_req *)(hg->arena + hg->req_off) + i;
}

static struct apple_dma_map_resp *hg_map_resp(struct hg_dev *hg, u32 i)
{
	return (struct apple_dma_map_resp *)(hg->arena + hg->resp_off) + i;
}

static struct apple_dma_unmap_resp *hg_unmap_resp(struct hg_dev *hg, u32 i)
{
	return (struct apple_dma_unmap_resp *)(hg->arena + hg->resp_off) + i;
}

static void hg_set_map(struct hg_dev *hg, u32 i, u64 gpa, u32 len, u32 flags)
{
	struct apple_dma_map_req *r = hg_map_req(hg, i);

	r->gpa = cpu_to_le64(gpa);
	r->len = cpu_to_le32(len);
	r->flags = cpu_to_le32(flags);
}

static void hg_set_unmap(struct hg_dev *hg, u32 i, u64 id, u64 size)
{
	struct apple_dma_unmap_req *r = hg_unmap_req(hg, i);

	r->id = cpu_to_le64(id);
	r->size = cpu_to_le64(size);
}

/* ---- one batch --------------------------------------------------------------- */

/* What the rules allow the device to write for this batch. */
enum hg_expect {
	HG_NOTHING,	/* R1: nothing at all */
	HG_CMD_ONLY,	/* R2/R3: the command page status field only */
	HG_ENTRIES,	/* R4-R6: status field and responses per R4/R5 */
};

/**
 * struct hg_batch - one doorbell
 * @cmd_gpa: value for CMD_GPA_LO/HI
 * @no_cmd_gpa: leave CMD_GPA as it is (the doorbell-without-CMD_GPA case)
 * @type, @count, @req_gpa, @resp_gpa: the command page written to the arena
 * @expect: what may be written
 * @status: expected STATUS (and command page status unless HG_NOTHING)
 * @watch_gpa: a page outside the arena to watch too (~0ULL: none)
 * @subject: report this batch's statuses as the case's
 */
struct hg_batch {
	u64 cmd_gpa;
	bool no_cmd_gpa;
	u32 type;
	u32 count;
	u64 req_gpa;
	u64 resp_gpa;
	enum hg_expect expect;
	u32 status;
	u64 watch_gpa;
	bool subject;
};

static void hg_batch_init(struct hg_dev *hg, struct hg_batch *b, u32 type,
			  u32 count)
{
	memset(b, 0, sizeof(*b));
	b->cmd_gpa = hg_gpa(hg, hg->cmd_off);
	b->type = type;
	b->count = count;
	b->req_gpa = hg_gpa(hg, hg->req_off);
	b->resp_gpa = hg_gpa(hg, hg->resp_off);
	b->expect = HG_ENTRIES;
	b->status = APPLE_DMA_STATUS_OK;
	b->watch_gpa = ~0ULL;
	b->subject = true;
}

/* Fill the arena with the pattern and the command page; entries follow. */
static void hg_prepare(struct hg_dev *hg, const struct hg_batch *b)
{
	struct apple_dma_cmd *cmd = hg_cmd(hg);

	hg_fill_pattern(hg);
	cmd->type = cpu_to_le32(b->type);
	cmd->count = cpu_to_le32(b->count);
	cmd->status = cpu_to_le32(HG_SENTINEL);
	cmd->reserved = 0;
	cmd->req_gpa = cpu_to_le64(b->req_gpa);
	cmd->resp_gpa = cpu_to_le64(b->resp_gpa);
}

/* Arena bytes the device may have written, given what it answered. */
static bool hg_allowed(struct hg_dev *hg, const struct hg_batch *b, size_t off)
{
	size_t st = hg->cmd_off + offsetof(struct apple_dma_cmd, status);
	size_t esz, rel, in;
	u64 resp_off;

	if (b->expect == HG_NOTHING)
		return false;
	if (b->cmd_gpa == hg_gpa(hg, hg->cmd_off) && off >= st && off < st + 4)
		return true;
	if (b->expect == HG_CMD_ONLY)
		return false;
	if (b->resp_gpa < hg->arena_gpa)
		return false;
	resp_off = b->resp_gpa - hg->arena_gpa;
	esz = b->type == APPLE_DMA_CMD_MAP ? sizeof(struct apple_dma_map_resp) :
					     sizeof(struct apple_dma_unmap_resp);
	if (off < resp_off || off - resp_off >= (u64)b->count * esz)
		return false;
	rel = off - resp_off;
	in = rel % esz;
	if (b->type == APPLE_DMA_CMD_UNMAP)
		return true;	/* R5: id, status and reserved */
	/* R4: everything on success, else only the status field */
	if (le32_to_cpu(hg_map_resp(hg, rel / esz)->status) ==
	    APPLE_DMA_STATUS_OK)
		return true;
	return in >= offsetof(struct apple_dma_map_resp, status);
}

/*
 * A page of RAM outside the arena that a case points the device at: watched
 * only on x86, and only if the kernel does not use it (firmware-reserved
 * RAM: page 0, the top of RAM), so that concurrent kernel writes cannot look
 * like the device's and no MMIO is ever read through a cached mapping.
 */
static void *hg_watch_map(struct hg_ctx *c, u64 gpa, u8 *copy)
{
	void *p;

	if (!IS_ENABLED(CONFIG_X86) || gpa >= c->hg->ram_end)
		return NULL;
	gpa = round_down(gpa, PAGE_SIZE);
	if (page_is_ram(PHYS_PFN(gpa))) {
		hg_res(c, "watch %#llx skipped (kernel RAM)\n", gpa);
		return NULL;
	}
	p = memremap(gpa, PAGE_SIZE, MEMREMAP_WB);
	if (!p) {
		hg_res(c, "watch %#llx skipped (not mappable)\n", gpa);
		return NULL;
	}
	memcpy(copy, p, PAGE_SIZE);
	hg_res(c, "watch %#llx\n", gpa);
	return p;
}

/*
 * Ring the doorbell for a batch prepared in the arena (hg_prepare + entries)
 * and check the statuses and every byte of the arena. Returns the STATUS
 * register.
 */
static u32 hg_ring(struct hg_ctx *c, const struct hg_batch *b)
{
	struct hg_dev *hg = c->hg;
	u8 *watch_copy = NULL;
	void *watch = NULL;
	u32 reg, cmd_status;
	s64 first = -1;
	u64 n = 0;
	size_t i;

	if (b->watch_gpa != ~0ULL) {
		watch_copy = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (watch_copy)
			watch = hg_watch_map(c, b->watch_gpa, watch_copy);
	}
	memcpy(hg->shadow, hg->arena, hg->arena_size);

	if (!b->no_cmd_gpa) {
		writel(lower_32_bits(b->cmd_gpa),
		       hg->regs + APPLE_DMA_REG_CMD_GPA_LO);
		writel(upper_32_bits(b->cmd_gpa),
		       hg->regs + APPLE_DMA_REG_CMD_GPA_HI);
		hg->cmd_gpa_set = true;
	}
	/* The device reads the command page and the requests on the doorbell. */
	wmb();
	writel(1, hg->regs + APPLE_DMA_REG_DOORBELL);
	/* A posted doorbell: this read completes after the batch. */
	reg = readl(hg->regs + APPLE_DMA_REG_STATUS);
	rmb();

	cmd_status = le32_to_cpu(hg_cmd(hg)->status);
	for (i = 0; i < hg->arena_size; i++) {
		if (hg->arena[i] == hg->shadow[i] || hg_allowed(hg, b, i))
			continue;
		if (first < 0)
			first = i;
		n++;
	}
	if (watch) {
		for (i = 0; i < PAGE_SIZE; i++)
			if (((u8 *)watch)[i] != watch_copy[i])
				n++;
		memunmap(watch);
	}
	kfree(watch_copy);

	c->outside += n;
	if (n)
		hg_fail(c, "%llu bytes changed outside the allowed areas (first at arena offset %lld)",
			n, first);
	if (b->subject) {
		c->reg_status = reg;
		c->cmd_status = cmd_status;
		hg_res(c, "first_change %lld\n", first);
	}
	if (reg != b->status)
		hg_fail(c, "STATUS %u, expected %u", reg, b->status);
	if (b->expect == HG_NOTHING || b->cmd_gpa != hg_gpa(hg, hg->cmd_off)) {
		if (cmd_status != HG_SENTINEL)
			hg_fail(c, "command page status written (%#x) though it must not be",
				cmd_status);
	} else if (cmd_status != b->status) {
		hg_fail(c, "command page status %u, expected %u", cmd_status,
			b->status);
	}
	return reg;
}

/* Batch rejected as a whole at R2/R3: INVAL, only the status field written. */
static void hg_ring_reject(struct hg_ctx *c, struct hg_batch *b)
{
	b->expect = HG_CMD_ONLY;
	b->status = APPLE_DMA_STATUS_INVAL;
	hg_ring(c, b);
}

/* ---- entry checks ----------------------------------------------------------- */

static void hg_res_map_entry(struct hg_ctx *c, u32 i)
{
	struct apple_dma_map_resp *r = hg_map_resp(c->hg, i);

	hg_res(c, "e%u status %u id %#llx dma_addr %#llx dma_len %u\n", i,
	       le32_to_cpu(r->status), le64_to_cpu(r->id),
	       le64_to_cpu(r->dma_addr), le32_to_cpu(r->dma_len));
}

/* A successful MAP response; returns its bus address (0 on failure). */
static u64 hg_check_map_ok(struct hg_ctx *c, u32 i, u64 gpa, u32 len)
{
	struct apple_dma_map_resp *r = hg_map_resp(c->hg, i);
	u64 dma = le64_to_cpu(r->dma_addr);

	hg_res_map_entry(c, i);
	if (le32_to_cpu(r->status) != APPLE_DMA_STATUS_OK) {
		hg_fail(c, "entry %u: status %u, expected OK", i,
			le32_to_cpu(r->status));
		return 0;
	}
	if (le64_to_cpu(r->id) != gpa)
		hg_fail(c, "entry %u: id %#llx, expected the gpa %#llx", i,
			le64_to_cpu(r->id), gpa);
	if (!dma)
		hg_fail(c, "entry %u: dma_addr 0", i);
	if (le32_to_cpu(r->dma_len) < len)
		hg_fail(c, "entry %u: dma_len %u does not cover len %u", i,
			le32_to_cpu(r->dma_len), len);
	return dma;
}

/* A failed MAP entry: only its status (checked by hg_ring's comparison). */
static void hg_check_map_status(struct hg_ctx *c, u32 i, u32 status)
{
	u32 got = le32_to_cpu(hg_map_resp(c->hg, i)->status);

	hg_res_map_entry(c, i);
	if (got != status)
		hg_fail(c, "entry %u: status %u, expected %u", i, got, status);
}

static void hg_check_unmap(struct hg_ctx *c, u32 i, u64 id, u32 status)
{
	struct apple_dma_unmap_resp *r = hg_unmap_resp(c->hg, i);

	hg_res(c, "e%u status %u id %#llx reserved %u\n", i,
	       le32_to_cpu(r->status), le64_to_cpu(r->id),
	       le32_to_cpu(r->reserved));
	if (le32_to_cpu(r->status) != status)
		hg_fail(c, "entry %u: unmap status %u, expected %u", i,
			le32_to_cpu(r->status), status);
	if (le64_to_cpu(r->id) != id)
		hg_fail(c, "entry %u: unmap id %#llx not echoed (%#llx)", i,
			le64_to_cpu(r->id), id);
	if (r->reserved)
		hg_fail(c, "entry %u: reserved %#x, expected 0", i,
			le32_to_cpu(r->reserved));
}

/* Unmap @n ids in one batch, expecting every one to succeed. */
static void hg_unmap_ids(struct hg_ctx *c, const u64 *ids, u32 n, bool subject)
{
	struct hg_dev *hg = c->hg;
	struct hg_batch b;
	u32 i;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_UNMAP, n);
	b.subject = subject;
	hg_prepare(hg, &b);
	for (i = 0; i < n; i++)
		hg_set_unmap(hg, i, ids[i], PAGE_SIZE);
	hg_ring(c, &b);
	for (i = 0; i < n; i++)
		hg_check_unmap(c, i, ids[i], APPLE_DMA_STATUS_OK);
}

/* ---- the cases ---------------------------------------------------------------- */

/* Requests that would register real mappings if the device processed them. */
static void hg_fill_valid_maps(struct hg_dev *hg, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		hg_set_map(hg, i, hg_data_gpa(hg, i), PAGE_SIZE, 0);
}

/* A MAP batch of @count plausible entries, rejected at R2/R3. */
static int hg_reject_map(struct hg_ctx *c, struct hg_batch *b)
{
	hg_prepare(c->hg, b);
	if (b->req_gpa == hg_gpa(c->hg, c->hg->req_off))
		hg_fill_valid_maps(c->hg, min(b->count, c->hg->max_entries + 1));
	hg_ring_reject(c, b);
	return 0;
}

static int hg_case_nocmd(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;
	struct hg_batch b;

	hg_res(c, "cmd_gpa_was_set %d\n", hg->cmd_gpa_set);
	hg_batch_init(hg, &b, APPLE_DMA_CMD_MAP, 1);
	b.cmd_gpa = 0;
	/* a fresh probe leaves CMD_GPA 0; after other cases, write 0 */
	b.no_cmd_gpa = !hg->cmd_gpa_set;
	b.expect = HG_NOTHING;
	b.status = APPLE_DMA_STATUS_INVAL;
	b.watch_gpa = 0;	/* the device must not write at GPA 0 + 8 */
	hg_prepare(hg, &b);
	hg_fill_valid_maps(hg, 1);
	hg_ring(c, &b);
	return 0;
}

/* The command page itself is not RAM: nothing may be written anywhere. */
static int hg_case_cmd_at(struct hg_ctx *c, u64 gpa)
{
	struct hg_dev *hg = c->hg;
	struct hg_batch b;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_MAP, 1);
	b.cmd_gpa = gpa;
	b.expect = HG_NOTHING;
	b.status = APPLE_DMA_STATUS_INVAL;
	b.watch_gpa = gpa;
	hg_res(c, "cmd_gpa %#llx\n", gpa);
	hg_prepare(hg, &b);
	hg_fill_valid_maps(hg, 1);
	hg_ring(c, &b);
	return 0;
}

static int hg_case_count(struct hg_ctx *c, u32 count)
{
	struct hg_batch b;

	hg_batch_init(c->hg, &b, APPLE_DMA_CMD_MAP, count);
	hg_res(c, "count %u max_entries %u\n", count, c->hg->max_entries);
	return hg_reject_map(c, &b);
}

static int hg_case_type(struct hg_ctx *c, u32 type)
{
	struct hg_batch b;

	hg_batch_init(c->hg, &b, type, 2);
	hg_res(c, "type %#x\n", type);
	return hg_reject_map(c, &b);
}

static int hg_case_req_at(struct hg_ctx *c, u64 gpa)
{
	struct hg_batch b;

	hg_batch_init(c->hg, &b, APPLE_DMA_CMD_MAP, 2);
	b.req_gpa = gpa;
	b.watch_gpa = gpa;
	hg_res(c, "req_gpa %#llx\n", gpa);
	return hg_reject_map(c, &b);
}

static int hg_case_resp_at(struct hg_ctx *c, u64 gpa)
{
	struct hg_batch b;

	hg_batch_init(c->hg, &b, APPLE_DMA_CMD_MAP, 2);
	b.resp_gpa = gpa;
	b.watch_gpa = gpa;
	hg_res(c, "resp_gpa %#llx\n", gpa);
	return hg_reject_map(c, &b);
}

/*
 * One valid MAP (entry 0, data page @page) and one bad entry (entry 1) in
 * the same batch: IOERR; entry 0 mapped, then unmapped again.
 */
static int hg_case_map_bad(struct hg_ctx *c, u64 gpa, u32 len, u32 flags,
			   u32 entry_status)
{
	struct hg_dev *hg = c->hg;
	u64 good = hg_data_gpa(hg, 0);
	struct hg_batch b;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_MAP, 2);
	b.status = APPLE_DMA_STATUS_IOERR;
	hg_prepare(hg, &b);
	hg_set_map(hg, 0, good, PAGE_SIZE, 0);
	hg_set_map(hg, 1, gpa, len, flags);
	hg_res(c, "bad_entry gpa %#llx len %#x flags %#x\n", gpa, len, flags);
	hg_ring(c, &b);
	hg_check_map_status(c, 1, entry_status);
	hg_check_map_ok(c, 0, good, PAGE_SIZE);
	if (le32_to_cpu(hg_map_resp(hg, 0)->status) == APPLE_DMA_STATUS_OK)
		hg_unmap_ids(c, &good, 1, false);
	return 0;
}

static int hg_case_map_huge(struct hg_ctx *c)
{
	u64 gpa = hg_data_gpa(c->hg, 1);

	/* [gpa, gpa + 4 GiB) must run past the end of RAM */
	if (c->hg->ram_end - gpa > 0xffffffffULL) {
		hg_fail(c, "guest RAM too large for this case (ram_end %#llx)",
			c->hg->ram_end);
		return 0;
	}
	return hg_case_map_bad(c, gpa, 0xffffffff, 0, APPLE_DMA_STATUS_IOERR);
}

/* The same key twice in one batch: the second is refused (IOERR). */
static int hg_case_map_dup(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;
	u64 gpa = hg_data_gpa(hg, 2);
	struct hg_batch b;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_MAP, 2);
	b.status = APPLE_DMA_STATUS_IOERR;
	hg_prepare(hg, &b);
	hg_set_map(hg, 0, gpa, PAGE_SIZE, 0);
	hg_set_map(hg, 1, gpa, PAGE_SIZE, 0);
	hg_ring(c, &b);
	hg_check_map_status(c, 1, APPLE_DMA_STATUS_IOERR);
	hg_check_map_ok(c, 0, gpa, PAGE_SIZE);
	if (le32_to_cpu(hg_map_resp(hg, 0)->status) == APPLE_DMA_STATUS_OK)
		hg_unmap_ids(c, &gpa, 1, false);
	return 0;
}

static int hg_case_unmap_unknown(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;
	u64 id = hg_data_gpa(hg, 3) + 0x123;
	struct hg_batch b;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_UNMAP, 1);
	b.status = APPLE_DMA_STATUS_IOERR;
	hg_prepare(hg, &b);
	hg_set_unmap(hg, 0, id, PAGE_SIZE);
	hg_ring(c, &b);
	hg_check_unmap(c, 0, id, APPLE_DMA_STATUS_IOERR);
	return 0;
}

/* Map, unmap, unmap again: the second unmap is IOERR with the id echoed. */
static int hg_case_unmap_twice(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;
	u64 gpa = hg_data_gpa(hg, 4);
	struct hg_batch b;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_MAP, 1);
	b.subject = false;
	hg_prepare(hg, &b);
	hg_set_map(hg, 0, gpa, PAGE_SIZE, 0);
	hg_ring(c, &b);
	if (!hg_check_map_ok(c, 0, gpa, PAGE_SIZE))
		return 0;
	hg_unmap_ids(c, &gpa, 1, false);

	hg_batch_init(hg, &b, APPLE_DMA_CMD_UNMAP, 1);
	b.status = APPLE_DMA_STATUS_IOERR;
	hg_prepare(hg, &b);
	hg_set_unmap(hg, 0, gpa, PAGE_SIZE);
	hg_ring(c, &b);
	hg_check_unmap(c, 0, gpa, APPLE_DMA_STATUS_IOERR);
	return 0;
}

/* The control: 4 maps of different shapes, all OK, then all unmapped. */
static int hg_case_valid(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;
	static const struct {
		unsigned int page;
		u32 off;
		u32 len;
	} m[4] = {
		{ 0, 0, PAGE_SIZE },
		{ 1, 10, 100 },
		{ 2, 0, 2 * PAGE_SIZE },	/* pages 2 and 3 */
		{ 5, PAGE_SIZE - 1, 1 },
	};
	u64 ids[4], dma[4];
	struct hg_batch b;
	u32 i, j;

	hg_batch_init(hg, &b, APPLE_DMA_CMD_MAP, 4);
	b.subject = false;
	hg_prepare(hg, &b);
	for (i = 0; i < 4; i++) {
		ids[i] = hg_data_gpa(hg, m[i].page) + m[i].off;
		hg_set_map(hg, i, ids[i], m[i].len, 0);
	}
	hg_ring(c, &b);
	for (i = 0; i < 4; i++)
		dma[i] = hg_check_map_ok(c, i, ids[i], m[i].len);
	/* no two live mappings share a bus range */
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (dma[i] && dma[i] == dma[j])
				hg_fail(c, "entries %u and %u share dma_addr %#llx",
					i, j, dma[i]);
	hg_unmap_ids(c, ids, 4, true);
	return 0;
}

/*
 * @n doorbells with CMD_GPA 0 and @n 2-byte BAR0 reads: guest errors the
 * host logs, a flood its log must survive. Only STATUS is checked.
 */
static int hg_case_flood(struct hg_ctx *c, u32 n)
{
	struct hg_dev *hg = c->hg;
	u32 i, bad = 0;

	writel(0, hg->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(0, hg->regs + APPLE_DMA_REG_CMD_GPA_HI);
	hg->cmd_gpa_set = true;
	for (i = 0; i < n; i++) {
		writel(1, hg->regs + APPLE_DMA_REG_DOORBELL);
		if (readl(hg->regs + APPLE_DMA_REG_STATUS) != APPLE_DMA_STATUS_INVAL)
			bad++;
		(void)readw(hg->regs + APPLE_DMA_REG_VERSION + 2);
		cond_resched();
	}
	hg_res(c, "flood %u\n", n);
	if (bad)
		hg_fail(c, "%u of %u doorbells without CMD_GPA not INVAL", bad, n);
	c->reg_status = readl(hg->regs + APPLE_DMA_REG_STATUS);
	return 0;
}

/*
 * A guest written for the reference platform: ring, then read only guest
 * RAM (never STATUS). With FEATURES' SYNC_DOORBELL the batch must be done
 * when the DOORBELL write returns: 50 map+unmap round trips, each checked
 * from the command page and the response alone.
 */
static int hg_case_sync(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;
	u32 features = readl(hg->regs + APPLE_DMA_REG_FEATURES);
	u64 gpa = hg_data_gpa(hg, 6);
	u32 i, stale = 0, st;
	__le32 rst;

	hg_res(c, "features %#x\n", features);
	if (!(features & APPLE_DMA_FEATURE_SYNC_DOORBELL)) {
		hg_fail(c, "FEATURES %#x does not promise synchronous doorbells", features);
		return 0;
	}
	writel(lower_32_bits(hg_gpa(hg, hg->cmd_off)), hg->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(upper_32_bits(hg_gpa(hg, hg->cmd_off)), hg->regs + APPLE_DMA_REG_CMD_GPA_HI);
	hg->cmd_gpa_set = true;
	for (i = 0; i < 100; i++) {
		struct hg_batch b;
		bool map = !(i & 1);

		hg_batch_init(hg, &b, map ? APPLE_DMA_CMD_MAP : APPLE_DMA_CMD_UNMAP, 1);
		hg_prepare(hg, &b);
		if (map)
			hg_set_map(hg, 0, gpa, PAGE_SIZE, 0);
		else
			hg_set_unmap(hg, 0, gpa, PAGE_SIZE);
		wmb();
		writel(1, hg->regs + APPLE_DMA_REG_DOORBELL);
		mb();
		st = le32_to_cpu(READ_ONCE(hg_cmd(hg)->status));
		rst = map ? READ_ONCE(hg_map_resp(hg, 0)->status) :
			    READ_ONCE(hg_unmap_resp(hg, 0)->status);
		if (st != APPLE_DMA_STATUS_OK || le32_to_cpu(rst) != APPLE_DMA_STATUS_OK)
			stale++;
		/* Whatever the guest saw, leave nothing mapped behind. */
		if (readl(hg->regs + APPLE_DMA_REG_STATUS) != APPLE_DMA_STATUS_OK)
			hg_fail(c, "round trip %u: STATUS not OK", i);
	}
	hg_res(c, "stale %u of 100\n", stale);
	if (stale)
		hg_fail(c, "%u of 100 doorbells not complete when the write returned", stale);
	c->reg_status = readl(hg->regs + APPLE_DMA_REG_STATUS);
	c->cmd_status = le32_to_cpu(hg_cmd(hg)->status);
	return 0;
}

static int hg_case_info(struct hg_ctx *c)
{
	struct hg_dev *hg = c->hg;

	hg_res(c, "version %u\nmax_entries %u\nmanaged_bdf %#x\nfeatures %#x\nrom_gpa %#lx\n",
	       readl(hg->regs + APPLE_DMA_REG_VERSION), hg->max_entries,
	       readl(hg->regs + APPLE_DMA_REG_MANAGED_BDF),
	       readl(hg->regs + APPLE_DMA_REG_FEATURES), rom_gpa);
	hg_res(c, "ram_end %#llx\nmmio_gpa %#llx\n", hg->ram_end, hg->mmio_gpa);
	hg_res(c, "arena_gpa %#llx\narena_size %zu\n", hg->arena_gpa,
	       hg->arena_size);
	hg_res(c, "cmd_gpa %#llx\nreq_gpa %#llx\nresp_gpa %#llx\ndata_gpa %#llx\n",
	       hg_gpa(hg, hg->cmd_off), hg_gpa(hg, hg->req_off),
	       hg_gpa(hg, hg->resp_off), hg_gpa(hg, hg->data_off));
	c->reg_status = readl(hg->regs + APPLE_DMA_REG_STATUS);
	c->cmd_status = le32_to_cpu(hg_cmd(hg)->status);
	return 0;
}

static int hg_case_list(struct hg_ctx *c);

static int hg_run_named(struct hg_ctx *c, const char *name)
{
	struct hg_dev *hg = c->hg;
	u64 cmd = hg_gpa(hg, hg->cmd_off), req = hg_gpa(hg, hg->req_off);
	u64 resp = hg_gpa(hg, hg->resp_off), far = hg->ram_end + HG_FAR_DISTANCE;
	u64 straddle = hg->ram_end - 16, wrap = ~0ULL - 15;

#define IS(n) (!strcmp(name, n))
	if (IS("info"))
		return hg_case_info(c);
	if (IS("list"))
		return hg_case_list(c);
	if (IS("nocmd"))
		return hg_case_nocmd(c);
	if (IS("count0"))
		return hg_case_count(c, 0);
	if (IS("count_max_plus1")) {
		if (hg->max_entries >= HG_MAX_ENTRIES_CAP) {
			hg_fail(c, "MAX_ENTRIES %u too large for this module",
				hg->max_entries);
			return 0;
		}
		return hg_case_count(c, hg->max_entries + 1);
	}
	if (IS("type0"))
		return hg_case_type(c, 0);
	if (IS("type3"))
		return hg_case_type(c, 3);
	if (IS("type_ffffffff"))
		return hg_case_type(c, 0xffffffff);
	if (IS("req_zero"))
		return hg_case_req_at(c, 0);
	if (IS("resp_zero"))
		return hg_case_resp_at(c, 0);
	if (IS("req_far"))
		return hg_case_req_at(c, far);
	if (IS("resp_far"))
		return hg_case_resp_at(c, far);
	if (IS("req_straddle"))
		return hg_case_req_at(c, straddle);
	if (IS("resp_straddle"))
		return hg_case_resp_at(c, straddle);
	if (IS("req_mmio"))
		return hg_case_req_at(c, hg->mmio_gpa);
	if (IS("resp_mmio"))
		return hg_case_resp_at(c, hg->mmio_gpa);
	if (IS("req_wrap"))
		return hg_case_req_at(c, wrap);
	if (IS("resp_wrap"))
		return hg_case_resp_at(c, wrap);
	if (IS("resp_overlap_cmd"))
		return hg_case_resp_at(c, cmd - 16);
	if (IS("req_overlap_cmd"))
		return hg_case_req_at(c, cmd + 8);
	if (IS("req_overlap_resp"))
		return hg_case_req_at(c, resp + 16);
	if (IS("resp_overlap_req"))
		return hg_case_resp_at(c, req + 16);
	if (IS("map_len0"))
		return hg_case_map_bad(c, hg_data_gpa(hg, 1), 0, 0,
				       APPLE_DMA_STATUS_INVAL);
	if (IS("map_huge"))
		return hg_case_map_huge(c);
	if (IS("map_flags"))
		return hg_case_map_bad(c, hg_data_gpa(hg, 1), PAGE_SIZE, 1,
				       APPLE_DMA_STATUS_INVAL);
	if (IS("map_not_ram"))
		return hg_case_map_bad(c, far, PAGE_SIZE, 0,
				       APPLE_DMA_STATUS_IOERR);
	if (IS("map_straddle"))
		return hg_case_map_bad(c, hg->ram_end - PAGE_SIZE,
				       2 * PAGE_SIZE, 0,
				       APPLE_DMA_STATUS_IOERR);
	if (IS("map_dup"))
		return hg_case_map_dup(c);
	if (IS("unmap_unknown"))
		return hg_case_unmap_unknown(c);
	if (IS("unmap_twice"))
		return hg_case_unmap_twice(c);
	if (IS("cmd_far"))
		return hg_case_cmd_at(c, far);
	if (IS("cmd_straddle"))
		return hg_case_cmd_at(c, straddle);
	if (IS("cmd_mmio"))
		return hg_case_cmd_at(c, hg->mmio_gpa);
	if (IS("valid"))
		return hg_case_valid(c);
	if (IS("flood"))
		return hg_case_flood(c, 2000);
	if (IS("sync"))
		return hg_case_sync(c);
	if (IS("cmd_rom") || IS("resp_rom") || IS("map_rom")) {
		/* The device must never write read-only RAM (the server would die). */
		if (!rom_gpa) {
			hg_fail(c, "no read-only RAM known on this machine (rom_gpa)");
			return 0;
		}
		if (IS("cmd_rom"))
			return hg_case_cmd_at(c, rom_gpa);
		if (IS("resp_rom"))
			return hg_case_resp_at(c, rom_gpa);
		return hg_case_map_bad(c, rom_gpa, PAGE_SIZE, 0,
				       APPLE_DMA_STATUS_IOERR);
	}
#undef IS
	return -EINVAL;
}

static const char * const hg_case_names[] = {
	"nocmd", "count0", "count_max_plus1", "type0", "type3",
	"type_ffffffff", "req_zero", "resp_zero", "req_far", "resp_far",
	"req_straddle", "resp_straddle", "req_mmio", "resp_mmio", "req_wrap",
	"resp_wrap", "resp_overlap_cmd", "req_overlap_cmd", "req_overlap_resp",
	"resp_overlap_req", "map_len0", "map_huge", "map_flags", "map_not_ram",
	"map_straddle", "map_dup", "unmap_unknown", "unmap_twice", "cmd_far",
	"cmd_straddle", "cmd_mmio", "valid", "flood", "sync", "cmd_rom",
	"resp_rom", "map_rom",
};

static int hg_case_list(struct hg_ctx *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hg_case_names); i++)
		hg_res(c, "case %s\n", hg_case_names[i]);
	return 0;
}

static int hg_exec(struct hg_dev *hg, const char *name)
{
	struct hg_ctx c = { .hg = hg };
	int ret;

	c.body = kzalloc(HG_RESULT_SIZE, GFP_KERNEL);
	if (!c.body)
		return -ENOMEM;
	ret = hg_run_named(&c, name);
	if (ret) {
		hg_fail(&c, "unknown case '%s' (try: list)", name);
	} else if (c.failed) {
		ret = -EIO;
	}
	scnprintf(hg->result, HG_RESULT_SIZE,
		  "status %s\ndetail %s\ncase %s\nreg_status %u\ncmd_status %u\noutside_changes %llu\n%s",
		  c.failed ? "fail" : "ok", c.failed ? c.detail : "none",
		  name, c.reg_status, c.cmd_status, c.outside, c.body);
	kfree(c.body);
	return ret;
}

/* ---- debugfs -------------------------------------------------------------------- */

static ssize_t hg_cmd_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct hg_dev *hg = file->private_data;
	char line[64];
	int ret;

	if (!len || len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';

	if (mutex_lock_interruptible(&hg->lock))
		return -EINTR;
	ret = hg_exec(hg, strim(line));
	mutex_unlock(&hg->lock);
	return ret ? ret : len;
}

static const struct file_operations hg_cmd_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = hg_cmd_write,
	.llseek = noop_llseek,
};

static ssize_t hg_result_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct hg_dev *hg = file->private_data;
	ssize_t ret;

	if (mutex_lock_interruptible(&hg->lock))
		return -EINTR;
	ret = simple_read_from_buffer(ubuf, len, ppos, hg->result,
				      strlen(hg->result));
	mutex_unlock(&hg->lock);
	return ret;
}

static const struct file_operations hg_result_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hg_result_read,
	.llseek = default_llseek,
};

/* ---- probe / remove ------------------------------------------------------------- */

static int hg_ram_end_cb(struct resource *res, void *arg)
{
	u64 *end = arg;

	if (res->end + 1 > *end)
		*end = res->end + 1;
	return 0;
}

static u64 hg_detect_ram_end(void)
{
	u64 end = 0;

	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &end, hg_ram_end_cb);
	/* firmware-reserved tails (ACPI tables) are RAM to the host too */
	return round_up(end, SZ_2M);
}

static u64 hg_default_mmio_gpa(void)
{
#ifdef CONFIG_X86
	return 0xfee00000;	/* local APIC */
#elif defined(CONFIG_ARM64)
	return 0x08000000;	/* virt: GIC distributor */
#else
	return 0;
#endif
}

static int hg_alloc_arena(struct hg_dev *hg)
{
	u32 n = hg->max_entries + 1;
	size_t req = PAGE_ALIGN(HG_ARRAY_OFF * 2 +
				(size_t)n * sizeof(struct apple_dma_map_req));
	size_t resp = PAGE_ALIGN(HG_ARRAY_OFF * 2 +
				 (size_t)n * sizeof(struct apple_dma_map_resp));
	size_t off = PAGE_SIZE;	/* guard */

	hg->cmd_off = off + HG_CMD_OFF_IN_PAGE;
	off += 2 * PAGE_SIZE;	/* command page section, guard */
	hg->req_off = off + HG_ARRAY_OFF;
	off += req + PAGE_SIZE;
	hg->resp_off = off + HG_ARRAY_OFF;
	off += resp + PAGE_SIZE;
	hg->data_off = off;
	off += (HG_DATA_PAGES + 1) * PAGE_SIZE;
	hg->arena_size = off;

	hg->arena = alloc_pages_exact(hg->arena_size, GFP_KERNEL | __GFP_NOWARN);
	if (!hg->arena)
		return -ENOMEM;
	hg->arena_gpa = virt_to_phys(hg->arena);
	hg->shadow = kvmalloc(hg->arena_size, GFP_KERNEL);
	if (!hg->shadow) {
		free_pages_exact(hg->arena, hg->arena_size);
		hg->arena = NULL;
		return -ENOMEM;
	}
	hg_fill_pattern(hg);
	return 0;
}

static void hg_free_arena(struct hg_dev *hg)
{
	kvfree(hg->shadow);
	if (hg->arena)
		free_pages_exact(hg->arena, hg->arena_size);
}

static int hg_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct hg_dev *hg;
	u32 version;
	int ret;

	mutex_lock(&hg_probe_lock);
	if (hg_the_dev) {
		mutex_unlock(&hg_probe_lock);
		dev_info(&pdev->dev, "only one apple-dma-pci device is supported\n");
		return -EBUSY;
	}

	hg = kzalloc(sizeof(*hg), GFP_KERNEL);
	if (!hg) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	hg->pdev = pdev;
	mutex_init(&hg->lock);
	hg->result = kzalloc(HG_RESULT_SIZE, GFP_KERNEL);
	if (!hg->result) {
		ret = -ENOMEM;
		goto err_free;
	}
	strscpy(hg->result, "status none\n", HG_RESULT_SIZE);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	ret = pci_request_region(pdev, 0, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	hg->regs = pci_iomap(pdev, 0, APPLE_DMA_BAR0_SIZE);
	if (!hg->regs) {
		ret = -ENOMEM;
		goto err_release;
	}
	version = readl(hg->regs + APPLE_DMA_REG_VERSION);
	hg->max_entries = readl(hg->regs + APPLE_DMA_REG_MAX_ENTRIES);
	if (version != APPLE_DMA_VERSION || !hg->max_entries) {
		dev_err(&pdev->dev, "version %u, MAX_ENTRIES %u: not usable\n",
			version, hg->max_entries);
		ret = -ENODEV;
		goto err_unmap;
	}
	hg->ram_end = ram_end ? ram_end : hg_detect_ram_end();
	hg->mmio_gpa = mmio_gpa ? mmio_gpa : hg_default_mmio_gpa();
	ret = hg_alloc_arena(hg);
	if (ret)
		goto err_unmap;
	pci_set_master(pdev);

	pci_set_drvdata(pdev, hg);
	hg->debugfs = debugfs_create_dir("hostile", NULL);
	debugfs_create_file("cmd", 0200, hg->debugfs, hg, &hg_cmd_fops);
	debugfs_create_file("result", 0444, hg->debugfs, hg, &hg_result_fops);
	hg_the_dev = hg;
	mutex_unlock(&hg_probe_lock);

	dev_info(&pdev->dev,
		 "hostile guest ready: MAX_ENTRIES %u, RAM end %#llx, arena %#llx+%#zx\n",
		 hg->max_entries, hg->ram_end, hg->arena_gpa, hg->arena_size);
	return 0;

err_unmap:
	pci_iounmap(pdev, hg->regs);
err_release:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(hg->result);
	kfree(hg);
err_unlock:
	mutex_unlock(&hg_probe_lock);
	return ret;
}

static void hg_remove(struct pci_dev *pdev)
{
	struct hg_dev *hg = pci_get_drvdata(pdev);

	/* waits for a running case */
	debugfs_remove_recursive(hg->debugfs);
	mutex_lock(&hg_probe_lock);
	hg_the_dev = NULL;
	mutex_unlock(&hg_probe_lock);

	/* the host must not write into memory we are about to free */
	writel(0, hg->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(0, hg->regs + APPLE_DMA_REG_CMD_GPA_HI);
	readl(hg->regs + APPLE_DMA_REG_STATUS);
	hg_free_arena(hg);
	pci_clear_master(pdev);
	pci_iounmap(pdev, hg->regs);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	kfree(hg->result);
	kfree(hg);
}

static const struct pci_device_id hg_ids[] = {
	{ PCI_DEVICE(APPLE_DMA_PCI_VENDOR_ID, APPLE_DMA_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, hg_ids);

static struct pci_driver hg_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= hg_ids,
	.probe		= hg_probe,
	.remove		= hg_remove,
};
module_pci_driver(hg_driver);

MODULE_DESCRIPTION("Hostile-guest tests for the apple-dma-pci host device");
MODULE_AUTHOR("vfio-apple");
MODULE_LICENSE("GPL");
