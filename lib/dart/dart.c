// SPDX-License-Identifier: GPL-2.0-or-later OR MIT
/*
 * Apple DART model: region table, IOVA allocator, page table, faults.
 *
 * Data structures (all guarded by dart->lock):
 *  - regions: a chained hash table keyed by (owner, key); each region is
 *    one allocation holding its chunk records.
 *  - owners: a small chained hash table of per-owner lists of regions so
 *    that dropping an owner visits only its regions.
 *  - page table: l1[] points to L2 tables of 2048 PTEs (32 MiB of IOVA),
 *    allocated on first use and freed when empty, as on the hardware.
 *    Each PTE points to the chunk mapping that page. Each L2 table also
 *    has a bitmap of used pages, and l1_full has one bit per L2 table that
 *    is completely used; together they let the first-fit search skip
 *    full areas a word at a time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <vfio-apple/dext-abi.h>

#include "dart.h"

#define PAGE_SHIFT		DEXT_DART_PAGE_SHIFT
#define PAGE_SIZE		DEXT_DART_PAGE_SIZE
#define PAGE_MASK		(PAGE_SIZE - 1)

#define L2_SHIFT		11
#define L2_ENTRIES		(1u << L2_SHIFT)
#define L2_MASK			(L2_ENTRIES - 1)
#define L2_WORDS		(L2_ENTRIES / 64)

#define JITTER_MAX		7	/* pages */
#define HASH_MIN_BUCKETS	64
#define CHUNK_MAX_LIMIT		(1ull << DART_IOVA_BITS_MAX)

struct dart_region;

struct dart_chunk {
	uint64_t iova;			/* IOVA of target (page offset kept) */
	uint64_t target;
	uint64_t len;
	struct dart_region *region;
};

struct dart_owner {
	uint64_t id;
	struct dart_owner *hnext;
	struct dart_region *head;	/* this owner's regions */
	size_t count;
};

struct dart_region {
	uint64_t key;
	struct dart_owner *owner;		/* NULL once removed */
	void *cookie;
	struct dart_region *hnext;		/* hash chain */
	struct dart_region *prev, *next;	/* owner list; removed list once removed */
	uint32_t holds;				/* in-flight accesses */
	uint64_t removed_seq;			/* when it was removed while held */
	uint32_t nchunks;
	struct dart_chunk chunk[];
};

struct dart_l2 {
	uint32_t used;
	uint64_t map[L2_WORDS];		/* bit set = page used */
	struct dart_chunk *pte[L2_ENTRIES];
};

struct dart {
	pthread_mutex_t lock;
	pthread_cond_t released;	/* a hold was let go */
	struct dart_region *removed;	/* removed while held: freed at last release */
	uint64_t remove_seq;
	struct dart_config cfg;
	uint64_t npages;		/* aperture size in pages */
	uint64_t base;			/* first page the search tries */
	uint64_t rng;
	uint64_t salt;			/* hash salt */

	struct dart_l2 **l1;
	uint64_t *l1_full;		/* bit per L2 table: all pages used */
	uint64_t n_l1;

	struct dart_region **rbucket;
	size_t rmask;			/* buckets - 1 */
	struct dart_owner **obucket;
	size_t omask;
	size_t nowners;

	struct dart_fault faults[DART_FAULT_RING];
	struct dart_stats st;
};

