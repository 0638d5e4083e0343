// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/dext-sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int dext_sock_send(int sock, const struct dext_msg *msg, int pass_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {
		.iov_base = (void *)msg,
		.iov_len = msg->hdr.size,
	};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == msg->hdr.size ? 0 : -EPROTO;
}

int dext_sock_recv(int sock, struct dext_msg *msg, int *fd_out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	char buf[DEXT_WIRE_MAX_SIZE];
	struct iovec iov = {
		.iov_base = buf,
		.iov_len = sizeof(buf),
	};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	int got_fd = -1;
	ssize_t n;
	int r;

	if (fd_out)
		*fd_out = -1;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;

	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t nfds, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got_fd < 0 && fd_out)
				got_fd = fd;
			else
				close(fd);
		}
	}

	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		r = -EPROTO;
	else
		r = dext_msg_decode(buf, (size_t)n, msg);
	if (r < 0) {
		if (got_fd >= 0)
			close(got_fd);
		return r;
	}
	if (fd_out)
		*fd_out = got_fd;
	return 0;
}
