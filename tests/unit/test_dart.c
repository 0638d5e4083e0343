// SPDX-License-Identifier: GPL-2.0-or-later OR MIT
/*
 * Unit tests for the DART model (lib/dart).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vfio-apple/dext-abi.h>

#include "dart.h"

#define PG		DEXT_DART_PAGE_SIZE
#define PG_MASK		(PG - 1)
#define SMALL_BITS	24	/* 1024 pages, page 0 unusable */
#define SMALL_PAGES	(1u << (SMALL_BITS - DEXT_DART_PAGE_SHIFT))

static struct dart_config cfg_small(void)
{
	struct dart_config c;

	dart_config_defaults(&c);
	c.iova_bits = SMALL_BITS;
	c.seed = 1;
	c.stream = 7;
	return c;
}

static struct dart *create_or_fail(const struct dart_config *c)
{
	struct dart *d = dart_create(c);

	assert_non_null(d);
	return d;
}

/* Test-side copy of the page arithmetic, so the model is not checked by itself. */
static uint64_t pages_of(uint64_t target, uint64_t len)
{
	return ((target & PG_MASK) + len + PG - 1) / PG;
}

/* Deterministic test randomness independent of the model's. */
static uint64_t trng_state;

static uint64_t trng(void)
{
	uint64_t x;

	trng_state += 0x9e3779b97f4a7c15ull;
	x = trng_state;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void assert_stats_equal(const struct dart_stats *a,
			       const struct dart_stats *b)
{
	assert_int_equal(a->live_mappings, b->live_mappings);
	assert_int_equal(a->live_bytes, b->live_bytes);
	assert_int_equal(a->peak_mappings, b->peak_mappings);
	assert_int_equal(a->peak_bytes, b->peak_bytes);
	assert_int_equal(a->maps, b->maps);
	assert_int_equal(a->unmaps, b->unmaps);
	assert_int_equal(a->faults, b->faults);
}

/* Config and lifetime */

static void test_dart_config_defaults_values(void **state)
{
	struct dart_config c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	dart_config_defaults(&c);
	assert_int_equal(c.iova_bits, 32);
	assert_int_equal(c.max_total_bytes, 1536ull << 20);
	assert_int_equal(c.max_mappings, 65536);
	assert_int_equal(c.max_chunk_bytes, 1536ull << 20);
	assert_int_equal(c.max_chunks, 128);
	assert_int_equal(c.seed, 0);
	assert_int_equal(c.stream, 0);
}

static void test_dart_create_rejects_bad_config(void **state)
{
	struct dart_config good = cfg_small(), c;
	struct dart *d;

	(void)state;
#define EXPECT_EINVAL(field, value)					\
	do {								\
		c = good;						\
		c.field = (value);					\
		errno = 0;						\
		assert_null(dart_create(&c));				\
		assert_int_equal(errno, EINVAL);			\
	} while (0)
	EXPECT_EINVAL(iova_bits, 23);
	EXPECT_EINVAL(iova_bits, 49);
	EXPECT_EINVAL(max_total_bytes, 0);
	EXPECT_EINVAL(max_mappings, 0);
	EXPECT_EINVAL(max_chunk_bytes, 0);
	EXPECT_EINVAL(max_chunk_bytes, PG + 1);
	EXPECT_EINVAL(max_chunk_bytes, (1ull << 48) + PG);
	EXPECT_EINVAL(max_chunks, 0);
#undef EXPECT_EINVAL

	d = create_or_fail(NULL);	/* defaults, random seed */
	dart_destroy(d);
	c = good;
	c.iova_bits = 48;
	d = create_or_fail(&c);
	dart_destroy(d);
	dart_destroy(NULL);
}

/* Placement */

static void test_dart_map_keeps_page_offset(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;
	uint64_t k;

	(void)state;
	c.iova_bits = 30;
	d = create_or_fail(&c);
	trng_state = 11;
	for (k = 0; k < 500; k++) {
		uint64_t target = 0x7f0000000000ull + (trng() & 0xfffffff);
		uint64_t size = 1 + trng() % (5 * PG);

		assert_int_equal(dart_map(d, 1, k, target, size, NULL, &res), 0);
		assert_int_equal(res.iova & PG_MASK, target & PG_MASK);
		assert_int_equal(res.len, size);
		assert_int_equal(res.size, size);
		assert_int_equal(res.chunks, 1);
		assert_true(res.iova >= PG);
		assert_int_equal(dart_translate(d, res.iova, 1, DART_READ, &x), 0);
		assert_int_equal(x.target, target);
	}
	dart_destroy(d);
}

static void test_dart_map_pages_never_overlap(void **state)
{
	enum { KEYS = 256 };
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	uint64_t first[KEYS], npg[KEYS];
	bool live[KEYS] = { false };
	uint8_t *used;
	struct dart *d;
	int i, k;

	(void)state;
	c.iova_bits = 28;	/* 16384 pages */
	c.max_chunk_bytes = 64 * PG;
	c.max_chunks = 1;
	d = create_or_fail(&c);
	used = calloc(1u << (28 - 14), 1);
	assert_non_null(used);
	trng_state = 22;
	for (i = 0; i < 5000; i++) {
		uint64_t p, target, size;

		k = trng() % KEYS;
		if (live[k]) {
			assert_int_equal(dart_unmap(d, 2, k), 0);
			for (p = first[k]; p < first[k] + npg[k]; p++)
				used[p] = 0;
			live[k] = false;
			continue;
		}
		target = trng() & 0xffffffff;
		size = 1 + trng() % (64 * PG - (target & PG_MASK));

		assert_int_equal(dart_map(d, 2, k, target, size, NULL, &res), 0);
		first[k] = res.iova / PG;
		npg[k] = pages_of(target, size);
		assert_true(first[k] != 0);
		assert_true(first[k] + npg[k] <= 1u << (28 - 14));
		for (p = first[k]; p < first[k] + npg[k]; p++) {
			assert_int_equal(used[p], 0);
			used[p] = 1;
		}
		live[k] = true;
	}
	free(used);
	dart_destroy(d);
}

static void test_dart_map_never_uses_iova_zero(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;
	uint64_t k, n = 0;
	int ret;

	(void)state;
	d = create_or_fail(&c);
	/* Fill the whole aperture with single pages. */
	for (k = 0; k < SMALL_PAGES + 1; k++) {
		ret = dart_map(d, 1, k, k * PG, PG, NULL, &res);
		if (ret) {
			assert_int_equal(ret, -ENOSPC);
			break;
		}
		assert_true(res.iova >= PG);
		assert_true(res.iova < SMALL_PAGES * PG);
		n++;
	}
	assert_int_equal(n, SMALL_PAGES - 1);
	for (k = 0; k < PG; k += 4095)
		assert_int_equal(dart_translate(d, k, 1, DART_READ, &x), -EFAULT);
	dart_destroy(d);
}

static void test_dart_map_alignment_varies(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	unsigned int aligned64k = 0, aligned1m = 0;
	struct dart *d;
	uint64_t k;

	(void)state;
	c.iova_bits = 32;
	c.seed = 3;
	d = create_or_fail(&c);
	for (k = 0; k < 1000; k++) {
		/* Maximally aligned targets: the IOVA must still not be. */
		assert_int_equal(dart_map(d, 1, k, k << 20, PG, NULL, &res), 0);
		aligned64k += !(res.iova & 0xffff);
		aligned1m += !(res.iova & 0xfffff);
	}
	assert_true(aligned64k < 1000);
	assert_true(aligned64k > 0);
	assert_true(aligned1m < 1000);
	dart_destroy(d);
}

/* Returns the IOVAs of a fixed map/unmap sequence under @seed. */
static void placement_run(uint64_t seed, uint64_t *iova, int n)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart *d;
	int i;

	c.iova_bits = 30;
	c.seed = seed;
	d = create_or_fail(&c);
	trng_state = 33;
	for (i = 0; i < n; i++) {
		uint64_t size = 1 + trng() % (8 * PG);

		assert_int_equal(dart_map(d, 1, i, trng() & 0xffffffff, size,
					  NULL, &res), 0);
		iova[i] = res.iova;
		if (i % 3 == 2)
			assert_int_equal(dart_unmap(d, 1, i - 1), 0);
	}
	dart_destroy(d);
}

