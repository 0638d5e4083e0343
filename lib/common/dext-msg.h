/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encoding and validation of dext wire messages (dext-wire.h), shared by
 * dextd and the client library. Pure functions: no I/O, no allocation, so
 * they can be unit-tested and fuzzed on their own.
 */
#ifndef VFIO_APPLE_DEXT_MSG_H
#define VFIO_APPLE_DEXT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <vfio-apple/dext-wire.h>

struct dext_msg {
	struct dext_wire_hdr hdr;
	uint64_t scalars[DEXT_WIRE_MAX_SCALARS];
};

/*
 * Checks that buf[0..len) is one well-formed message and copies it to out.
 * Returns 0, or -EPROTO when it is not (short, size field disagreeing with
 * len or n_scalars, too many scalars, unknown type). A well-formed message
 * with an unknown op is accepted: the dispatcher answers it with an error.
 */
int dext_msg_decode(const void *buf, size_t len, struct dext_msg *out);

/* Fills the size field from n_scalars; returns the number of bytes to send. */
size_t dext_msg_finish(struct dext_msg *msg);

/* Builds a request. n may be 0 (scalars may then be NULL). */
void dext_msg_request(struct dext_msg *msg, uint16_t type, uint16_t op, uint32_t id,
		      const uint64_t *scalars, uint16_t n, uint16_t n_out);

/* Builds the reply to req carrying error (0 or -errno) and n scalars. */
void dext_msg_reply(struct dext_msg *msg, const struct dext_msg *req, int error,
		    const uint64_t *scalars, uint16_t n);

#endif /* VFIO_APPLE_DEXT_MSG_H */
