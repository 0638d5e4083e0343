/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * apple-dma-pci batch processor: what the device does when the guest writes
 * DOORBELL. Plain C, no transport and no libvfio-user: guest memory and the
 * dext are reached only through the callbacks in struct apple_dma_batch_env,
 * so the whole guest-visible behaviour can be unit tested.
 *
 * Wire layout: include/vfio-apple/apple-dma-abi.h. Every guest memory field
 * is little-endian and may be unaligned.
 *
 * Threading: no global state. One call processes one batch synchronously;
 * callers serialise calls for one device (the doorbell is one register). The
 * guest may modify its memory concurrently from other vCPUs: the processor
 * reads the command page and the request array exactly once, into private
 * snapshots, and never re-reads them.
 *
 * Rules, in the order they are applied (the reference device's, RFC
 * hw/vfio/apple-dma.c, plus the overlap rule marked "ours"):
 *
 * R1 cmd_gpa == 0, or the 32-byte command page is not one contiguous
 *    writable RAM range: INVAL, and nothing at all is written to guest memory (there is
 *    no command page to write the status into).
 * R2 From the command page snapshot: count == 0, count > max_entries,
 *    req_gpa == 0, resp_gpa == 0 or an unknown type: INVAL.
 * R3 The request array (count * 16 bytes) and the response array
 *    (count * 24 bytes for MAP, count * 16 for UNMAP) must each be one
 *    contiguous RAM range, without 64-bit wrap-around, and the response
 *    array writable RAM (ours: the reference has no read-only RAM): else
 *    INVAL.
 *    Ours: the command page, request array and response array must not
 *    overlap one another, by GPA or by host address (aliased RAM): else
 *    INVAL. Responses are written entry by entry, so overlapping arrays
 *    would have the device overwrite requests or the command page mid-batch
 *    and hand the guest results that describe neither; no correct guest
 *    does it.
 *    On any R2/R3 rejection the status is written to the command page
 *    status field (+0x08) only; no entry is processed, no response written.
 * R4 MAP entry {gpa, len, flags}: len == 0 or flags != 0: entry INVAL;
 *    [gpa, gpa + len) not one contiguous writable RAM range: entry IOERR
 *    (ours: the device may write wherever it may read, so read-only RAM
 *    is never registered);
 *    dma_register() fails: entry IOERR. The registration key is the entry's
 *    gpa (the guest unmaps by it). On success the response gets id = gpa,
 *    dma_addr = bus address, dma_len = min(bus_len, UINT32_MAX) and status
 *    OK; on failure ONLY its status field is written.
 * R5 UNMAP entry {id, size}: dma_unregister(id), size ignored; any failure
 *    (-ENOENT for an unknown id) is entry IOERR. The response always gets
 *    id (echoed), status and reserved = 0.
 * R6 Batch status: OK if every entry is OK, else IOERR. Successful entries
 *    of a failed batch are not rolled back. Written to the command page
 *    status field and returned.
 * R7 Nothing outside the command page status field and the response array
 *    is ever written; response fields are written as described above only.
 *
 * If the request snapshot cannot be allocated (large batches only), every
 * entry is answered as in R4/R5 failure (status IOERR, nothing registered or
 * unregistered) and the batch status is IOERR.
 */
#ifndef VFIO_APPLE_APPLE_DMA_BATCH_H
#define VFIO_APPLE_APPLE_DMA_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "vfio-apple/apple-dma-abi.h"

/*
 * Everything the processor may do to the outside world. All callbacks are
 * required and are called only from within apple_dma_batch_process().
 */
