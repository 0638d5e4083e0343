// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: sequences of DART model operations (lib/dart/dart.h)
 * checked against a shadow model.
 *
 * Input: an 8-byte config header, then operations of one opcode byte and
 * its operands (missing bytes read as zero):
 *   [0] iova_bits = 24 + b % 3     [1] max_mappings = 1 + b % 16
 *   [2] max_total_bytes = (1 + b % 64) pages
 *   [3] max_chunk_bytes = (1 + b % 4) pages
 *   [4] max_chunks = 1 + b % 8      [5..8) seed (| 1), stream = seed byte
 * Opcodes (byte % 8): map, unmap, unmap_owner, translate inside a live
 * region, translate anywhere, lookup, key_target, bad-argument translate.
 *
 * Checked after each operation (abort on violation):
 *  - every return value is the one the model predicts (an -ENOSPC for lack
 *    of IOVA space is accepted for a map the limits allow);
 *  - chunk 0 of live regions never share a page, and keeps the target's
 *    offset within the page; res.len/size/chunks are as documented;
 *  - translation inside chunk 0 of a live region yields the right target,
 *    contig, cookie and owner; bytes of its first/last page outside the
 *    region fault; any other successful translation lands inside a later
 *    chunk of a live region; a fault is recorded exactly when -EFAULT;
 *  - live mappings and bytes never exceed the limits and every counter of
 *    dart_get_stats() matches the model.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dart/dart.h"
#include "fuzz-util.h"

#define PG		0x4000ull
#define PG_MASK		(PG - 1)
#define OWNERS		4
#define KEYS		8
#define MAX_OPS		512

struct shadow {
	bool live;
	uint64_t owner, key, target, size, bytes;
	struct dart_map_result res;
};

static struct shadow sh[OWNERS][KEYS];

static struct model {
	struct dart_config cfg;
	uint64_t live, live_bytes, peak, peak_bytes;
	uint64_t maps, unmaps, map_failures, faults;
} m;

static uint64_t span_bytes(uint64_t target, uint64_t len)
{
	return (((target + len - 1) >> 14) - (target >> 14) + 1) * PG;
}

static uint64_t region_bytes(uint64_t target, uint64_t size)
{
	uint64_t cmax = m.cfg.max_chunk_bytes, b = 0;

	for (uint64_t off = 0; off < size; off += cmax)
		b += span_bytes(target + off, size - off < cmax ? size - off : cmax);
	return b;
}

static void check_stats(struct dart *d)
{
	struct dart_stats s;

	dart_get_stats(d, &s);
	FUZZ_CHECK(s.live_mappings == m.live);
	FUZZ_CHECK(s.live_bytes == m.live_bytes);
	FUZZ_CHECK(s.peak_mappings == m.peak);
	FUZZ_CHECK(s.peak_bytes == m.peak_bytes);
	FUZZ_CHECK(s.maps == m.maps);
	FUZZ_CHECK(s.unmaps == m.unmaps);
	FUZZ_CHECK(s.map_failures == m.map_failures);
	FUZZ_CHECK(s.faults == m.faults);
	FUZZ_CHECK(dart_fault_count(d) == m.faults);
	FUZZ_CHECK(m.live <= m.cfg.max_mappings);
	FUZZ_CHECK(m.live_bytes <= m.cfg.max_total_bytes);
}

/* The live region whose chunk 0 covers iova's page, or NULL. */
static struct shadow *chunk0_at(uint64_t iova)
{
	for (int o = 0; o < OWNERS; o++)
		for (int k = 0; k < KEYS; k++) {
			struct shadow *s = &sh[o][k];

			if (s->live && iova >> 14 >= s->res.iova >> 14 &&
			    iova >> 14 <= (s->res.iova + s->res.len - 1) >> 14)
				return s;
		}
	return NULL;
}

static void expect_fault(struct dart *d, uint64_t iova, uint64_t len, enum dart_access acc)
{
	struct dart_xlate x;
	struct dart_fault f;

	FUZZ_CHECK(dart_translate(d, iova, len, acc, &x) == -EFAULT);
	m.faults++;
	FUZZ_CHECK(dart_fault_get(d, 0, &f) == 0);
	FUZZ_CHECK(f.seq == m.faults - 1 && f.iova == iova && f.len == len);
	FUZZ_CHECK(f.stream == m.cfg.stream && f.access == acc);
}

