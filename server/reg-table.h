/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A set of live DMA registrations keyed by their 64-bit key (the GPA),
 * each with its length: an open-addressing hash table with linear probing
 * and backward-shift deletion, so there are no tombstones.
 */
#ifndef VFIO_APPLE_REG_TABLE_H
#define VFIO_APPLE_REG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reg_table {
	struct reg_entry {
		uint64_t key;
		uint64_t len;	/* 0: empty slot */
	} *slots;
	size_t cap;		/* power of two */
	size_t n;
};

void reg_table_init(struct reg_table *t);
void reg_table_free(struct reg_table *t);
/* Returns 0, -EEXIST or -ENOMEM. len must be > 0. */
int reg_table_add(struct reg_table *t, uint64_t key, uint64_t len);
/* Returns 0 or -ENOENT. */
int reg_table_del(struct reg_table *t, uint64_t key);
bool reg_table_has(const struct reg_table *t, uint64_t key);
/*
 * Stores in keys[] (up to max) the keys whose [key, key + len) overlaps
 * [start, start + len); returns how many overlap in all.
 */
size_t reg_table_overlapping(const struct reg_table *t, uint64_t start, uint64_t len,
			     uint64_t *keys, size_t max);

#endif /* VFIO_APPLE_REG_TABLE_H */
