// SPDX-License-Identifier: GPL-2.0-or-later
#include "vfu-util.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <libvfio-user.h>

#include "common/log.h"
#include "ratelimit.h"

static const char *names[2];
static struct vfu_ctx *ctxs[2];
/* libvfio-user's messages follow QEMU's requests, some of which a guest drives. */
static struct ratelimit rl_vfu[2] = { RATELIMIT_DEFAULT, RATELIMIT_DEFAULT };

static void vfu_log_cb(vfu_ctx_t *ctx, int level, const char *msg)
{
	unsigned int i = ctx == ctxs[1] ? 1 : 0;
	const char *name = ctx == ctxs[i] ? names[i] : "vfio-user";
	enum log_level l = level <= LOG_ERR ? LOG_LVL_WARN : level <= LOG_INFO ? LOG_LVL_INFO
									 : LOG_LVL_DEBUG;

	log_ratelimited(&rl_vfu[i], l, "%s: vfio-user: %s", name, msg);
}

void vfu_log_attach(struct vfu_ctx *ctx, const char *name)
{
	unsigned int i = ctxs[0] && ctxs[0] != ctx ? 1 : 0;

	ctxs[i] = ctx;
	names[i] = name;
	vfu_setup_log(ctx, vfu_log_cb, log_get_level() >= LOG_LVL_DEBUG ? LOG_DEBUG : LOG_INFO);
}

int vfu_endpoint_serve(struct vfu_ctx *ctx, bool *attached, const char *name)
{
	if (!*attached) {
		if (vfu_attach_ctx(ctx) < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		*attached = true;
		log_info("%s: QEMU connected", name);
		return 0;
	}
	if (vfu_run_ctx(ctx) < 0) {
		if (errno == ENOTCONN)
			return -ENOTCONN;
		if (errno != EAGAIN && errno != EBUSY)
			log_ratelimited(&rl_vfu[ctx == ctxs[1] ? 1 : 0], LOG_LVL_WARN,
					"%s: vfio-user: %s", name, strerror(errno));
	}
	return 0;
}
