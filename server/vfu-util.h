/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What both vfio-user endpoints of the server do the same way. */
#ifndef VFIO_APPLE_VFU_UTIL_H
#define VFIO_APPLE_VFU_UTIL_H

#include <stdbool.h>

struct vfu_ctx;

/* Routes libvfio-user's log lines to ours, prefixed with the endpoint's name. */
void vfu_log_attach(struct vfu_ctx *ctx, const char *name);

/*
 * Serves what is readable on a non-blocking endpoint: accepts QEMU's
 * connection first, then runs its requests. Returns 0, or -ENOTCONN once
 * QEMU has disconnected.
 */
int vfu_endpoint_serve(struct vfu_ctx *ctx, bool *attached, const char *name);

#endif /* VFIO_APPLE_VFU_UTIL_H */
