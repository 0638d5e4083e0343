/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough device's config-space write filter: which bytes of a
 * guest config write reach the dext, and how.
 *
 * macOS and the DART own the BAR registers (a device whose BARs are
 * rewritten "falls off the bus") and the status register, so writes there
 * are dropped. As in the reference, so are writes to the MSI capability
 * (the dext programmed its address and data for the host's interrupt
 * routing; QEMU emulates the guest's view) and to PCIe DEVCTL and DEVCTL2
 * (payload and read request sizes, completion timeout and ARI belong to
 * the host's fabric; a guest value can make the device send TLPs the link
 * rejects; its Initiate FLR bit is reported so the caller can reset through
 * the dext instead). COMMAND is forwarded one byte at a time (memory
 * enable, bus master); everything else (MSI-X, PM, the rest of PCIe,
 * vendor capabilities) goes through as naturally aligned 4/2/1-byte
 * writes. Pure functions, no I/O.
 */
#ifndef VFIO_APPLE_CONFIG_FILTER_H
#define VFIO_APPLE_CONFIG_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_write_op {
	uint16_t offset;
	uint8_t width;		/* 1, 2 or 4, naturally aligned */
	uint32_t value;
};

/* Where the device's capabilities are; 0 for absent. */
struct config_filter_caps {
	uint16_t msi;		/* MSI capability */
	uint16_t msi_len;	/* its length, from its control word (config_filter_msi_len) */
	uint16_t pcie;		/* PCI Express capability */
};

/* Length of an MSI capability whose message control word is ctrl. */
unsigned int config_filter_msi_len(uint16_t ctrl);

/*
 * Splits a write of len bytes at offset (data little-endian in buf) into
 * the dext writes to make, in order. caps may be NULL (no capabilities
 * known). Returns how many ops were stored in ops (at most max_ops; a
 * write of len bytes needs at most len ops), or -1 if the access lies
 * outside config space (offset + len > 4096).
 */
int config_filter_write(const struct config_filter_caps *caps, uint32_t offset,
			const uint8_t *buf, size_t len, struct config_write_op *ops,
			size_t max_ops);

/* True if the byte at offset is dropped by the filter. */
int config_filter_drops(const struct config_filter_caps *caps, uint32_t offset);

/* True if the write sets PCIe DEVCTL's Initiate Function Level Reset bit. */
bool config_filter_requests_flr(const struct config_filter_caps *caps, uint32_t offset,
				const uint8_t *buf, size_t len);

#endif /* VFIO_APPLE_CONFIG_FILTER_H */
