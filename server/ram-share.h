/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fd behind a shared mapping, so that guest RAM can be shared with the
 * dext by fd (dext_client_share_memory). libvfio-user keeps the fd QEMU
 * sent for each DMA region open but does not hand it out; the mapping's
 * file (device and inode in /proc/self/maps) identifies which of our open
 * fds it is.
 */
#ifndef VFIO_APPLE_RAM_SHARE_H
#define VFIO_APPLE_RAM_SHARE_H

#include <stdint.h>

/*
 * For the MAP_SHARED file mapping holding addr: a new fd (CLOEXEC) of its
 * file and the file offset of addr. Returns 0, -ENOENT (no such mapping, or
 * no open fd of its file), or -errno.
 */
int ram_share_fd(const void *addr, int *fd, uint64_t *offset);

#endif /* VFIO_APPLE_RAM_SHARE_H */
