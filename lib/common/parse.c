// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_bdf(const char *s, unsigned int *bus, unsigned int *dev, unsigned int *fn)
{
	unsigned int dom = 0, b, d, f;
	int n = 0;

	if (sscanf(s, "%x:%x:%x.%x%n", &dom, &b, &d, &f, &n) == 4 && s[n] == '\0') {
		if (dom != 0)
			return -EINVAL;
	} else if (sscanf(s, "%x:%x.%x%n", &b, &d, &f, &n) != 3 || s[n] != '\0') {
		return -EINVAL;
	}
	if (b > 0xff || d > 0x1f || f > 7)
		return -EINVAL;
	*bus = b;
	*dev = d;
	*fn = f;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	char num[32];
	size_t len = strlen(s);
	const char *p;
	uint64_t v;
	unsigned int shift = 0;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	p = strchr(suffixes, num[len - 1]);
	if (p && num[len - 1]) {
		shift = 10 * (unsigned int)(p - suffixes + 1);
		num[len - 1] = '\0';
	}
	if (parse_u64(num, &v) < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}
