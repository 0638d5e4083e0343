// SPDX-License-Identifier: GPL-2.0-only
/*
 * apple_dma: mapping records, windows, refcounts; the entry points.
 *
 * Every function here may run in atomic context: ad->lock is a spinlock
 * taken with irqsave and held only for bookkeeping, records come from a
 * slab cache with GFP_ATOMIC, and the host is asked (apple_dma_host.c)
 * after ad->lock is dropped.
 *
 * Ordering rule: a record is allocated and inserted (PENDING) before the
 * host is asked to map its range, so no allocation failure can leave a
 * host registration (a DMA window into guest memory) without a record.
 * A PENDING record is used only by the call that created it; another call
 * that needs the same range makes its own registration (rare: two CPUs
 * touching a new window at once) rather than wait for a round trip it
 * does not own, which an interrupt handler on the owner's CPU could not.
 *
 * The fast path: a map whose ranges all lie inside LIVE records (the
 * steady state with the cache) is one hold of ad->lock, one tree search
 * per run of ranges inside one record, and a reference per range; the
 * first range that needs more ends it, and that range and the rest take
 * the full path (map_segs), which owns every PENDING record it creates.
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

/* Usable by the call @owner: LIVE, or PENDING and its own. */
static bool rec_usable(const struct apple_dma_mapping *rec, const void *owner)
{
	return rec->state == APPLE_DMA_REC_LIVE ||
	       (rec->state == APPLE_DMA_REC_PENDING && rec->owner == owner);
}

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

