// SPDX-License-Identifier: GPL-2.0-only
/*
 * apple_dma: mapping records, windows, refcounts and batched submission.
 *
 * Every function here may run in atomic context: the instance lock is a
 * spinlock taken with irqsave, records come from a slab cache with
 * GFP_ATOMIC, and the doorbell is an MMIO write followed by a read (of
 * STATUS, or of the command page when the device promises synchronous
 * doorbells).
 *
 * Ordering rule: a record is allocated and inserted (PENDING) before the
 * host is asked to map its range, so no allocation failure can leave a
 * host registration (a DMA window into guest memory) without a record.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "apple_dma.h"

static struct kmem_cache *apple_dma_rec_cache;

int apple_dma_map_module_init(void)
{
	apple_dma_rec_cache = KMEM_CACHE(apple_dma_mapping, 0);
	return apple_dma_rec_cache ? 0 : -ENOMEM;
}

void apple_dma_map_module_exit(void)
{
	kmem_cache_destroy(apple_dma_rec_cache);
}

/* ---- trees (lock held) ------------------------------------------------ */

static struct apple_dma_mapping *base_entry(struct rb_node *node)
{
	return rb_entry_safe(node, struct apple_dma_mapping, base_node);
}

static struct apple_dma_mapping *base_find(struct apple_dma *ad, u64 base)
{
	struct rb_node *node = ad->by_base.rb_node;

	while (node) {
		struct apple_dma_mapping *rec = base_entry(node);

		if (base < rec->base)
			node = node->rb_left;
		else if (base > rec->base)
			node = node->rb_right;
		else
			return rec;
	}
	return NULL;
}

/* The node with the largest base <= @gpa. */
static struct rb_node *base_floor(struct apple_dma *ad, u64 gpa)
{
	struct rb_node *node = ad->by_base.rb_node, *best = NULL;

	while (node) {
		struct apple_dma_mapping *rec = base_entry(node);

		if (rec->base <= gpa) {
			best = node;
			node = node->rb_right;
		} else {
			node = node->rb_left;
		}
	}
	return best;
}

static int base_insert(struct apple_dma *ad, struct apple_dma_mapping *new)
{
	struct rb_node **link = &ad->by_base.rb_node, *parent = NULL;

	while (*link) {
		struct apple_dma_mapping *rec = base_entry(*link);

		parent = *link;
		if (new->base < rec->base)
			link = &parent->rb_left;
		else if (new->base > rec->base)
			link = &parent->rb_right;
		else
			return -EEXIST;
	}
	rb_link_node(&new->base_node, parent, link);
	rb_insert_color(&new->base_node, &ad->by_base);
	return 0;
}

/* Bus ranges of live records never overlap; a host that says otherwise is refused. */
static int bus_insert(struct apple_dma *ad, struct apple_dma_mapping *new)
{
	struct rb_node **link = &ad->by_bus.rb_node, *parent = NULL;
	u64 new_last = new->bus + (new->size - 1);

	while (*link) {
		struct apple_dma_mapping *rec;

		rec = rb_entry(*link, struct apple_dma_mapping, bus_node);
		parent = *link;
		if (new_last < rec->bus)
			link = &parent->rb_left;
		else if (new->bus > rec->bus + (rec->size - 1))
			link = &parent->rb_right;
		else
			return -EEXIST;
	}
	rb_link_node(&new->bus_node, parent, link);
	rb_insert_color(&new->bus_node, &ad->by_bus);
	return 0;
}

static struct apple_dma_mapping *bus_find(struct apple_dma *ad, dma_addr_t addr)
{
	struct rb_node *node = ad->by_bus.rb_node;

	while (node) {
		struct apple_dma_mapping *rec;

		rec = rb_entry(node, struct apple_dma_mapping, bus_node);
		if (addr < rec->bus)
			node = node->rb_left;
		else if (addr - rec->bus >= rec->size)
			node = node->rb_right;
		else
			return rec;
	}
	return NULL;
}

static bool rec_covers(const struct apple_dma_mapping *rec, u64 gpa, u64 end)
{
	return rec->base <= gpa && end - rec->base <= rec->size;
}

