/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough device's config-space write filter: which bytes of a
 * guest config write reach the dext, and how.
 *
 * macOS and the DART own the BAR registers (a device whose BARs are
 * rewritten "falls off the bus") and the status register, so writes there
 * are dropped; COMMAND is forwarded one byte at a time (memory enable, bus
 * master); everything else (capabilities: MSI-X, PCIe, PM, vendor) goes
 * through as naturally aligned 4/2/1-byte writes. Pure function, no I/O.
 */
#ifndef VFIO_APPLE_CONFIG_FILTER_H
#define VFIO_APPLE_CONFIG_FILTER_H

#include <stddef.h>
#include <stdint.h>

struct config_write_op {
	uint16_t offset;
	uint8_t width;		/* 1, 2 or 4, naturally aligned */
	uint32_t value;
};

/*
 * Splits a write of len bytes at offset (data little-endian in buf) into
 * the dext writes to make, in order. Returns how many ops were stored in
 * ops (at most max_ops; a write of len bytes needs at most len ops), or -1
 * if the access lies outside config space (offset + len > 4096).
 */
int config_filter_write(uint32_t offset, const uint8_t *buf, size_t len,
			struct config_write_op *ops, size_t max_ops);

/* True if the byte at offset is dropped by the filter. */
int config_filter_drops(uint32_t offset);

#endif /* VFIO_APPLE_CONFIG_FILTER_H */