/* Helpers */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* splitmix64: small state, so it can be saved and restored on failure. */
static uint64_t rng_next(struct dart *d)
{
	d->rng += 0x9e3779b97f4a7c15ull;
	return mix64(d->rng);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t chunk_first_page(const struct dart_chunk *c)
{
	return c->iova >> PAGE_SHIFT;
}

static uint64_t span_pages(uint64_t addr, uint64_t len)
{
	return ((addr & PAGE_MASK) + len + PAGE_MASK) >> PAGE_SHIFT;
}

static uint64_t region_size(const struct dart_region *r)
{
	const struct dart_chunk *last = &r->chunk[r->nchunks - 1];

	return last->target + last->len - r->chunk[0].target;
}

/* Region and owner hash tables */

static size_t region_hash(const struct dart *d, uint64_t owner, uint64_t key)
{
	return mix64(key ^ mix64(owner ^ d->salt)) & d->rmask;
}

static size_t owner_hash(const struct dart *d, uint64_t owner)
{
	return mix64(owner ^ d->salt) & d->omask;
}

static struct dart_region *region_find(const struct dart *d, uint64_t owner,
				       uint64_t key)
{
	struct dart_region *r = d->rbucket[region_hash(d, owner, key)];

	for (; r; r = r->hnext)
		if (r->key == key && r->owner->id == owner)
			return r;
	return NULL;
}

/* Doubling is best effort: a chained table works at any load. */
static void region_table_grow(struct dart *d)
{
	size_t nb = (d->rmask + 1) * 2, old_n = d->rmask + 1, i;
	struct dart_region **old = d->rbucket, **nbkt;

	nbkt = calloc(nb, sizeof(*nbkt));
	if (!nbkt)
		return;
	d->rbucket = nbkt;
	d->rmask = nb - 1;
	for (i = 0; i < old_n; i++) {
		struct dart_region *r = old[i], *next;

		for (; r; r = next) {
			size_t h = region_hash(d, r->owner->id, r->key);

			next = r->hnext;
			r->hnext = nbkt[h];
			nbkt[h] = r;
		}
	}
	free(old);
}

static void region_hash_del(struct dart *d, struct dart_region *r)
{
	struct dart_region **pp = &d->rbucket[region_hash(d, r->owner->id,
							    r->key)];

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
}

static struct dart_owner *owner_find(const struct dart *d, uint64_t id)
{
	struct dart_owner *o = d->obucket[owner_hash(d, id)];

	for (; o; o = o->hnext)
		if (o->id == id)
			return o;
	return NULL;
}

static void owner_table_grow(struct dart *d)
{
	size_t nb = (d->omask + 1) * 2, old_n = d->omask + 1, i;
	struct dart_owner **old = d->obucket, **nbkt;

	nbkt = calloc(nb, sizeof(*nbkt));
	if (!nbkt)
		return;
	d->obucket = nbkt;
	d->omask = nb - 1;
	for (i = 0; i < old_n; i++) {
		struct dart_owner *o = old[i], *next;

		for (; o; o = next) {
			size_t h = owner_hash(d, o->id);

			next = o->hnext;
			o->hnext = nbkt[h];
			nbkt[h] = o;
		}
	}
	free(old);
}

static struct dart_owner *owner_get(struct dart *d, uint64_t id)
{
	struct dart_owner *o = owner_find(d, id);
	size_t h;

	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->id = id;
	h = owner_hash(d, id);
	o->hnext = d->obucket[h];
	d->obucket[h] = o;
	if (++d->nowners > d->omask + 1)
		owner_table_grow(d);
	return o;
}

/* Drop @o once it has no regions left. */
static void owner_put(struct dart *d, struct dart_owner *o)
{
	struct dart_owner **pp;

	if (o->count)
		return;
	pp = &d->obucket[owner_hash(d, o->id)];
	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	d->nowners--;
	free(o);
}

/* Page table */

static void bit_set(uint64_t *map, uint64_t bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

static void bit_clear(uint64_t *map, uint64_t bit)
{
	map[bit / 64] &= ~(1ull << (bit % 64));
}

static struct dart_chunk *pt_get(const struct dart *d, uint64_t page)
{
	const struct dart_l2 *t = d->l1[page >> L2_SHIFT];

	return t ? t->pte[page & L2_MASK] : NULL;
}

static void pt_clear(struct dart *d, uint64_t first, uint64_t n)
{
	uint64_t p;

	for (p = first; p < first + n; p++) {
		uint64_t i = p >> L2_SHIFT;
		struct dart_l2 *t = d->l1[i];

		t->pte[p & L2_MASK] = NULL;
		bit_clear(t->map, p & L2_MASK);
		bit_clear(d->l1_full, i);
		if (--t->used == 0) {
			free(t);
			d->l1[i] = NULL;
		}
	}
}

/* Point pages [first, first + n) at @c; all of them must be free. */
static int pt_set(struct dart *d, uint64_t first, uint64_t n,
		  struct dart_chunk *c)
{
	uint64_t p;

	for (p = first; p < first + n; p++) {
		uint64_t i = p >> L2_SHIFT;
		struct dart_l2 *t = d->l1[i];

		if (!t) {
			t = calloc(1, sizeof(*t));
			if (!t) {
				pt_clear(d, first, p - first);
				return -ENOMEM;
			}
			d->l1[i] = t;
		}
		t->pte[p & L2_MASK] = c;
		bit_set(t->map, p & L2_MASK);
		if (++t->used == L2_ENTRIES)
			bit_set(d->l1_full, i);
	}
	return 0;
}

/* First L2 index >= @i whose table is not full, or n_l1. */
static uint64_t l1_next_nonfull(const struct dart *d, uint64_t i)
{
	while (i < d->n_l1) {
		uint64_t w = ~d->l1_full[i / 64] & (~0ull << (i % 64));

		if (w)
			return min_u64(i / 64 * 64 + __builtin_ctzll(w),
				       d->n_l1);
		i = (i / 64 + 1) * 64;
	}
	return d->n_l1;
}

/*
 * First page in [p, end) whose used bit equals @used, or end. Missing L2
 * tables are all free and full ones all used, so neither is scanned.
 */
static uint64_t pt_next(const struct dart *d, uint64_t p, uint64_t end,
			bool used)
{
	while (p < end) {
		uint64_t i = p >> L2_SHIFT;
		const struct dart_l2 *t = d->l1[i];
		unsigned int w, bit = p & L2_MASK;

		if (!t) {
			if (!used)
				return p;
			p = (i + 1) << L2_SHIFT;
			continue;
		}
		if (t->used == L2_ENTRIES) {
			if (used)
				return p;
			p = l1_next_nonfull(d, i + 1) << L2_SHIFT;
			continue;
		}
		for (w = bit / 64; w < L2_WORDS; w++) {
			uint64_t m = used ? t->map[w] : ~t->map[w];

			if (w == bit / 64)
				m &= ~0ull << (bit % 64);
			if (m)
				return min_u64((i << L2_SHIFT) + w * 64 +
					       __builtin_ctzll(m), end);
		}
		p = (i + 1) << L2_SHIFT;
	}
	return end;
}

/*
 * First-fit: the lowest page p in [from, limit) such that [p, p + need)
 * is free and inside the aperture. *slack gets how many more free pages
 * follow the run, up to JITTER_MAX. Returns p or 0 (page 0 is never used).
 */
static uint64_t find_run(const struct dart *d, uint64_t from, uint64_t limit,
			 uint64_t need, uint64_t *slack)
{
	uint64_t p = from, q;

	while (p < limit && need <= d->npages - p) {
		p = pt_next(d, p, limit, false);
		if (p >= limit || need > d->npages - p)
			break;
		q = pt_next(d, p, min_u64(d->npages, p + need + JITTER_MAX),
			    true);
		if (q - p >= need) {
			*slack = q - p - need;
			return p;
		}
		p = q;
	}
	return 0;
}

static uint64_t place_chunk(struct dart *d, uint64_t need)
{
	uint64_t p, slack = 0;

	if (need >= d->npages)
		return 0;
	p = find_run(d, d->base, d->npages, need, &slack);
	if (!p)
		p = find_run(d, 1, d->base, need, &slack);
	if (p && slack)
		p += rng_next(d) % (slack + 1);
	return p;
}

/* Regions */

static void region_unplace(struct dart *d, struct dart_region *r, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct dart_chunk *c = &r->chunk[i];

		pt_clear(d, chunk_first_page(c), span_pages(c->iova, c->len));
	}
}

static uint64_t region_bytes(const struct dart_region *r)
{
	uint64_t pages = 0;
	uint32_t i;

	for (i = 0; i < r->nchunks; i++)
		pages += span_pages(r->chunk[i].iova, r->chunk[i].len);
	return pages << PAGE_SHIFT;
}

/* Unlink @r from everything and free it; its owner may go away too. */
static void region_remove(struct dart *d, struct dart_region *r)
{
	struct dart_owner *o = r->owner;

	d->st.live_bytes -= region_bytes(r);
	d->st.live_mappings--;
	d->st.unmaps++;
	region_unplace(d, r, r->nchunks);
	region_hash_del(d, r);
	if (r->prev)
		r->prev->next = r->next;
	else
		o->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	o->count--;
	owner_put(d, o);
	r->owner = NULL;
	if (!r->holds) {
		free(r);
		return;
	}
	/* An access is moving bytes for it: the last dart_release() frees it. */
	r->removed_seq = ++d->remove_seq;
	r->prev = NULL;
	r->next = d->removed;
	if (d->removed)
		d->removed->prev = r;
	d->removed = r;
	d->st.removed_held++;
}

/* Remove every region of @o, which frees @o. Returns how many. */
static size_t owner_drop(struct dart *d, struct dart_owner *o)
{
	size_t n = o->count;

	while (o->count > 1)
		region_remove(d, o->head);
	region_remove(d, o->head);
	return n;
}

static void fill_result(const struct dart_region *r,
			struct dart_map_result *res)
{
	if (!res)
		return;
	res->iova = r->chunk[0].iova;
	res->len = r->chunk[0].len;
	res->size = region_size(r);
	res->chunks = r->nchunks;
}

static int map_locked(struct dart *d, uint64_t owner, uint64_t key,
		      uint64_t target, uint64_t size, void *cookie,
		      struct dart_map_result *res)
{
	uint64_t cmax = d->cfg.max_chunk_bytes, nchunks, bytes = 0, room;
	uint64_t rng_saved = d->rng;
	struct dart_region *r;
	struct dart_owner *o;
	size_t h;
	uint32_t i;
	int ret;

	if (!size || target + size < target)
		return -EINVAL;
	nchunks = (size - 1) / cmax + 1;
	if (nchunks > d->cfg.max_chunks)
		return -E2BIG;
	if (region_find(d, owner, key))
		return -EEXIST;
	if (d->st.live_mappings >= d->cfg.max_mappings)
		return -ENOSPC;

	room = d->cfg.max_total_bytes - d->st.live_bytes;
	for (i = 0; i < nchunks; i++) {
		uint64_t off = i * cmax;
		uint64_t b = span_pages(target + off, min_u64(cmax, size - off))
			     << PAGE_SHIFT;

		if (b > room - bytes)
			return -ENOSPC;
		bytes += b;
	}

	r = calloc(1, sizeof(*r) + nchunks * sizeof(r->chunk[0]));
	if (!r)
		return -ENOMEM;
	o = owner_get(d, owner);
	if (!o) {
		free(r);
		return -ENOMEM;
	}
	r->key = key;
	r->owner = o;
	r->cookie = cookie;
	r->nchunks = nchunks;

	for (i = 0; i < nchunks; i++) {
		struct dart_chunk *c = &r->chunk[i];
		uint64_t off = (uint64_t)i * cmax, need, page;

		c->target = target + off;
		c->len = min_u64(cmax, size - off);
		c->region = r;
		need = span_pages(c->target, c->len);
		page = place_chunk(d, need);
		if (!page) {
			ret = -ENOSPC;
			goto err_unplace;
		}
		c->iova = page << PAGE_SHIFT | (c->target & PAGE_MASK);
		ret = pt_set(d, page, need, c);
		if (ret)
			goto err_unplace;
	}

	h = region_hash(d, owner, key);
	r->hnext = d->rbucket[h];
	d->rbucket[h] = r;
	r->next = o->head;
	if (o->head)
		o->head->prev = r;
	o->head = r;
	o->count++;

	d->st.live_mappings++;
	d->st.live_bytes += bytes;
	if (d->st.live_mappings > d->st.peak_mappings)
		d->st.peak_mappings = d->st.live_mappings;
	if (d->st.live_bytes > d->st.peak_bytes)
		d->st.peak_bytes = d->st.live_bytes;
	d->st.maps++;
	if (d->st.live_mappings > d->rmask + 1)
		region_table_grow(d);
	fill_result(r, res);
	return 0;

err_unplace:
	region_unplace(d, r, i);
	d->rng = rng_saved;
	free(r);
	owner_put(d, o);
	return ret;
}

/* API */

void dart_config_defaults(struct dart_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->iova_bits = DART_IOVA_BITS_DEFAULT;
	cfg->max_total_bytes = DEXT_DMA_TOTAL_DEFAULT;
	cfg->max_mappings = DEXT_DMA_MAX_REGIONS;
	cfg->max_chunk_bytes = DEXT_DMA_CHUNK_MAX;
	cfg->max_chunks = DEXT_DMA_MAX_CHUNKS;
}

static bool config_valid(const struct dart_config *cfg)
{
	return cfg->iova_bits >= DART_IOVA_BITS_MIN &&
	       cfg->iova_bits <= DART_IOVA_BITS_MAX &&
	       cfg->max_total_bytes && cfg->max_mappings &&
	       cfg->max_chunk_bytes && !(cfg->max_chunk_bytes & PAGE_MASK) &&
	       cfg->max_chunk_bytes <= CHUNK_MAX_LIMIT && cfg->max_chunks;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed) &&
	    seed)
		return seed;
	/* No entropy yet: placement only needs to vary, not be secret. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
		     (uint64_t)getpid()) | 1;
}

struct dart *dart_create(const struct dart_config *cfg)
{
	struct dart_config defaults;
	struct dart *d;
	int err = ENOMEM;

	if (!cfg) {
		dart_config_defaults(&defaults);
		cfg = &defaults;
	}
	if (!config_valid(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->cfg = *cfg;
	d->npages = 1ull << (cfg->iova_bits - PAGE_SHIFT);
	d->n_l1 = (d->npages + L2_MASK) >> L2_SHIFT;
	d->rng = cfg->seed ? cfg->seed : random_seed();
	d->salt = rng_next(d);
	d->base = 1 + rng_next(d) % (d->npages / 4);

	/* Large apertures: calloc'ed zero pages cost no memory until used. */
	d->l1 = calloc(d->n_l1, sizeof(*d->l1));
	d->l1_full = calloc((d->n_l1 + 63) / 64, sizeof(*d->l1_full));
	d->rbucket = calloc(HASH_MIN_BUCKETS, sizeof(*d->rbucket));
	d->obucket = calloc(HASH_MIN_BUCKETS, sizeof(*d->obucket));
	if (!d->l1 || !d->l1_full || !d->rbucket || !d->obucket)
		goto err_free;
	d->rmask = HASH_MIN_BUCKETS - 1;
	d->omask = HASH_MIN_BUCKETS - 1;

	err = pthread_mutex_init(&d->lock, NULL);
	if (err)
		goto err_free;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		err = pthread_cond_init(&d->released, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (err) {
		pthread_mutex_destroy(&d->lock);
		goto err_free;
	}
	return d;

err_free:
	free(d->obucket);
	free(d->rbucket);
	free(d->l1_full);
	free(d->l1);
	free(d);
	errno = err;
	return NULL;
}