/* A record @owner may use covering [gpa, end), looking a few bases back. */
static struct apple_dma_mapping *find_covering(struct apple_dma *ad, u64 gpa,
					       u64 end, const void *owner)
{
	struct rb_node *node = base_floor(ad, gpa);
	int i;

	for (i = 0; node && i < APPLE_DMA_COVER_SCAN; i++, node = rb_prev(node)) {
		struct apple_dma_mapping *rec = base_entry(node);

		if (rec_usable(rec, owner) && rec_covers(rec, gpa, end))
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
	rec->owner = pending;
	RB_CLEAR_NODE(&rec->bus_node);
	INIT_LIST_HEAD(&rec->lru);
	if (WARN_ON_ONCE(base_insert(ad, rec))) {
		kmem_cache_free(apple_dma_rec_cache, rec);
		return -EEXIST;
	}
	list_add_tail(&rec->list, pending);
	seg->rec = rec;
	return 0;
}

/* LIVE -> UNMAPPING onto @q: the bus range goes, the host key stays taken. */
void apple_dma_rec_start_unmap(struct apple_dma *ad,
			       struct apple_dma_mapping *rec,
			       struct list_head *q)
{
	lockdep_assert_held(&ad->lock);

	rb_erase(&rec->bus_node, &ad->by_bus);
	RB_CLEAR_NODE(&rec->bus_node);
	stats_live_sub(ad, rec);
	rec->state = APPLE_DMA_REC_UNMAPPING;
	list_add_tail(&rec->list, q);
}

/* The host has unregistered @rec (UNMAPPING): free its key and memory. */
void apple_dma_rec_retire(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	lockdep_assert_held(&ad->lock);

	rb_erase(&rec->base_node, &ad->by_base);
	kmem_cache_free(apple_dma_rec_cache, rec);
}

/* PENDING -> LIVE at @bus; false if the bus range overlaps a live one. */
bool apple_dma_rec_make_live(struct apple_dma *ad, struct apple_dma_mapping *rec,
			     dma_addr_t bus)
{
	lockdep_assert_held(&ad->lock);

	rec->bus = bus;
	if (bus_insert(ad, rec))
		return false;
	rec->state = APPLE_DMA_REC_LIVE;
	ad->stats.host_maps++;
	stats_live_add(ad, rec);
	return true;
}

/* PENDING -> DEAD: the host refused it; freed when its users let go. */
void apple_dma_rec_make_dead(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	lockdep_assert_held(&ad->lock);

	ad->stats.host_map_errors++;
	rb_erase(&rec->base_node, &ad->by_base);
	rec->state = APPLE_DMA_REC_DEAD;
}

/*
 * Drop one reference. A LIVE record that loses its last one becomes idle
 * (cache mode) or goes onto @unmapq for the caller to unregister (strict
 * mode, and while the instance is going away).
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
		if (!READ_ONCE(apple_dma_strict) && !READ_ONCE(ad->dying))
			apple_dma_cache_put(ad, rec);
		else
			apple_dma_rec_start_unmap(ad, rec, unmapq);
		break;
	default:
		kmem_cache_free(apple_dma_rec_cache, rec);
		break;
	}
}

/* What find_reusable() saw of the range's window. */
enum apple_dma_window {
	APPLE_DMA_WIN_NONE,	/* no window for this range */
	APPLE_DMA_WIN_FREE,	/* its key is free: a new window may be made */
	APPLE_DMA_WIN_TAKEN,	/* its key belongs to a record that cannot serve */
};

/*
 * A record @owner may reuse for [gpa, end), or NULL: the range's window if
 * that is registered and covers it, else any usable covering record.
 */
static struct apple_dma_mapping *find_reusable(struct apple_dma *ad, u64 gpa,
					       u64 end, bool allow_window,
					       const void *owner,
					       enum apple_dma_window *win)
{
	struct apple_dma_mapping *rec;

	*win = APPLE_DMA_WIN_NONE;
	if (allow_window && ad->window_shift &&
	    (gpa >> ad->window_shift) == ((end - 1) >> ad->window_shift)) {
		rec = base_find(ad, gpa & ~((1ULL << ad->window_shift) - 1));
		ad->stats.lookups++;
		if (!rec)
			*win = APPLE_DMA_WIN_FREE;
		else if (rec_usable(rec, owner) && rec_covers(rec, gpa, end))
			return rec;
		else
			*win = APPLE_DMA_WIN_TAKEN;
	}
	ad->stats.lookups++;
	return find_covering(ad, gpa, end, owner);
}

/* One more user of @rec (usable); an idle record leaves the cache. */
static void get_rec(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	if (!rec->refs)
		apple_dma_cache_take(ad, rec);
	rec->refs++;
	if (rec->state == APPLE_DMA_REC_LIVE)
		ad->stats.window_hits++;
}

/*
 * Find or create the record that will back @seg and take a reference on
 * it. Windowed: a range inside one aligned window is backed by the whole
 * window. Otherwise (or when the window key is taken by a smaller
 * mapping): an exact mapping rounded out to 16 KiB. The host keys by base,
 * so a new exact mapping whose base is already a key (of any record, even
 * one being unregistered) moves its base down. A hit on an idle record
 * takes it out of the cache. @prev, the record of the call's previous
 * range (or NULL), is tried first: a run of ranges needs one search.
 */
static int resolve(struct apple_dma *ad, struct apple_dma_seg *seg,
		   bool allow_window, struct list_head *pending,
		   struct apple_dma_mapping *prev)
{
	u64 gpa = seg->gpa, end = seg->gpa + seg->len;
	enum apple_dma_window win;
	struct apple_dma_mapping *rec;
	u64 base, top, key;
	int i;

	if (prev && rec_usable(prev, pending) && rec_covers(prev, gpa, end)) {
		rec = prev;
		goto hit;
	}
	rec = find_reusable(ad, gpa, end, allow_window, pending, &win);
	if (win == APPLE_DMA_WIN_TAKEN)
		ad->stats.collisions++;
	if (rec)
		goto hit;
	if (win == APPLE_DMA_WIN_FREE) {
		u64 wsize = 1ULL << ad->window_shift;

		return new_rec(ad, seg, gpa & ~(wsize - 1), wsize, true,
			       pending);
	}

	base = round_down(gpa, APPLE_DMA_DART_SIZE);
	top = round_up(end, APPLE_DMA_DART_SIZE);
	/*
	 * The host keys a mapping by the request's GPA, not by its page, and
	 * keeps the offset inside the page: every key in [base, gpa] maps the
	 * same DART pages. Try a few of those before moving the base down.
	 */
	for (key = base; key <= gpa && key - base < APPLE_DMA_KEY_TRIES; key++) {
		ad->stats.lookups++;
		if (!base_find(ad, key))
			return new_rec(ad, seg, key, top - key, false, pending);
		ad->stats.collisions++;
	}
	for (i = 0; i < APPLE_DMA_COLLISION_TRIES; i++) {
		ad->stats.lookups++;
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
	get_rec(ad, rec);
	seg->rec = rec;
	return 0;
}

/*
 * [gpa, gpa + size) as a mapping call takes it (size 0 maps one byte);
 * -EINVAL if it is too long or too close to the top of the address space
 * for its end to be rounded up to a DART page.
 */
static int range_check(u64 gpa, u64 size, u64 *len)
{
	u64 end;

	*len = max_t(u64, size, 1);
	if (*len > APPLE_DMA_MAX_MAP_LEN)
		return -EINVAL;
	if (check_add_overflow(gpa, *len, &end) ||
	    end > U64_MAX - APPLE_DMA_DART_SIZE)
		return -EINVAL;
	return 0;
}

/*
 * The fast path (lock held): map [gpa, gpa + size) if a LIVE record, in
 * use or idle, covers it and gives a bus range inside @mask. @last, the
 * record the call's previous range got, is tried before the trees, so a
 * run of ranges inside one record costs one lookup. Returns false, having
 * taken nothing, when the range needs the full path (map_segs: a new
 * registration, or an error it reports).
 */
static bool map_fast(struct apple_dma *ad, u64 gpa, u64 size, u64 mask,
		     struct apple_dma_mapping **last, dma_addr_t *dma)
{
	struct apple_dma_mapping *rec = *last;
	enum apple_dma_window win;
	u64 len;

	lockdep_assert_held(&ad->lock);

	if (range_check(gpa, size, &len))
		return false;
	/* @last is LIVE: this call holds a reference on it */
	if (!rec || !rec_covers(rec, gpa, gpa + len)) {
		rec = find_reusable(ad, gpa, gpa + len, true, NULL, &win);
		if (!rec)
			return false;
	}
	/* bus + size - 1 was checked not to overflow */
	*dma = rec->bus + (gpa - rec->base);
	if (*dma + (len - 1) > mask)
		return false;
	get_rec(ad, rec);
	*last = rec;
	return true;
}

/* ---- mapping calls ------------------------------------------------------ */

/*
 * Map @n ranges (no lock held): take cached or live records, ask the host
 * for the new ones in as few doorbells as max_batch allows. A window the
 * host refuses (a hole in guest RAM) is retried as the range alone; a
 * range the host refuses is retried once after the cache was emptied. On
 * failure nothing taken by this call is kept and no registration it
 * created is left on the host.
 */
static int map_segs(struct apple_dma *ad, struct apple_dma_seg *segs,
		    unsigned int n, u64 mask)
{
	struct apple_dma_mapping *rec;
	bool evicted = false, evict_now, again;
	LIST_HEAD(pending);
	LIST_HEAD(unmapq);
	LIST_HEAD(evictq);
	unsigned long flags;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		segs[i].rec = NULL;
		segs[i].exact = false;
	}
	do {
		again = false;
		evict_now = false;
		spin_lock_irqsave(&ad->lock, flags);
		ad->stats.lock_holds++;
		for (i = 0; i < n; i++) {
			rec = segs[i].rec;
			if (!rec || rec->state != APPLE_DMA_REC_DEAD)
				continue;
			if (rec->window) {
				segs[i].exact = true;
			} else if (!evicted && ad->stats.idle_mappings) {
				evict_now = true;
			} else {
				ret = -EIO;
				break;
			}
			put_rec(ad, rec, &unmapq);
			segs[i].rec = NULL;
		}
		if (!ret && evict_now) {
			apple_dma_cache_evict_all(ad, &evictq);
			ad->stats.nospc_evictions++;
			evicted = true;
		}
		for (i = 0; i < n && !ret; i++) {
			if (segs[i].rec)
				continue;
			ret = resolve(ad, &segs[i], !segs[i].exact, &pending,
				      i ? segs[i - 1].rec : NULL);
		}
		spin_unlock_irqrestore(&ad->lock, flags);

		/* room first, then the maps */
		apple_dma_host_unmap(ad, &evictq);
		if (!ret && !list_empty(&pending)) {
			apple_dma_host_map(ad, &pending);
			again = true;
		}
	} while (again);

	spin_lock_irqsave(&ad->lock, flags);
	ad->stats.lock_holds++;
	for (i = 0; i < n && !ret; i++) {
		struct apple_dma_seg *seg = &segs[i];

		rec = seg->rec;
		if (rec->state != APPLE_DMA_REC_LIVE) {
			ret = -EIO;
			break;
		}
		/* bus + size - 1 was checked not to overflow */
		seg->dma = rec->bus + (seg->gpa - rec->base);
		if (seg->dma + (seg->len - 1) > mask) {
			dev_warn_ratelimited(&ad->pdev->dev,
					     "bus address %#llx+%#llx beyond DMA mask %#llx\n",
					     (u64)seg->dma, seg->len, mask);
			ret = -EIO;
		}
	}
	if (ret) {
		for (i = 0; i < n; i++) {
			if (segs[i].rec)
				put_rec(ad, segs[i].rec, &unmapq);
			segs[i].rec = NULL;
		}
		/* PENDING records of a failed resolve were freed by put_rec */
		WARN_ON_ONCE(!list_empty(&pending));
	} else {
		ad->stats.maps += n;
	}
	spin_unlock_irqrestore(&ad->lock, flags);
	apple_dma_host_unmap(ad, &unmapq);
	return ret;
}

static int seg_init(struct apple_dma_seg *seg, u64 gpa, u64 size)
{
	u64 len;
	int ret;

	ret = range_check(gpa, size, &len);
	if (ret)
		return ret;
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
	struct apple_dma_mapping *last = NULL;
	struct apple_dma_seg seg;
	unsigned long flags;
	dma_addr_t dma;
	bool hit;
	int ret;

	spin_lock_irqsave(&ad->lock, flags);
	ad->stats.lock_holds++;
	hit = map_fast(ad, gpa, size, mask, &last, &dma);
	if (hit)
		ad->stats.maps++;
	spin_unlock_irqrestore(&ad->lock, flags);
	if (hit)
		return dma;

	ret = seg_init(&seg, gpa, size);
	if (!ret)
		ret = map_segs(ad, &seg, 1, mask);
	if (ret) {
		spin_lock_irqsave(&ad->lock, flags);
		ad->stats.lock_holds++;
		ad->stats.map_failures++;
		spin_unlock_irqrestore(&ad->lock, flags);
		dev_warn_ratelimited(&ad->pdev->dev,
				     "map of %#llx+%#zx for %s failed: %d\n",
				     gpa, size, pci_name(ad->managed), ret);
		return DMA_MAPPING_ERROR;
	}
	return seg.dma;
}

/*
 * The LIVE record behind @addr. @hint, the record of the call's previous
 * entry, is checked first: while it has users it is LIVE and in the bus
 * tree, so a run of entries inside it costs one tree search.
 */
static struct apple_dma_mapping *lookup_bus(struct apple_dma *ad,
					    dma_addr_t addr, size_t size,
					    struct apple_dma_mapping *hint)
{
	struct apple_dma_mapping *rec = hint;

	if (!rec || !rec->refs || addr < rec->bus ||
	    addr - rec->bus >= rec->size) {
		rec = bus_find(ad, addr);
		ad->stats.lookups++;
	}
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
	ad->stats.lock_holds++;
	rec = lookup_bus(ad, addr, size, NULL);
	if (rec) {
		if (gpa)
			*gpa = rec->base + (addr - rec->bus);
		ad->stats.unmaps++;
		put_rec(ad, rec, &unmapq);
	} else {
		ret = -ENOENT;
	}
	spin_unlock_irqrestore(&ad->lock, flags);
	/* strict mode: gone from the host before we return */
	apple_dma_host_unmap(ad, &unmapq);
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

/*
 * Release the first @nents entries (no lock held): bookkeeping under the
 * lock, whatever must leave the host after it. @uncount takes the maps
 * and unmaps back out of the counters (a failed map_sg is one failure).
 */
static void unmap_sg(struct apple_dma *ad, struct scatterlist *sgl, int nents,
		     bool restore, bool uncount)
{
	struct apple_dma_mapping *rec = NULL;
	struct scatterlist *s;
	unsigned long flags;
	LIST_HEAD(unmapq);
	int i;

	spin_lock_irqsave(&ad->lock, flags);
	ad->stats.lock_holds++;
	for_each_sg(sgl, s, nents, i) {
		dma_addr_t addr = sg_dma_address(s);

		rec = lookup_bus(ad, addr, sg_dma_len(s), rec);
		if (!rec)
			continue;
		if (restore)
			sg_dma_address(s) = rec->base + (addr - rec->bus);
		ad->stats.unmaps++;
		put_rec(ad, rec, &unmapq);
	}
	if (uncount) {
		ad->stats.maps -= nents;
		ad->stats.unmaps -= nents;
	}
	spin_unlock_irqrestore(&ad->lock, flags);
	apple_dma_host_unmap(ad, &unmapq);
}

/*
 * Map the longest prefix of @nents entries from *@sp that the fast path
 * serves, up to max_batch entries per hold of the lock (interrupts stay off
 * for bounded bookkeeping only); *@sp is left at the first entry not
 * mapped. Returns how many were mapped, each complete (address and length).
 */
static int map_sg_fast(struct apple_dma *ad, struct scatterlist **sp,
		       int nents, u64 mask, bool from_dma)
{
	struct apple_dma_mapping *last = NULL;
	struct scatterlist *s = *sp;
	unsigned long flags;
	int done = 0, stop;
	dma_addr_t dma;
	u64 gpa, len;

	while (done < nents) {
		stop = done + min_t(int, nents - done, ad->max_batch);
		spin_lock_irqsave(&ad->lock, flags);
		ad->stats.lock_holds++;
		for (; done < stop; done++, s = sg_next(s)) {
			gpa = from_dma ? sg_dma_address(s) : sg_phys(s);
			len = from_dma ? sg_dma_len(s) : s->length;
			if (!map_fast(ad, gpa, len, mask, &last, &dma))
				break;
			sg_dma_address(s) = dma;
			sg_dma_len(s) = len;
			ad->stats.maps++;
		}
		spin_unlock_irqrestore(&ad->lock, flags);
		/* @last stays LIVE between holds: this call has a reference */
		if (done < stop)
			break;
	}
	*sp = s;
	return done;
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
 * The prefix of entries inside LIVE records is mapped by the fast path
 * (one lock hold per max_batch entries, one search per run of entries in
 * one record). From the first entry that needs more, segments sharing a
 * window share one registration; new registrations go to the host
 * max_batch per doorbell (APPLE_DMA_SG_STACK per doorbell if no scratch
 * array could be had for a longer list). Returns @nents or
 * -EINVAL, -ENOMEM, -EIO with everything this call took released again.
 */
int apple_dma_map_sg_ranges(struct apple_dma *ad, struct scatterlist *sgl,
			    int nents, u64 mask, bool from_dma)
{
	struct apple_dma_seg stack_segs[APPLE_DMA_SG_STACK], *segs = stack_segs;
	unsigned int i, n, cap = APPLE_DMA_SG_STACK;
	struct scatterlist *s = sgl, *chunk;
	unsigned long flags;
	int done, ret = 0;

	done = map_sg_fast(ad, &s, nents, mask, from_dma);
	if (done == nents)
		return nents;
	if (nents - done > APPLE_DMA_SG_STACK) {
		unsigned int want = min_t(unsigned int, nents - done,
					  ad->max_batch);
		struct apple_dma_seg *big;

		big = kmalloc_array(want, sizeof(*big), GFP_ATOMIC | __GFP_NOWARN);
		if (big) {
			segs = big;
			cap = want;
		}
	}
	while (done < nents) {
		n = min_t(unsigned int, nents - done, cap);
		chunk = s;
		for (i = 0; i < n; i++, s = sg_next(s)) {
			u64 gpa = from_dma ? sg_dma_address(s) : sg_phys(s);
			u64 len = from_dma ? sg_dma_len(s) : s->length;

			ret = seg_init(&segs[i], gpa, len);
			if (ret)
				goto fail;
		}
		ret = map_segs(ad, segs, n, mask);
		if (ret)
			goto fail;
		for (i = 0, s = chunk; i < n; i++, s = sg_next(s)) {
			if (!from_dma)
				sg_dma_len(s) = s->length;
			sg_dma_address(s) = segs[i].dma;
		}
		done += n;
	}
	if (segs != stack_segs)
		kfree(segs);
	return nents;

fail:
	if (segs != stack_segs)
		kfree(segs);
	spin_lock_irqsave(&ad->lock, flags);
	ad->stats.lock_holds++;
	ad->stats.map_failures++;
	spin_unlock_irqrestore(&ad->lock, flags);
	/* the earlier chunks, which this call mapped completely */
	unmap_sg(ad, sgl, done, from_dma, true);
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
 * In strict mode all host unmaps this releases go out max_batch per
 * doorbell before it returns.
 */
void apple_dma_unmap_sg_ranges(struct apple_dma *ad, struct scatterlist *sgl,
			       int nents, bool restore)
{
	unmap_sg(ad, sgl, nents, restore, false);
}

/*
 * Unregister every remaining mapping, idle or not (teardown: the ops are
 * no longer installed and the cache work is stopped). One batch per lock
 * hold.
 */
void apple_dma_unmap_all(struct apple_dma *ad)
{
	struct apple_dma_mapping *rec;
	struct rb_node *node, *next;
	unsigned long flags;
	u64 leaked = 0;
	LIST_HEAD(q);
	u32 n;

	do {
		n = 0;
		spin_lock_irqsave(&ad->lock, flags);
		for (node = rb_first(&ad->by_base); node && n < ad->max_batch;
		     node = next) {
			next = rb_next(node);
			rec = base_entry(node);
			if (WARN_ON_ONCE(rec->state != APPLE_DMA_REC_LIVE))
				continue;
			leaked += rec->refs;
			if (!rec->refs) {
				list_del_init(&rec->lru);
				ad->stats.idle_mappings--;
				ad->stats.idle_bytes -= rec->size;
			}
			apple_dma_rec_start_unmap(ad, rec, &q);
			n++;
		}
		spin_unlock_irqrestore(&ad->lock, flags);
		apple_dma_host_unmap(ad, &q);
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
	s->max_irqs_off_us = READ_ONCE(ad->max_irqs_off_us);
}

/* One line per record: base size bus refs kind (idle: cached, refs 0). */
void apple_dma_dump_mappings(struct apple_dma *ad, struct seq_file *m)
{
	struct apple_dma_mapping *rec;
	unsigned long flags;
	struct rb_node *node;

	spin_lock_irqsave(&ad->lock, flags);
	for (node = rb_first(&ad->by_base); node; node = rb_next(node)) {
		rec = base_entry(node);
		seq_printf(m, "%#llx %#llx %#llx %u %s%s\n", rec->base,
			   rec->size, (u64)rec->bus, rec->refs,
			   rec->window ? "window" : "exact",
			   rec->state == APPLE_DMA_REC_LIVE && !rec->refs ?
			   " idle" : "");
	}
	spin_unlock_irqrestore(&ad->lock, flags);
}
