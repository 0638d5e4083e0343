// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: dextd's message decoder and request handler.
 *
 * Input: the whole input is first decoded as one datagram; then it is
 * split into records [u8 len][len bytes], each one datagram from one
 * client connection, decoded and, when it is a CALL or CONTROL message,
 * handled by the real dext_handle_request() of an in-process dextd (no
 * sockets: a dmatest function at 00:03.0 and an NVMe controller at
 * 00:04.0, created once, and a fake connection with pid = getpid()). The
 * NVMe worker is stopped (fuzz-nvme.h): registers and doorbells are
 * reached through the selectors, commands do not run (fuzz_nvme_cmd runs
 * them).
 *
 * Checked (abort on violation):
 *  - dext_msg_decode() fails with -EPROTO, or its message re-encodes
 *    (dext_msg_finish) to exactly the input length and bytes, with unused
 *    scalars zeroed;
 *  - dext_handle_request() returns 0 or a negative errno; on success the
 *    reply carries at most DEXT_WIRE_MAX_SCALARS and at most the n_out the
 *    request accepts, and an fd only for DEXT_CTL_MAP_MEMORY; on failure
 *    no fd; the reply built from it decodes again;
 *  - ASan/UBSan: no memory error anywhere in methods.c, function.c, the
 *    dmatest and NVMe models or the DART.
 * At the end of each input the connection is released
 * (dext_conn_release()), the functions are reset and their config space
 * and "terminated" flag are restored, so inputs do not depend on each other.
 *
 * Harness-specific rewrite: RegisterDMARegion's VA is redirected into a
 * harness-owned arena (VA 0 kept, size clamped to the arena), because the
 * connection's pid is the fuzzer itself and dmatest DMA through the DART
 * would otherwise write to arbitrary fuzzer memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>

#include <vfio-apple/dext-abi.h>
#include <vfio-apple/dext-wire.h>

#include "common/dext-msg.h"
#include "common/log.h"
#include "function.h"
#include "server.h"
#include "fuzz-util.h"
#include "fuzz-nvme.h"

#define ARENA_SIZE	(256u * 1024)

static struct dextd *daemon_;
static struct dext_function *fns[2];	/* dmatest 00:03.0, nvme 00:04.0 */
static uint8_t configs[2][DEXT_CONFIG_SPACE_SIZE];
static uint8_t arena[ARENA_SIZE] __attribute__((aligned(16384)));
static uint64_t next_conn_id = 1;