static void test_dart_map_same_seed_same_placement(void **state)
{
	uint64_t a[300], b[300];

	(void)state;
	placement_run(42, a, 300);
	placement_run(42, b, 300);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_dart_map_different_seed_differs(void **state)
{
	uint64_t a[300], b[300];

	(void)state;
	placement_run(1, a, 300);
	placement_run(2, b, 300);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* Limits */

static void test_dart_map_max_mappings_exact(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_stats before, after;
	struct dart_map_result res;
	struct dart *d;
	uint64_t k;

	(void)state;
	c.max_mappings = 100;
	d = create_or_fail(&c);
	for (k = 0; k < 100; k++)
		/* Spread over owners: the limit is per dart, not per owner. */
		assert_int_equal(dart_map(d, k % 3, k, k * PG, 100, NULL, &res), 0);
	dart_get_stats(d, &before);
	assert_int_equal(dart_map(d, 5, 100, 0x1000, 100, NULL, &res), -ENOSPC);
	dart_get_stats(d, &after);
	assert_stats_equal(&before, &after);
	assert_int_equal(after.map_failures, before.map_failures + 1);
	assert_int_equal(dart_lookup(d, 5, 100, &res), -ENOENT);

	assert_int_equal(dart_unmap(d, 1, 1), 0);
	assert_int_equal(dart_map(d, 5, 100, 0x1000, 100, NULL, &res), 0);
	dart_destroy(d);
}

static void test_dart_map_max_total_bytes_exact(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_stats before, after;
	struct dart_map_result res;
	struct dart *d;

	(void)state;
	c.max_total_bytes = 8 * PG;
	d = create_or_fail(&c);
	/* One byte still costs a page; a page-crossing range costs two. */
	assert_int_equal(dart_map(d, 1, 1, 0x1001, 1, NULL, &res), 0);
	assert_int_equal(dart_map(d, 1, 2, 0x3fff, 2, NULL, &res), 0);
	dart_get_stats(d, &before);
	assert_int_equal(before.live_bytes, 3 * PG);
	assert_int_equal(dart_map(d, 1, 3, 0x10000, 5 * PG, NULL, &res), 0);
	dart_get_stats(d, &before);
	assert_int_equal(before.live_bytes, 8 * PG);

	assert_int_equal(dart_map(d, 1, 4, 0x20000, 1, NULL, &res), -ENOSPC);
	dart_get_stats(d, &after);
	assert_stats_equal(&before, &after);
	assert_int_equal(dart_lookup(d, 1, 4, &res), -ENOENT);

	/* Exactly the freed amount fits again, one byte more does not. */
	assert_int_equal(dart_unmap(d, 1, 3), 0);
	assert_int_equal(dart_map(d, 1, 4, 0x20000, 5 * PG + 1, NULL, &res),
			 -ENOSPC);
	assert_int_equal(dart_map(d, 1, 4, 0x20000, 5 * PG, NULL, &res), 0);
	dart_destroy(d);
}

static void test_dart_map_no_free_iova(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_stats before, after;
	struct dart_map_result res;
	struct dart *d;
	uint64_t k, n = 0;

	(void)state;
	c.max_chunk_bytes = 128 * PG;
	c.max_chunks = 16;
	d = create_or_fail(&c);
	/* 6 chunks leave 1023 - 768 = 255 free pages, not 3 chunks' worth. */
	assert_int_equal(dart_map(d, 1, 1, 0, 768 * PG, NULL, &res), 0);
	assert_int_equal(res.chunks, 6);
	dart_get_stats(d, &before);
	assert_int_equal(dart_map(d, 1, 2, 0, 384 * PG, NULL, &res), -ENOSPC);
	dart_get_stats(d, &after);
	assert_stats_equal(&before, &after);
	assert_int_equal(dart_fault_count(d), 0);

	/* The failed map's partial chunks were rolled back: all 255 remain. */
	for (k = 100; dart_map(d, 1, k, k * PG, PG, NULL, &res) == 0; k++)
		n++;
	assert_int_equal(n, 255);
	dart_destroy(d);
}

static void test_dart_map_default_limits(void **state)
{
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(NULL);
	assert_int_equal(dart_map(d, 1, 1, 1ull << 40, DEXT_DMA_TOTAL_DEFAULT,
				  NULL, &res), 0);
	assert_int_equal(res.chunks, 1);
	assert_int_equal(res.len, DEXT_DMA_TOTAL_DEFAULT);
	assert_int_equal(dart_translate(d, res.iova + res.len - 1, 1,
					DART_WRITE, &x), 0);
	assert_int_equal(x.target, (1ull << 40) + res.len - 1);
	assert_int_equal(dart_map(d, 1, 2, 0, 1, NULL, &res), -ENOSPC);
	dart_destroy(d);
}

static void test_dart_map_large_aperture(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	c.iova_bits = 48;
	c.max_total_bytes = 4ull << 30;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, 0x1234, (3ull << 30) + 5, NULL,
				  &res), 0);
	assert_int_equal(res.chunks, 3);
	assert_int_equal(res.len, DEXT_DMA_CHUNK_MAX);
	assert_int_equal(dart_translate(d, res.iova + 7, 1 << 20, DART_READ, &x),
			 0);
	assert_int_equal(x.target, 0x1234 + 7);
	assert_int_equal(x.contig, 1 << 20);
	dart_destroy(d);
}

