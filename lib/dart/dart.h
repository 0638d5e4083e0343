/* SPDX-License-Identifier: GPL-2.0-or-later OR MIT */
/*
 * A model of the Apple DART (IOMMU) as DriverKit presents it to a dext.
 *
 * On macOS a dext registers a buffer for DMA and the platform picks the
 * bus address (IOVA); the dext cannot ask for an address or an alignment.
 * This library plays the platform's part for one PCI function (one DART
 * stream) on Linux: it places registered regions in an IOVA aperture,
 * enforces the platform limits, and translates device accesses back to
 * the registered target addresses, recording a fault for anything else.
 *
 * Terms:
 *  - owner: an arbitrary u64 naming who registered a region (e.g. one
 *    client connection). Owners are created and dropped implicitly.
 *  - key: the caller's name for a region, unique per owner.
 *  - target: the registered address range [target, target + size) in
 *    some address space the library never dereferences (e.g. a client's
 *    virtual addresses). It is opaque to the model.
 *  - cookie: opaque caller data stored with a region and handed back by
 *    translation. The library never dereferences or frees it; the caller
 *    keeps it valid until the region is unmapped.
 *  - chunk: a region is split into chunks of at most max_chunk_bytes,
 *    each placed independently (one PrepareForDMA each on macOS), so
 *    consecutive chunks are not contiguous in IOVA space.
 *
 * Placement policy (what callers may and may not rely on):
 *  - Pages are DEXT_DART_PAGE_SIZE (16 KiB). A chunk's IOVA keeps the
 *    target's offset within a page (iova & 0x3fff == target & 0x3fff)
 *    and the chunk owns every page covering [target, target + len).
 *    Nothing beyond that is guaranteed: no larger alignment, no order,
 *    no address reuse.
 *  - IOVA page 0 is never used, so IOVA 0 never translates.
 *  - The allocator is compact, like a real platform allocator: first-fit
 *    over free pages starting at a random base page in the lowest quarter
 *    of the aperture (wrapping around to page 1), and a chunk lands a
 *    random 0..7 pages into the free run found (less when the run has
 *    less slack, none for an exact fit). Large maps therefore succeed as
 *    long as the aperture has a large enough hole, while addresses still
 *    vary from run to run. A given seed and call sequence yields the same
 *    placement.
 *  - Access is byte-granular: bytes of a chunk's first and last page
 *    outside [target, target + len) fault (the DART2 sub-page protection
 *    fields allow this; it catches device overruns).
 *
 * Limits (checked before anything changes; a failing call changes no
 * state apart from the map_failures counter):
 *  - live mappings (keys, across owners) <= max_mappings;
 *  - sum of page-rounded chunk sizes (across owners) <= max_total_bytes;
 *  - chunks per region <= max_chunks;
 *  - the IOVA aperture is 2^iova_bits bytes.
 *
 * Cost: map/unmap are O(pages mapped) plus the free-run search; key
 * lookup and translation are O(1) (hash table, two-level page table of
 * 2048-entry tables as on the hardware). dart_unmap_owner() visits only
 * that owner's regions. A live single-chunk mapping costs roughly 100 to
 * 150 bytes of heap.
 *
 * Thread safety: every function may be called from any thread at any
 * time; one internal mutex serialises them (dart_drain and dart_quiesce
 * wait without it). dart_destroy() must not race with any other call on
 * the same object, nor with a held access.
 *
 * Errors are negative errno values; dart_create() returns NULL and sets
 * errno.
 */
#ifndef VFIO_APPLE_DART_H
#define VFIO_APPLE_DART_H

#include <stddef.h>
#include <stdint.h>

#define DART_IOVA_BITS_MIN	24
#define DART_IOVA_BITS_MAX	48
#define DART_IOVA_BITS_DEFAULT	32
#define DART_FAULT_RING		64	/* faults kept for dart_fault_get() */

struct dart;

struct dart_config {
	unsigned int iova_bits;		/* aperture 2^iova_bits bytes, 24..48 */
	uint64_t max_total_bytes;	/* page-rounded bytes mapped, > 0 */
	uint32_t max_mappings;		/* live keys across owners, > 0 */
	uint64_t max_chunk_bytes;	/* multiple of the page size, <= 2^48 */
	uint32_t max_chunks;		/* chunks per region, > 0 */
	uint64_t seed;			/* placement seed, 0 = getrandom() */
	uint32_t stream;		/* stream id recorded in faults */
};

/* What a map or lookup reports: chunk 0 only, as the reference dext. */
struct dart_map_result {
	uint64_t iova;		/* IOVA of the region's first byte */
	uint64_t len;		/* bytes contiguous at iova (chunk 0 length) */
	uint64_t size;		/* whole region size */
	uint32_t chunks;	/* number of chunks */
};

enum dart_access {
	DART_READ = 1,		/* device reads memory */
	DART_WRITE = 2,		/* device writes memory */
};

struct dart_xlate {
	uint64_t target;	/* address in the target space */
	uint64_t contig;	/* bytes from iova in this chunk, 1..len */
	void *cookie;		/* the region's cookie */
	uint64_t owner;		/* the region's owner */
	void *hold;		/* dart_translate_hold(): what dart_release() lets go */
};

struct dart_fault {
	uint64_t seq;		/* 0 for this dart's first fault, then +1 */
	uint64_t iova;
	uint64_t len;
	uint32_t stream;
	enum dart_access access;
};

