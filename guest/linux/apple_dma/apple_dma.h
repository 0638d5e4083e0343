/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * apple_dma: guest driver for the apple-dma-pci companion device.
 *
 * The host platform (an Apple DART behind a DriverKit extension) chooses
 * every DMA bus address, so this module replaces the managed passthrough
 * device's dma_map_ops: each map asks apple-dma-pci to register a
 * guest-physical range and hands the returned bus address to the driver.
 *
 * Locking (docs/guest-module.md, "Locking and interrupts"):
 *  - ad->lock, a spinlock taken with irqsave, protects the records, both
 *    rb-trees, the idle list and the counters. It is never held across a
 *    doorbell: everything under it is bookkeeping of bounded length.
 *  - ad->db_lock owns the command page and the request/response arrays for
 *    one batch (one doorbell round trip). apple_dma_host.c takes it only
 *    with interrupts off and by trylock, so a CPU that finds it busy waits
 *    with interrupts as its caller had them. Order: db_lock, then lock.
 * Nothing sleeps, so maps and unmaps work in any context.
 *
 * Lifetime of a mapping record (struct apple_dma_mapping):
 *   PENDING    in by_base, the host is being asked to map it; only the
 *              mapping call that created it (@owner) may use it
 *   LIVE       registered on the host, in by_base and by_bus; refs >= 1, or
 *              refs == 0 and on the idle list (cache mode, strict=0)
 *   UNMAPPING  out of by_bus, still in by_base (its host key stays taken),
 *              on the private queue of the call unregistering it
 *   DEAD       the host refused it; out of both trees, freed at refs == 0
 * A LIVE record whose last reference goes becomes idle (cache mode) or
 * UNMAPPING (strict mode); the unmapping call unregisters it before it
 * returns.
 */
#ifndef APPLE_DMA_H
#define APPLE_DMA_H

#include <linux/atomic.h>
#include <linux/dma-map-ops.h>
#include <linux/list.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/rbtree.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <vfio-apple/apple-dma-abi.h>

#include "compat.h"

/* The DART maps 16 KiB pages; a registration keeps the offset inside one. */
#define APPLE_DMA_DART_SHIFT		14
#define APPLE_DMA_DART_SIZE		(1ULL << APPLE_DMA_DART_SHIFT)

#define APPLE_DMA_WINDOW_SHIFT_MIN	APPLE_DMA_DART_SHIFT
#define APPLE_DMA_WINDOW_SHIFT_MAX	30

/*
 * The host returns one contiguous bus range only for registrations up to
 * its 1.5 GiB chunk size; an exact mapping is the request rounded out to
 * 16 KiB on both sides, hence the two DART pages of slack.
 */
#define APPLE_DMA_MAX_MAP_LEN		(SZ_1G + SZ_512M - 2 * APPLE_DMA_DART_SIZE)

/* Largest batch we preallocate for, whatever MAX_ENTRIES says. */
#define APPLE_DMA_MAX_BATCH		4096

/* Lower bases tried when an exact mapping's base is already a host key. */
#define APPLE_DMA_COLLISION_TRIES	4
#define APPLE_DMA_KEY_TRIES		64	/* keys tried inside the first page */

/* Predecessors inspected when looking for a covering live mapping. */
#define APPLE_DMA_COVER_SCAN		8

/* map_sg ranges kept on the stack; longer lists try one allocation. */
#define APPLE_DMA_SG_STACK		8

enum apple_dma_rec_state {
	APPLE_DMA_REC_PENDING,
	APPLE_DMA_REC_LIVE,
	APPLE_DMA_REC_UNMAPPING,
	APPLE_DMA_REC_DEAD,
};

/* Module parameters (apple_dma_main.c); the cache reads them at each use. */
extern bool apple_dma_strict;
extern unsigned int apple_dma_cache_idle_ms;
extern unsigned int apple_dma_cache_max_mappings;
extern unsigned long apple_dma_cache_max_bytes;

