/* SPDX-License-Identifier: GPL-2.0-or-later OR MIT */
/*
 * apple-dma-pci: the paravirtual DMA-mapping companion device, ABI version 2.
 *
 * This header is the single definition of the device's guest-visible
 * interface. It is included verbatim by the host server (userspace C11) and
 * by the guest kernel module (kernel C), so it uses only fixed-width types
 * and no library calls. Layout is exactly that of the reference QEMU device
 * (RFC hw/vfio/apple-dma.c); see docs/protocols.md for the rules.
 *
 * All multi-byte fields are little-endian, in BAR0 and in guest RAM.
 *
 * Flow: the guest writes the GPA of a 32-byte command page to CMD_GPA_LO/HI
 * once; per batch it fills the command page and a request array in RAM and
 * writes DOORBELL; the device processes every entry, writes one response
 * per request and the overall status (command page and STATUS register).
 * Doorbell writes may be posted: the guest reads STATUS afterwards, which
 * cannot complete before the batch has been processed - unless FEATURES
 * has APPLE_DMA_FEATURE_SYNC_DOORBELL, which promises that the DOORBELL
 * write itself completes only after the batch (statuses and responses are
 * in guest RAM before the guest's next instruction), as on the reference
 * platform, where the doorbell is handled in the MMIO exit.
 */
#ifndef VFIO_APPLE_APPLE_DMA_ABI_H
#define VFIO_APPLE_APPLE_DMA_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
typedef __le32 apple_dma_le32;
typedef __le64 apple_dma_le64;
#else
#include <stddef.h>
#include <stdint.h>
typedef uint32_t apple_dma_le32;
typedef uint64_t apple_dma_le64;
#endif

#define APPLE_DMA_PCI_VENDOR_ID		0x1b36	/* Red Hat, Inc. (QEMU) */
#define APPLE_DMA_PCI_DEVICE_ID		0x0015
#define APPLE_DMA_PCI_CLASS		0x0880	/* system peripheral, other */
#define APPLE_DMA_VERSION		2
#define APPLE_DMA_BAR0_SIZE		0x1000
#define APPLE_DMA_DEFAULT_MAX_ENTRIES	4096
/*
 * Ours: BAR2 is one host page of scratch memory with no function (the
 * guest may ignore it; its contents are unspecified). vfio-user servers
 * give it so that the client may mmap it, which makes QEMU send every BAR
 * write synchronously: see APPLE_DMA_FEATURE_SYNC_DOORBELL.
 */
#define APPLE_DMA_SCRATCH_BAR		2
/*
 * Ours: once the platform is lost (the dext gone), maps are answered at
 * APPLE_DMA_LOST_BUS_BASE + gpa; the reference answers gpa itself when it
 * has no dext. The device is gone, so nothing DMAs there, but the guest
 * still holds bus addresses the platform gave before the loss (queues
 * allocated once, for example): an identity answer can overlap one of them,
 * the guest refuses it, and a driver that retries a failed map would retry
 * it forever. No DART aperture reaches this base, so the answer cannot
 * overlap; a device whose DMA mask is narrower refuses it as it would any
 * address beyond its mask.
 */
#define APPLE_DMA_LOST_BUS_BASE		(1ull << 62)

/* BAR0 register block. Every register is 32 bits; accesses are 4 bytes. */
struct apple_dma_regs {
	apple_dma_le32 version;		/* R: APPLE_DMA_VERSION */
	apple_dma_le32 managed_bdf;	/* R: guest bus << 8 | devfn of the managed device */
	apple_dma_le32 max_entries;	/* R: most entries one doorbell may carry */
	apple_dma_le32 status;		/* R: enum apple_dma_status of the last doorbell */
	apple_dma_le32 cmd_gpa_lo;	/* W: command page GPA [31:0] */
	apple_dma_le32 cmd_gpa_hi;	/* W: command page GPA [63:32] */
	apple_dma_le32 doorbell;	/* W: any value processes one batch */
	apple_dma_le32 features;	/* R: APPLE_DMA_FEATURE_* (ours; 0 on the reference) */
};

#define APPLE_DMA_REG_VERSION		offsetof(struct apple_dma_regs, version)
#define APPLE_DMA_REG_MANAGED_BDF	offsetof(struct apple_dma_regs, managed_bdf)
#define APPLE_DMA_REG_MAX_ENTRIES	offsetof(struct apple_dma_regs, max_entries)
#define APPLE_DMA_REG_STATUS		offsetof(struct apple_dma_regs, status)
#define APPLE_DMA_REG_CMD_GPA_LO	offsetof(struct apple_dma_regs, cmd_gpa_lo)
#define APPLE_DMA_REG_CMD_GPA_HI	offsetof(struct apple_dma_regs, cmd_gpa_hi)
#define APPLE_DMA_REG_DOORBELL		offsetof(struct apple_dma_regs, doorbell)
#define APPLE_DMA_REG_FEATURES		offsetof(struct apple_dma_regs, features)

/*
 * FEATURES bits. A device that reads 0 (the reference device, whose unused
 * registers read 0) promises nothing beyond the flow above.
 *
 * SYNC_DOORBELL: a DOORBELL write completes only after the batch has been
 * processed; a guest may read the command page's status (and responses)
 * right after the write, after a full barrier, without reading STATUS.
 */
#define APPLE_DMA_FEATURE_SYNC_DOORBELL	(1u << 0)

