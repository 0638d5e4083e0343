// SPDX-License-Identifier: GPL-2.0-or-later
#include "config-filter.h"

#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_CARDBUS_CIS		0x28	/* first byte after BAR5 */
#define PCI_ROM_ADDRESS		0x30
#define PCI_CONFIG_SIZE		4096

enum byte_class { FORWARD, FORWARD_BYTEWISE, DROP };

static enum byte_class classify(uint32_t off)
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
	return FORWARD;
}

int config_filter_drops(uint32_t offset)
{
	return classify(offset) == DROP;
}

int config_filter_write(uint32_t offset, const uint8_t *buf, size_t len,
			struct config_write_op *ops, size_t max_ops)
{
	size_t i = 0, n = 0;

	if (offset > PCI_CONFIG_SIZE || len > PCI_CONFIG_SIZE - offset)
		return -1;
	while (i < len) {
		uint32_t off = offset + (uint32_t)i;
		enum byte_class c = classify(off);
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
				for (k = 1; k < w && classify(off + k) == FORWARD; k++)
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
