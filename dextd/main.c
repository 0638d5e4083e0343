// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dextd: the Linux platform of vfio-apple. Serves the dext user-client
 * interface for simulated PCI functions behind a DART model.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "function.h"
#include "server.h"

#define DEFAULT_SOCKET	"/run/vfio-apple/dextd.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dextd [OPTION]... --function KIND,bdf=BB:DD.F[,KEY=VALUE]...\n"
		"Serve the dext user-client interface (VFIOUserPCIDriver) for simulated PCI\n"
		"functions behind a model of the Apple DART, on a UNIX socket.\n"
		"\n"
		"  -s, --socket PATH        socket to listen on (default %s,\n"
		"                           or $VFIO_APPLE_DEXT_SOCKET)\n"
		"  -m, --socket-mode MODE   octal permission bits of the socket (default 0600)\n"
		"  -f, --function SPEC      add a function; repeatable. SPEC is KIND,bdf=BB:DD.F\n"
		"                           then optional DART settings and device options:\n"
		"                             max-mappings=N   live mappings (default 65536)\n"
		"                             max-bytes=SIZE   registered bytes (default 1536M)\n"
		"                             iova-bits=N      IOVA aperture (default 32)\n"
		"                             seed=N           placement seed (default random)\n"
		"                             dma-segment=SIZE AllocateDMABuffer's DART segments\n"
		"                                              (16 KiB multiple; default one)\n"
		"                           KIND: dmatest, or nvme with options:\n"
		"                             size=SIZE        namespace bytes (default 256M)\n"
		"                             backing=PATH     file for the namespace, created\n"
		"                                              or extended to size=\n"
		"                             lba=512|4096     LBA data size (default 512)\n"
		"                             queues=N         I/O queue pairs, 1..64 (default 8)\n"
		"                             workers=N        threads running commands, 1..16\n"
		"                                              (default 4)\n"
		"      --ready-fd FD        write READY to FD once listening, then close it\n"
		"  -v, --verbose            log every refused request\n"
		"  -h, --help               show this help\n"
		"\n"
		"Example: dextd -s /tmp/dextd.sock -f dmatest,bdf=01:00.0,max-mappings=1024\n",
		DEFAULT_SOCKET);
}

/* Parses "KIND,bdf=..,key=val,..." and creates the function. */
static struct dext_function *function_from_spec(const char *spec)
{
	struct dart_config dc;
	unsigned int bus = 0, dev = 0, fn = 0;
	char *copy = strdup(spec), *save = NULL, *tok, *kind;
	char devopts[1024] = "";
	struct dext_function *f = NULL;
	bool have_bdf = false;
	uint64_t v, dma_segment = 0;

	if (!copy)
		return NULL;
	dart_config_defaults(&dc);
	kind = strtok_r(copy, ",", &save);
	while (kind && (tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			log_error("--function %s: '%s' is not KEY=VALUE", spec, tok);
			goto out;
		}
		*eq++ = '\0';
		if (!strcmp(tok, "bdf")) {
			if (parse_bdf(eq, &bus, &dev, &fn) < 0) {
				log_error("--function %s: bad bdf '%s' (want BB:DD.F)", spec, eq);
				goto out;
			}
			have_bdf = true;
		} else if (!strcmp(tok, "max-mappings") && !parse_u64(eq, &v) && v && v <= UINT32_MAX) {
			dc.max_mappings = (uint32_t)v;
		} else if (!strcmp(tok, "max-bytes") && !parse_size(eq, &v) && v) {
			dc.max_total_bytes = v;
		} else if (!strcmp(tok, "iova-bits") && !parse_u64(eq, &v) && v >= 24 && v <= 48) {
			dc.iova_bits = (unsigned int)v;
		} else if (!strcmp(tok, "seed") && !parse_u64(eq, &v)) {
			dc.seed = v;
		} else if (!strcmp(tok, "dma-segment") && !parse_size(eq, &v) &&
			   v >= DEXT_DART_PAGE_SIZE && !(v & (DEXT_DART_PAGE_SIZE - 1))) {
			dma_segment = v;
		} else if (!strcmp(tok, "max-mappings") || !strcmp(tok, "max-bytes") ||
			   !strcmp(tok, "iova-bits") || !strcmp(tok, "seed") ||
			   !strcmp(tok, "dma-segment")) {
			log_error("--function %s: bad value for %s: '%s'", spec, tok, eq);
			goto out;
		} else {
			/* Left for the device model, which rejects what it does not know. */
			size_t used = strlen(devopts);
			int w = snprintf(devopts + used, sizeof(devopts) - used, "%s%s=%s",
					 used ? "," : "", tok, eq);

			if (w < 0 || (size_t)w >= sizeof(devopts) - used) {
				log_error("--function %s: device options too long", spec);
				goto out;
			}
		}
	}
	if (!kind || !have_bdf) {
		log_error("--function %s: need KIND,bdf=BB:DD.F", spec);
		goto out;
	}
	if (!strcmp(kind, "dmatest")) {
		f = dmatest_create(bus, dev, fn, &dc, devopts);
	} else if (!strcmp(kind, "nvme")) {
		f = nvme_create(bus, dev, fn, &dc, devopts);
	} else {
		log_error("--function %s: unknown kind '%s' (known: dmatest, nvme)", spec, kind);
		goto out;
	}
	if (!f)
		log_error("--function %s: %s", spec, strerror(errno));
	else
		f->dma_segment = dma_segment;
out:
	free(copy);
	return f;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "function", required_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct dextd_config cfg = {
		.socket_path = getenv("VFIO_APPLE_DEXT_SOCKET"),
		.socket_mode = 0600,
		.ready_fd = -1,
	};
	const char *specs[64];
	unsigned int n_specs = 0;
	struct dextd *d;
	uint64_t v;
	int c, r;

	log_init("dextd", LOG_LVL_INFO);
	while ((c = getopt_long(argc, argv, "s:m:f:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'm': {
			char *end;
			long mode = strtol(optarg, &end, 8);

			if (*end || mode < 0 || mode > 0777) {
				log_error("--socket-mode: '%s' is not an octal mode", optarg);
				return 2;
			}
			cfg.socket_mode = (mode_t)mode;
			break;
		}
		case 'f':
			if (n_specs == 64) {
				log_error("at most 64 functions");
				return 2;
			}
			specs[n_specs++] = optarg;
			break;
		case 'R':
			if (parse_u64(optarg, &v) < 0 || v > 1024) {
				log_error("--ready-fd: '%s' is not a file descriptor", optarg);
				return 2;
			}
			cfg.ready_fd = (int)v;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see --help)", argv[optind]);
		return 2;
	}
	if (!n_specs) {
		log_error("no --function given: nothing to serve (see --help)");
		return 2;
	}
	if (!cfg.socket_path)
		cfg.socket_path = DEFAULT_SOCKET;

	d = dextd_create(&cfg);
	if (!d)
		return 1;
	for (unsigned int i = 0; i < n_specs; i++) {
		struct dext_function *f = function_from_spec(specs[i]);

		if (!f) {
			dextd_destroy(d);
			return 2;
		}
		r = dextd_add_function(d, f);
		if (r < 0) {
			log_error("--function %s: %02x:%02x.%x already used", specs[i], f->bus,
				  f->dev, f->fn);
			fn_free(f);
			dextd_destroy(d);
			return 2;
		}
		log_info("%02x:%02x.%x: %s %04x:%04x", f->bus, f->dev, f->fn, f->ops->kind,
			 f->vendor, f->device);
	}
	r = dextd_run(d);
	dextd_destroy(d);
	return r < 0 ? 1 : 0;
}
