/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Routes libvfio-user's log lines to ours, prefixed with the endpoint's name. */
#ifndef VFIO_APPLE_VFU_LOG_H
#define VFIO_APPLE_VFU_LOG_H

struct vfu_ctx;

void vfu_log_attach(struct vfu_ctx *ctx, const char *name);

#endif /* VFIO_APPLE_VFU_LOG_H */
