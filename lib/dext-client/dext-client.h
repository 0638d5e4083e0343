/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client library for the dext user-client interface (dext-abi.h). One
 * struct dext_client is one user client of one PCI function. Two
 * transports open one: dextd's socket (dext_client_connect() then
 * dext_client_open()) and, on macOS, IOKit (dext-client-iokit.h). The
 * selectors, WaitInterrupt and dext_client_map() work the same on both;
 * the "control" operations are dextd's own and return -EOPNOTSUPP on IOKit.
 *
 * Every function returns 0 or a negative errno (the dext's return codes
 * translated as in dext-abi.h); -ECONNRESET means dextd went away and the
 * client is unusable. Calls are synchronous. WaitInterrupt is the one
 * asynchronous method: dext_wait_interrupt() arms it, and its completion
 * is noticed by dext_client_dispatch() when dext_client_fd() is readable
 * (on the socket also by any later call); dext_client_take_wakeup()
 * reports it.
 *
 * Posted calls (dext_call_posted() and the *_posted helpers) do not wait
 * for their reply where the transport allows (the socket): the replies are
 * taken, in order, by any later call, dext_client_dispatch() or
 * dext_client_flush(), and a refusal is counted in
 * dext_client_posted_stats() rather than returned. Requests are served in
 * order, so a call made after a posted one sees its effect. On IOKit they
 * are synchronous, with the same reporting.
 *
 * Not thread-safe: use one client per thread, or serialise.
 */
#ifndef VFIO_APPLE_DEXT_CLIENT_H
#define VFIO_APPLE_DEXT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <vfio-apple/dext-abi.h>
#include <vfio-apple/dext-wire.h>

struct dext_client;

struct dext_identity {
	unsigned int bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_code;
};

struct dext_bar_info {
	uint32_t memory_index;
	uint64_t size;		/* 0: BAR not implemented */
	uint8_t type;		/* DEXT_BAR_TYPE_* */
};

struct dext_posted_stats {
	uint64_t sent;		/* posted calls made */
	uint64_t errors;	/* of them refused by the dext */
	int last_error;		/* the latest refusal (negative errno) */
	uint16_t last_selector;	/* and its selector */
};

struct dext_fault_info {
	uint64_t seq, iova;
	uint32_t stream;
	uint32_t access;	/* 1 device read, 2 device write */
};

/* The socket dextd serves by default: $VFIO_APPLE_DEXT_SOCKET, else /run/vfio-apple/dextd.sock. */
const char *dext_default_socket(void);

/* Connects and checks the wire version. timeout_ms bounds every reply (0 = 30 s). */
int dext_client_connect(const char *path, unsigned int timeout_ms, struct dext_client **out);
void dext_client_close(struct dext_client *c);
/*
 * Ends the session now, as closing would (the dext releases every
 * registration and the claim), but keeps @c valid: later calls fail at once
 * with -ECONNRESET instead of waiting for a reply. Close it later.
 */
void dext_client_shutdown(struct dext_client *c);
/*
 * Until cleared (@deadline_ns 0), a call whose reply has not arrived by
 * @deadline_ns (CLOCK_MONOTONIC) fails with -ETIMEDOUT, as when the
 * per-reply timeout expires: the client is then unusable (dextd may still
 * carry the request out). Lets a caller bound a sequence of calls, not just
 * each reply. -EOPNOTSUPP where the transport cannot bound a call (IOKit's
 * calls have no timeout).
 */
int dext_client_set_deadline(struct dext_client *c, uint64_t deadline_ns);
/* Readable when a WaitInterrupt completion has arrived. */
int dext_client_fd(const struct dext_client *c);
/* "socket" or "iokit". */
const char *dext_client_transport(const struct dext_client *c);

/*
 * Maps memory type (dext_memory_type) read-write into this process
 * (IOConnectMapMemory64 on macOS, the fd of DEXT_CTL_MAP_MEMORY on dextd).
 */
int dext_client_map(struct dext_client *c, unsigned int type, void **addr, uint64_t *size);
int dext_client_unmap(struct dext_client *c, unsigned int type, void *addr, uint64_t size);

/* dextd's control operations: enumerate, bind, map memory as an fd, status. */
int dext_client_count(struct dext_client *c, unsigned int *n);
int dext_client_enum(struct dext_client *c, unsigned int index, struct dext_identity *id);
int dext_client_open(struct dext_client *c, unsigned int bus, unsigned int dev, unsigned int fn);
/* An fd for memory type (dext_memory_type) to mmap at *offset for *size bytes. */
int dext_client_map_memory(struct dext_client *c, unsigned int type, int *fd, uint64_t *size,
			   uint64_t *offset);
