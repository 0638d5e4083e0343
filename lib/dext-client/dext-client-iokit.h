/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IOKit transport (macOS): the dext's user client reached through
 * IOServiceOpen and IOConnectCall*Method, as the reference QEMU client
 * does. Built on Darwin; on Linux only the test shim (tests/iokit-shim)
 * builds it, on top of dextd's socket.
 */
#ifndef VFIO_APPLE_DEXT_CLIENT_IOKIT_H
#define VFIO_APPLE_DEXT_CLIENT_IOKIT_H

#include "dext-client/dext-client.h"

/* The dext's IOUserClass (its IOUserService instances carry it). */
#define DEXT_IOKIT_USER_CLASS	"VFIOUserPCIDriver"

/*
 * Opens a user client on the dext instance serving PCI function
 * bus:dev.fn: -ENODEV if the dext serves none, else as dext-client.h.
 */
int dext_client_open_iokit(unsigned int bus, unsigned int dev, unsigned int fn,
			   struct dext_client **out);

/*
 * The functions the dext serves, from the IOKit registry (each confirmed
 * by GetIdentity): up to max into ids, the total into *n.
 */
int dext_iokit_list(struct dext_identity *ids, unsigned int max, unsigned int *n);

/* An IOReturn (or Mach error) as the negative errno dext-abi.h gives it. */
int dext_iokit_errno(int ioreturn);

#endif /* VFIO_APPLE_DEXT_CLIENT_IOKIT_H */
