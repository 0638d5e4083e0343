// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: guest config-space writes through the passthrough
 * device's filter (server/config-filter.h).
 *
 * Input: a 6-byte header, then writes of a 3-byte header and their data
 * (missing bytes read as zero):
 *   [0] MSI capability at 0x40 + b % 0xc0 (0: none)  [1] unused
 *   [2..4) MSI control word  [4] PCIe capability like [0]  [5] unused
 *   per write: [0..2) offset, [2] length (0..255), then length data bytes
 *
 * Checked for every write (abort on violation):
 *  - the result is -1 exactly when the write leaves config space;
 *  - ops are naturally aligned 1/2/4-byte writes, in increasing order,
 *    inside the write, never overlapping, carrying the guest's bytes;
 *  - a byte reaches the dext exactly when config_filter_drops() says it is
 *    kept; COMMAND only byte-wise; STATUS, BARs, ROM, the MSI capability,
 *    DEVCTL and DEVCTL2 never;
 *  - config_filter_requests_flr() is true exactly when the write covers
 *    DEVCTL's high byte with bit 7 set.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config-filter.h"
#include "fuzz-util.h"

#define CFG_SIZE	4096

static bool never_forwarded(const struct config_filter_caps *c, uint32_t o)
{
	if ((o >= 0x06 && o < 0x08) || (o >= 0x10 && o < 0x28) || (o >= 0x30 && o < 0x34))
		return true;
	if (c->msi && o >= c->msi && o < (uint32_t)c->msi + c->msi_len)
		return true;
	if (c->pcie && ((o >= c->pcie + 8u && o < c->pcie + 10u) ||
			(o >= c->pcie + 0x28u && o < c->pcie + 0x2au)))
		return true;
	return false;
}

static void one_write(const struct config_filter_caps *caps, uint32_t off, const uint8_t *buf,
		      size_t len)
{
	static struct config_write_op ops[256];
	static bool seen[CFG_SIZE + 256];
	uint32_t next = off;
	int n = config_filter_write(caps, off, buf, len, ops, 256);

	if (off + len > CFG_SIZE) {
		FUZZ_CHECK(n == -1);
		return;
	}
	FUZZ_CHECK(n >= 0 && (size_t)n <= len);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < n; i++) {
		const struct config_write_op *op = &ops[i];

		FUZZ_CHECK(op->width == 1 || op->width == 2 || op->width == 4);
		FUZZ_CHECK(op->offset % op->width == 0);
		FUZZ_CHECK(op->offset >= next && op->offset + op->width <= off + len);
		if (op->offset <= 0x05 && op->offset + op->width > 0x04)
			FUZZ_CHECK(op->width == 1);	/* COMMAND byte-wise */
		for (unsigned int k = 0; k < op->width; k++) {
			uint32_t o = op->offset + k;

			FUZZ_CHECK(!never_forwarded(caps, o));
			FUZZ_CHECK(!config_filter_drops(caps, o));
			FUZZ_CHECK((uint8_t)(op->value >> (8 * k)) == buf[o - off]);
			seen[o] = true;
		}
		next = op->offset + op->width;
	}
	for (uint32_t o = off; o < off + len; o++)
		FUZZ_CHECK(seen[o] == !config_filter_drops(caps, o));
	if (caps->pcie) {
		uint32_t hi = caps->pcie + 9u;
		bool want = off <= hi && hi < off + len && (buf[hi - off] & 0x80);

		FUZZ_CHECK(config_filter_requests_flr(caps, off, buf, len) == want);
	} else {
		FUZZ_CHECK(!config_filter_requests_flr(caps, off, buf, len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[6] = { 0 }, buf[256];
	struct config_filter_caps caps;
	size_t pos;

	memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
	pos = size < sizeof(hdr) ? size : sizeof(hdr);
	/* Capabilities live in 0x40..0xff, after the header the filter knows. */
	caps.msi = hdr[0] ? (uint16_t)(0x40 + hdr[0] % 0xc0) : 0;
	caps.msi_len = caps.msi ? (uint16_t)config_filter_msi_len((uint16_t)fuzz_ld_le(hdr + 2, 2)) : 0;
	caps.pcie = hdr[4] ? (uint16_t)(0x40 + hdr[4] % 0xc0) : 0;
	FUZZ_CHECK(!caps.msi || (caps.msi_len >= 10 && caps.msi_len <= 24));
	while (pos < size) {
		uint8_t w[3] = { 0 };
		size_t len, take = size - pos < 3 ? size - pos : 3;
		uint32_t off;

		memcpy(w, data + pos, take);
		pos += take;
		off = (uint32_t)fuzz_ld_le(w, 2) % (CFG_SIZE + 16);
		len = w[2];
		memset(buf, 0, sizeof(buf));
		take = size - pos < len ? size - pos : len;
		memcpy(buf, data + pos, take);
		pos += take;
		one_write(&caps, off, buf, len);
	}
	return 0;
}