/* A PENDING or LIVE record covering [gpa, end), looking a few bases back. */
static struct apple_dma_mapping *find_covering(struct apple_dma *ad, u64 gpa,
					       u64 end)
{
	struct rb_node *node = base_floor(ad, gpa);
	int i;

	for (i = 0; node && i < APPLE_DMA_COVER_SCAN; i++, node = rb_prev(node)) {
		struct apple_dma_mapping *rec = base_entry(node);

		if (rec_covers(rec, gpa, end))
			return rec;
	}
	return NULL;
}

/* ---- records (lock held) ---------------------------------------------- */

static void stats_live_add(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	struct apple_dma_stats *s = &ad->stats;

	s->live_mappings++;
	s->live_bytes += rec->size;
	s->peak_mappings = max(s->peak_mappings, s->live_mappings);
	s->peak_bytes = max(s->peak_bytes, s->live_bytes);
}

static void stats_live_sub(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	ad->stats.live_mappings--;
	ad->stats.live_bytes -= rec->size;
}

static int new_rec(struct apple_dma *ad, struct apple_dma_seg *seg, u64 base,
		   u64 size, bool window, struct list_head *pending)
{
	struct apple_dma_mapping *rec;

	rec = kmem_cache_zalloc(apple_dma_rec_cache, GFP_ATOMIC | __GFP_NOWARN);
	if (!rec)
		return -ENOMEM;
	rec->base = base;
	rec->size = size;
	rec->window = window;
	rec->refs = 1;
	rec->state = APPLE_DMA_REC_PENDING;
	RB_CLEAR_NODE(&rec->bus_node);
	if (WARN_ON_ONCE(base_insert(ad, rec))) {
		kmem_cache_free(apple_dma_rec_cache, rec);
		return -EEXIST;
	}
	list_add_tail(&rec->list, pending);
	seg->rec = rec;
	return 0;
}

/*
 * Drop one reference. A LIVE record that loses its last one leaves both
 * trees and goes onto @unmapq for the caller to flush.
 */
static void put_rec(struct apple_dma *ad, struct apple_dma_mapping *rec,
		    struct list_head *unmapq)
{
	lockdep_assert_held(&ad->lock);

	if (WARN_ON_ONCE(!rec->refs))
		return;
	if (--rec->refs)
		return;

	switch (rec->state) {
	case APPLE_DMA_REC_PENDING:
		rb_erase(&rec->base_node, &ad->by_base);
		list_del(&rec->list);
		kmem_cache_free(apple_dma_rec_cache, rec);
		break;
	case APPLE_DMA_REC_LIVE:
		rb_erase(&rec->base_node, &ad->by_base);
		rb_erase(&rec->bus_node, &ad->by_bus);
		stats_live_sub(ad, rec);
		list_add_tail(&rec->list, unmapq);
		break;
	default:
		kmem_cache_free(apple_dma_rec_cache, rec);
		break;
	}
}

/*
 * Find or create the record that will back @seg and take a reference on
 * it. Windowed: a range inside one aligned window is backed by the whole
 * window. Otherwise (or when the window key is taken by a smaller
 * mapping): an exact mapping rounded out to 16 KiB. The host keys by base,
 * so a new exact mapping whose base is already a key moves its base down.
 */
static int resolve(struct apple_dma *ad, struct apple_dma_seg *seg,
		   bool allow_window, struct list_head *pending)
{
	u64 gpa = seg->gpa, end = seg->gpa + seg->len;
	struct apple_dma_mapping *rec;
	u64 base, top, key;
	int i;

	if (allow_window && ad->window_shift &&
	    (gpa >> ad->window_shift) == ((end - 1) >> ad->window_shift)) {
		u64 wsize = 1ULL << ad->window_shift;
		u64 wbase = gpa & ~(wsize - 1);

		rec = base_find(ad, wbase);
		if (rec && rec_covers(rec, gpa, end))
			goto hit;
		if (!rec) {
			rec = find_covering(ad, gpa, end);
			if (rec)
				goto hit;
			return new_rec(ad, seg, wbase, wsize, true, pending);
		}
		ad->stats.collisions++;
	}

	rec = find_covering(ad, gpa, end);
	if (rec)
		goto hit;

	base = round_down(gpa, APPLE_DMA_DART_SIZE);
	top = round_up(end, APPLE_DMA_DART_SIZE);
	/*
	 * The host keys a mapping by the request's GPA, not by its page, and
	 * keeps the offset inside the page: every key in [base, gpa] maps the
	 * same DART pages. Try a few of those before moving the base down.
	 */
	for (key = base; key <= gpa && key - base < APPLE_DMA_KEY_TRIES; key++) {
		if (!base_find(ad, key))
			return new_rec(ad, seg, key, top - key, false, pending);
		ad->stats.collisions++;
	}
	for (i = 0; i < APPLE_DMA_COLLISION_TRIES; i++) {
		if (!base_find(ad, base))
			return new_rec(ad, seg, base, top - base, false, pending);
		ad->stats.collisions++;
		if (base < APPLE_DMA_DART_SIZE ||
		    top - base >= APPLE_DMA_MAX_MAP_LEN + 2 * APPLE_DMA_DART_SIZE)
			break;
		base -= APPLE_DMA_DART_SIZE;
	}
	return -EBUSY;

hit:
	rec->refs++;
	seg->rec = rec;
	if (rec->state == APPLE_DMA_REC_LIVE)
		ad->stats.window_hits++;
	return 0;
}