enum apple_dma_cmd_type {
	APPLE_DMA_CMD_MAP = 1,
	APPLE_DMA_CMD_UNMAP = 2,
};

/* Status of a batch (command page, STATUS register) and of each entry. */
enum apple_dma_status {
	APPLE_DMA_STATUS_OK = 0,
	APPLE_DMA_STATUS_IOERR = 1,	/* an entry failed; others may have succeeded */
	APPLE_DMA_STATUS_INVAL = 3,	/* the command itself is malformed */
};

/* The command page, in guest RAM at CMD_GPA. */
struct apple_dma_cmd {
	apple_dma_le32 type;		/* enum apple_dma_cmd_type */
	apple_dma_le32 count;		/* entries, 1..MAX_ENTRIES */
	apple_dma_le32 status;		/* written by the device */
	apple_dma_le32 reserved;
	apple_dma_le64 req_gpa;		/* GPA of the request array */
	apple_dma_le64 resp_gpa;	/* GPA of the response array */
};

/* MAP: register guest RAM [gpa, gpa + len) for DMA by the managed device. */
struct apple_dma_map_req {
	apple_dma_le64 gpa;
	apple_dma_le32 len;
	apple_dma_le32 flags;		/* must be 0 */
};

/*
 * On success every field is written: id is the key to unmap with (the
 * GPA), dma_addr the platform-assigned bus address of gpa, dma_len the
 * length of the contiguous bus range (callers must check it covers len).
 * On failure only status is written.
 */
struct apple_dma_map_resp {
	apple_dma_le64 id;
	apple_dma_le64 dma_addr;
	apple_dma_le32 dma_len;
	apple_dma_le32 status;
};

/* UNMAP: drop the mapping registered under id. size is informational. */
struct apple_dma_unmap_req {
	apple_dma_le64 id;
	apple_dma_le64 size;
};

struct apple_dma_unmap_resp {
	apple_dma_le64 id;
	apple_dma_le32 status;
	apple_dma_le32 reserved;
};

_Static_assert(sizeof(struct apple_dma_regs) == 0x20, "apple-dma BAR0 registers");
_Static_assert(offsetof(struct apple_dma_regs, version) == 0x00, "VERSION");
_Static_assert(offsetof(struct apple_dma_regs, managed_bdf) == 0x04, "MANAGED_BDF");
_Static_assert(offsetof(struct apple_dma_regs, max_entries) == 0x08, "MAX_ENTRIES");
_Static_assert(offsetof(struct apple_dma_regs, status) == 0x0c, "STATUS");
_Static_assert(offsetof(struct apple_dma_regs, cmd_gpa_lo) == 0x10, "CMD_GPA_LO");
_Static_assert(offsetof(struct apple_dma_regs, cmd_gpa_hi) == 0x14, "CMD_GPA_HI");
_Static_assert(offsetof(struct apple_dma_regs, doorbell) == 0x18, "DOORBELL");
_Static_assert(offsetof(struct apple_dma_regs, features) == 0x1c, "FEATURES");

_Static_assert(sizeof(struct apple_dma_cmd) == 32, "command page");
_Static_assert(offsetof(struct apple_dma_cmd, type) == 0x00, "cmd.type");
_Static_assert(offsetof(struct apple_dma_cmd, count) == 0x04, "cmd.count");
_Static_assert(offsetof(struct apple_dma_cmd, status) == 0x08, "cmd.status");
_Static_assert(offsetof(struct apple_dma_cmd, reserved) == 0x0c, "cmd.reserved");
_Static_assert(offsetof(struct apple_dma_cmd, req_gpa) == 0x10, "cmd.req_gpa");
_Static_assert(offsetof(struct apple_dma_cmd, resp_gpa) == 0x18, "cmd.resp_gpa");

_Static_assert(sizeof(struct apple_dma_map_req) == 16, "map request");
_Static_assert(offsetof(struct apple_dma_map_req, gpa) == 0, "map_req.gpa");
_Static_assert(offsetof(struct apple_dma_map_req, len) == 8, "map_req.len");
_Static_assert(offsetof(struct apple_dma_map_req, flags) == 12, "map_req.flags");

_Static_assert(sizeof(struct apple_dma_map_resp) == 24, "map response");
_Static_assert(offsetof(struct apple_dma_map_resp, id) == 0, "map_resp.id");
_Static_assert(offsetof(struct apple_dma_map_resp, dma_addr) == 8, "map_resp.dma_addr");
_Static_assert(offsetof(struct apple_dma_map_resp, dma_len) == 16, "map_resp.dma_len");
_Static_assert(offsetof(struct apple_dma_map_resp, status) == 20, "map_resp.status");

_Static_assert(sizeof(struct apple_dma_unmap_req) == 16, "unmap request");
_Static_assert(offsetof(struct apple_dma_unmap_req, id) == 0, "unmap_req.id");
_Static_assert(offsetof(struct apple_dma_unmap_req, size) == 8, "unmap_req.size");

_Static_assert(sizeof(struct apple_dma_unmap_resp) == 16, "unmap response");
_Static_assert(offsetof(struct apple_dma_unmap_resp, id) == 0, "unmap_resp.id");
_Static_assert(offsetof(struct apple_dma_unmap_resp, status) == 8, "unmap_resp.status");
_Static_assert(offsetof(struct apple_dma_unmap_resp, reserved) == 12, "unmap_resp.reserved");

#endif /* VFIO_APPLE_APPLE_DMA_ABI_H */
