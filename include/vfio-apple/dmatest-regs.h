/* SPDX-License-Identifier: GPL-2.0-or-later OR MIT */
/*
 * dmatest: a simulated PCI function whose DMA engine only reaches memory
 * through the DART. Shared by dextd (the device) and the guest test module.
 *
 * PCI 1234:11f0 (1234 is the unassigned vendor id QEMU uses for test
 * devices), class 0x00ff00 (unclassified).
 *
 * BAR0  4 KiB   registers below (32-bit memory BAR, trapped)
 * BAR2  64 KiB  scratch RAM (64-bit prefetchable, mappable)
 * BAR4  4 KiB   MSI-X table (DMATEST_MSIX_VECTORS entries) at 0, PBA at 0x800
 *
 * Programming: write SRC/DST/LEN/PATTERN/VECTOR, then CMD (the doorbell).
 * The engine runs asynchronously: STATUS shows BUSY until it ends with DONE
 * or ERROR, then the MSI-X vector VECTOR is raised. Every memory access goes
 * through the DART by IOVA; an access outside a live mapping is a DART fault:
 * the operation stops with ERROR, FAULT_IOVA names the address, and the
 * access itself does nothing. 64-bit registers may be accessed as one 8-byte
 * access or as two 4-byte halves (low half first for writes).
 */
#ifndef VFIO_APPLE_DMATEST_REGS_H
#define VFIO_APPLE_DMATEST_REGS_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
typedef __u32 dmatest_u32;
typedef __u64 dmatest_u64;
#else
#include <stddef.h>
#include <stdint.h>
typedef uint32_t dmatest_u32;
typedef uint64_t dmatest_u64;
#endif

#define DMATEST_VENDOR_ID	0x1234
#define DMATEST_DEVICE_ID	0x11f0
#define DMATEST_CLASS		0x00ff00
#define DMATEST_ID_VALUE	0x444d4154	/* "DMAT" */
#define DMATEST_VERSION_VALUE	1
#define DMATEST_MSIX_VECTORS	4
#define DMATEST_BAR0_SIZE	0x1000
#define DMATEST_BAR2_SIZE	0x10000
#define DMATEST_BAR4_SIZE	0x1000
#define DMATEST_MSIX_PBA_OFFSET	0x800
#define DMATEST_MAX_LEN		(64ull << 20)	/* longest single operation */

struct dmatest_regs {
	dmatest_u32 id;		/* RO DMATEST_ID_VALUE */
	dmatest_u32 version;	/* RO DMATEST_VERSION_VALUE */
	dmatest_u64 src;	/* RW source IOVA */
	dmatest_u64 dst;	/* RW destination IOVA */
	dmatest_u64 len;	/* RW bytes, 1..DMATEST_MAX_LEN */
	dmatest_u32 pattern;	/* RW FILL byte (low 8 bits) */
	dmatest_u32 vector;	/* RW MSI-X vector raised at the end */
	dmatest_u32 cmd;	/* WO doorbell: enum dmatest_cmd */
	dmatest_u32 status;	/* RO enum dmatest_status bits; reading does not clear */
	dmatest_u64 result;	/* RO CHECKSUM result */
	dmatest_u64 bytes_done;	/* RO bytes processed before the end or fault */
	dmatest_u64 fault_iova;	/* RO IOVA of the last fault */
	dmatest_u32 completions; /* RO operations ended (DONE or ERROR) */
	dmatest_u32 faults;	/* RO operations ended by a DART fault */
};

#define DMATEST_REG_ID		offsetof(struct dmatest_regs, id)
#define DMATEST_REG_VERSION	offsetof(struct dmatest_regs, version)
#define DMATEST_REG_SRC		offsetof(struct dmatest_regs, src)
#define DMATEST_REG_DST		offsetof(struct dmatest_regs, dst)
#define DMATEST_REG_LEN		offsetof(struct dmatest_regs, len)
#define DMATEST_REG_PATTERN	offsetof(struct dmatest_regs, pattern)
#define DMATEST_REG_VECTOR	offsetof(struct dmatest_regs, vector)
#define DMATEST_REG_CMD		offsetof(struct dmatest_regs, cmd)
#define DMATEST_REG_STATUS	offsetof(struct dmatest_regs, status)
#define DMATEST_REG_RESULT	offsetof(struct dmatest_regs, result)
#define DMATEST_REG_BYTES_DONE	offsetof(struct dmatest_regs, bytes_done)
#define DMATEST_REG_FAULT_IOVA	offsetof(struct dmatest_regs, fault_iova)
#define DMATEST_REG_COMPLETIONS	offsetof(struct dmatest_regs, completions)
#define DMATEST_REG_FAULTS	offsetof(struct dmatest_regs, faults)

enum dmatest_cmd {
	DMATEST_CMD_COPY = 1,		/* LEN bytes from SRC to DST */
	DMATEST_CMD_FILL = 2,		/* LEN bytes of PATTERN at DST */
	DMATEST_CMD_CHECKSUM = 3,	/* FNV-1a 64 of LEN bytes at SRC into RESULT */
	DMATEST_CMD_RAISE = 4,		/* raise VECTOR, no memory access */
};

enum dmatest_status {
	DMATEST_STATUS_BUSY = 1u << 0,
	DMATEST_STATUS_DONE = 1u << 1,
	DMATEST_STATUS_ERROR = 1u << 2,	/* DART fault or bad LEN/CMD */
};

/* FNV-1a 64-bit, the CHECKSUM function. */
#define DMATEST_FNV_OFFSET	0xcbf29ce484222325ull
#define DMATEST_FNV_PRIME	0x100000001b3ull

_Static_assert(sizeof(struct dmatest_regs) == 0x50, "dmatest registers");
_Static_assert(offsetof(struct dmatest_regs, src) == 0x08, "SRC");
_Static_assert(offsetof(struct dmatest_regs, dst) == 0x10, "DST");
_Static_assert(offsetof(struct dmatest_regs, len) == 0x18, "LEN");
_Static_assert(offsetof(struct dmatest_regs, pattern) == 0x20, "PATTERN");
_Static_assert(offsetof(struct dmatest_regs, vector) == 0x24, "VECTOR");
_Static_assert(offsetof(struct dmatest_regs, cmd) == 0x28, "CMD");
_Static_assert(offsetof(struct dmatest_regs, status) == 0x2c, "STATUS");
_Static_assert(offsetof(struct dmatest_regs, result) == 0x30, "RESULT");
_Static_assert(offsetof(struct dmatest_regs, bytes_done) == 0x38, "BYTES_DONE");
_Static_assert(offsetof(struct dmatest_regs, fault_iova) == 0x40, "FAULT_IOVA");
_Static_assert(offsetof(struct dmatest_regs, completions) == 0x48, "COMPLETIONS");
_Static_assert(offsetof(struct dmatest_regs, faults) == 0x4c, "FAULTS");

#endif /* VFIO_APPLE_DMATEST_REGS_H */