void dart_destroy(struct dart *d)
{
	size_t i;

	if (!d)
		return;
	/* Owners hold every region; dropping them empties the page table. */
	for (i = 0; i <= d->omask; i++)
		while (d->obucket[i])
			owner_drop(d, d->obucket[i]);
	while (d->removed) {
		struct dart_region *r = d->removed;

		d->removed = r->next;
		free(r);
	}
	pthread_cond_destroy(&d->released);
	pthread_mutex_destroy(&d->lock);
	free(d->obucket);
	free(d->rbucket);
	free(d->l1_full);
	free(d->l1);
	free(d);
}

int dart_map(struct dart *d, uint64_t owner, uint64_t key, uint64_t target,
	     uint64_t size, void *cookie, struct dart_map_result *res)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = map_locked(d, owner, key, target, size, cookie, res);
	if (ret)
		d->st.map_failures++;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int dart_unmap(struct dart *d, uint64_t owner, uint64_t key)
{
	struct dart_region *r;
	int ret = -ENOENT;

	pthread_mutex_lock(&d->lock);
	r = region_find(d, owner, key);
	if (r) {
		region_remove(d, r);
		ret = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

size_t dart_unmap_owner(struct dart *d, uint64_t owner)
{
	struct dart_owner *o;
	size_t n = 0;

	pthread_mutex_lock(&d->lock);
	o = owner_find(d, owner);
	if (o)
		n = owner_drop(d, o);
	pthread_mutex_unlock(&d->lock);
	return n;
}

int dart_lookup(struct dart *d, uint64_t owner, uint64_t key,
		struct dart_map_result *res)
{
	struct dart_region *r;

	pthread_mutex_lock(&d->lock);
	r = region_find(d, owner, key);
	if (r)
		fill_result(r, res);
	pthread_mutex_unlock(&d->lock);
	return r ? 0 : -ENOENT;
}

int dart_key_target(struct dart *d, uint64_t owner, uint64_t key,
		    uint64_t offset, uint64_t *target, void **cookie)
{
	struct dart_region *r;
	int ret = -ENOENT;

	pthread_mutex_lock(&d->lock);
	r = region_find(d, owner, key);
	if (r) {
		ret = -EINVAL;
		if (offset < region_size(r)) {
			/* Chunks split the target range, never move it. */
			if (target)
				*target = r->chunk[0].target + offset;
			if (cookie)
				*cookie = r->cookie;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static void record_fault(struct dart *d, uint64_t iova, uint64_t len,
			 enum dart_access acc)
{
	struct dart_fault *f = &d->faults[d->st.faults % DART_FAULT_RING];

	f->seq = d->st.faults++;
	f->iova = iova;
	f->len = len;
	f->stream = d->cfg.stream;
	f->access = acc;
}

static int translate(struct dart *d, uint64_t iova, uint64_t len, enum dart_access acc,
		     struct dart_xlate *out, bool hold)
{
	struct dart_chunk *c = NULL;
	uint64_t page = iova >> PAGE_SHIFT;

	if (!len || (acc != DART_READ && acc != DART_WRITE))
		return -EINVAL;

	pthread_mutex_lock(&d->lock);
	if (len - 1 <= UINT64_MAX - iova && page < d->npages)
		c = pt_get(d, page);
	/* The first and last page may be partly outside the chunk. */
	if (!c || iova < c->iova || iova - c->iova >= c->len) {
		record_fault(d, iova, len, acc);
		pthread_mutex_unlock(&d->lock);
		return -EFAULT;
	}
	out->target = c->target + (iova - c->iova);
	out->contig = min_u64(len, c->len - (iova - c->iova));
	out->cookie = c->region->cookie;
	out->owner = c->region->owner->id;
	out->hold = NULL;
	if (hold) {
		c->region->holds++;
		d->st.held++;
		out->hold = c->region;
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int dart_translate(struct dart *d, uint64_t iova, uint64_t len,
		   enum dart_access acc, struct dart_xlate *out)
{
	return translate(d, iova, len, acc, out, false);
}

int dart_translate_hold(struct dart *d, uint64_t iova, uint64_t len,
			enum dart_access acc, struct dart_xlate *out)
{
	return translate(d, iova, len, acc, out, true);
}

void dart_release(struct dart *d, struct dart_xlate *x)
{
	struct dart_region *r = x->hold;

	if (!r)
		return;
	x->hold = NULL;
	pthread_mutex_lock(&d->lock);
	d->st.held--;
	if (--r->holds == 0 && !r->owner) {
		if (r->prev)
			r->prev->next = r->next;
		else
			d->removed = r->next;
		if (r->next)
			r->next->prev = r->prev;
		d->st.removed_held--;
		free(r);
	}
	pthread_cond_broadcast(&d->released);
	pthread_mutex_unlock(&d->lock);
}

/* The oldest removal still held, or UINT64_MAX. d->lock held. */
static uint64_t oldest_removed(const struct dart *d)
{
	uint64_t seq = UINT64_MAX;

	for (const struct dart_region *r = d->removed; r; r = r->next)
		seq = min_u64(seq, r->removed_seq);
	return seq;
}

static void deadline_after(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Waits on d->released while (drain ? a removal up to seq : any access) is held. */
static int wait_released(struct dart *d, unsigned int timeout_ms, bool drain)
{
	struct timespec deadline;
	uint64_t seq;
	int r = 0;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&d->lock);
	seq = d->remove_seq;
	while (r == 0 && (drain ? oldest_removed(d) <= seq : d->st.held > 0))
		r = -pthread_cond_timedwait(&d->released, &d->lock, &deadline);
	if (r == -ETIMEDOUT && !(drain ? oldest_removed(d) <= seq : d->st.held > 0))
		r = 0;
	pthread_mutex_unlock(&d->lock);
	return r;
}

int dart_drain(struct dart *d, unsigned int timeout_ms)
{
	return wait_released(d, timeout_ms, true);
}

int dart_quiesce(struct dart *d, unsigned int timeout_ms)
{
	return wait_released(d, timeout_ms, false);
}

uint64_t dart_fault_count(struct dart *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->lock);
	n = d->st.faults;
	pthread_mutex_unlock(&d->lock);
	return n;
}

int dart_fault_get(struct dart *d, uint64_t index, struct dart_fault *out)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&d->lock);
	if (index < min_u64(d->st.faults, DART_FAULT_RING)) {
		*out = d->faults[(d->st.faults - 1 - index) % DART_FAULT_RING];
		ret = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void dart_get_stats(struct dart *d, struct dart_stats *s)
{
	pthread_mutex_lock(&d->lock);
	*s = d->st;
	pthread_mutex_unlock(&d->lock);
}