/* Chunking */

static void test_dart_map_splits_chunks(void **state)
{
	struct dart_config c = cfg_small();
	uint64_t target = 0x500100, size = 10 * PG, cmax = 4 * PG;
	struct dart_map_result res;
	struct dart_stats st;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	c.max_chunk_bytes = cmax;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, target, size, &c, &res), 0);
	assert_int_equal(res.chunks, 3);
	assert_int_equal(res.len, cmax);
	assert_int_equal(res.size, size);
	assert_int_equal(res.iova & PG_MASK, target & PG_MASK);

	/* Each chunk of an unaligned target spans one page more. */
	dart_get_stats(d, &st);
	assert_int_equal(st.live_bytes, (5 + 5 + 3) * PG);

	assert_int_equal(dart_translate(d, res.iova, 2 * size, DART_READ, &x), 0);
	assert_int_equal(x.contig, cmax);
	assert_int_equal(dart_translate(d, res.iova + cmax - 1, 1, DART_READ,
					&x), 0);
	assert_int_equal(x.target, target + cmax - 1);
	assert_ptr_equal(x.cookie, &c);
	dart_destroy(d);
}

/* Every byte of a chunked region is reachable through exactly one IOVA. */
static void test_dart_map_chunks_cover_region(void **state)
{
	struct dart_config c = cfg_small();
	uint64_t target = 0x900200, size = 2 * 4 * PG + 2 * PG, p;
	uint64_t covered = 0;
	struct dart_map_result res;
	struct dart_xlate x;
	uint8_t seen[11] = { 0 };
	struct dart *d;

	(void)state;
	c.max_chunk_bytes = 4 * PG;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, target, size, NULL, &res), 0);
	assert_int_equal(res.chunks, 3);
	for (p = 1; p < SMALL_PAGES; p++) {
		uint64_t iova = p * PG + (target & PG_MASK), off;

		if (dart_translate(d, iova, PG, DART_READ, &x))
			continue;
		off = x.target - target;
		assert_int_equal(off % PG, 0);
		assert_true(off / PG < 11);
		seen[off / PG]++;
		covered += x.contig;
	}
	assert_int_equal(covered, size);
	for (p = 0; p < size / PG; p++)
		assert_int_equal(seen[p], 1);
	dart_destroy(d);
}

static void test_dart_map_too_many_chunks(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_stats st;
	struct dart *d;

	(void)state;
	c.max_chunk_bytes = 4 * PG;
	c.max_chunks = 4;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, 0, 16 * PG + 1, NULL, &res), -E2BIG);
	assert_int_equal(dart_map(d, 1, 1, 0, 16 * PG, NULL, &res), 0);
	assert_int_equal(res.chunks, 4);
	dart_get_stats(d, &st);
	assert_int_equal(st.map_failures, 1);
	assert_int_equal(st.live_mappings, 1);
	dart_destroy(d);
}

/* Keys */

