// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-apple-server: for one host BDF, serves QEMU two vfio-user devices,
 * the passthrough device and its apple-dma-pci companion, on top of the
 * dext. One QEMU session per process: when QEMU disconnects the server
 * ends, and closing its dext connection releases every mapping and claim.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vfio-apple/apple-dma-abi.h>

#include "apple-dma-dev.h"
#include "common/log.h"
#include "common/parse.h"
#include "dext-link.h"
#include "passthrough.h"

struct options {
	const char *dext_socket;
	const char *device_socket;
	const char *dma_socket;
	unsigned int bus, dev, fn;
	uint32_t managed_bdf;
	uint32_t max_entries;
	unsigned int dext_timeout_ms;
	unsigned int budget_ms;		/* --request-budget */
	bool posted_doorbells;
	bool no_share_ram;
	bool bars_by_server;		/* --bar-access server */
	int ready_fd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfio-apple-server --host BB:DD.F --device-socket PATH --dma-socket PATH\n"
		"                         --guest-bdf BB:DD.F [OPTION]...\n"
		"Serve a host PCI function and its apple-dma-pci companion to QEMU over\n"
		"vfio-user, through the dext. Use with QEMU >= 10.1:\n"
		"  -device '{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":DEVICE}}'\n"
		"  -device '{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":DMA}}'\n"
		"and shared guest RAM (memory-backend-memfd,share=on). apple-dma-pci's\n"
		"doorbells are synchronous with these lines as they are: its scratch BAR\n"
		"makes QEMU send BAR writes without posting; do not set x-no-mmap on it.\n"
		"\n"
		"  -H, --host BB:DD.F         host function, as the dext knows it\n"
		"  -d, --device-socket PATH   vfio-user socket of the passthrough device\n"
		"  -D, --dma-socket PATH      vfio-user socket of apple-dma-pci\n"
		"  -g, --guest-bdf BB:DD.F    where the guest sees the passthrough device\n"
		"                             (apple-dma-pci's MANAGED_BDF register)\n"
		"  -s, --dext-socket PATH     dextd's socket (default $VFIO_APPLE_DEXT_SOCKET or\n"
		"                             /run/vfio-apple/dextd.sock)\n"
		"  -n, --max-entries N        entries per apple-dma batch (default %d, 1..65536)\n"
		"      --dext-timeout MS      declare the dext lost when a call takes longer\n"
		"                             (default 30000, 100..600000); the server then\n"
		"                             ends its session, which releases the device\n"
		"      --request-budget MS    most time one request from QEMU may wait for the\n"
		"                             dext (default %d, 100..600000): a guest vCPU waits\n"
		"                             in the access that sent it (config, BAR, an\n"
		"                             apple-dma doorbell with interrupts off); a dext\n"
		"                             that has not answered by then is declared lost.\n"
		"                             Keep it below QEMU's x-msg-timeout (5000 ms)\n"
		"      --posted-doorbells     no scratch BAR: QEMU may post DOORBELL writes and\n"
		"                             FEATURES does not promise synchronous doorbells\n"
		"                             (for measurements and tests)\n"
		"      --no-share-ram         let the dext reach guest RAM by address only\n"
		"                             (process_vm_readv/writev), not by its fd\n"
		"      --bar-access qemu|server  memory BARs: QEMU maps the dext's fd (default,\n"
		"                             where the transport passes one) or the server\n"
		"                             loads and stores through its own mapping (what\n"
		"                             a transport without fds, IOKit, always does)\n"
		"      --ready-fd FD          write READY to FD once both sockets listen\n"
		"  -v, --verbose              debug logging\n"
		"  -h, --help                 show this help\n",
		APPLE_DMA_DEFAULT_MAX_ENTRIES, DEXT_LINK_DEFAULT_BUDGET_MS);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "device-socket", required_argument, NULL, 'd' },
		{ "dma-socket", required_argument, NULL, 'D' },
		{ "guest-bdf", required_argument, NULL, 'g' },
		{ "dext-socket", required_argument, NULL, 's' },
		{ "max-entries", required_argument, NULL, 'n' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "dext-timeout", required_argument, NULL, 'T' },
		{ "request-budget", required_argument, NULL, 'b' },
		{ "posted-doorbells", no_argument, NULL, 'P' },
		{ "no-share-ram", no_argument, NULL, 'S' },
		{ "bar-access", required_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool have_host = false, have_guest = false;
	unsigned int b, d, f;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "H:d:D:g:s:n:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (parse_bdf(optarg, &o->bus, &o->dev, &o->fn) < 0) {
				log_error("--host: '%s' is not BB:DD.F", optarg);
				return -EINVAL;
			}
			have_host = true;
			break;
		case 'd':
			o->device_socket = optarg;
			break;
		case 'D':
			o->dma_socket = optarg;
			break;
		case 'g':
			if (parse_bdf(optarg, &b, &d, &f) < 0) {
				log_error("--guest-bdf: '%s' is not BB:DD.F", optarg);
				return -EINVAL;
			}
			o->managed_bdf = bdf_pack(b, d, f);
			have_guest = true;
			break;
		case 's':
			o->dext_socket = optarg;
			break;
		case 'S':
			o->no_share_ram = true;
			break;
		case 'n':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 65536) {
				log_error("--max-entries: '%s' is not 1..65536", optarg);
				return -EINVAL;
			}
			o->max_entries = (uint32_t)v;
			break;
		case 'T':
			if (parse_u64(optarg, &v) < 0 || v < 100 || v > 600000) {
				log_error("--dext-timeout: '%s' is not 100..600000 ms", optarg);
				return -EINVAL;
			}
			o->dext_timeout_ms = (unsigned int)v;
			break;
		case 'b':
			if (parse_u64(optarg, &v) < 0 || v < 100 || v > 600000) {
				log_error("--request-budget: '%s' is not 100..600000 ms", optarg);
				return -EINVAL;
			}
			if (v >= 5000)
				log_warn("--request-budget %llu: at or above QEMU's default x-msg-timeout "
					 "(5000 ms), QEMU may give a vCPU back before its request is done",
					 (unsigned long long)v);
			o->budget_ms = (unsigned int)v;
			break;
		case 'P':
			o->posted_doorbells = true;
			break;
		case 'B':
			if (strcmp(optarg, "qemu") && strcmp(optarg, "server")) {
				log_error("--bar-access: '%s' is not qemu or server", optarg);
				return -EINVAL;
			}
			o->bars_by_server = !strcmp(optarg, "server");
			break;
		case 'R':
			if (parse_u64(optarg, &v) < 0 || v > 1024) {
				log_error("--ready-fd: '%s' is not a file descriptor", optarg);
				return -EINVAL;
			}
			o->ready_fd = (int)v;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (!have_host || !o->device_socket || !o->dma_socket || !have_guest) {
		log_error("need --host, --device-socket, --dma-socket and --guest-bdf (see --help)");
		return -EINVAL;
	}
	return 0;
}

