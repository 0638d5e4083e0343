/* SPDX-License-Identifier: GPL-2.0-or-later OR MIT */
/*
 * The dext user-client interface: what VFIOUserPCIDriver offers a client.
 *
 * On macOS these are IOConnectCallMethod selectors and
 * IOConnectMapMemory64 memory types of the VFIOUserPCIDriver user client.
 * On Linux dextd serves the same interface over a UNIX socket
 * (dext-wire.h). Both carry 64-bit scalars only; the scalar counts below
 * are checked exactly, as IOKit's dispatch table does.
 *
 * One user client (one connection) is bound to one PCI function.
 */
#ifndef VFIO_APPLE_DEXT_ABI_H
#define VFIO_APPLE_DEXT_ABI_H

#include <stddef.h>
#include <stdint.h>

enum dext_selector {
	DEXT_SEL_GET_IDENTITY = 0,
	DEXT_SEL_CLAIM = 1,
	DEXT_SEL_TERMINATE = 2,
	DEXT_SEL_ALLOCATE_DMA_BUFFER = 3,
	DEXT_SEL_FREE_DMA_BUFFER = 4,
	DEXT_SEL_REGISTER_DMA_REGION = 5,
	DEXT_SEL_UNREGISTER_DMA_REGION = 6,
	DEXT_SEL_PROBE_DMA_REGION = 7,
	DEXT_SEL_CONFIG_READ = 8,
	DEXT_SEL_CONFIG_WRITE = 9,
	DEXT_SEL_GET_BAR_INFO = 10,
	DEXT_SEL_MMIO_READ = 11,
	DEXT_SEL_MMIO_WRITE = 12,
	DEXT_SEL_SETUP_INTERRUPTS = 13,
	DEXT_SEL_CHECK_INTERRUPT = 14,
	DEXT_SEL_WAIT_INTERRUPT = 15,	/* asynchronous, one-shot */
	DEXT_SEL_SET_IRQ_MASK = 16,
	DEXT_SEL_RESET_DEVICE = 17,
	DEXT_SEL_COUNT
};

/*
 * Scalar inputs and outputs of each selector:
 *
 *  sel  name                 in                              out
 *   0   GetIdentity          -                               bus, dev, fn, vendor, device, class (24-bit)
 *   1   Claim                -                               -
 *   2   Terminate            -                               -
 *   3   AllocateDMABuffer    size, alignment (0 = 4096)      size, dma flags, segments, seg0 addr, seg0 len, class
 *   4   FreeDMABuffer        -                               -
 *   5   RegisterDMARegion    key, client VA, size            segments (1), bus addr, bus len
 *   6   UnregisterDMARegion  key                             -
 *   7   ProbeDMARegion       key, offset                     u64 read at offset
 *   8   ConfigRead           offset, width (1/2/4)           value
 *   9   ConfigWrite          offset, width, value            -
 *  10   GetBARInfo           bar                             memory index, size, type
 *  11   MMIORead             memory index, offset, width     value
 *  12   MMIOWrite            memory index, offset, width, v  -
 *  13   SetupInterrupts      -                               vectors
 *  14   CheckInterrupt       -                               pending[0..3] (read and cleared)
 *  15   WaitInterrupt        -                               - (completes when a vector is pending)
 *  16   SetIRQMask           enabled[0..3]                   -
 *
 * Interrupt state (14-16, memory type 7) belongs to the user client that
 * called SetupInterrupts; for any other client it is NotReady. Arming
 * WaitInterrupt while armed replaces the armed one. Methods that need the
 * claim return NotOpen without it (docs/protocols.md lists which).
 *  17   ResetDevice          -                               -
 */
struct dext_selector_info {
	const char *name;
	uint8_t scalars_in;
	uint8_t scalars_out;
};

/* The selector's table entry, or NULL for an unknown selector. */
static inline const struct dext_selector_info *dext_selector_info(uint32_t sel)
{
	static const struct dext_selector_info table[DEXT_SEL_COUNT] = {
		[DEXT_SEL_GET_IDENTITY] = { "GetIdentity", 0, 6 },
		[DEXT_SEL_CLAIM] = { "Claim", 0, 0 },
		[DEXT_SEL_TERMINATE] = { "Terminate", 0, 0 },
		[DEXT_SEL_ALLOCATE_DMA_BUFFER] = { "AllocateDMABuffer", 2, 6 },
		[DEXT_SEL_FREE_DMA_BUFFER] = { "FreeDMABuffer", 0, 0 },
		[DEXT_SEL_REGISTER_DMA_REGION] = { "RegisterDMARegion", 3, 3 },
		[DEXT_SEL_UNREGISTER_DMA_REGION] = { "UnregisterDMARegion", 1, 0 },
		[DEXT_SEL_PROBE_DMA_REGION] = { "ProbeDMARegion", 2, 1 },
		[DEXT_SEL_CONFIG_READ] = { "ConfigRead", 2, 1 },
		[DEXT_SEL_CONFIG_WRITE] = { "ConfigWrite", 3, 0 },
		[DEXT_SEL_GET_BAR_INFO] = { "GetBARInfo", 1, 3 },
		[DEXT_SEL_MMIO_READ] = { "MMIORead", 3, 1 },
		[DEXT_SEL_MMIO_WRITE] = { "MMIOWrite", 4, 0 },
		[DEXT_SEL_SETUP_INTERRUPTS] = { "SetupInterrupts", 0, 1 },
		[DEXT_SEL_CHECK_INTERRUPT] = { "CheckInterrupt", 0, 4 },
		[DEXT_SEL_WAIT_INTERRUPT] = { "WaitInterrupt", 0, 0 },
		[DEXT_SEL_SET_IRQ_MASK] = { "SetIRQMask", 4, 0 },
		[DEXT_SEL_RESET_DEVICE] = { "ResetDevice", 0, 0 },
	};

	return sel < DEXT_SEL_COUNT ? &table[sel] : NULL;
}

