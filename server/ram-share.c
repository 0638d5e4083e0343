// SPDX-License-Identifier: GPL-2.0-or-later
#include "ram-share.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The /proc/self/maps entry holding addr: file offset of addr, device, inode. */
static int find_mapping(uintptr_t addr, uint64_t *offset, dev_t *dev, ino_t *ino)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uintmax_t start, end, off, inode;
		unsigned int maj, min;
		char perms[8];

		if (sscanf(line, "%jx-%jx %7s %jx %x:%x %ju", &start, &end, perms, &off, &maj, &min,
			   &inode) != 7)
			continue;
		if (addr < start || addr >= end)
			continue;
		/* Only a shared file mapping has pages another process can map. */
		if (perms[3] == 's' && inode) {
			*offset = off + (addr - start);
			*dev = makedev(maj, min);
			*ino = (ino_t)inode;
			r = 0;
		}
		break;
	}
	fclose(f);
	return r;
}

int ram_share_fd(const void *addr, int *fd_out, uint64_t *offset)
{
	struct dirent *e;
	dev_t dev = 0;
	ino_t ino = 0;
	DIR *dir;
	int r = find_mapping((uintptr_t)addr, offset, &dev, &ino);

	if (r < 0)
		return r;
	dir = opendir("/proc/self/fd");
	if (!dir)
		return -errno;
	r = -ENOENT;
	while ((e = readdir(dir))) {
		struct stat st;
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (*end || n < 0 || n == dirfd(dir))
			continue;
		if (fstat((int)n, &st) == 0 && st.st_ino == ino && st.st_dev == dev) {
			*fd_out = fcntl((int)n, F_DUPFD_CLOEXEC, 0);
			r = *fd_out < 0 ? -errno : 0;
			break;
		}
	}
	closedir(dir);
	return r;
}