static void test_dart_map_duplicate_key(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result r1, r2 = { 0 };
	struct dart_stats before, after;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 9, 0x4000, PG, NULL, &r1), 0);
	dart_get_stats(d, &before);
	assert_int_equal(dart_map(d, 1, 9, 0x8000, PG, NULL, &r2), -EEXIST);
	assert_int_equal(r2.iova, 0);
	dart_get_stats(d, &after);
	assert_stats_equal(&before, &after);
	assert_int_equal(dart_translate(d, r1.iova, 1, DART_READ, &x), 0);
	assert_int_equal(x.target, 0x4000);
	dart_destroy(d);
}

static void test_dart_map_same_key_other_owner(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result r1, r2;
	struct dart_xlate x;
	struct dart *d;
	int a = 1, b = 2;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 9, 0x4000, PG, &a, &r1), 0);
	assert_int_equal(dart_map(d, 2, 9, 0x4000, PG, &b, &r2), 0);
	assert_int_not_equal(r1.iova, r2.iova);
	assert_int_equal(dart_translate(d, r2.iova, 1, DART_READ, &x), 0);
	assert_ptr_equal(x.cookie, &b);
	assert_int_equal(x.owner, 2);
	assert_int_equal(dart_translate(d, r1.iova, 1, DART_READ, &x), 0);
	assert_ptr_equal(x.cookie, &a);
	assert_int_equal(x.owner, 1);
	dart_destroy(d);
}

static void test_dart_map_key_reuse_after_unmap(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 9, 0x4000, PG, NULL, &res), 0);
	assert_int_equal(dart_unmap(d, 1, 9), 0);
	assert_int_equal(dart_map(d, 1, 9, 0x10008, 3 * PG, NULL, &res), 0);
	assert_int_equal(res.len, 3 * PG);
	assert_int_equal(dart_translate(d, res.iova, 1, DART_READ, &x), 0);
	assert_int_equal(x.target, 0x10008);
	dart_destroy(d);
}

static void test_dart_map_invalid_args(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_stats st;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, 0x4000, 0, NULL, &res), -EINVAL);
	assert_int_equal(dart_map(d, 1, 1, UINT64_MAX - 10, 11, NULL, &res),
			 -EINVAL);
	assert_int_equal(dart_map(d, 1, 1, UINT64_MAX - 10, 10, NULL, NULL), 0);
	assert_int_equal(dart_lookup(d, 1, 1, &res), 0);
	assert_int_equal(res.iova & PG_MASK, (UINT64_MAX - 10) & PG_MASK);
	dart_get_stats(d, &st);
	assert_int_equal(st.map_failures, 2);
	dart_destroy(d);
}

static void test_dart_unmap_unknown_key(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_stats st;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_unmap(d, 1, 1), -ENOENT);
	assert_int_equal(dart_map(d, 1, 1, 0, PG, NULL, NULL), 0);
	assert_int_equal(dart_unmap(d, 1, 2), -ENOENT);
	assert_int_equal(dart_unmap(d, 2, 1), -ENOENT);
	assert_int_equal(dart_unmap(d, 1, 1), 0);
	assert_int_equal(dart_unmap(d, 1, 1), -ENOENT);
	dart_get_stats(d, &st);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(st.live_mappings, 0);
	assert_int_equal(st.live_bytes, 0);
	dart_destroy(d);
}

static void test_dart_unmap_owner_only_that_owner(void **state)
{
	static const unsigned int count[3] = { 10, 20, 5 };
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	uint64_t iova[3][20];
	struct dart_stats st;
	struct dart_xlate x;
	struct dart *d;
	unsigned int o, k;

	(void)state;
	d = create_or_fail(&c);
	for (o = 0; o < 3; o++)
		for (k = 0; k < count[o]; k++) {
			assert_int_equal(dart_map(d, 1000 + o, k, k * PG, PG,
						  NULL, &res), 0);
			iova[o][k] = res.iova;
		}
	assert_int_equal(dart_unmap_owner(d, 1001), 20);
	for (o = 0; o < 3; o++)
		for (k = 0; k < count[o]; k++) {
			int want = o == 1 ? -ENOENT : 0;

			assert_int_equal(dart_lookup(d, 1000 + o, k, &res), want);
			assert_int_equal(dart_translate(d, iova[o][k], 1,
							DART_READ, &x),
					 o == 1 ? -EFAULT : 0);
		}
	assert_int_equal(dart_unmap_owner(d, 1001), 0);
	assert_int_equal(dart_unmap_owner(d, 99), 0);
	dart_get_stats(d, &st);
	assert_int_equal(st.live_mappings, 15);
	assert_int_equal(st.unmaps, 20);
	/* The dropped owner can come back with the same keys. */
	assert_int_equal(dart_map(d, 1001, 0, 0, PG, NULL, &res), 0);
	dart_destroy(d);
}

/* Translation and faults */

static void test_dart_translate_inside(void **state)
{
	struct dart_config c = cfg_small();
	uint64_t target = 0x123456789, size = 3 * PG + 17;
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;
	int cookie;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 77, 1, target, size, &cookie, &res), 0);
	assert_int_equal(dart_translate(d, res.iova + 100, 64, DART_WRITE, &x),
			 0);
	assert_int_equal(x.target, target + 100);
	assert_int_equal(x.contig, 64);
	assert_ptr_equal(x.cookie, &cookie);
	assert_int_equal(x.owner, 77);
	/* A transfer running past the end is cut at the chunk end. */
	assert_int_equal(dart_translate(d, res.iova + 100, size, DART_READ, &x),
			 0);
	assert_int_equal(x.contig, size - 100);
	assert_int_equal(dart_fault_count(d), 0);
	dart_destroy(d);
}