static void setup_once(void)
{
	struct dextd_config cfg = { .socket_path = NULL, .socket_mode = 0600, .ready_fd = -1 };
	struct dart_config dc;
	sigset_t mask;

	log_init("fuzz_dext_msg", LOG_LVL_ERROR);
	daemon_ = dextd_create(&cfg);
	FUZZ_CHECK(daemon_);
	/* dextd_create blocks SIGINT/SIGTERM for its signalfd; we have none. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	dart_config_defaults(&dc);
	dc.seed = 1;
	fns[0] = dmatest_create(0, 3, 0, &dc, NULL);
	FUZZ_CHECK(fns[0]);
	fns[1] = fuzz_nvme_create(0, 4, &dc);
	for (unsigned int i = 0; i < 2; i++) {
		FUZZ_CHECK(dextd_add_function(daemon_, fns[i]) == 0);
		memcpy(configs[i], fns[i]->config, sizeof(configs[i]));
	}
}

static void check_roundtrip(const uint8_t *buf, size_t len, const struct dext_msg *msg)
{
	struct dext_msg copy = *msg;
	size_t n = dext_msg_finish(&copy);

	FUZZ_CHECK(n == len);
	FUZZ_CHECK(!memcmp(&copy.hdr, buf, sizeof(copy.hdr)));
	FUZZ_CHECK(!memcmp(copy.scalars, buf + sizeof(copy.hdr), n - sizeof(copy.hdr)));
	for (unsigned int i = msg->hdr.n_scalars; i < DEXT_WIRE_MAX_SCALARS; i++)
		FUZZ_CHECK(msg->scalars[i] == 0);
}

static void redirect_va(struct dext_msg *req)
{
	uint64_t off, room;

	if (req->hdr.type != DEXT_MSG_CALL || req->hdr.op != DEXT_SEL_REGISTER_DMA_REGION ||
	    req->hdr.n_scalars != 3 || req->scalars[1] == 0)
		return;
	off = req->scalars[1] % ARENA_SIZE;
	room = ARENA_SIZE - off;
	req->scalars[1] = (uint64_t)(uintptr_t)arena + off;
	if (req->scalars[2] > room)
		req->scalars[2] %= room + 1;
}

static bool handle(struct dext_conn *conn, struct dext_msg *req)
{
	uint64_t out[DEXT_WIRE_MAX_SCALARS];
	struct dext_msg reply, back;
	uint16_t n_out = 0xffff;
	int r, fd_out = -2;
	size_t n;

	redirect_va(req);
	memset(out, 0, sizeof(out));
	r = dext_handle_request(conn, req, -1, out, &n_out, &fd_out);
	FUZZ_CHECK(r <= 0 && r > -4096);
	if (r == 0) {
		FUZZ_CHECK(n_out <= DEXT_WIRE_MAX_SCALARS);
		FUZZ_CHECK(n_out <= req->hdr.n_out);
		FUZZ_CHECK(fd_out >= -1);
		if (fd_out >= 0)
			FUZZ_CHECK(req->hdr.type == DEXT_MSG_CONTROL &&
				   req->hdr.op == DEXT_CTL_MAP_MEMORY);
	} else {
		FUZZ_CHECK(fd_out == -1);
	}
	if (r == 0 && req->hdr.type == DEXT_MSG_CALL && req->hdr.op == DEXT_SEL_WAIT_INTERRUPT)
		conn->wait_id = req->hdr.id;
	dext_msg_reply(&reply, req, r, out, n_out);
	n = reply.hdr.size;
	FUZZ_CHECK(n <= DEXT_WIRE_MAX_SIZE);
	FUZZ_CHECK(dext_msg_decode(&reply, n, &back) == 0);
	FUZZ_CHECK(back.hdr.error == r && back.hdr.id == req->hdr.id);
	if (fd_out >= 0)
		close(fd_out);
	/* The server closes the connection after such a reply. */
	return !conn->closing;
}

static void one_message(struct dext_conn *conn, const uint8_t *buf, size_t len, bool *open)
{
	struct dext_msg msg;
	int r;

	memset(&msg, 0x5a, sizeof(msg));
	r = dext_msg_decode(buf, len, &msg);
	FUZZ_CHECK(r == 0 || r == -EPROTO);
	if (r)
		return;
	check_roundtrip(buf, len, &msg);
	if (*open && (msg.hdr.type == DEXT_MSG_CALL || msg.hdr.type == DEXT_MSG_CONTROL))
		*open = handle(conn, &msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dext_conn conn;
	bool open = true, whole_open = false;
	size_t pos = 0;

	if (!daemon_)
		setup_once();
	memset(&conn, 0, sizeof(conn));
	conn.daemon = daemon_;
	conn.fd = -1;
	conn.id = next_conn_id++;
	conn.pid = getpid();
	conn.dma_buffer.memfd = -1;

	/* The decoder alone, on the whole input (never handled). */
	one_message(&conn, data, size, &whole_open);

	while (pos < size && open) {
		size_t len = data[pos++];

		if (len > size - pos)
			len = size - pos;
		one_message(&conn, data + pos, len, &open);
		pos += len;
	}

	dext_conn_release(&conn);
	FUZZ_CHECK(conn.fn == NULL && !conn.claimed && conn.dma_buffer.mem == NULL);
	for (unsigned int i = 0; i < 2; i++) {
		struct dext_function *fn = fns[i];

		pthread_mutex_lock(&fn->lock);
		fn_reset(fn);
		memcpy(fn->config, configs[i], sizeof(configs[i]));
		pthread_mutex_unlock(&fn->lock);
		fn->terminated = false;
		FUZZ_CHECK(fn->claims == 0 && fn->irq_owner == NULL);
	}
	return 0;
}