int dext_client_status(struct dext_client *c, unsigned int index,
		       uint64_t out[DEXT_STATUS_COUNT]);
/* The n-th most recent DART fault of function index (0 = newest). */
int dext_client_fault(struct dext_client *c, unsigned int index, unsigned int n,
		      struct dext_fault_info *f);
/*
 * Linux extension (dextd only): shares [va, va + len), which this process
 * has mapped MAP_SHARED from fd at offset (fd sealed against shrinking, as
 * QEMU's memfd RAM is), so that device DMA into it is done in place.
 * Unshare before unmapping it: the reply comes once no device access uses
 * it. -EOPNOTSUPP on IOKit, where the dext reaches memory by address only.
 */
int dext_client_share_memory(struct dext_client *c, const void *va, uint64_t len, int fd,
			     uint64_t offset);
int dext_client_unshare_memory(struct dext_client *c, const void *va);

/* A raw selector call: exactly the scalar counts of dext-abi.h. */
int dext_call(struct dext_client *c, uint32_t selector, const uint64_t *in, uint32_t n_in,
	      uint64_t *out, uint32_t n_out);

/*
 * A selector without outputs (not WaitInterrupt), made posted: 0 once
 * sent, the dext's answer counted in dext_client_posted_stats(). Waits for
 * a reply only when 64 posted calls are in flight. -ECONNRESET etc. as any
 * call when the link is gone.
 */
int dext_call_posted(struct dext_client *c, uint32_t selector, const uint64_t *in,
		     uint32_t n_in);
/* Waits for the replies of every posted call. */
int dext_client_flush(struct dext_client *c);
const struct dext_posted_stats *dext_client_posted_stats(const struct dext_client *c);

/* Typed selectors. */
int dext_get_identity(struct dext_client *c, struct dext_identity *id);
int dext_claim(struct dext_client *c);
int dext_terminate(struct dext_client *c);
int dext_allocate_dma_buffer(struct dext_client *c, uint64_t size, uint64_t align,
			     uint64_t *bus_addr, uint64_t *bus_len, uint64_t *alloc_size);
int dext_free_dma_buffer(struct dext_client *c);
int dext_register_dma(struct dext_client *c, uint64_t key, const void *va, uint64_t size,
		      uint64_t *bus_addr, uint64_t *bus_len);
int dext_unregister_dma(struct dext_client *c, uint64_t key);
int dext_probe_dma(struct dext_client *c, uint64_t key, uint64_t offset, uint64_t *value);
int dext_config_read(struct dext_client *c, uint32_t off, unsigned int width, uint32_t *val);
int dext_config_write(struct dext_client *c, uint32_t off, unsigned int width, uint32_t val);
int dext_bar_info(struct dext_client *c, unsigned int bar, struct dext_bar_info *info);
int dext_mmio_read(struct dext_client *c, uint32_t memory_index, uint64_t off,
		   unsigned int width, uint64_t *val);
int dext_mmio_write(struct dext_client *c, uint32_t memory_index, uint64_t off,
		    unsigned int width, uint64_t val);
int dext_mmio_write_posted(struct dext_client *c, uint32_t memory_index, uint64_t off,
			   unsigned int width, uint64_t val);
int dext_setup_interrupts(struct dext_client *c, unsigned int *vectors);
int dext_check_interrupt(struct dext_client *c, uint64_t pending[DEXT_IRQ_WORDS]);
int dext_set_irq_mask(struct dext_client *c, const uint64_t enabled[DEXT_IRQ_WORDS]);
int dext_reset_device(struct dext_client *c);

/*
 * Arms WaitInterrupt; arming again replaces the armed one, whose completion
 * never comes. The completion sets the wakeup flag.
 */
int dext_wait_interrupt(struct dext_client *c);
/*
 * Arms WaitInterrupt posted (when none is armed; else as
 * dext_wait_interrupt()). A refusal disarms and is counted as a posted error.
 */
int dext_wait_interrupt_posted(struct dext_client *c);
/* Reads replies that arrived without being asked for; never blocks. */
int dext_client_dispatch(struct dext_client *c);
/* True once per completed WaitInterrupt. */
bool dext_client_take_wakeup(struct dext_client *c);
bool dext_client_wait_armed(const struct dext_client *c);

#endif /* VFIO_APPLE_DEXT_CLIENT_H */
