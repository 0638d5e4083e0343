// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * apple-dma-pci batch processor. The rules (R1-R7) are documented in
 * batch.h; comments here refer to them.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apple-dma/batch.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Batches up to this many entries are snapshotted on the stack, so the
 * common case (existing guests send one entry per doorbell) allocates
 * nothing.
 */
#define BATCH_STACK_ENTRIES	32
#define BATCH_REQ_SIZE		16	/* both request layouts */

_Static_assert(sizeof(struct apple_dma_map_req) == BATCH_REQ_SIZE, "map request size");
_Static_assert(sizeof(struct apple_dma_unmap_req) == BATCH_REQ_SIZE, "unmap request size");

/* Guest memory may be unaligned: every access goes through memcpy. */
static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* A guest RAM range and its host mapping. */
struct guest_range {
	uint64_t gpa;
	uint64_t len;
	uint8_t *host;
};

/*
 * Host pointer for [gpa, gpa + len) or NULL. Empty and wrapping ranges are
 * refused here, so gpa_to_host never sees them and every accepted range has
 * gpa + len <= UINT64_MAX.
 */
static uint8_t *batch_gpa_to_host(const struct apple_dma_batch_env *env,
				  uint64_t gpa, uint64_t len, bool write)
{
	if (len == 0 || gpa > UINT64_MAX - len)
		return NULL;
	return env->gpa_to_host(env->opaque, gpa, len, write);
}

static bool batch_map_range(const struct apple_dma_batch_env *env,
			    struct guest_range *r, uint64_t gpa, uint64_t len,
			    bool write)
{
	r->gpa = gpa;
	r->len = len;
	r->host = batch_gpa_to_host(env, gpa, len, write);
	return r->host != NULL;
}

static bool spans_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* By GPA, and by host address because two GPAs may alias the same RAM. */
static bool ranges_overlap(const struct guest_range *a, const struct guest_range *b)
{
	return spans_overlap(a->gpa, a->len, b->gpa, b->len) ||
	       spans_overlap((uintptr_t)a->host, a->len,
			     (uintptr_t)b->host, b->len);
}

/* R4. @req is in the snapshot, @resp in guest memory. */
static uint32_t batch_map_entry(const struct apple_dma_batch_env *env,
				const uint8_t *req, uint8_t *resp,
				struct apple_dma_batch_stats *stats)
{
	uint64_t gpa = get_le64(req + offsetof(struct apple_dma_map_req, gpa));
	uint32_t len = get_le32(req + offsetof(struct apple_dma_map_req, len));
	uint32_t flags = get_le32(req + offsetof(struct apple_dma_map_req, flags));
	uint64_t bus_addr, bus_len;
	uint32_t status;
	void *hva;

	if (len == 0 || flags != 0) {
		status = APPLE_DMA_STATUS_INVAL;
		goto out;
	}
	/* The device may write what it can read: never read-only RAM. */
	hva = batch_gpa_to_host(env, gpa, len, true);
	if (!hva || env->dma_register(env->opaque, gpa, hva, len,
				      &bus_addr, &bus_len) != 0) {
		status = APPLE_DMA_STATUS_IOERR;
		goto out;
	}

	put_le64(resp + offsetof(struct apple_dma_map_resp, id), gpa);
	put_le64(resp + offsetof(struct apple_dma_map_resp, dma_addr), bus_addr);
	put_le32(resp + offsetof(struct apple_dma_map_resp, dma_len),
		 bus_len > UINT32_MAX ? UINT32_MAX : (uint32_t)bus_len);
	status = APPLE_DMA_STATUS_OK;
out:
	/* On failure the reference writes only status: keep that. */
	put_le32(resp + offsetof(struct apple_dma_map_resp, status), status);
	if (status == APPLE_DMA_STATUS_OK)
		stats->map_ok++;
	else
		stats->map_failed++;
	return status;
}

static void batch_unmap_resp(uint8_t *resp, uint64_t id, uint32_t status)
{
	put_le64(resp + offsetof(struct apple_dma_unmap_resp, id), id);
	put_le32(resp + offsetof(struct apple_dma_unmap_resp, status), status);
	put_le32(resp + offsetof(struct apple_dma_unmap_resp, reserved), 0);
}

