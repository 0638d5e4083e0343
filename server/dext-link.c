// SPDX-License-Identifier: GPL-2.0-or-later
#include "dext-link.h"

#include <errno.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

int dext_link_open(struct dext_link *l, const char *socket, unsigned int timeout_ms,
		   unsigned int bus, unsigned int dev, unsigned int fn)
{
	struct dext_identity id;
	int r;

	memset(l, 0, sizeof(*l));
	l->bus = bus;
	l->dev = dev;
	l->fn = fn;
	r = dext_client_connect(socket, timeout_ms, &l->client);
	if (r < 0)
		return log_err_errno(r, "cannot reach the dext at %s", socket);
	r = dext_client_open(l->client, bus, dev, fn);
	if (r == 0)
		r = dext_get_identity(l->client, &id);
	if (r == 0)
		r = dext_claim(l->client);
	if (r < 0) {
		dext_client_close(l->client);
		l->client = NULL;
		return log_err_errno(r, "host device %02x:%02x.%x", bus, dev, fn);
	}
	log_info("host device %02x:%02x.%x: %04x:%04x class %06x, claimed", bus, dev, fn,
		 id.vendor, id.device, id.class_code);
	l->refs = 1;
	return 0;
}

struct dext_link *dext_link_get(struct dext_link *l)
{
	l->refs++;
	return l;
}

void dext_link_put(struct dext_link *l)
{
	if (!l || --l->refs)
		return;
	/* Closing the connection releases the claim and every registration. */
	dext_client_close(l->client);
	l->client = NULL;
}

int dext_link_check(struct dext_link *l, int r, const char *what)
{
	if (l->lost)
		return -ENODEV;
	if (r == -ECONNRESET || r == -ETIMEDOUT || r == -EPIPE) {
		l->lost = true;
		log_error("host device %02x:%02x.%x lost: the dext stopped answering (%s: %s)",
			  l->bus, l->dev, l->fn, what, strerror(-r));
		/*
		 * Let go now, not at exit: a dext that is merely slow would
		 * otherwise keep our DART mappings and the claim, with bus
		 * mastering on, while we forget them. Ending the session makes
		 * it release everything.
		 */
		dext_client_shutdown(l->client);
		log_error("host device %02x:%02x.%x: dext session ended, its mappings and claim released",
			  l->bus, l->dev, l->fn);
		return -ENODEV;
	}
	return r;
}

void dext_link_request_begin(struct dext_link *l)
{
	int r;

	l->request_start_ns = monotonic_ns();
	l->lost_before_request = l->lost;
	if (l->lost || !l->budget_ms)
		return;
	r = dext_client_set_deadline(l->client,
				     l->request_start_ns + (uint64_t)l->budget_ms * 1000000u);
	if (r < 0) {
		/* The transport cannot bound a call (IOKit): say so once. */
		log_warn("host device %02x:%02x.%x: requests not bounded in time (%s)", l->bus,
			 l->dev, l->fn, strerror(-r));
		l->budget_ms = 0;
	}
}

void dext_link_request_end(struct dext_link *l, const char *what)
{
	uint64_t took_us = (monotonic_ns() - l->request_start_ns) / 1000;

	if (took_us > l->max_request_us)
		l->max_request_us = took_us;
	if (!l->budget_ms || l->lost_before_request)
		return;
	if (!l->lost) {
		dext_client_set_deadline(l->client, 0);
	} else if (took_us >= (uint64_t)l->budget_ms * 1000) {
		/* Lost in this request because its time ran out, not because dextd died. */
		l->over_budget++;
		log_error("host device %02x:%02x.%x: the dext did not finish %s request within "
			  "the %u ms budget", l->bus, l->dev, l->fn, what, l->budget_ms);
	}
}