static void op_map(struct dart *d, struct fuzz_in *in)
{
	unsigned int sel = (unsigned int)fuzz_take(in, 1);
	uint64_t o = sel % OWNERS, k = (sel >> 2) % KEYS;
	uint64_t target = fuzz_take(in, 5), size = fuzz_take(in, 3);
	struct shadow *s = &sh[o][k];
	struct dart_map_result res;
	uint64_t nchunks = 0, bytes = 0;
	int want, r;

	if (sel & 0x80)
		target = UINT64_MAX - (target & 0xffff);	/* near the top */
	if (!size || target + size < target) {
		want = -EINVAL;
	} else {
		nchunks = (size - 1) / m.cfg.max_chunk_bytes + 1;
		if (nchunks > m.cfg.max_chunks)
			want = -E2BIG;
		else if (s->live)
			want = -EEXIST;
		else if (m.live >= m.cfg.max_mappings ||
			 (bytes = region_bytes(target, size)) > m.cfg.max_total_bytes - m.live_bytes)
			want = -ENOSPC;
		else
			want = 0;
	}
	memset(&res, 0xa5, sizeof(res));
	r = dart_map(d, o, k, target, size, s, &res);
	if (!(want == 0 && r == -ENOSPC))
		FUZZ_CHECK(r == want);
	if (r) {
		m.map_failures++;
		return;
	}
	FUZZ_CHECK(res.size == size && res.chunks == nchunks);
	FUZZ_CHECK(res.len == (size < m.cfg.max_chunk_bytes ? size : m.cfg.max_chunk_bytes));
	FUZZ_CHECK((res.iova & PG_MASK) == (target & PG_MASK));
	FUZZ_CHECK(res.iova >= PG);
	FUZZ_CHECK(res.iova + res.len <= 1ull << m.cfg.iova_bits);
	/* Chunk 0 shares no page with chunk 0 of any other live region. */
	for (uint64_t p = res.iova >> 14; p <= (res.iova + res.len - 1) >> 14; p++)
		FUZZ_CHECK(!chunk0_at(p << 14));
	*s = (struct shadow){ true, o, k, target, size, bytes, res };
	m.live++;
	m.live_bytes += bytes;
	m.maps++;
	if (m.live > m.peak)
		m.peak = m.live;
	if (m.live_bytes > m.peak_bytes)
		m.peak_bytes = m.live_bytes;
}

static void kill_shadow(struct shadow *s)
{
	s->live = false;
	m.live--;
	m.live_bytes -= s->bytes;
	m.unmaps++;
}

static void op_unmap(struct dart *d, struct fuzz_in *in)
{
	unsigned int sel = (unsigned int)fuzz_take(in, 1);
	struct shadow *s = &sh[sel % OWNERS][(sel >> 2) % KEYS];
	bool live = s->live;

	FUZZ_CHECK(dart_unmap(d, sel % OWNERS, (sel >> 2) % KEYS) == (live ? 0 : -ENOENT));
	if (live)
		kill_shadow(s);
}

static void op_unmap_owner(struct dart *d, struct fuzz_in *in)
{
	unsigned int o = (unsigned int)fuzz_take(in, 1) % (OWNERS + 1);
	size_t n = 0;

	for (int k = 0; o < OWNERS && k < KEYS; k++)
		if (sh[o][k].live) {
			kill_shadow(&sh[o][k]);
			n++;
		}
	FUZZ_CHECK(dart_unmap_owner(d, o) == n);
}

static void op_translate_live(struct dart *d, struct fuzz_in *in)
{
	unsigned int sel = (unsigned int)fuzz_take(in, 1);
	struct shadow *s = &sh[sel % OWNERS][(sel >> 2) % KEYS];
	uint64_t off = fuzz_take(in, 2), len = 1 + fuzz_take(in, 2);
	enum dart_access acc = sel & 0x80 ? DART_WRITE : DART_READ;
	uint64_t iova0, end;
	struct dart_xlate x;

	if (!s->live)
		return;
	iova0 = s->res.iova;
	end = iova0 + s->res.len;
	off %= s->res.len;
	FUZZ_CHECK(dart_translate(d, iova0 + off, len, acc, &x) == 0);
	FUZZ_CHECK(x.target == s->target + off);
	FUZZ_CHECK(x.contig == (len < s->res.len - off ? len : s->res.len - off));
	FUZZ_CHECK(x.cookie == s && x.owner == s->owner);
	/* Sub-page protection at both ends of chunk 0. */
	if (iova0 & PG_MASK)
		expect_fault(d, iova0 - 1, 1, acc);
	if (end & PG_MASK)
		expect_fault(d, end, 1 + (len & 7), acc);
}

