// SPDX-License-Identifier: GPL-2.0-or-later
#include "shared-ram.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void shared_ram_init(struct shared_ram *s)
{
	pthread_rwlockattr_t a;

	memset(s, 0, sizeof(*s));
	pthread_rwlockattr_init(&a);
	/* A removal must not starve behind a steady stream of device copies. */
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->lock, &a);
	pthread_rwlockattr_destroy(&a);
}

void shared_ram_fini(struct shared_ram *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		munmap(s->r[i].map, s->r[i].len);
	s->n = 0;
	pthread_rwlock_destroy(&s->lock);
}

/* The range of pid holding [va, va + len), or NULL. Lock held. */
static const struct shared_ram_range *find(const struct shared_ram *s, pid_t pid, uint64_t va,
					   uint64_t len)
{
	for (unsigned int i = 0; i < s->n; i++) {
		const struct shared_ram_range *r = &s->r[i];

		if (r->pid == pid && va >= r->va && len <= r->len && va - r->va <= r->len - len)
			return r;
	}
	return NULL;
}

int shared_ram_add(struct shared_ram *s, uint64_t owner, pid_t pid, uint64_t va, uint64_t len,
		   int fd, uint64_t offset, unsigned int max_per_owner)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned int mine = 0;
	struct stat st;
	int seals, r = 0;
	void *map;

	if (fd < 0 || !len || (va | len | offset) & (page - 1) || va + len < va ||
	    offset + len < offset || offset + len > (uint64_t)INT64_MAX)
		return -EINVAL;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size < offset + len)
		return -EINVAL;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
	if (map == MAP_FAILED)
		return -errno;

	pthread_rwlock_wrlock(&s->lock);
	for (unsigned int i = 0; i < s->n && !r; i++) {
		const struct shared_ram_range *x = &s->r[i];

		if (x->owner == owner)
			mine++;
		if (x->pid == pid && va < x->va + x->len && x->va < va + len)
			r = -EEXIST;
	}
	if (!r && (mine >= max_per_owner || s->n == SHARED_RAM_MAX))
		r = -ENOSPC;
	if (!r) {
		s->r[s->n] = (struct shared_ram_range){
			.owner = owner, .pid = pid, .va = va, .len = len, .map = map,
		};
		__atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELEASE);
	}
	pthread_rwlock_unlock(&s->lock);
	if (r)
		munmap(map, len);
	return r;
}

/* Removes entry i; write lock held. */
static void drop(struct shared_ram *s, unsigned int i)
{
	munmap(s->r[i].map, s->r[i].len);
	s->r[i] = s->r[s->n - 1];
	__atomic_store_n(&s->n, s->n - 1, __ATOMIC_RELEASE);
}

int shared_ram_remove(struct shared_ram *s, uint64_t owner, uint64_t va)
{
	int r = -ENOENT;

	pthread_rwlock_wrlock(&s->lock);
	for (unsigned int i = 0; i < s->n; i++) {
		if (s->r[i].owner == owner && s->r[i].va == va) {
			drop(s, i);
			r = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&s->lock);
	return r;
}

unsigned int shared_ram_remove_owner(struct shared_ram *s, uint64_t owner)
{
	unsigned int n = 0;

	pthread_rwlock_wrlock(&s->lock);
	for (unsigned int i = 0; i < s->n;) {
		if (s->r[i].owner == owner) {
			drop(s, i);
			n++;
		} else {
			i++;
		}
	}
	pthread_rwlock_unlock(&s->lock);
	return n;
}

bool shared_ram_copy(struct shared_ram *s, pid_t pid, uint64_t va, void *buf, size_t len,
		     bool to_target)
{
	const struct shared_ram_range *r;

	/* Without sharing (the faithful path), no lock; n is re-read under it. */
	if (!__atomic_load_n(&s->n, __ATOMIC_ACQUIRE))
		return false;
	pthread_rwlock_rdlock(&s->lock);
	r = find(s, pid, va, len);
	if (r) {
		uint8_t *p = r->map + (va - r->va);

		if (to_target)
			memcpy(p, buf, len);
		else
			memcpy(buf, p, len);
	}
	pthread_rwlock_unlock(&s->lock);
	return r != NULL;
}

void shared_ram_hold(struct shared_ram *s)
{
	pthread_rwlock_rdlock(&s->lock);
}

void *shared_ram_find(struct shared_ram *s, pid_t pid, uint64_t va, size_t len)
{
	const struct shared_ram_range *r = find(s, pid, va, len);

	return r ? r->map + (va - r->va) : NULL;
}

void shared_ram_release(struct shared_ram *s)
{
	pthread_rwlock_unlock(&s->lock);
}