static void test_dart_translate_last_byte(void **state)
{
	struct dart_config c = cfg_small();
	uint64_t target = 0x40002000, size = 2 * PG + 5;
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, target, size, NULL, &res), 0);
	assert_int_equal(dart_translate(d, res.iova + size - 1, 1, DART_READ,
					&x), 0);
	assert_int_equal(x.target, target + size - 1);
	assert_int_equal(x.contig, 1);
	assert_int_equal(dart_translate(d, res.iova + size - 1, 8, DART_READ,
					&x), 0);
	assert_int_equal(x.contig, 1);
	dart_destroy(d);
}

static void test_dart_translate_one_past_faults(void **state)
{
	struct dart_config c = cfg_small();
	uint64_t target = 0x40002000, size = 2 * PG + 5;
	struct dart_stats before, after;
	struct dart_map_result res;
	struct dart_xlate x = { 0 };
	struct dart_fault f;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, target, size, NULL, &res), 0);
	dart_get_stats(d, &before);
	assert_int_equal(dart_translate(d, res.iova + size, 1, DART_WRITE, &x),
			 -EFAULT);
	assert_int_equal(x.target, 0);
	assert_int_equal(dart_fault_count(d), 1);
	assert_int_equal(dart_fault_get(d, 0, &f), 0);
	assert_int_equal(f.seq, 0);
	assert_int_equal(f.iova, res.iova + size);
	assert_int_equal(f.len, 1);
	assert_int_equal(f.stream, 7);
	assert_int_equal(f.access, DART_WRITE);

	/* The byte before an unaligned start is in a mapped page too. */
	assert_int_equal(dart_translate(d, res.iova - 1, 1, DART_READ, &x),
			 -EFAULT);
	assert_int_equal(dart_fault_get(d, 0, &f), 0);
	assert_int_equal(f.seq, 1);
	assert_int_equal(f.access, DART_READ);

	dart_get_stats(d, &after);
	assert_int_equal(after.faults, 2);
	after.faults = before.faults;
	assert_stats_equal(&before, &after);
	assert_int_equal(dart_lookup(d, 1, 1, &res), 0);
	dart_destroy(d);
}

static void test_dart_translate_after_unmap_faults(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart_fault f;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, 0x8000, PG, NULL, &res), 0);
	assert_int_equal(dart_translate(d, res.iova, 1, DART_READ, &x), 0);
	assert_int_equal(dart_unmap(d, 1, 1), 0);
	assert_int_equal(dart_translate(d, res.iova, 1, DART_READ, &x), -EFAULT);
	assert_int_equal(dart_fault_get(d, 0, &f), 0);
	assert_int_equal(f.iova, res.iova);
	dart_destroy(d);
}

static void test_dart_translate_overflow_faults(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_translate(d, UINT64_MAX - 3, 8, DART_READ, &x),
			 -EFAULT);
	assert_int_equal(dart_translate(d, SMALL_PAGES * PG, 1, DART_READ, &x),
			 -EFAULT);
	assert_int_equal(dart_fault_count(d), 2);
	dart_destroy(d);
}

static void test_dart_translate_bad_args(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, 0x8000, PG, NULL, &res), 0);
	assert_int_equal(dart_translate(d, res.iova, 0, DART_READ, &x), -EINVAL);
	assert_int_equal(dart_translate(d, res.iova, 1, (enum dart_access)0, &x),
			 -EINVAL);
	assert_int_equal(dart_translate(d, res.iova, 1, (enum dart_access)3, &x),
			 -EINVAL);
	assert_int_equal(dart_fault_count(d), 0);
	dart_destroy(d);
}

static void test_dart_fault_get_ring(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_xlate x;
	struct dart_fault f;
	struct dart *d;
	uint64_t i;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_fault_get(d, 0, &f), -ENOENT);
	for (i = 0; i < 100; i++)
		assert_int_equal(dart_translate(d, i * 8, 4, DART_READ, &x),
				 -EFAULT);
	assert_int_equal(dart_fault_count(d), 100);
	for (i = 0; i < DART_FAULT_RING; i++) {
		assert_int_equal(dart_fault_get(d, i, &f), 0);
		assert_int_equal(f.seq, 99 - i);
		assert_int_equal(f.iova, (99 - i) * 8);
		assert_int_equal(f.len, 4);
	}
	assert_int_equal(dart_fault_get(d, DART_FAULT_RING, &f), -ENOENT);
	dart_destroy(d);
}

/* Queries and counters */

static void test_dart_lookup_found_and_missing(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res, got;
	struct dart *d;

	(void)state;
	c.max_chunk_bytes = 2 * PG;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 5, 0x20004, 5 * PG, NULL, &res), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(dart_lookup(d, 1, 5, &got), 0);
	assert_int_equal(got.iova, res.iova);
	assert_int_equal(got.len, 2 * PG);
	assert_int_equal(got.chunks, 3);
	assert_int_equal(got.size, 5 * PG);
	assert_int_equal(dart_lookup(d, 1, 6, &got), -ENOENT);
	assert_int_equal(dart_lookup(d, 2, 5, &got), -ENOENT);
	dart_destroy(d);
}

static void test_dart_key_target_offsets(void **state)
{
	struct dart_config c = cfg_small();
	uint64_t target = 0x7000123, size = 9 * PG + 3, t;
	void *cookie = NULL;
	struct dart *d;

	(void)state;
	c.max_chunk_bytes = 2 * PG;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 3, 4, target, size, &c, NULL), 0);
	assert_int_equal(dart_key_target(d, 3, 4, 0, &t, &cookie), 0);
	assert_int_equal(t, target);
	assert_ptr_equal(cookie, &c);
	assert_int_equal(dart_key_target(d, 3, 4, 5 * PG + 7, &t, NULL), 0);
	assert_int_equal(t, target + 5 * PG + 7);
	assert_int_equal(dart_key_target(d, 3, 4, size - 1, &t, NULL), 0);
	assert_int_equal(t, target + size - 1);
	assert_int_equal(dart_key_target(d, 3, 4, size, &t, NULL), -EINVAL);
	assert_int_equal(dart_key_target(d, 3, 5, 0, &t, NULL), -ENOENT);
	assert_int_equal(dart_key_target(d, 3, 4, 1, NULL, NULL), 0);
	dart_destroy(d);
}