static void print_stats(const struct passthrough *pt, const struct apple_dma_dev *dma,
			const struct dext_link *link)
{
	const struct apple_dma_batch_stats *b = &dma->stats.batch;

	log_info("apple-dma: batches %llu (ok %llu, ioerr %llu, inval %llu), entries %llu, "
		 "maps %llu ok %llu failed, unmaps %llu ok %llu failed, live %zu, "
		 "bad accesses %llu, RAM regions shared %llu (not %llu)",
		 (unsigned long long)b->batches, (unsigned long long)dma->stats.status_ok,
		 (unsigned long long)dma->stats.status_ioerr,
		 (unsigned long long)dma->stats.status_inval, (unsigned long long)b->entries,
		 (unsigned long long)b->map_ok, (unsigned long long)b->map_failed,
		 (unsigned long long)b->unmap_ok, (unsigned long long)b->unmap_failed,
		 dma->regs.n, (unsigned long long)dma->stats.bad_accesses,
		 (unsigned long long)dma->stats.ram_shared,
		 (unsigned long long)dma->stats.ram_share_failed);
	log_info("passthrough: interrupts %llu delivered, %llu dropped, %llu wakeups, "
		 "%llu config bytes filtered, %llu resets, %llu posted calls refused, "
		 "%llu BAR accesses by the server",
		 (unsigned long long)pt->stats.irqs_delivered,
		 (unsigned long long)pt->stats.irqs_dropped, (unsigned long long)pt->stats.wakeups,
		 (unsigned long long)pt->stats.config_writes_dropped,
		 (unsigned long long)pt->stats.resets, (unsigned long long)pt->stats.posted_errors,
		 (unsigned long long)pt->stats.bar_server_accesses);
	log_info("requests: longest %llu us (budget %u ms), %llu over budget",
		 (unsigned long long)link->max_request_us, link->budget_ms,
		 (unsigned long long)link->over_budget);
}

