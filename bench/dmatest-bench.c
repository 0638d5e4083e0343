// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dmatest-bench: DMA through dextd's DART model, measured from a client.
 * Registers a source and a destination buffer, has the dmatest engine copy
 * between their bus addresses, checks every byte, and prints a table of
 * copy rate and register+unregister cost per size.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <vfio-apple/dmatest-regs.h>

#include "common/parse.h"
#include "dext-client/dext-client.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_op(struct dext_client *c, uint32_t cmd, uint64_t src, uint64_t dst, uint64_t len)
{
	struct pollfd p = { .fd = dext_client_fd(c), .events = POLLIN };
	uint64_t pending[DEXT_IRQ_WORDS], status;
	int r;

	if ((r = dext_wait_interrupt(c)) ||
	    (r = dext_mmio_write(c, 0, DMATEST_REG_SRC, 8, src)) ||
	    (r = dext_mmio_write(c, 0, DMATEST_REG_DST, 8, dst)) ||
	    (r = dext_mmio_write(c, 0, DMATEST_REG_LEN, 8, len)) ||
	    (r = dext_mmio_write(c, 0, DMATEST_REG_VECTOR, 4, 0)) ||
	    (r = dext_mmio_write(c, 0, DMATEST_REG_CMD, 4, cmd)))
		return r;
	while (!dext_client_take_wakeup(c)) {
		if (poll(&p, 1, 10000) != 1)
			return -ETIMEDOUT;
		if ((r = dext_client_dispatch(c)))
			return r;
	}
	if ((r = dext_check_interrupt(c, pending)) ||
	    (r = dext_mmio_read(c, 0, DMATEST_REG_STATUS, 4, &status)))
		return r;
	return status == DMATEST_STATUS_DONE ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "bdf", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const uint64_t sizes[] = { 4096, 65536, 1 << 20, 16 << 20 };
	const char *path = dext_default_socket();
	unsigned int bus = 1, dev = 0, fn = 0, vectors;
	struct dext_client *c;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "s:b:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'b':
			if (parse_bdf(optarg, &bus, &dev, &fn)) {
				fprintf(stderr, "dmatest-bench: bad BDF '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("Usage: dmatest-bench [--socket PATH] [--bdf BB:DD.F]\n"
			       "Copy buffers through a dmatest function of dextd and print rates.\n");
			return 0;
		default:
			return 2;
		}
	}
	if ((r = dext_client_connect(path, 0, &c)) || (r = dext_client_open(c, bus, dev, fn)) ||
	    (r = dext_claim(c)) || (r = dext_setup_interrupts(c, &vectors))) {
		fprintf(stderr, "dmatest-bench: dextd at %s: %s\n", path, strerror(-r));
		return 1;
	}
	printf("| size | src bus addr | dst bus addr | copy MB/s | register+unregister us |\n");
	printf("|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = sizes[i], sbus, dbus, len;
		uint8_t *src = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint8_t *dst = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0, t1, t2;
		int reps = n >= (1 << 20) ? 4 : 64;

		if (src == MAP_FAILED || dst == MAP_FAILED)
			return 1;
		for (uint64_t j = 0; j < n; j++)
			src[j] = (uint8_t)(j * 131 + i);
		t0 = now();
		for (int k = 0; k < 100; k++) {
			if ((r = dext_register_dma(c, 1, src, n, &sbus, &len)) ||
			    (r = dext_unregister_dma(c, 1)))
				goto fail;
		}
		t1 = now();
		if ((r = dext_register_dma(c, 1, src, n, &sbus, &len)) ||
		    (r = dext_register_dma(c, 2, dst, n, &dbus, &len)))
			goto fail;
		t2 = now();
		for (int k = 0; k < reps; k++)
			if ((r = run_op(c, DMATEST_CMD_COPY, sbus, dbus, n)))
				goto fail;
		t2 = now() - t2;
		if (memcmp(src, dst, n)) {
			fprintf(stderr, "dmatest-bench: copy of %llu bytes differs\n",
				(unsigned long long)n);
			return 1;
		}
		printf("| %llu | 0x%llx | 0x%llx | %.1f | %.1f |\n", (unsigned long long)n,
		       (unsigned long long)sbus, (unsigned long long)dbus,
		       (double)n * reps / t2 / 1e6, (t1 - t0) / 100 * 1e6);
		dext_unregister_dma(c, 1);
		dext_unregister_dma(c, 2);
		munmap(src, n);
		munmap(dst, n);
	}
	dext_client_close(c);
	return 0;
fail:
	fprintf(stderr, "dmatest-bench: %s\n", strerror(-r));
	return 1;
}