/* ---- the wire protocol (lock held) ------------------------------------ */

/*
 * Process one batch of @count entries already in the request array.
 * Returns 0 when the responses are to be parsed (OK or IOERR: each entry
 * says), -EINVAL when the device refused the command as a whole (it then
 * writes no response).
 */
static int doorbell(struct apple_dma *ad, u32 type, u32 count)
{
	struct apple_dma_cmd *cmd = ad->cmd;
	struct apple_dma_stats *s = &ad->stats;
	u32 status;

	lockdep_assert_held(&ad->lock);

	cmd->type = cpu_to_le32(type);
	cmd->count = cpu_to_le32(count);
	cmd->status = cpu_to_le32(U32_MAX);
	cmd->reserved = 0;
	cmd->req_gpa = cpu_to_le64(ad->req_gpa);
	cmd->resp_gpa = cpu_to_le64(ad->resp_gpa);

	/* The device reads the command page and arrays on the doorbell. */
	wmb();
	writel(1, ad->regs + APPLE_DMA_REG_DOORBELL);
	if (ad->sync_doorbell) {
		/*
		 * The write completed after the batch (FEATURES): the status is
		 * in the command page. The barrier keeps the loads after it.
		 */
		mb();
		status = le32_to_cpu(READ_ONCE(cmd->status));
	} else {
		/*
		 * The doorbell write may be posted (vfio-user); this read
		 * cannot complete before the batch has been processed.
		 */
		status = readl(ad->regs + APPLE_DMA_REG_STATUS);
		s->status_reads++;
	}
	/* Responses are read only after the status. */
	rmb();

	s->doorbells++;
	s->entries += count;
	s->max_entries_per_doorbell = max_t(u64, s->max_entries_per_doorbell,
					    count);

	switch (status) {
	case APPLE_DMA_STATUS_OK:
	case APPLE_DMA_STATUS_IOERR:
		return 0;
	case APPLE_DMA_STATUS_INVAL:
		dev_warn_ratelimited(&ad->pdev->dev,
				     "device rejected %s batch of %u entries\n",
				     type == APPLE_DMA_CMD_MAP ? "map" : "unmap",
				     count);
		return -EINVAL;
	default:
		/* Unwritten responses keep their failure sentinel. */
		dev_warn_ratelimited(&ad->pdev->dev,
				     "unexpected batch status %#x\n", status);
		return 0;
	}
}

/* Send UNMAP for the first @n entries of the request array. */
static void host_unmap_batch(struct apple_dma *ad, u32 n)
{
	struct apple_dma_unmap_req *req = ad->req;
	struct apple_dma_unmap_resp *resp = ad->resp;
	u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		resp[i].id = 0;
		resp[i].status = cpu_to_le32(U32_MAX);
		resp[i].reserved = 0;
	}
	ret = doorbell(ad, APPLE_DMA_CMD_UNMAP, n);
	for (i = 0; i < n; i++) {
		if (!ret && le32_to_cpu(resp[i].status) == APPLE_DMA_STATUS_OK &&
		    resp[i].id == req[i].id) {
			ad->stats.host_unmaps++;
			continue;
		}
		ad->stats.host_unmap_errors++;
		dev_warn_ratelimited(&ad->pdev->dev,
				     "host unmap of %#llx failed (status %u)\n",
				     le64_to_cpu(req[i].id),
				     le32_to_cpu(resp[i].status));
	}
}

