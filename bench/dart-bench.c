// SPDX-License-Identifier: GPL-2.0-or-later OR MIT
/*
 * dart-bench: throughput and memory cost of the DART model at the
 * platform's mapping limit (65,536 live single-page mappings).
 *
 * Prints a markdown table on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vfio-apple/dext-abi.h>

#include "dart.h"

#define FILL		DEXT_DMA_MAX_REGIONS
#define TARGET_BASE	0x7f1200000000ull

static uint64_t rng_state = 1;

static uint64_t rnd(void)
{
	uint64_t x;

	rng_state += 0x9e3779b97f4a7c15ull;
	x = rng_state;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	/* Large arrays (the hash buckets) come from mmap, not the arena. */
	return mi.uordblks + mi.hblkhd;
}

/* Key k maps a 4 KiB buffer, as a guest's page-sized DMA buffers would. */
static uint64_t target_of(uint64_t k)
{
	return TARGET_BASE + k * 4096;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [-n OPS] [-s SEED]\n"
		"  -n, --ops OPS    unmap+map pairs and translations to time\n"
		"                   (default 2000000)\n"
		"  -s, --seed SEED  DART placement seed (default 1)\n"
		"  -h, --help       this text\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t ops = 2000000, seed = 1, k, i, *iova, sink = 0;
	struct dart_map_result res;
	struct dart_config cfg;
	struct dart_xlate x;
	struct dart_stats st;
	size_t heap0, heap1;
	double t0, t_fill, t_churn, t_xlate;
	struct dart *d;
	int c, ret;

	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ops = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (!ops) {
		usage(stderr, argv[0]);
		return 2;
	}

	iova = calloc(FILL, sizeof(*iova));
	if (!iova) {
		perror("calloc");
		return 1;
	}
	dart_config_defaults(&cfg);
	cfg.seed = seed;
	d = dart_create(&cfg);
	if (!d) {
		fprintf(stderr, "dart_create: %s\n", strerror(errno));
		return 1;
	}

	heap0 = heap_in_use();
	t0 = now();
	for (k = 0; k < FILL; k++) {
		ret = dart_map(d, 1, k, target_of(k), 4096, NULL, &res);
		if (ret) {
			fprintf(stderr, "fill map %" PRIu64 ": %s\n", k,
				strerror(-ret));
			return 1;
		}
		iova[k] = res.iova;
	}
	t_fill = now() - t0;
	heap1 = heap_in_use();

	t0 = now();
	for (i = 0; i < ops; i++) {
		k = rnd() % FILL;
		ret = dart_unmap(d, 1, k);
		if (!ret)
			ret = dart_map(d, 1, k, target_of(k), 4096, NULL, &res);
		if (ret) {
			fprintf(stderr, "churn key %" PRIu64 ": %s\n", k,
				strerror(-ret));
			return 1;
		}
		iova[k] = res.iova;
	}
	t_churn = now() - t0;

	t0 = now();
	for (i = 0; i < ops; i++) {
		k = rnd() % FILL;
		if (dart_translate(d, iova[k] + (i & 0xfc0), 64, DART_READ, &x)) {
			fprintf(stderr, "translate key %" PRIu64 " faulted\n", k);
			return 1;
		}
		sink += x.target;
	}
	t_xlate = now() - t0;

	dart_get_stats(d, &st);
	printf("| metric (64k live single-page mappings, seed %" PRIu64 ") | value |\n",
	       seed);
	printf("|---|---|\n");
	printf("| fill %d maps | %.0f maps/s |\n", FILL, FILL / t_fill);
	printf("| unmap+map pairs, random keys (%" PRIu64 ") | %.0f pairs/s |\n",
	       ops, ops / t_churn);
	printf("| translate 64 B, random live keys (%" PRIu64 ") | %.0f /s |\n",
	       ops, ops / t_xlate);
	/* Sanitizer allocators do not feed mallinfo2(). */
	if (heap1 > heap0)
		printf("| heap per live mapping (mallinfo2) | %.1f B |\n",
		       (double)(heap1 - heap0) / FILL);
	else
		printf("| heap per live mapping (mallinfo2) | n/a |\n");
	printf("| live mappings / live bytes | %" PRIu64 " / %" PRIu64 " MiB |\n",
	       st.live_mappings, st.live_bytes >> 20);

	dart_destroy(d);
	free(iova);
	return sink == 1;	/* keep the translations from being elided */
}
