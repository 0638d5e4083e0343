/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fuzz targets' seam into dextd's NVMe model: a controller made by the
 * real nvme_create() whose worker thread is stopped, so that only the
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
	struct dext_function *fn = nvme_create(bus, dev, 0, dc, "size=1M,queues=2");
	struct nvme_ctrl *n;

	FUZZ_CHECK(fn);
	n = fn->priv;
	pthread_mutex_lock(&fn->lock);
	n->stop = true;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&fn->lock);
	pthread_join(n->worker, NULL);
	n->worker_started = false;
	n->stop = false;
	return fn;
}

#endif /* VFIO_APPLE_FUZZ_NVME_H */