/* Unregister and free every record on @q, max_batch per doorbell. */
static void flush_unmaps(struct apple_dma *ad, struct list_head *q)
{
	struct apple_dma_unmap_req *req = ad->req;
	struct apple_dma_mapping *rec, *tmp;
	u32 n;

	lockdep_assert_held(&ad->lock);

	while (!list_empty(q)) {
		n = 0;
		list_for_each_entry_safe(rec, tmp, q, list) {
			if (n == ad->max_batch)
				break;
			list_del(&rec->list);
			req[n].id = cpu_to_le64(rec->base);
			req[n].size = cpu_to_le64(rec->size);
			ad->batch[n++] = rec;
		}
		host_unmap_batch(ad, n);
		while (n)
			kmem_cache_free(apple_dma_rec_cache, ad->batch[--n]);
	}
}

/*
 * Check one MAP response. On success the record becomes LIVE. When the
 * host reports success but the answer is unusable, *@leaked tells the
 * caller the host holds a registration that must be dropped.
 */
static bool accept_map_resp(struct apple_dma *ad, struct apple_dma_mapping *rec,
			    const struct apple_dma_map_resp *resp, bool *leaked)
{
	u64 id = le64_to_cpu(resp->id);
	u64 bus = le64_to_cpu(resp->dma_addr);
	u32 dma_len = le32_to_cpu(resp->dma_len);
	u64 last;

	*leaked = false;
	if (le32_to_cpu(resp->status) != APPLE_DMA_STATUS_OK) {
		dev_dbg_ratelimited(&ad->pdev->dev,
				    "host map %#llx+%#llx failed (status %u)\n",
				    rec->base, rec->size,
				    le32_to_cpu(resp->status));
		return false;
	}

	*leaked = true;
	if (id != rec->base || dma_len < rec->size ||
	    check_add_overflow(bus, rec->size - 1, &last) ||
	    (dma_addr_t)last != last) {
		dev_warn_ratelimited(&ad->pdev->dev,
				     "bad host answer for %#llx+%#llx: id %#llx bus %#llx len %#x\n",
				     rec->base, rec->size, id, bus, dma_len);
		return false;
	}
	rec->bus = bus;
	if (bus_insert(ad, rec)) {
		dev_warn_ratelimited(&ad->pdev->dev,
				     "host bus range %#llx+%#llx overlaps a live mapping\n",
				     bus, rec->size);
		return false;
	}
	*leaked = false;
	return true;
}

/* Register every record on @pending with the host, max_batch per doorbell. */
static void submit_maps(struct apple_dma *ad, struct list_head *pending)
{
	struct apple_dma_map_req *req = ad->req;
	struct apple_dma_map_resp *resp = ad->resp;
	struct apple_dma_unmap_req *ureq = ad->req;
	struct apple_dma_mapping *rec, *tmp;
	u32 i, n, nbad;
	bool leaked;
	int ret;

	lockdep_assert_held(&ad->lock);

	while (!list_empty(pending)) {
		n = 0;
		list_for_each_entry_safe(rec, tmp, pending, list) {
			if (n == ad->max_batch)
				break;
			list_del_init(&rec->list);
			req[n].gpa = cpu_to_le64(rec->base);
			req[n].len = cpu_to_le32(rec->size);
			req[n].flags = 0;
			memset(&resp[n], 0, sizeof(resp[n]));
			resp[n].status = cpu_to_le32(U32_MAX);
			ad->batch[n++] = rec;
		}

		ret = doorbell(ad, APPLE_DMA_CMD_MAP, n);

		/*
		 * Requests have been consumed; unusable-but-registered
		 * entries are collected as UNMAP requests in the same array
		 * (index nbad <= i, same entry size).
		 */
		nbad = 0;
		for (i = 0; i < n; i++) {
			rec = ad->batch[i];
			if (!ret && accept_map_resp(ad, rec, &resp[i], &leaked)) {
				rec->state = APPLE_DMA_REC_LIVE;
				ad->stats.host_maps++;
				stats_live_add(ad, rec);
				continue;
			}
			ad->stats.host_map_errors++;
			rb_erase(&rec->base_node, &ad->by_base);
			rec->state = APPLE_DMA_REC_DEAD;
			if (!ret && leaked) {
				ureq[nbad].id = cpu_to_le64(rec->base);
				ureq[nbad].size = cpu_to_le64(rec->size);
				nbad++;
			}
		}
		if (nbad)
			host_unmap_batch(ad, nbad);
	}
}