/* R5. size is informational and ignored, as in the reference. */
static uint32_t batch_unmap_entry(const struct apple_dma_batch_env *env,
				  const uint8_t *req, uint8_t *resp,
				  struct apple_dma_batch_stats *stats)
{
	uint64_t id = get_le64(req + offsetof(struct apple_dma_unmap_req, id));
	uint32_t status = APPLE_DMA_STATUS_OK;

	if (env->dma_unregister(env->opaque, id) != 0)
		status = APPLE_DMA_STATUS_IOERR;

	batch_unmap_resp(resp, id, status);
	if (status == APPLE_DMA_STATUS_OK)
		stats->unmap_ok++;
	else
		stats->unmap_failed++;
	return status;
}

/* Failure answers when the batch cannot be snapshotted (@req is live). */
static void batch_map_fail(const uint8_t *req, uint8_t *resp,
			   struct apple_dma_batch_stats *stats)
{
	(void)req;
	put_le32(resp + offsetof(struct apple_dma_map_resp, status),
		 APPLE_DMA_STATUS_IOERR);
	stats->map_failed++;
}

static void batch_unmap_fail(const uint8_t *req, uint8_t *resp,
			     struct apple_dma_batch_stats *stats)
{
	batch_unmap_resp(resp,
			 get_le64(req + offsetof(struct apple_dma_unmap_req, id)),
			 APPLE_DMA_STATUS_IOERR);
	stats->unmap_failed++;
}

struct batch_op {
	uint64_t resp_size;
	uint32_t (*entry)(const struct apple_dma_batch_env *env,
			  const uint8_t *req, uint8_t *resp,
			  struct apple_dma_batch_stats *stats);
	void (*fail)(const uint8_t *req, uint8_t *resp,
		     struct apple_dma_batch_stats *stats);
};

static const struct batch_op batch_ops[] = {
	[APPLE_DMA_CMD_MAP] = {
		.resp_size = sizeof(struct apple_dma_map_resp),
		.entry = batch_map_entry,
		.fail = batch_map_fail,
	},
	[APPLE_DMA_CMD_UNMAP] = {
		.resp_size = sizeof(struct apple_dma_unmap_resp),
		.entry = batch_unmap_entry,
		.fail = batch_unmap_fail,
	},
};

/* A validated batch. */
struct batch {
	const struct batch_op *op;
	uint32_t count;
	struct guest_range cmd, req, resp;
};

/* R2 and R3, on the command page snapshot @cmd. Fills @b on success. */
static enum apple_dma_batch_reject
batch_validate(const struct apple_dma_batch_env *env,
	       const struct apple_dma_cmd *cmd, struct batch *b)
{
	uint32_t type = le32toh(cmd->type);
	uint32_t count = le32toh(cmd->count);
	uint64_t req_gpa = le64toh(cmd->req_gpa);
	uint64_t resp_gpa = le64toh(cmd->resp_gpa);

	if (type >= ARRAY_SIZE(batch_ops) || !batch_ops[type].entry)
		return APPLE_DMA_BATCH_REJECT_BAD_TYPE;
	if (count == 0 || count > env->max_entries)
		return APPLE_DMA_BATCH_REJECT_BAD_COUNT;
	if (req_gpa == 0)
		return APPLE_DMA_BATCH_REJECT_REQ_GPA_ZERO;
	if (resp_gpa == 0)
		return APPLE_DMA_BATCH_REJECT_RESP_GPA_ZERO;

	b->op = &batch_ops[type];
	b->count = count;
	/* count < 2^32 and sizes <= 24: the products cannot overflow. */
	if (!batch_map_range(env, &b->req, req_gpa,
			     (uint64_t)count * BATCH_REQ_SIZE, false))
		return APPLE_DMA_BATCH_REJECT_REQ_NOT_RAM;
	if (!batch_map_range(env, &b->resp, resp_gpa,
			     (uint64_t)count * b->op->resp_size, true))
		return APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM;
	if (ranges_overlap(&b->cmd, &b->req) ||
	    ranges_overlap(&b->cmd, &b->resp) ||
	    ranges_overlap(&b->req, &b->resp))
		return APPLE_DMA_BATCH_REJECT_OVERLAP;
	return APPLE_DMA_BATCH_REJECT_NONE;
}

