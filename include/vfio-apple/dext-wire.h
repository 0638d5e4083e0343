/* SPDX-License-Identifier: GPL-2.0-or-later OR MIT */
/*
 * The Linux transport of the dext interface: dextd's UNIX socket
 * (SOCK_SEQPACKET, so one datagram is one message).
 *
 * Every message is a 24-byte header followed by n_scalars 64-bit scalars,
 * in host byte order (both ends are on one machine); a message carries at
 * most DEXT_WIRE_MAX_SCALARS of them.
 * A reply echoes the id of its request. A reply, or a DEXT_CTL_SHARE_MEMORY
 * request, may carry one file descriptor (SCM_RIGHTS) when DEXT_WIRE_F_FD
 * is set.
 *
 * A connection is one user client. Before any selector it is bound to one
 * PCI function with DEXT_CTL_OPEN (IOServiceOpen on macOS). Selectors
 * (dext-abi.h) travel as DEXT_MSG_CALL, the rest as DEXT_MSG_CONTROL.
 * Requests are answered in order. WaitInterrupt is answered at once (armed,
 * or an error) like IOConnectCallAsyncMethod; its completion comes later as
 * a DEXT_MSG_ASYNC carrying the request's id, when a vector is pending (at
 * once if one already is). See docs/protocols.md.
 */
#ifndef VFIO_APPLE_DEXT_WIRE_H
#define VFIO_APPLE_DEXT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DEXT_WIRE_VERSION	1
#define DEXT_WIRE_MAX_SCALARS	16
#define DEXT_WIRE_MAX_SIZE	(sizeof(struct dext_wire_hdr) + DEXT_WIRE_MAX_SCALARS * 8)

enum dext_msg_type {
	DEXT_MSG_CALL = 1,	/* op = enum dext_selector */
	DEXT_MSG_CONTROL = 2,	/* op = enum dext_control */
	DEXT_MSG_REPLY = 3,	/* op echoes the request's op */
	DEXT_MSG_ASYNC = 4,	/* completion of an armed WaitInterrupt, its id */
};

enum dext_control {
	/* in: wire version. out: wire version, number of functions. */
	DEXT_CTL_HELLO = 1,
	/* in: index. out: bus, dev, fn, vendor, device, class. -ENOENT past the end. */
	DEXT_CTL_ENUM = 2,
	/* in: bus, dev, fn. Binds this connection to the function. */
	DEXT_CTL_OPEN = 3,
	/* in: memory type. out: size, mmap offset; fd attached. */
	DEXT_CTL_MAP_MEMORY = 4,
	/* in: function index. out: the enum dext_status_field scalars. */
	DEXT_CTL_STATUS = 5,
	/* in: function index, n (0 = newest). out: seq, stream, iova, access. */
	DEXT_CTL_FAULT = 6,
	/*
	 * Linux extension, no macOS counterpart. in: client VA, length, offset;
	 * request fd (F_FD): memory the client has mapped MAP_SHARED at VA from
	 * that fd at offset. dextd maps it and reaches DART targets inside it in
	 * place rather than with process_vm_readv/writev. Page-aligned;
	 * -EEXIST overlapping a shared range, -ENOSPC past
	 * DEXT_WIRE_MAX_SHARED per connection.
	 */
	DEXT_CTL_SHARE_MEMORY = 7,
	/*
	 * in: client VA a DEXT_CTL_SHARE_MEMORY gave. Answered once no device
	 * access is using the range any more (drained) and dextd has unmapped it;
	 * the client may unmap its own mapping after the reply. -ENOENT unknown.
	 */
	DEXT_CTL_UNSHARE_MEMORY = 8,
};

#define DEXT_WIRE_MAX_SHARED	64	/* shared ranges per connection */

/* DEXT_CTL_STATUS output, in this order. */
enum dext_status_field {
	DEXT_STATUS_BDF,		/* bus << 8 | dev << 3 | fn */
	DEXT_STATUS_CLAIMS,		/* claim references held */
	DEXT_STATUS_CLIENTS,		/* open connections */
	DEXT_STATUS_VECTORS,		/* set up by SetupInterrupts */
	DEXT_STATUS_MAPPINGS,		/* live DART mappings */
	DEXT_STATUS_BYTES,		/* live registered bytes */
	DEXT_STATUS_PEAK_MAPPINGS,
	DEXT_STATUS_PEAK_BYTES,
	DEXT_STATUS_FAULTS,		/* DART faults recorded */
	DEXT_STATUS_IRQS,		/* interrupts signalled (a raise while pending joins it) */
	DEXT_STATUS_RESETS,
	DEXT_STATUS_BAR_WRITES,		/* config writes that reached BAR registers */
	/*
	 * Registrations whose client address and key differ modulo 16 KiB.
	 * The server keys by GPA, and on a Mac guest RAM is congruent to its
	 * GPA modulo the 16 KiB host page, so there this is always 0.
	 */
	DEXT_STATUS_OFFSET_MISMATCH,
	DEXT_STATUS_COUNT
};

#define DEXT_WIRE_F_FD		(1u << 0)

struct dext_wire_hdr {
	uint32_t size;		/* whole message, header included */
	uint16_t type;		/* enum dext_msg_type */
	uint16_t op;		/* selector or control op */
	uint32_t id;		/* chosen by the client, echoed by the reply */
	int32_t error;		/* reply: 0 or a negative errno */
	uint16_t n_scalars;	/* scalars following the header */
	uint16_t n_out;		/* request: output scalars the caller accepts */
	uint32_t flags;		/* DEXT_WIRE_F_* */
};

_Static_assert(sizeof(struct dext_wire_hdr) == 24, "dext wire header");
_Static_assert(offsetof(struct dext_wire_hdr, type) == 4, "hdr.type");
_Static_assert(offsetof(struct dext_wire_hdr, op) == 6, "hdr.op");
_Static_assert(offsetof(struct dext_wire_hdr, id) == 8, "hdr.id");
_Static_assert(offsetof(struct dext_wire_hdr, error) == 12, "hdr.error");
_Static_assert(offsetof(struct dext_wire_hdr, n_scalars) == 16, "hdr.n_scalars");
_Static_assert(offsetof(struct dext_wire_hdr, n_out) == 18, "hdr.n_out");
_Static_assert(offsetof(struct dext_wire_hdr, flags) == 20, "hdr.flags");
_Static_assert(DEXT_CTL_SHARE_MEMORY == 7 && DEXT_CTL_UNSHARE_MEMORY == 8, "control ops");

#endif /* VFIO_APPLE_DEXT_WIRE_H */