static void test_dart_get_stats_peaks(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_stats st;
	struct dart_xlate x;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	dart_get_stats(d, &st);
	assert_int_equal(st.live_mappings + st.peak_mappings + st.maps, 0);
	assert_int_equal(dart_map(d, 1, 1, 0, PG, NULL, NULL), 0);
	assert_int_equal(dart_map(d, 1, 2, 0x100, 2 * PG, NULL, NULL), 0);
	assert_int_equal(dart_map(d, 2, 1, 0, 4 * PG, NULL, NULL), 0);
	assert_int_equal(dart_map(d, 2, 1, 0, 4 * PG, NULL, NULL), -EEXIST);
	assert_int_equal(dart_unmap(d, 2, 1), 0);
	assert_int_equal(dart_map(d, 2, 2, 0, PG, NULL, NULL), 0);
	assert_int_equal(dart_translate(d, 0, 1, DART_READ, &x), -EFAULT);
	dart_get_stats(d, &st);
	assert_int_equal(st.live_mappings, 3);
	assert_int_equal(st.live_bytes, (1 + 3 + 1) * PG);
	assert_int_equal(st.peak_mappings, 3);
	assert_int_equal(st.peak_bytes, (1 + 3 + 4) * PG);
	assert_int_equal(st.maps, 4);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(st.map_failures, 1);
	assert_int_equal(st.faults, 1);
	dart_unmap_owner(d, 1);
	dart_unmap_owner(d, 2);
	dart_get_stats(d, &st);
	assert_int_equal(st.live_mappings, 0);
	assert_int_equal(st.live_bytes, 0);
	assert_int_equal(st.peak_bytes, (1 + 3 + 4) * PG);
	assert_int_equal(st.unmaps, 4);
	dart_destroy(d);
}

/* Randomised operations checked against a simple array model. */

#define SH_OWNERS	4
#define SH_KEYS		64
#define SH_CMAX		(8 * PG)
#define SH_MAX_CHUNKS	6
#define SH_MAX_MAPS	150
#define SH_MAX_BYTES	(1500 * PG)

struct shadow {
	bool live;
	uint64_t owner, key, target, size, bytes, iova, len;
	uint32_t chunks;
};

static struct shadow sh[SH_OWNERS][SH_KEYS];

static uint64_t sh_bytes(uint64_t target, uint64_t size)
{
	uint64_t off, b = 0;

	for (off = 0; off < size; off += SH_CMAX) {
		uint64_t len = size - off < SH_CMAX ? size - off : SH_CMAX;

		b += pages_of(target + off, len) * PG;
	}
	return b;
}

static void sh_check_totals(struct dart *d)
{
	uint64_t n = 0, bytes = 0;
	struct dart_stats st;
	int o, k;

	for (o = 0; o < SH_OWNERS; o++)
		for (k = 0; k < SH_KEYS; k++)
			if (sh[o][k].live) {
				n++;
				bytes += sh[o][k].bytes;
			}
	dart_get_stats(d, &st);
	assert_int_equal(st.live_mappings, n);
	assert_int_equal(st.live_bytes, bytes);
}

/* Every page of every live chunk 0 must lead back to its own region. */
static void sh_check_chunk0_pages(struct dart *d)
{
	struct dart_xlate x;
	int o, k;

	for (o = 0; o < SH_OWNERS; o++)
		for (k = 0; k < SH_KEYS; k++) {
			struct shadow *s = &sh[o][k];
			uint64_t off;

			if (!s->live)
				continue;
			/* One byte per page: the first page may be partial. */
			for (off = 0; off < s->len;
			     off = (s->iova + off + PG) / PG * PG - s->iova) {
				assert_int_equal(dart_translate(d, s->iova + off,
								1, DART_READ,
								&x), 0);
				assert_ptr_equal(x.cookie, s);
				assert_int_equal(x.target, s->target + off);
			}
		}
}

/*
 * @iova_bits 25: the mapping and byte limits bind; 24: the aperture is
 * smaller than the byte limit, so placement fails for lack of IOVA space.
 */