/* R4-R6 on a validated batch; returns the batch status. */
static uint32_t batch_run(const struct apple_dma_batch_env *env,
			  const struct batch *b,
			  struct apple_dma_batch_stats *stats)
{
	uint8_t stack_snap[BATCH_STACK_ENTRIES * BATCH_REQ_SIZE];
	uint32_t status = APPLE_DMA_STATUS_OK;
	uint8_t *snap = stack_snap;
	uint32_t i;

	if (b->req.len > sizeof(stack_snap)) {
		snap = b->req.len <= SIZE_MAX ? malloc(b->req.len) : NULL;
		if (!snap) {
			/* Nothing registered or unregistered: say so per entry. */
			stats->nomem++;
			for (i = 0; i < b->count; i++)
				b->op->fail(b->req.host + (uint64_t)i * BATCH_REQ_SIZE,
					    b->resp.host + (uint64_t)i * b->op->resp_size,
					    stats);
			stats->entries += b->count;
			return APPLE_DMA_STATUS_IOERR;
		}
	}
	/* The guest may rewrite requests while the dext works: use a copy. */
	memcpy(snap, b->req.host, b->req.len);

	for (i = 0; i < b->count; i++) {
		if (b->op->entry(env, snap + (uint64_t)i * BATCH_REQ_SIZE,
				 b->resp.host + (uint64_t)i * b->op->resp_size,
				 stats) != APPLE_DMA_STATUS_OK)
			status = APPLE_DMA_STATUS_IOERR;
	}
	stats->entries += b->count;

	if (snap != stack_snap)
		free(snap);
	return status;
}

static uint32_t batch_reject(struct apple_dma_batch_stats *stats,
			     enum apple_dma_batch_reject reason)
{
	stats->invalid_batches++;
	stats->last_reject = reason;
	return APPLE_DMA_STATUS_INVAL;
}

uint32_t apple_dma_batch_process(const struct apple_dma_batch_env *env,
				 uint64_t cmd_gpa,
				 struct apple_dma_batch_stats *stats)
{
	struct apple_dma_batch_stats scratch = { 0 };
	enum apple_dma_batch_reject reason;
	struct apple_dma_cmd cmd;
	struct batch b;
	uint32_t status;

	if (!stats)
		stats = &scratch;
	stats->batches++;

	/* R1: no usable command page, so nowhere to report but STATUS. */
	if (cmd_gpa == 0)
		return batch_reject(stats, APPLE_DMA_BATCH_REJECT_CMD_GPA_ZERO);
	/* R1: the status is written into it, so it must be writable. */
	if (!batch_map_range(env, &b.cmd, cmd_gpa, sizeof(cmd), true))
		return batch_reject(stats, APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM);

	/* The only read of the command page: another vCPU may change it. */
	memcpy(&cmd, b.cmd.host, sizeof(cmd));

	reason = batch_validate(env, &cmd, &b);
	if (reason != APPLE_DMA_BATCH_REJECT_NONE) {
		status = batch_reject(stats, reason);
	} else {
		status = batch_run(env, &b, stats);
		if (status != APPLE_DMA_STATUS_OK)
			stats->failed_batches++;
	}
	put_le32(b.cmd.host + offsetof(struct apple_dma_cmd, status), status);
	return status;
}

const char *apple_dma_batch_reject_str(enum apple_dma_batch_reject reason)
{
	static const char *const names[] = {
		[APPLE_DMA_BATCH_REJECT_NONE] = "none",
		[APPLE_DMA_BATCH_REJECT_CMD_GPA_ZERO] = "command page GPA is 0",
		[APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM] = "command page not in writable RAM",
		[APPLE_DMA_BATCH_REJECT_BAD_TYPE] = "unknown command type",
		[APPLE_DMA_BATCH_REJECT_BAD_COUNT] = "count is 0 or above max entries",
		[APPLE_DMA_BATCH_REJECT_REQ_GPA_ZERO] = "request array GPA is 0",
		[APPLE_DMA_BATCH_REJECT_RESP_GPA_ZERO] = "response array GPA is 0",
		[APPLE_DMA_BATCH_REJECT_REQ_NOT_RAM] = "request array not one RAM range",
		[APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM] = "response array not one writable RAM range",
		[APPLE_DMA_BATCH_REJECT_OVERLAP] = "command page, requests and responses overlap",
	};

	if ((unsigned int)reason >= ARRAY_SIZE(names) || !names[reason])
		return "unknown";
	return names[reason];
}
