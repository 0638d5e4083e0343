// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * macOS has no dextd: its control operations (dext-client.h) exist so that
 * callers build, and say so with -EOPNOTSUPP. Enumerate with
 * dext_iokit_list(), open with dext_client_open_iokit().
 */
#include "dext-client/dext-client.h"

#include <errno.h>
#include <stdlib.h>

const char *dext_default_socket(void)
{
	const char *s = getenv("VFIO_APPLE_DEXT_SOCKET");

	return s && *s ? s : "/run/vfio-apple/dextd.sock";
}

int dext_client_connect(const char *path, unsigned int timeout_ms, struct dext_client **out)
{
	(void)path;
	(void)timeout_ms;
	(void)out;
	return -EOPNOTSUPP;
}

int dext_client_count(struct dext_client *c, unsigned int *n)
{
	(void)c;
	(void)n;
	return -EOPNOTSUPP;
}

int dext_client_enum(struct dext_client *c, unsigned int index, struct dext_identity *id)
{
	(void)c;
	(void)index;
	(void)id;
	return -EOPNOTSUPP;
}

int dext_client_open(struct dext_client *c, unsigned int bus, unsigned int dev, unsigned int fn)
{
	(void)c;
	(void)bus;
	(void)dev;
	(void)fn;
	return -EOPNOTSUPP;
}

int dext_client_map_memory(struct dext_client *c, unsigned int type, int *fd, uint64_t *size,
			   uint64_t *offset)
{
	(void)c;
	(void)type;
	(void)fd;
	(void)size;
	(void)offset;
	return -EOPNOTSUPP;
}

int dext_client_status(struct dext_client *c, unsigned int index,
		       uint64_t out[DEXT_STATUS_COUNT])
{
	(void)c;
	(void)index;
	(void)out;
	return -EOPNOTSUPP;
}

int dext_client_fault(struct dext_client *c, unsigned int index, unsigned int n,
		      struct dext_fault_info *f)
{
	(void)c;
	(void)index;
	(void)n;
	(void)f;
	return -EOPNOTSUPP;
}