struct apple_dma_batch_env {
	/*
	 * @gpa_to_host: host pointer for guest RAM [@gpa, @gpa + @len) if the
	 * whole range is one contiguous RAM mapping, and a writable one when
	 * @write (the processor will store into it, or let the device DMA
	 * into it), else NULL. Read-only guest RAM (QEMU shares ROM and the
	 * BIOS area without the write flag) is mapped read-only in the
	 * server: a store into it would kill the process. The only way
	 * the processor touches guest memory; the pointer must stay valid until
	 * apple_dma_batch_process() returns. Never called with @len == 0 or
	 * with a range whose end (gpa + len) does not fit in 64 bits: such
	 * ranges, including one ending exactly at 2^64, are refused before.
	 */
	void *(*gpa_to_host)(void *opaque, uint64_t gpa, uint64_t len, bool write);
	/*
	 * @dma_register: register host range [@hva, @hva + @len) for device DMA
	 * under @key. On success returns 0 and sets *@bus_addr and *@bus_len
	 * (length of the contiguous bus range at *@bus_addr); else -errno
	 * (e.g. -EEXIST duplicate key, -ENOSPC out of slots).
	 */
	int (*dma_register)(void *opaque, uint64_t key, void *hva, uint64_t len,
			    uint64_t *bus_addr, uint64_t *bus_len);
	/* @dma_unregister: drop the registration under @key; 0, -ENOENT for an unknown key, or -errno. */
	int (*dma_unregister)(void *opaque, uint64_t key);
	/* @opaque: passed to every callback. */
	void *opaque;
	/*
	 * @max_entries: most entries one batch may carry (the MAX_ENTRIES
	 * register). The caller applies any default; 0 rejects every batch.
	 */
	uint32_t max_entries;
};

/* Why the last batch was rejected as a whole (R1-R3). */
enum apple_dma_batch_reject {
	APPLE_DMA_BATCH_REJECT_NONE = 0,
	APPLE_DMA_BATCH_REJECT_CMD_GPA_ZERO,	/* R1 */
	APPLE_DMA_BATCH_REJECT_CMD_NOT_RAM,	/* R1, including read-only RAM */
	APPLE_DMA_BATCH_REJECT_BAD_TYPE,	/* R2 */
	APPLE_DMA_BATCH_REJECT_BAD_COUNT,	/* R2: 0 or > max_entries */
	APPLE_DMA_BATCH_REJECT_REQ_GPA_ZERO,	/* R2 */
	APPLE_DMA_BATCH_REJECT_RESP_GPA_ZERO,	/* R2 */
	APPLE_DMA_BATCH_REJECT_REQ_NOT_RAM,	/* R3, including wrap-around */
	APPLE_DMA_BATCH_REJECT_RESP_NOT_RAM,	/* R3, including wrap-around, read-only */
	APPLE_DMA_BATCH_REJECT_OVERLAP,		/* R3 (ours) */
};

/*
 * Counters for the server's reporting; the caller zeroes the struct once and
 * the processor only adds to it (and sets last_reject).
 */
struct apple_dma_batch_stats {
	uint64_t batches;		/* every call */
	uint64_t invalid_batches;	/* rejected as a whole (R1-R3), status INVAL */
	uint64_t failed_batches;	/* processed, status IOERR (R6) */
	uint64_t entries;		/* entries processed (R4/R5) */
	uint64_t map_ok;
	uint64_t map_failed;		/* entry status INVAL or IOERR */
	uint64_t unmap_ok;
	uint64_t unmap_failed;
	uint64_t nomem;			/* batches failed for lack of host memory */
	/* Reason of the most recent whole-batch rejection, for guest-error logs. */
	enum apple_dma_batch_reject last_reject;
};

/*
 * apple_dma_batch_process - process the batch whose command page is at @cmd_gpa
 * @env: callbacks and limits, see struct apple_dma_batch_env
 * @cmd_gpa: the CMD_GPA_LO/HI latch
 * @stats: counters to update, or NULL
 *
 * Applies rules R1-R7 above. Guest errors are not errors of the processor:
 * they are reported only through the returned status and @stats.
 *
 * Returns the value for the STATUS register: an enum apple_dma_status.
 */
uint32_t apple_dma_batch_process(const struct apple_dma_batch_env *env,
				 uint64_t cmd_gpa,
				 struct apple_dma_batch_stats *stats);

/* Short constant description of @reason (never NULL), for logs. */
const char *apple_dma_batch_reject_str(enum apple_dma_batch_reject reason);

#endif /* VFIO_APPLE_APPLE_DMA_BATCH_H */