/*
 * Map @n (<= max_batch) ranges: one doorbell for all new registrations,
 * a second one only if windows failed and are retried as exact mappings.
 * On failure nothing taken by this call is kept and no registration it
 * created is left on the host.
 */
static int map_segs_locked(struct apple_dma *ad, struct apple_dma_seg *segs,
			   unsigned int n, u64 mask)
{
	struct apple_dma_mapping *rec;
	LIST_HEAD(pending);
	LIST_HEAD(unmapq);
	bool retry = false;
	unsigned int i;
	int ret = 0;

	lockdep_assert_held(&ad->lock);

	for (i = 0; i < n; i++)
		segs[i].rec = NULL;
	for (i = 0; i < n; i++) {
		ret = resolve(ad, &segs[i], true, &pending);
		if (ret)
			goto unwind;
	}
	submit_maps(ad, &pending);

	/* A window can run into a hole in guest RAM: try the range alone. */
	for (i = 0; i < n; i++) {
		rec = segs[i].rec;
		if (rec->state != APPLE_DMA_REC_DEAD || !rec->window)
			continue;
		put_rec(ad, rec, &unmapq);
		segs[i].rec = NULL;
		ret = resolve(ad, &segs[i], false, &pending);
		if (ret)
			goto unwind;
		retry = true;
	}
	if (retry)
		submit_maps(ad, &pending);

	for (i = 0; i < n; i++) {
		struct apple_dma_seg *seg = &segs[i];

		rec = seg->rec;
		if (rec->state != APPLE_DMA_REC_LIVE) {
			ret = -EIO;
			goto unwind;
		}
		/* bus + size - 1 was checked not to overflow */
		seg->dma = rec->bus + (seg->gpa - rec->base);
		if (seg->dma + (seg->len - 1) > mask) {
			dev_warn_ratelimited(&ad->pdev->dev,
					     "bus address %#llx+%#llx beyond DMA mask %#llx\n",
					     (u64)seg->dma, seg->len, mask);
			ret = -EIO;
			goto unwind;
		}
	}
	ad->stats.maps += n;
	return 0;

unwind:
	for (i = 0; i < n; i++) {
		if (segs[i].rec)
			put_rec(ad, segs[i].rec, &unmapq);
		segs[i].rec = NULL;
	}
	flush_unmaps(ad, &unmapq);
	return ret;
}

static int seg_init(struct apple_dma_seg *seg, u64 gpa, u64 size)
{
	u64 len = max_t(u64, size, 1), end;

	if (len > APPLE_DMA_MAX_MAP_LEN)
		return -EINVAL;
	/* leave room for rounding the end up to a DART page */
	if (check_add_overflow(gpa, len, &end) ||
	    end > U64_MAX - APPLE_DMA_DART_SIZE)
		return -EINVAL;
	seg->gpa = gpa;
	seg->len = len;
	seg->rec = NULL;
	return 0;
}

/* ---- entry points ------------------------------------------------------ */

/**
 * apple_dma_map_range() - map guest-physical [gpa, gpa + size)
 * @ad: instance
 * @gpa: guest-physical start
 * @size: bytes
 * @mask: DMA mask the whole bus range must fit
 *
 * Returns the bus address of @gpa, or DMA_MAPPING_ERROR (nothing kept).
 */
dma_addr_t apple_dma_map_range(struct apple_dma *ad, u64 gpa, size_t size,
			       u64 mask)
{
	struct apple_dma_seg seg;
	unsigned long flags;
	int ret;

	ret = seg_init(&seg, gpa, size);
	spin_lock_irqsave(&ad->lock, flags);
	if (!ret)
		ret = map_segs_locked(ad, &seg, 1, mask);
	if (ret)
		ad->stats.map_failures++;
	spin_unlock_irqrestore(&ad->lock, flags);

	if (ret) {
		dev_warn_ratelimited(&ad->pdev->dev,
				     "map of %#llx+%#zx for %s failed: %d\n",
				     gpa, size, pci_name(ad->managed), ret);
		return DMA_MAPPING_ERROR;
	}
	return seg.dma;
}

