// SPDX-License-Identifier: GPL-2.0-or-later
#include "reg-table.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(const struct reg_table *t, uint64_t key)
{
	/* Fibonacci hashing: GPAs share low bits, so mix before masking. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (t->cap - 1);
}

void reg_table_init(struct reg_table *t)
{
	t->slots = NULL;
	t->cap = 0;
	t->n = 0;
}

void reg_table_free(struct reg_table *t)
{
	free(t->slots);
	reg_table_init(t);
}

static int grow(struct reg_table *t)
{
	struct reg_table bigger = { .cap = t->cap ? t->cap * 2 : 64 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].len)
			reg_table_add(&bigger, t->slots[i].key, t->slots[i].len);
	free(t->slots);
	*t = bigger;
	return 0;
}

int reg_table_add(struct reg_table *t, uint64_t key, uint64_t len)
{
	size_t i;

	if (!len)
		return -EINVAL;
	if ((t->n + 1) * 4 > t->cap * 3 && grow(t) < 0)
		return -ENOMEM;
	for (i = slot_of(t, key); t->slots[i].len; i = (i + 1) & (t->cap - 1))
		if (t->slots[i].key == key)
			return -EEXIST;
	t->slots[i].key = key;
	t->slots[i].len = len;
	t->n++;
	return 0;
}

static size_t find(const struct reg_table *t, uint64_t key)
{
	if (!t->cap)
		return SIZE_MAX;
	for (size_t i = slot_of(t, key); t->slots[i].len; i = (i + 1) & (t->cap - 1))
		if (t->slots[i].key == key)
			return i;
	return SIZE_MAX;
}

bool reg_table_has(const struct reg_table *t, uint64_t key)
{
	return find(t, key) != SIZE_MAX;
}

int reg_table_del(struct reg_table *t, uint64_t key)
{
	size_t i = find(t, key), j;

	if (i == SIZE_MAX)
		return -ENOENT;
	t->slots[i].len = 0;
	t->n--;
	/* Shift later members of the probe run back over the hole. */
	for (j = (i + 1) & (t->cap - 1); t->slots[j].len; j = (j + 1) & (t->cap - 1)) {
		size_t home = slot_of(t, t->slots[j].key);

		/* Move j to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			t->slots[j].len = 0;
			i = j;
		}
	}
	return 0;
}

size_t reg_table_overlapping(const struct reg_table *t, uint64_t start, uint64_t len,
			     uint64_t *keys, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->cap; i++) {
		const struct reg_entry *e = &t->slots[i];

		if (e->len && e->key < start + len && start < e->key + e->len) {
			if (n < max)
				keys[n] = e->key;
			n++;
		}
	}
	return n;
}
