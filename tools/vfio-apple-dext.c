// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-apple-dext: look at what the dext (dextd on Linux) serves. Built
 * with DEXT_CLIENT_IOKIT (macOS) it lists from the IOKit registry; the
 * commands built on dextd's control operations are not available there.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "dext-client/dext-client.h"
#ifdef DEXT_CLIENT_IOKIT
#include "dext-client/dext-client-iokit.h"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfio-apple-dext [--socket PATH] COMMAND\n"
		"Inspect the PCI functions a dext (dextd) serves.\n"
#ifdef DEXT_CLIENT_IOKIT
		"On macOS only 'list' works (from the IOKit registry); 'status' and\n"
		"'faults' read dextd's own counters, which the macOS dext does not have.\n"
#endif
		"\n"
		"Commands:\n"
		"  list                 one line per function: BDF, vendor:device, class\n"
		"  status               per function: claims, clients, vectors, live DART\n"
		"                       mappings and bytes, peaks, faults, interrupts, resets\n"
		"  faults [N]           the N most recent DART faults of each function (default 8)\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH    dextd's socket (default $VFIO_APPLE_DEXT_SOCKET or\n"
		"                       /run/vfio-apple/dextd.sock)\n"
		"  -h, --help           show this help\n");
}

static void print_identity(const struct dext_identity *id)
{
	printf("%02x:%02x.%x  %04x:%04x  %06x\n", id->bus, id->dev, id->fn, id->vendor,
	       id->device, id->class_code);
}

#ifdef DEXT_CLIENT_IOKIT
/* The dext's instances in the registry, each asked for its identity. */
static int cmd_list_iokit(void)
{
	struct dext_identity ids[256];
	unsigned int n;
	int r = dext_iokit_list(ids, 256, &n);

	if (r < 0)
		return r;
	printf("%-8s %-10s %s\n", "BDF", "ID", "CLASS");
	for (unsigned int i = 0; i < n && i < 256; i++)
		print_identity(&ids[i]);
	return 0;
}
#else
static int cmd_list(struct dext_client *c)
{
	struct dext_identity id;
	unsigned int i;
	int r;

	printf("%-8s %-10s %s\n", "BDF", "ID", "CLASS");
	for (i = 0; (r = dext_client_enum(c, i, &id)) == 0; i++)
		print_identity(&id);
	return r == -ENOENT ? 0 : r;
}


static int cmd_status(struct dext_client *c)
{
	uint64_t s[DEXT_STATUS_COUNT];
	unsigned int i;
	int r;

	printf("%-8s %6s %7s %7s %8s %12s %9s %12s %6s %8s %6s %9s %9s\n", "BDF", "claims",
	       "clients", "vectors", "mappings", "bytes", "peak-maps", "peak-bytes", "faults",
	       "irqs", "resets", "bar-writes", "off-16k");
	for (i = 0; (r = dext_client_status(c, i, s)) == 0; i++) {
		uint64_t bdf = s[DEXT_STATUS_BDF];

		printf("%02x:%02x.%x  %6llu %7llu %7llu %8llu %12llu %9llu %12llu %6llu %8llu %6llu %9llu %9llu\n",
		       (unsigned int)(bdf >> 8), (unsigned int)(bdf >> 3) & 0x1f,
		       (unsigned int)bdf & 7,
		       (unsigned long long)s[DEXT_STATUS_CLAIMS],
		       (unsigned long long)s[DEXT_STATUS_CLIENTS],
		       (unsigned long long)s[DEXT_STATUS_VECTORS],
		       (unsigned long long)s[DEXT_STATUS_MAPPINGS],
		       (unsigned long long)s[DEXT_STATUS_BYTES],
		       (unsigned long long)s[DEXT_STATUS_PEAK_MAPPINGS],
		       (unsigned long long)s[DEXT_STATUS_PEAK_BYTES],
		       (unsigned long long)s[DEXT_STATUS_FAULTS],
		       (unsigned long long)s[DEXT_STATUS_IRQS],
		       (unsigned long long)s[DEXT_STATUS_RESETS],
		       (unsigned long long)s[DEXT_STATUS_BAR_WRITES],
		       (unsigned long long)s[DEXT_STATUS_OFFSET_MISMATCH]);
	}
	return r == -ENOENT ? 0 : r;
}

static int cmd_faults(struct dext_client *c, unsigned int max)
{
	uint64_t s[DEXT_STATUS_COUNT];
	unsigned int i, n;
	int r;

	printf("%-8s %8s %18s %s\n", "BDF", "SEQ", "IOVA", "ACCESS");
	for (i = 0; (r = dext_client_status(c, i, s)) == 0; i++) {
		uint64_t bdf = s[DEXT_STATUS_BDF];
		struct dext_fault_info f;

		for (n = 0; n < max && dext_client_fault(c, i, n, &f) == 0; n++)
			printf("%02x:%02x.%x  %8llu 0x%016llx %s\n", (unsigned int)(bdf >> 8),
			       (unsigned int)(bdf >> 3) & 0x1f, (unsigned int)bdf & 7,
			       (unsigned long long)f.seq, (unsigned long long)f.iova,
			       f.access == 1 ? "device-read" : "device-write");
	}
	return r == -ENOENT ? 0 : r;
}
#endif

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *path = dext_default_socket(), *cmd;
	struct dext_client *c;
	uint64_t n = 8;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "list") && strcmp(cmd, "status") && strcmp(cmd, "faults")) {
		fprintf(stderr, "vfio-apple-dext: unknown command '%s' (see --help)\n", cmd);
		return 2;
	}
	if (!strcmp(cmd, "faults") && optind + 1 < argc &&
	    (parse_u64(argv[optind + 1], &n) < 0 || n > 64)) {
		fprintf(stderr, "vfio-apple-dext: faults: N must be 0..64\n");
		return 2;
	}
#ifdef DEXT_CLIENT_IOKIT
	(void)path;
	(void)c;
	if (strcmp(cmd, "list")) {
		fprintf(stderr,
			"vfio-apple-dext: '%s' reads dextd's control operations (status, faults);\n"
			"the macOS dext (" DEXT_IOKIT_USER_CLASS ") has none: only 'list' works here\n",
			cmd);
		return 1;
	}
	r = cmd_list_iokit();
	if (r < 0) {
		fprintf(stderr, "vfio-apple-dext: list: %s\n", strerror(-r));
		return 1;
	}
	return 0;
#else
	r = dext_client_connect(path, 0, &c);
	if (r < 0) {
		fprintf(stderr, "vfio-apple-dext: cannot reach dextd at %s: %s\n", path,
			strerror(-r));
		return 1;
	}
	if (!strcmp(cmd, "list"))
		r = cmd_list(c);
	else if (!strcmp(cmd, "status"))
		r = cmd_status(c);
	else
		r = cmd_faults(c, (unsigned int)n);
	dext_client_close(c);
	if (r < 0) {
		fprintf(stderr, "vfio-apple-dext: %s: %s\n", cmd, strerror(-r));
		return 1;
	}
	return 0;
#endif
}
