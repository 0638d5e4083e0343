/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fuzz targets' seam into dextd's NVMe model: a controller made by the
 * real nvme_create() whose worker threads are stopped, so that only the
 * fuzzer's thread runs the model and every input behaves the same way.
 */
#ifndef VFIO_APPLE_FUZZ_NVME_H
#define VFIO_APPLE_FUZZ_NVME_H

#include <pthread.h>

#include "nvme.h"
#include "fuzz-util.h"

static inline struct dext_function *fuzz_nvme_create(unsigned int bus, unsigned int dev,
						     const struct dart_config *dc)
{
	struct dext_function *fn = nvme_create(bus, dev, 0, dc, "size=1M,queues=2,workers=1");
	struct nvme_ctrl *n;

	FUZZ_CHECK(fn);
	n = fn->priv;
	nvme_workers_stop(n);	/* workers[0]'s scratch stays for the harness */
	n->stop = false;
	return fn;
}

#endif /* VFIO_APPLE_FUZZ_NVME_H */