/**
 * struct apple_dma_mapping - one host registration
 * @base_node: node in apple_dma.by_base (PENDING, LIVE)
 * @bus_node: node in apple_dma.by_bus (LIVE)
 * @list: pending-map or unmap queue of the current call
 * @lru: apple_dma.idle while idle (LIVE, refs == 0)
 * @owner: the mapping call that created it (PENDING)
 * @idle_since: jiffies when it became idle
 * @base: guest-physical base, also the host's key (16 KiB aligned)
 * @size: bytes registered
 * @bus: bus address of @base (LIVE)
 * @refs: mappings handed out that are backed by this record
 * @state: enum apple_dma_rec_state
 * @window: registered as a whole window_shift window
 */
struct apple_dma_mapping {
	struct rb_node base_node;
	struct rb_node bus_node;
	struct list_head list;
	struct list_head lru;
	const void *owner;
	unsigned long idle_since;
	u64 base;
	u64 size;
	dma_addr_t bus;
	unsigned int refs;
	u8 state;
	bool window;
};

/* One range of a mapping call (the caller's scratch). */
struct apple_dma_seg {
	u64 gpa;
	u64 len;		/* >= 1 */
	struct apple_dma_mapping *rec;
	dma_addr_t dma;
	bool exact;		/* its window was refused: map the range alone */
};

struct apple_dma_stats {
	u64 maps;
	u64 unmaps;
	u64 doorbells;
	u64 entries;
	u64 max_entries_per_doorbell;
	u64 window_hits;
	u64 host_maps;
	u64 host_unmaps;
	u64 map_failures;
	u64 unmap_unknown;
	u64 collisions;
	u64 live_mappings;
	u64 live_bytes;
	u64 peak_mappings;
	u64 peak_bytes;
	u64 host_map_errors;
	u64 host_unmap_errors;
	u64 status_reads;	/* doorbells completed by reading STATUS */
	u64 cache_hits;
	u64 evictions;
	u64 nospc_evictions;
	u64 idle_mappings;
	u64 idle_bytes;
	u64 doorbell_waits;
	u64 max_irqs_off_us;	/* longest db_lock hold (interrupts off) */
	u64 lock_holds;		/* of ad->lock by map and unmap calls */
	u64 lookups;		/* tree searches by map and unmap calls */
};

/**
 * struct apple_dma - one apple-dma-pci instance and its managed device
 * @ops: per-instance copy of the ops table installed on @managed, so an op
 *	finds its instance with container_of(get_dma_ops(dev))
 * @pdev: the apple-dma-pci function
 * @managed: the passthrough device whose DMA we translate (referenced)
 * @orig: ops the managed device had before us (usually NULL: dma-direct);
 *	written by probe and the bus notifier, read with READ_ONCE
 * @regs: BAR0
 * @max_batch: entries per doorbell, <= MAX_ENTRIES
 * @window_shift: 0 or APPLE_DMA_WINDOW_SHIFT_MIN..MAX
 * @sync_doorbell: a DOORBELL write completes after its batch: the command
 *	page's status is read instead of STATUS (FEATURES, doorbell_status)
 * @holds_module: the managed device has a driver, which may still free
 *	through our ops: a module reference keeps apple_dma loaded
 * @db_lock: the command page and the arrays, for one batch (apple_dma_host.c)
 * @max_irqs_off_us: the longest @db_lock hold (interrupts off), under @db_lock
 * @cmd: command page (linear-map memory the host reads)
 * @req: request array, @max_batch entries
 * @resp: response array, @max_batch entries
 * @batch: records of the batch in flight
 * @lock: protects the records, trees, idle list, counters and @reaper_armed
 * @by_base: records keyed by base GPA (reuse lookups)
 * @by_bus: LIVE records keyed by bus range (unmap lookups)
 * @idle: idle records, oldest first (cache mode)
 * @stats: counters
 * @reaper: releases idle records (apple_dma_cache.c)
 * @reaper_armed: @reaper is queued or running and will look again
 * @cmd_gpa: guest-physical address of @cmd
 * @req_gpa: guest-physical address of @req
 * @resp_gpa: guest-physical address of @resp
 * @nb: PCI bus notifier (re-installs @ops when a driver binds @managed)
 * @users: ops currently running on this instance
 * @drain_wq: remove() waits here for @users to reach 0
 * @dying: set by remove() before the original ops are restored
 * @debugfs: per-instance debugfs directory
 * @node: in the list of instances (module parameter changes)
 */