static int serve(struct passthrough *pt, struct apple_dma_dev *dma, struct dext_link *link,
		 int sigfd)
{
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = passthrough_poll_fd(pt), .events = POLLIN },
			{ .fd = apple_dma_dev_poll_fd(dma), .events = POLLIN },
			{ .fd = link->lost ? -1 : dext_client_fd(link->client), .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		int r;

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_err_errno(-errno, "poll");
		}
		if (p[3].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1) {
				print_stats(pt, dma, link);
				continue;
			}
			log_info("signal received, shutting down");
			return 0;
		}
		if (p[0].revents) {
			dext_link_request_begin(link);
			r = passthrough_run(pt);
			dext_link_request_end(link, "a passthrough");
			if (r == -ENOTCONN) {
				log_info("passthrough: QEMU disconnected");
				return 0;
			}
		}
		if (p[1].revents) {
			dext_link_request_begin(link);
			r = apple_dma_dev_run(dma);
			dext_link_request_end(link, "an apple-dma");
			if (r == -ENOTCONN) {
				log_info("apple-dma: QEMU disconnected");
				return 0;
			}
		}
		/*
		 * A WaitInterrupt completion may have been read by any dext call
		 * above, not only when the dext fd is readable: always check.
		 */
		passthrough_service_irqs(pt);
	}
}

int main(int argc, char **argv)
{
	struct options o = {
		.dext_socket = getenv("VFIO_APPLE_DEXT_SOCKET"),
		.max_entries = APPLE_DMA_DEFAULT_MAX_ENTRIES,
		.budget_ms = DEXT_LINK_DEFAULT_BUDGET_MS,
		.ready_fd = -1,
	};
	struct passthrough pt = { 0 };
	struct apple_dma_dev dma = { 0 };
	struct dext_link link;
	sigset_t mask;
	int sigfd, r;

	log_init("vfio-apple-server", LOG_LVL_INFO);
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (!o.dext_socket)
		o.dext_socket = "/run/vfio-apple/dextd.sock";

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0)
		return log_err_errno(-errno, "signalfd"), 1;

	if (dext_link_open(&link, o.dext_socket, o.dext_timeout_ms, o.bus, o.dev, o.fn) < 0)
		return 1;
	link.budget_ms = o.budget_ms;
	r = passthrough_create(&pt, o.device_socket, &link, o.bars_by_server);
	if (r == 0)
		r = apple_dma_dev_create(&dma, o.dma_socket, &link, o.managed_bdf, o.max_entries,
					 o.posted_doorbells);
	/* Before QEMU connects, so before the first guest RAM region arrives. */
	dma.share_ram = !o.no_share_ram;
	if (r == 0 && o.ready_fd >= 0) {
		if (write(o.ready_fd, "READY\n", 6) != 6)
			log_warn("ready notification: %s", strerror(errno));
		close(o.ready_fd);
	}
	if (r == 0)
		r = serve(&pt, &dma, &link, sigfd);
	if (pt.ctx && dma.ctx)
		print_stats(&pt, &dma, &link);
	apple_dma_dev_destroy(&dma);
	passthrough_destroy(&pt);
	dext_link_put(&link);
	close(sigfd);
	unlink(o.device_socket);
	unlink(o.dma_socket);
	return r < 0 ? 1 : 0;
}