static struct apple_dma_mapping *lookup_bus(struct apple_dma *ad,
					    dma_addr_t addr, size_t size)
{
	struct apple_dma_mapping *rec = bus_find(ad, addr);

	if (!rec) {
		ad->stats.unmap_unknown++;
		dev_warn_ratelimited(&ad->pdev->dev,
				     "unmap of unknown bus address %#llx+%#zx\n",
				     (u64)addr, size);
		return NULL;
	}
	if (size && size - 1 > rec->size - 1 - (addr - rec->bus))
		dev_warn_ratelimited(&ad->pdev->dev,
				     "unmap %#llx+%#zx runs past its mapping %#llx+%#llx\n",
				     (u64)addr, size, (u64)rec->bus, rec->size);
	return rec;
}

/**
 * apple_dma_unmap_range() - release a mapping returned by apple_dma_map_range()
 * @ad: instance
 * @addr: bus address handed out
 * @size: bytes (as mapped)
 * @gpa: if not NULL, the guest-physical address @addr stood for
 *
 * Returns 0, or -ENOENT for an unknown @addr (warned about, nothing done).
 */
int apple_dma_unmap_range(struct apple_dma *ad, dma_addr_t addr, size_t size,
			  u64 *gpa)
{
	struct apple_dma_mapping *rec;
	unsigned long flags;
	LIST_HEAD(unmapq);
	int ret = 0;

	spin_lock_irqsave(&ad->lock, flags);
	rec = lookup_bus(ad, addr, size);
	if (rec) {
		if (gpa)
			*gpa = rec->base + (addr - rec->bus);
		ad->stats.unmaps++;
		put_rec(ad, rec, &unmapq);
		flush_unmaps(ad, &unmapq);
	} else {
		ret = -ENOENT;
	}
	spin_unlock_irqrestore(&ad->lock, flags);
	return ret;
}

/* Guest-physical address behind a live bus address (sync, mmap). */
int apple_dma_translate(struct apple_dma *ad, dma_addr_t addr, u64 *gpa)
{
	struct apple_dma_mapping *rec;
	unsigned long flags;
	int ret = -ENOENT;

	spin_lock_irqsave(&ad->lock, flags);
	rec = bus_find(ad, addr);
	if (rec) {
		*gpa = rec->base + (addr - rec->bus);
		ret = 0;
	}
	spin_unlock_irqrestore(&ad->lock, flags);
	return ret;
}

static void unmap_sg_locked(struct apple_dma *ad, struct scatterlist *sgl,
			    int nents, bool restore)
{
	struct apple_dma_mapping *rec;
	struct scatterlist *s;
	LIST_HEAD(unmapq);
	int i;

	for_each_sg(sgl, s, nents, i) {
		dma_addr_t addr = sg_dma_address(s);

		rec = lookup_bus(ad, addr, sg_dma_len(s));
		if (!rec)
			continue;
		if (restore)
			sg_dma_address(s) = rec->base + (addr - rec->bus);
		ad->stats.unmaps++;
		put_rec(ad, rec, &unmapq);
	}
	flush_unmaps(ad, &unmapq);
}

/**
 * apple_dma_map_sg_ranges() - map the first @nents entries of @sgl
 * @ad: instance
 * @sgl: list; on success every entry's dma address/length is set
 * @nents: entries to map
 * @mask: DMA mask
 * @from_dma: take each range from sg_dma_address/len (set by the original
 *	ops) instead of sg_phys/length
 *
 * Segments sharing a window share one registration; new registrations go
 * to the host max_batch per doorbell. Returns @nents or -EINVAL, -ENOMEM,
 * -EIO with everything this call took released again.
 */