static void op_translate_any(struct dart *d, struct fuzz_in *in)
{
	uint64_t iova = fuzz_take(in, 4) & ((1ull << m.cfg.iova_bits) - 1);
	uint64_t len = 1 + fuzz_take(in, 2);
	struct dart_xlate x;
	struct shadow *s;
	int r;

	if (fuzz_take(in, 1) & 1)
		iova = UINT64_MAX - (iova & 0xff);	/* iova + len may overflow */
	r = dart_translate(d, iova, len, DART_READ, &x);
	s = chunk0_at(iova);
	if (s && iova >= s->res.iova && iova < s->res.iova + s->res.len &&
	    iova + len - 1 >= iova) {
		uint64_t off = iova - s->res.iova;

		FUZZ_CHECK(r == 0);
		FUZZ_CHECK(x.target == s->target + off && x.cookie == s);
		FUZZ_CHECK(x.contig == (len < s->res.len - off ? len : s->res.len - off));
		return;
	}
	if (r == 0) {
		uint64_t cmax = m.cfg.max_chunk_bytes, j, cend;

		/* Must be a later chunk of a live region. */
		FUZZ_CHECK(!s);
		s = x.cookie;
		FUZZ_CHECK(s >= &sh[0][0] && s < &sh[0][0] + OWNERS * KEYS);
		FUZZ_CHECK(s->live && s->res.chunks > 1 && x.owner == s->owner);
		FUZZ_CHECK(x.target >= s->target + cmax && x.target < s->target + s->size);
		FUZZ_CHECK((x.target & PG_MASK) == (iova & PG_MASK));
		j = (x.target - s->target) / cmax;
		cend = (j + 1) * cmax < s->size ? (j + 1) * cmax : s->size;
		FUZZ_CHECK(x.contig >= 1 && x.contig <= len && x.contig <= s->target + cend - x.target);
		return;
	}
	FUZZ_CHECK(r == -EFAULT);
	m.faults++;
}

static void op_lookup(struct dart *d, struct fuzz_in *in)
{
	unsigned int sel = (unsigned int)fuzz_take(in, 1);
	struct shadow *s = &sh[sel % OWNERS][(sel >> 2) % KEYS];
	struct dart_map_result res;
	int r = dart_lookup(d, sel % OWNERS, (sel >> 2) % KEYS, &res);

	FUZZ_CHECK(r == (s->live ? 0 : -ENOENT));
	if (!r)
		FUZZ_CHECK(res.iova == s->res.iova && res.len == s->res.len &&
			   res.size == s->res.size && res.chunks == s->res.chunks);
}

static void op_key_target(struct dart *d, struct fuzz_in *in)
{
	unsigned int sel = (unsigned int)fuzz_take(in, 1);
	struct shadow *s = &sh[sel % OWNERS][(sel >> 2) % KEYS];
	uint64_t off = fuzz_take(in, 3), target = 0;
	void *cookie = NULL;
	int r;

	if (sel & 0x80)
		off = UINT64_MAX - off;
	r = dart_key_target(d, sel % OWNERS, (sel >> 2) % KEYS, off, &target, &cookie);
	if (!s->live) {
		FUZZ_CHECK(r == -ENOENT);
	} else if (off >= s->size) {
		FUZZ_CHECK(r == -EINVAL);
	} else {
		FUZZ_CHECK(r == 0 && target == s->target + off && cookie == s);
	}
}

static void op_bad_translate(struct dart *d, struct fuzz_in *in)
{
	uint64_t iova = fuzz_take(in, 4);
	struct dart_xlate x;

	FUZZ_CHECK(dart_translate(d, iova, 0, DART_READ, &x) == -EINVAL);
	FUZZ_CHECK(dart_translate(d, iova, 1, (enum dart_access)3, &x) == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const ops[])(struct dart *, struct fuzz_in *) = {
		op_map, op_unmap, op_unmap_owner, op_translate_live,
		op_translate_any, op_lookup, op_key_target, op_bad_translate,
	};
	struct fuzz_in in = { data, size };
	struct dart *d;
	uint64_t seed;

	memset(sh, 0, sizeof(sh));
	memset(&m, 0, sizeof(m));
	m.cfg.iova_bits = 24 + (unsigned int)(fuzz_take(&in, 1) % 3);
	m.cfg.max_mappings = 1 + (uint32_t)(fuzz_take(&in, 1) % 16);
	m.cfg.max_total_bytes = (1 + fuzz_take(&in, 1) % 64) * PG;
	m.cfg.max_chunk_bytes = (1 + fuzz_take(&in, 1) % 4) * PG;
	m.cfg.max_chunks = 1 + (uint32_t)(fuzz_take(&in, 1) % 8);
	seed = fuzz_take(&in, 3);
	m.cfg.seed = seed | 1;
	m.cfg.stream = (uint32_t)(seed & 0xff);
	d = dart_create(&m.cfg);
	FUZZ_CHECK(d);

	for (int i = 0; i < MAX_OPS && in.left; i++) {
		ops[fuzz_take(&in, 1) % 8](d, &in);
		check_stats(d);
	}
	dart_destroy(d);
	return 0;
}