/* Memory types for IOConnectMapMemory64 (on Linux: DEXT_CTL_MAP_MEMORY). */
enum dext_memory_type {
	DEXT_MEM_DMA_BUFFER = 0,	/* the AllocateDMABuffer buffer */
	DEXT_MEM_BAR0 = 1,		/* BAR n is 1 + n, not the memory index */
	DEXT_MEM_BAR5 = 6,
	DEXT_MEM_IRQ_STATE = 7,		/* struct dext_irq_state page */
	DEXT_MEM_TYPE_COUNT
};

/* PCI BAR type bits as GetBARInfo and synthesised config reads give them. */
#define DEXT_BAR_TYPE_IO		0x01
#define DEXT_BAR_TYPE_MEM64		0x04
#define DEXT_BAR_TYPE_PREFETCH		0x08

/* The interrupt state page (memory type 7). */
#define DEXT_IRQ_WORDS			4
#define DEXT_MAX_IRQ_VECTORS		(DEXT_IRQ_WORDS * 64)
#define DEXT_IRQ_STATE_SIZE		16384

struct dext_irq_state {
	uint64_t pending[DEXT_IRQ_WORDS];	/* dext sets, client clears */
	uint64_t enabled[DEXT_IRQ_WORDS];	/* client writes, dext reads */
};
_Static_assert(sizeof(struct dext_irq_state) == 0x40, "irq state");
_Static_assert(__builtin_offsetof(struct dext_irq_state, enabled) == 0x20, "irq enabled");

/* Platform limits (DriverKit + DART as the reference dext enforces them). */
#define DEXT_DART_PAGE_SHIFT		14
#define DEXT_DART_PAGE_SIZE		(1ull << DEXT_DART_PAGE_SHIFT)	/* 16 KiB */
#define DEXT_DMA_CHUNK_MAX		(1536ull << 20)	/* one PrepareForDMA */
#define DEXT_DMA_MAX_CHUNKS		128		/* per region */
/*
 * The mapping and byte limits are the function's DART domain's, shared by
 * all its clients (dextd applies them per function): every client's
 * registrations go into the one DART of the device, so a per-client count
 * would promise room the hardware does not have. The reference's 65,536
 * slot table is per user client, a software cap at the same number.
 */
#define DEXT_DMA_MAX_REGIONS		65536		/* live per function */
#define DEXT_DMA_TOTAL_DEFAULT		(1536ull << 20)	/* registered at once, per function */
#define DEXT_DMA_BUFFER_MAX		(1536ull << 20)
#define DEXT_DMA_BUFFER_ALIGN_DEFAULT	4096
#define DEXT_CONFIG_SPACE_SIZE		4096
#define DEXT_BAR_COUNT			6

/*
 * Return codes. macOS returns IOReturn values; the Linux transport carries
 * the negative errno in the second column. Clients see errno on both.
 */
#define DEXT_RETURN_CODES(X)						\
	X(SUCCESS,	0x00000000u, 0)		/* kIOReturnSuccess */	\
	X(NO_MEMORY,	0xe00002bdu, ENOMEM)	/* kIOReturnNoMemory */	\
	X(NO_DEVICE,	0xe00002c0u, ENODEV)	/* kIOReturnNoDevice */	\
	X(NOT_PRIVILEGED, 0xe00002c1u, EPERM)	/* kIOReturnNotPrivileged */ \
	X(BAD_ARGUMENT,	0xe00002c2u, EINVAL)	/* kIOReturnBadArgument */ \
	X(UNSUPPORTED,	0xe00002c7u, EOPNOTSUPP) /* kIOReturnUnsupported */ \
	X(IO_ERROR,	0xe00002cau, EIO)	/* kIOReturnIOError */	\
	X(NOT_ALIGNED,	0xe00002d0u, EFAULT)	/* kIOReturnNotAligned: not one segment */ \
	X(STILL_OPEN,	0xe00002d2u, EEXIST)	/* kIOReturnStillOpen: duplicate key, set up twice */ \
	X(BUSY,		0xe00002d5u, EBUSY)	/* kIOReturnBusy */	\
	X(NOT_READY,	0xe00002d8u, EAGAIN)	/* kIOReturnNotReady */	\
	X(NOT_ATTACHED,	0xe00002d9u, ECONNRESET) /* kIOReturnNotAttached: the dext instance is gone */ \
	X(NO_SPACE,	0xe00002dbu, ENOSPC)	/* kIOReturnNoSpace: a limit, > 128 chunks */ \
	X(OVERRUN,	0xe00002e8u, EOVERFLOW)	/* kIOReturnOverrun: ProbeDMARegion past the end */ \
	X(NOT_OPEN,	0xe00002cdu, ENOTCONN)	/* kIOReturnNotOpen: not claimed, no function bound */ \
	X(NOT_FOUND,	0xe00002f0u, ENOENT)	/* kIOReturnNotFound */

#endif /* VFIO_APPLE_DEXT_ABI_H */