int apple_dma_map_sg_ranges(struct apple_dma *ad, struct scatterlist *sgl,
			    int nents, u64 mask, bool from_dma)
{
	struct scatterlist *s = sgl, *chunk;
	unsigned long flags;
	int done = 0, ret = 0;
	unsigned int i, n;

	spin_lock_irqsave(&ad->lock, flags);
	while (done < nents) {
		n = min_t(unsigned int, nents - done, ad->max_batch);
		chunk = s;
		for (i = 0; i < n; i++, s = sg_next(s)) {
			u64 gpa = from_dma ? sg_dma_address(s) : sg_phys(s);
			u64 len = from_dma ? sg_dma_len(s) : s->length;

			ret = seg_init(&ad->segs[i], gpa, len);
			if (ret)
				goto fail;
		}
		ret = map_segs_locked(ad, ad->segs, n, mask);
		if (ret)
			goto fail;
		for (i = 0, s = chunk; i < n; i++, s = sg_next(s)) {
			if (!from_dma)
				sg_dma_len(s) = s->length;
			sg_dma_address(s) = ad->segs[i].dma;
		}
		done += n;
	}
	spin_unlock_irqrestore(&ad->lock, flags);
	return nents;

fail:
	ad->stats.map_failures++;
	/* the earlier chunks, which this call mapped completely */
	unmap_sg_locked(ad, sgl, done, from_dma);
	/* count the call as one failure, not as maps and unmaps */
	ad->stats.maps -= done;
	ad->stats.unmaps -= done;
	spin_unlock_irqrestore(&ad->lock, flags);
	dev_warn_ratelimited(&ad->pdev->dev,
			     "map_sg of %d entries for %s failed at entry %d: %d\n",
			     nents, pci_name(ad->managed), done, ret);
	return ret == -ENOMEM || ret == -EINVAL ? ret : -EIO;
}

/**
 * apple_dma_unmap_sg_ranges() - release the mappings of @nents entries
 * @ad: instance
 * @sgl: list as returned by apple_dma_map_sg_ranges()
 * @nents: entries to release
 * @restore: write the guest-physical address back into sg_dma_address
 *	(what the original ops handed out), for their unmap_sg
 *
 * All host unmaps this releases go out max_batch per doorbell.
 */
void apple_dma_unmap_sg_ranges(struct apple_dma *ad, struct scatterlist *sgl,
			       int nents, bool restore)
{
	unsigned long flags;

	spin_lock_irqsave(&ad->lock, flags);
	unmap_sg_locked(ad, sgl, nents, restore);
	spin_unlock_irqrestore(&ad->lock, flags);
}

/*
 * Unregister every remaining mapping (teardown; the ops are no longer
 * installed). One batch per lock hold, so interrupts are not kept off
 * for the whole table.
 */
void apple_dma_unmap_all(struct apple_dma *ad)
{
	struct apple_dma_mapping *rec;
	unsigned long flags;
	u64 leaked = 0;
	LIST_HEAD(q);
	u32 n;

	do {
		spin_lock_irqsave(&ad->lock, flags);
		for (n = 0; n < ad->max_batch; n++) {
			rec = base_entry(rb_first(&ad->by_base));
			if (!rec)
				break;
			leaked += rec->refs;
			rb_erase(&rec->base_node, &ad->by_base);
			rb_erase(&rec->bus_node, &ad->by_bus);
			stats_live_sub(ad, rec);
			list_add_tail(&rec->list, &q);
		}
		flush_unmaps(ad, &q);
		spin_unlock_irqrestore(&ad->lock, flags);
	} while (n);

	if (leaked)
		dev_warn(&ad->pdev->dev,
			 "%llu mappings of %s were still in use at teardown\n",
			 leaked, pci_name(ad->managed));
}

void apple_dma_snapshot_stats(struct apple_dma *ad, struct apple_dma_stats *s)
{
	unsigned long flags;

	spin_lock_irqsave(&ad->lock, flags);
	*s = ad->stats;
	spin_unlock_irqrestore(&ad->lock, flags);
}

/* One line per live registration: base size bus refs kind. */
void apple_dma_dump_mappings(struct apple_dma *ad, struct seq_file *m)
{
	struct apple_dma_mapping *rec;
	unsigned long flags;
	struct rb_node *node;

	spin_lock_irqsave(&ad->lock, flags);
	for (node = rb_first(&ad->by_base); node; node = rb_next(node)) {
		rec = base_entry(node);
		seq_printf(m, "%#llx %#llx %#llx %u %s\n", rec->base, rec->size,
			   (u64)rec->bus, rec->refs,
			   rec->window ? "window" : "exact");
	}
	spin_unlock_irqrestore(&ad->lock, flags);
}
