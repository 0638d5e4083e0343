// SPDX-License-Identifier: GPL-2.0-or-later
#include "config-filter.h"

#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_CARDBUS_CIS		0x28	/* first byte after BAR5 */
#define PCI_ROM_ADDRESS		0x30
#define PCI_CONFIG_SIZE		4096

#define PCI_MSI_FLAGS_64BIT	0x0080
#define PCI_MSI_FLAGS_MASKBIT	0x0100
#define PCI_EXP_DEVCTL		0x08
#define PCI_EXP_DEVCTL_BCR_FLR	0x8000
#define PCI_EXP_DEVCTL2		0x28

enum byte_class { FORWARD, FORWARD_BYTEWISE, DROP };

unsigned int config_filter_msi_len(uint16_t ctrl)
{
	/* ID, next, control, address low (+ high), data (+ pad, mask, pending). */
	unsigned int len = (ctrl & PCI_MSI_FLAGS_64BIT) ? 14 : 10;

	return (ctrl & PCI_MSI_FLAGS_MASKBIT) ? len + 10 : len;
}

static bool in_range(uint32_t off, uint32_t start, uint32_t len)
{
	return off >= start && off < start + len;
}

static enum byte_class classify(const struct config_filter_caps *caps, uint32_t off)
{
	if (off == PCI_COMMAND || off == PCI_COMMAND + 1)
		return FORWARD_BYTEWISE;
	if (off == PCI_STATUS || off == PCI_STATUS + 1)
		return DROP;
	if (off >= PCI_BASE_ADDRESS_0 && off < PCI_CARDBUS_CIS)
		return DROP;
	/* The platform owns the expansion ROM address too (no ROM is exposed). */
	if (off >= PCI_ROM_ADDRESS && off < PCI_ROM_ADDRESS + 4)
		return DROP;
	if (!caps)
		return FORWARD;
	if (caps->msi && in_range(off, caps->msi, caps->msi_len))
		return DROP;
	if (caps->pcie && (in_range(off, caps->pcie + PCI_EXP_DEVCTL, 2) ||
			   in_range(off, caps->pcie + PCI_EXP_DEVCTL2, 2)))
		return DROP;
	return FORWARD;
}

int config_filter_drops(const struct config_filter_caps *caps, uint32_t offset)
{
	return classify(caps, offset) == DROP;
}

bool config_filter_requests_flr(const struct config_filter_caps *caps, uint32_t offset,
				const uint8_t *buf, size_t len)
{
	uint32_t flr_byte;

	if (!caps || !caps->pcie)
		return false;
	flr_byte = caps->pcie + PCI_EXP_DEVCTL + 1;
	if (offset > flr_byte || offset + len <= flr_byte)
		return false;
	return buf[flr_byte - offset] & (PCI_EXP_DEVCTL_BCR_FLR >> 8);
}

int config_filter_write(const struct config_filter_caps *caps, uint32_t offset,
			const uint8_t *buf, size_t len, struct config_write_op *ops,
			size_t max_ops)
{
	size_t i = 0, n = 0;

	if (offset > PCI_CONFIG_SIZE || len > PCI_CONFIG_SIZE - offset)
		return -1;
	while (i < len) {
		uint32_t off = offset + (uint32_t)i;
		enum byte_class c = classify(caps, off);
		unsigned int width = 1, w;

		if (c == DROP) {
			i++;
			continue;
		}
		/* Widest naturally aligned run of forwardable bytes, at most 4. */
		if (c == FORWARD) {
			for (w = 4; w > 1; w /= 2) {
				unsigned int k;

				if ((off & (w - 1)) || i + w > len)
					continue;
				for (k = 1; k < w && classify(caps, off + k) == FORWARD; k++)
					;
				if (k == w)
					break;
			}
			width = w;
		}
		if (n == max_ops)
			return (int)n;
		ops[n].offset = (uint16_t)off;
		ops[n].width = (uint8_t)width;
		ops[n].value = 0;
		for (unsigned int k = 0; k < width; k++)
			ops[n].value |= (uint32_t)buf[i + k] << (8 * k);
		n++;
		i += width;
	}
	return (int)n;
}