static void stress_shadow_model(unsigned int iova_bits)
{
	struct dart_config c = cfg_small();
	uint64_t live = 0, live_bytes = 0, faults = 0, nospc_iova = 0;
	uint64_t outcome[5] = { 0 };	/* 0, E2BIG, EEXIST, ENOSPC, hits */
	struct dart_map_result res;
	struct dart_xlate x;
	struct dart *d;
	int i, ret;

	memset(sh, 0, sizeof(sh));
	c.iova_bits = iova_bits;
	c.max_chunk_bytes = SH_CMAX;
	c.max_chunks = SH_MAX_CHUNKS;
	c.max_mappings = SH_MAX_MAPS;
	c.max_total_bytes = SH_MAX_BYTES;
	d = create_or_fail(&c);
	trng_state = 44;

	for (i = 0; i < 40000; i++) {
		unsigned int op = trng() % 100;
		int o = trng() % SH_OWNERS, k = trng() % SH_KEYS;
		struct shadow *s = &sh[o][k];

		if (op < 45) {
			uint64_t target = trng() & 0xffffffffff;
			uint64_t size = 1 + trng() % ((SH_MAX_CHUNKS + 1) * SH_CMAX);
			uint64_t bytes = sh_bytes(target, size);
			uint64_t chunks = (size + SH_CMAX - 1) / SH_CMAX;
			int want;

			if (chunks > SH_MAX_CHUNKS)
				want = -E2BIG;
			else if (s->live)
				want = -EEXIST;
			else if (live >= SH_MAX_MAPS ||
				 live_bytes + bytes > SH_MAX_BYTES)
				want = -ENOSPC;
			else
				want = 0;
			ret = dart_map(d, o, k, target, size, s, &res);
			if (want == 0 && ret == -ENOSPC) {
				nospc_iova++;	/* no IOVA range: nothing changed */
				sh_check_totals(d);
				continue;
			}
			assert_int_equal(ret, want);
			outcome[ret == 0 ? 0 : ret == -E2BIG ? 1 :
				ret == -EEXIST ? 2 : 3]++;
			if (ret)
				continue;
			assert_int_equal(res.chunks, chunks);
			assert_int_equal(res.size, size);
			assert_int_equal(res.len, size < SH_CMAX ? size : SH_CMAX);
			assert_int_equal(res.iova & PG_MASK, target & PG_MASK);
			*s = (struct shadow){ true, o, k, target, size, bytes,
					      res.iova, res.len, res.chunks };
			live++;
			live_bytes += bytes;
		} else if (op < 75) {
			ret = dart_unmap(d, o, k);
			assert_int_equal(ret, s->live ? 0 : -ENOENT);
			if (s->live) {
				live--;
				live_bytes -= s->bytes;
				s->live = false;
			}
		} else if (op < 76) {
			size_t n = 0;

			for (k = 0; k < SH_KEYS; k++)
				if (sh[o][k].live) {
					n++;
					live--;
					live_bytes -= sh[o][k].bytes;
					sh[o][k].live = false;
				}
			assert_int_equal(dart_unmap_owner(d, o), n);
		} else if (op < 90 && s->live) {
			uint64_t off = trng() % s->len, len = 1 + trng() % (2 * PG);
			uint64_t t;

			assert_int_equal(dart_translate(d, s->iova + off, len,
							DART_WRITE, &x), 0);
			assert_int_equal(x.target, s->target + off);
			assert_int_equal(x.contig, len < s->len - off ?
						   len : s->len - off);
			assert_ptr_equal(x.cookie, s);
			assert_int_equal(x.owner, o);
			off = trng() % s->size;
			assert_int_equal(dart_key_target(d, o, k, off, &t, NULL), 0);
			assert_int_equal(t, s->target + off);
			assert_int_equal(dart_lookup(d, o, k, &res), 0);
			assert_int_equal(res.iova, s->iova);
		} else {
			/* A random access: if it translates, it must be consistent. */
			uint64_t iova = trng() % (1ull << iova_bits);

			ret = dart_translate(d, iova, 1, DART_READ, &x);
			if (ret) {
				assert_int_equal(ret, -EFAULT);
				faults++;
				continue;
			}
			outcome[4]++;
			s = x.cookie;
			assert_true(s->live);
			assert_int_equal(x.owner, s->owner);
			assert_true(x.target >= s->target &&
				    x.target < s->target + s->size);
			assert_int_equal(x.target & PG_MASK, iova & PG_MASK);
		}
		if (i % 1000 == 0) {
			sh_check_totals(d);
			sh_check_chunk0_pages(d);
		}
	}
	sh_check_totals(d);
	sh_check_chunk0_pages(d);
	assert_int_equal(dart_fault_count(d), faults);
	print_message("maps %" PRIu64 " e2big %" PRIu64 " eexist %" PRIu64
		      " enospc %" PRIu64 " enospc-iova %" PRIu64
		      " random hits %" PRIu64 " faults %" PRIu64 "\n",
		      outcome[0], outcome[1], outcome[2], outcome[3],
		      nospc_iova, outcome[4], faults);
	/* Each outcome happened; in a full aperture IOVA space binds first. */
	for (i = 0; i < 5; i++)
		assert_true(outcome[i] > 0 || (i == 3 && iova_bits == 24));
	if (iova_bits == 25)
		assert_int_equal(nospc_iova, 0);
	else
		assert_true(nospc_iova > 0);

	/* Once everything is gone, no page may still translate. */
	for (i = 0; i < SH_OWNERS; i++)
		dart_unmap_owner(d, i);
	memset(sh, 0, sizeof(sh));
	sh_check_totals(d);
	for (i = 0; i < 1 << (iova_bits - DEXT_DART_PAGE_SHIFT); i++) {
		assert_int_equal(dart_translate(d, i * PG, 1, DART_READ, &x),
				 -EFAULT);
		assert_int_equal(dart_translate(d, i * PG + PG - 1, 1,
						DART_READ, &x), -EFAULT);
	}
	dart_destroy(d);
}

static void test_dart_stress_shadow_model_limits(void **state)
{
	(void)state;
	stress_shadow_model(25);
}

static void test_dart_stress_shadow_model_full_aperture(void **state)
{
	(void)state;
	stress_shadow_model(24);
}

/* Threads */

struct xlate_thread {
	struct dart *d;
	uint64_t iova, target;
	int errors;
};

static void *xlate_worker(void *arg)
{
	struct xlate_thread *t = arg;
	struct dart_xlate x;
	int i;

	for (i = 0; i < 20000; i++)
		if (dart_translate(t->d, t->iova, 8, DART_READ, &x) ||
		    x.target != t->target)
			t->errors++;
	return NULL;
}