struct dart_stats {
	uint64_t live_mappings;
	uint64_t live_bytes;		/* page-rounded */
	uint64_t peak_mappings;
	uint64_t peak_bytes;
	uint64_t maps;			/* successful dart_map() calls */
	uint64_t unmaps;		/* regions removed, either way */
	uint64_t map_failures;		/* dart_map() calls that failed */
	uint64_t faults;
	uint64_t held;			/* accesses holding a region now */
	uint64_t removed_held;		/* removed regions still held */
};

/*
 * Fill @cfg with the platform defaults: 32-bit aperture, 1.5 GiB total,
 * 65,536 mappings, 1.5 GiB chunks, 128 chunks per region, random seed,
 * stream 0.
 */
void dart_config_defaults(struct dart_config *cfg);

/*
 * Create a DART model. @cfg is copied; NULL means the defaults.
 * Returns the object, or NULL with errno EINVAL (a config field out of
 * range) or ENOMEM.
 */
struct dart *dart_create(const struct dart_config *cfg);

/* Free @d and every mapping in it. Accepts NULL. */
void dart_destroy(struct dart *d);

/*
 * Register [target, target + size) under (@owner, @key) and place it in
 * the aperture. @cookie is stored as is. On success fills @res (may be
 * NULL) with chunk 0's IOVA and length and the chunk count.
 *
 * Returns 0 or (checked in this order):
 *  -EINVAL  size is 0 or target + size overflows;
 *  -E2BIG   the region needs more than max_chunks chunks;
 *  -EEXIST  @owner already has a region with @key;
 *  -ENOSPC  max_mappings or max_total_bytes would be exceeded, or no
 *           free IOVA range is large enough for a chunk;
 *  -ENOMEM  out of memory.
 * On any error nothing is mapped and @res is untouched.
 */
int dart_map(struct dart *d, uint64_t owner, uint64_t key, uint64_t target,
	     uint64_t size, void *cookie, struct dart_map_result *res);

/*
 * Remove the region (@owner, @key); its IOVAs fault from now on.
 * Returns 0 or -ENOENT (no such region).
 */
int dart_unmap(struct dart *d, uint64_t owner, uint64_t key);

/*
 * Remove every region of @owner (e.g. its client disconnected).
 * Returns how many were removed (0 for an unknown owner).
 */
size_t dart_unmap_owner(struct dart *d, uint64_t owner);

/*
 * Describe region (@owner, @key) in @res as dart_map() did.
 * Returns 0 or -ENOENT.
 */
int dart_lookup(struct dart *d, uint64_t owner, uint64_t key,
		struct dart_map_result *res);

/*
 * The target address at @offset into region (@owner, @key) and the
 * region's cookie; either output pointer may be NULL.
 * Returns 0, -ENOENT (no such region) or -EINVAL (@offset >= size).
 */
int dart_key_target(struct dart *d, uint64_t owner, uint64_t key,
		    uint64_t offset, uint64_t *target, void **cookie);

/*
 * Translate a device access of @len bytes at @iova. On success fills @out;
 * out->contig says how many bytes from @iova are contiguous in the
 * target space (the access stays within one chunk), so callers move large
 * transfers in a loop, translating again at iova + contig.
 *
 * Returns 0 or:
 *  -EFAULT  @iova is not inside a live mapping, or iova + len overflows:
 *           a fault is recorded (ring + counter) and the access must not
 *           happen; @out is untouched;
 *  -EINVAL  @len is 0 or @acc is not DART_READ/DART_WRITE (caller bug,
 *           no fault recorded).
 */
int dart_translate(struct dart *d, uint64_t iova, uint64_t len,
		   enum dart_access acc, struct dart_xlate *out);

/*
 * In-flight accesses. A device access that moves bytes after translating
 * holds the region for the duration of the move:
 *
 *   dart_translate_hold(d, iova, len, acc, &x);   (as dart_translate)
 *   ... move x.contig bytes at x.target ...
 *   dart_release(d, &x);
 *
 * An unmap (dart_unmap, dart_unmap_owner) still takes effect at once: new
 * translations fault and the IOVA space and limits are freed. A region
 * that is held when it is removed is kept until its last release, and
 * dart_drain() waits for that, so a caller that unmaps and then drains
 * knows that no access to the removed memory is still moving bytes.
 */
int dart_translate_hold(struct dart *d, uint64_t iova, uint64_t len,
			enum dart_access acc, struct dart_xlate *out);
void dart_release(struct dart *d, struct dart_xlate *x);

/*
 * Wait until no access holds a region removed before this call, at most
 * @timeout_ms. Returns 0, or -ETIMEDOUT with such an access still moving
 * bytes (its region is freed at its release).
 */
int dart_drain(struct dart *d, unsigned int timeout_ms);

/*
 * Wait until no access holds any region (live or removed), at most
 * @timeout_ms: for a caller that has just stopped new accesses by other
 * means (bus mastering off). Returns 0 or -ETIMEDOUT.
 */
int dart_quiesce(struct dart *d, unsigned int timeout_ms);

/* Number of faults since creation. */
uint64_t dart_fault_count(struct dart *d);

/*
 * The @index-th most recent fault (0 = newest) into @out. Only the last
 * DART_FAULT_RING faults are kept; out->seq tells a reader which ones it
 * has already seen.
 * Returns 0 or -ENOENT (@index not retained).
 */
int dart_fault_get(struct dart *d, uint64_t index, struct dart_fault *out);

/* A consistent snapshot of the counters. */
void dart_get_stats(struct dart *d, struct dart_stats *s);

#endif /* VFIO_APPLE_DART_H */
