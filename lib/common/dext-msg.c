// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/dext-msg.h"

#include <errno.h>
#include <string.h>

int dext_msg_decode(const void *buf, size_t len, struct dext_msg *out)
{
	struct dext_wire_hdr hdr;

	if (len < sizeof(hdr) || len > DEXT_WIRE_MAX_SIZE)
		return -EPROTO;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.size != len || hdr.n_scalars > DEXT_WIRE_MAX_SCALARS ||
	    len != sizeof(hdr) + (size_t)hdr.n_scalars * sizeof(uint64_t))
		return -EPROTO;
	if (hdr.type != DEXT_MSG_CALL && hdr.type != DEXT_MSG_CONTROL &&
	    hdr.type != DEXT_MSG_REPLY && hdr.type != DEXT_MSG_ASYNC)
		return -EPROTO;
	if (hdr.n_out > DEXT_WIRE_MAX_SCALARS || (hdr.flags & ~DEXT_WIRE_F_FD))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->hdr = hdr;
	memcpy(out->scalars, (const char *)buf + sizeof(hdr),
	       (size_t)hdr.n_scalars * sizeof(uint64_t));
	return 0;
}

size_t dext_msg_finish(struct dext_msg *msg)
{
	msg->hdr.size = sizeof(msg->hdr) + msg->hdr.n_scalars * sizeof(uint64_t);
	return msg->hdr.size;
}

void dext_msg_request(struct dext_msg *msg, uint16_t type, uint16_t op, uint32_t id,
		      const uint64_t *scalars, uint16_t n, uint16_t n_out)
{
	memset(&msg->hdr, 0, sizeof(msg->hdr));
	msg->hdr.type = type;
	msg->hdr.op = op;
	msg->hdr.id = id;
	msg->hdr.n_scalars = n;
	msg->hdr.n_out = n_out;
	if (n)
		memcpy(msg->scalars, scalars, n * sizeof(uint64_t));
	dext_msg_finish(msg);
}

void dext_msg_reply(struct dext_msg *msg, const struct dext_msg *req, int error,
		    const uint64_t *scalars, uint16_t n)
{
	dext_msg_request(msg, DEXT_MSG_REPLY, req->hdr.op, req->hdr.id,
			 error ? NULL : scalars, error ? 0 : n, 0);
	msg->hdr.error = error;
}