static void test_dart_translate_concurrent_with_map(void **state)
{
	struct dart_config c = cfg_small();
	struct xlate_thread t[4];
	struct dart_map_result res;
	pthread_t tid[4];
	struct dart *d;
	int i;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 0, 0xabc000, PG, NULL, &res), 0);
	for (i = 0; i < 4; i++) {
		t[i] = (struct xlate_thread){ d, res.iova, 0xabc000, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, xlate_worker,
						&t[i]), 0);
	}
	for (i = 0; i < 5000; i++) {
		assert_int_equal(dart_map(d, 2, i % 16, i * PG, PG, NULL, NULL), 0);
		assert_int_equal(dart_unmap(d, 2, i % 16), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
	dart_destroy(d);
}

/* Holds: an unmap takes effect at once, the region lives until released. */
static void test_dart_hold_outlives_unmap(void **state)
{
	struct dart_config c = cfg_small();
	struct dart_map_result res;
	struct dart_xlate x, y;
	struct dart_stats st;
	struct dart *d;

	(void)state;
	d = create_or_fail(&c);
	assert_int_equal(dart_map(d, 1, 1, 0x10000, 2 * PG, (void *)0x77, &res), 0);
	assert_int_equal(dart_map(d, 1, 2, 0x40000, PG, NULL, NULL), 0);
	assert_int_equal(dart_translate_hold(d, res.iova + 5, 100, DART_WRITE, &x), 0);
	assert_non_null(x.hold);
	assert_int_equal(x.target, 0x10005);
	assert_ptr_equal(x.cookie, (void *)0x77);
	/* Live and held: quiesce waits, drain has nothing removed to wait for. */
	assert_int_equal(dart_quiesce(d, 20), -ETIMEDOUT);
	assert_int_equal(dart_drain(d, 20), 0);

	assert_int_equal(dart_unmap(d, 1, 1), 0);
	assert_int_equal(dart_translate(d, res.iova + 5, 1, DART_READ, &y), -EFAULT);
	dart_get_stats(d, &st);
	assert_int_equal(st.live_mappings, 1);
	assert_int_equal(st.held, 1);
	assert_int_equal(st.removed_held, 1);
	assert_int_equal(dart_drain(d, 20), -ETIMEDOUT);
	/* The key is free again at once. */
	assert_int_equal(dart_map(d, 1, 1, 0x80000, PG, NULL, NULL), 0);

	dart_release(d, &x);
	assert_null(x.hold);
	dart_release(d, &x);		/* a second release is a no-op */
	dart_get_stats(d, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.removed_held, 0);
	assert_int_equal(dart_drain(d, 0), 0);
	assert_int_equal(dart_quiesce(d, 0), 0);

	/* Held when the owner goes, and still held at destroy: no leak. */
	assert_int_equal(dart_translate_hold(d, res.iova, 1, DART_READ, &x), -EFAULT);
	assert_int_equal(dart_lookup(d, 1, 2, &res), 0);
	assert_int_equal(dart_translate_hold(d, res.iova, 1, DART_READ, &x), 0);
	assert_int_equal(dart_unmap_owner(d, 1), 2);
	assert_int_equal(dart_drain(d, 10), -ETIMEDOUT);
	dart_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dart_config_defaults_values),
		cmocka_unit_test(test_dart_create_rejects_bad_config),
		cmocka_unit_test(test_dart_map_keeps_page_offset),
		cmocka_unit_test(test_dart_map_pages_never_overlap),
		cmocka_unit_test(test_dart_map_never_uses_iova_zero),
		cmocka_unit_test(test_dart_map_alignment_varies),
		cmocka_unit_test(test_dart_map_same_seed_same_placement),
		cmocka_unit_test(test_dart_map_different_seed_differs),
		cmocka_unit_test(test_dart_map_max_mappings_exact),
		cmocka_unit_test(test_dart_map_max_total_bytes_exact),
		cmocka_unit_test(test_dart_map_no_free_iova),
		cmocka_unit_test(test_dart_map_default_limits),
		cmocka_unit_test(test_dart_map_large_aperture),
		cmocka_unit_test(test_dart_map_splits_chunks),
		cmocka_unit_test(test_dart_map_chunks_cover_region),
		cmocka_unit_test(test_dart_map_too_many_chunks),
		cmocka_unit_test(test_dart_map_duplicate_key),
		cmocka_unit_test(test_dart_map_same_key_other_owner),
		cmocka_unit_test(test_dart_map_key_reuse_after_unmap),
		cmocka_unit_test(test_dart_map_invalid_args),
		cmocka_unit_test(test_dart_unmap_unknown_key),
		cmocka_unit_test(test_dart_unmap_owner_only_that_owner),
		cmocka_unit_test(test_dart_translate_inside),
		cmocka_unit_test(test_dart_translate_last_byte),
		cmocka_unit_test(test_dart_translate_one_past_faults),
		cmocka_unit_test(test_dart_translate_after_unmap_faults),
		cmocka_unit_test(test_dart_translate_overflow_faults),
		cmocka_unit_test(test_dart_translate_bad_args),
		cmocka_unit_test(test_dart_fault_get_ring),
		cmocka_unit_test(test_dart_lookup_found_and_missing),
		cmocka_unit_test(test_dart_key_target_offsets),
		cmocka_unit_test(test_dart_get_stats_peaks),
		cmocka_unit_test(test_dart_stress_shadow_model_limits),
		cmocka_unit_test(test_dart_stress_shadow_model_full_aperture),
		cmocka_unit_test(test_dart_translate_concurrent_with_map),
		cmocka_unit_test(test_dart_hold_outlives_unmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