struct apple_dma {
	struct dma_map_ops ops;
	struct pci_dev *pdev;
	struct pci_dev *managed;
	const struct dma_map_ops *orig;
	void __iomem *regs;
	u32 max_batch;
	unsigned int window_shift;
	bool sync_doorbell;
	bool holds_module;

	spinlock_t db_lock;
	u64 max_irqs_off_us;		/* under db_lock; copied into the stats */
	struct apple_dma_cmd *cmd;
	void *req;
	void *resp;
	struct apple_dma_mapping **batch;

	spinlock_t lock;
	struct rb_root by_base;
	struct rb_root by_bus;
	struct list_head idle;
	struct apple_dma_stats stats;
	struct delayed_work reaper;
	bool reaper_armed;

	phys_addr_t cmd_gpa;
	phys_addr_t req_gpa;
	phys_addr_t resp_gpa;

	struct notifier_block nb;
	atomic_t users;
	wait_queue_head_t drain_wq;
	bool dying;
	struct dentry *debugfs;
	struct list_head node;
};

/* apple_dma_map.c: records, windows, refcounts; the entry points. Any context. */
int apple_dma_map_module_init(void);
void apple_dma_map_module_exit(void);
dma_addr_t apple_dma_map_range(struct apple_dma *ad, u64 gpa, size_t size,
			       u64 mask);
int apple_dma_unmap_range(struct apple_dma *ad, dma_addr_t addr, size_t size,
			  u64 *gpa);
int apple_dma_translate(struct apple_dma *ad, dma_addr_t addr, u64 *gpa);
int apple_dma_map_sg_ranges(struct apple_dma *ad, struct scatterlist *sgl,
			    int nents, u64 mask, bool from_dma);
void apple_dma_unmap_sg_ranges(struct apple_dma *ad, struct scatterlist *sgl,
			       int nents, bool restore);
void apple_dma_unmap_all(struct apple_dma *ad);
void apple_dma_snapshot_stats(struct apple_dma *ad, struct apple_dma_stats *s);
void apple_dma_dump_mappings(struct apple_dma *ad, struct seq_file *m);
/* for apple_dma_host.c and apple_dma_cache.c, ad->lock held */
bool apple_dma_rec_make_live(struct apple_dma *ad, struct apple_dma_mapping *rec,
			     dma_addr_t bus);
void apple_dma_rec_make_dead(struct apple_dma *ad, struct apple_dma_mapping *rec);
void apple_dma_rec_start_unmap(struct apple_dma *ad,
			       struct apple_dma_mapping *rec,
			       struct list_head *q);
void apple_dma_rec_retire(struct apple_dma *ad, struct apple_dma_mapping *rec);

/* apple_dma_host.c: the wire protocol. Any context, ad->lock not held. */
void apple_dma_host_map(struct apple_dma *ad, struct list_head *pending);
void apple_dma_host_unmap(struct apple_dma *ad, struct list_head *q);

/* apple_dma_cache.c: idle mappings (cache mode) */
void apple_dma_cache_init(struct apple_dma *ad);
void apple_dma_cache_put(struct apple_dma *ad, struct apple_dma_mapping *rec);
void apple_dma_cache_take(struct apple_dma *ad, struct apple_dma_mapping *rec);
unsigned int apple_dma_cache_evict_all(struct apple_dma *ad, struct list_head *q);
void apple_dma_cache_flush(struct apple_dma *ad);
void apple_dma_cache_kick(struct apple_dma *ad);
void apple_dma_cache_stop(struct apple_dma *ad);

/* apple_dma_ops.c */
extern const struct dma_map_ops apple_dma_ops_template;

#endif /* APPLE_DMA_H */
