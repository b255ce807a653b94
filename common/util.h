/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NFO_UTIL_H
#define NFO_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void nfo_freep(void *p)
{
	free(*(void **)p);
}

static inline void nfo_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(nfo_freep)
#define _cleanup_close_ _cleanup_(nfo_closep)

/* Hand over ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _p = (p);    \
		(p) = NULL;                \
		_p;                        \
	})
#define TAKE_FD(fd)                        \
	({                                 \
		int _fd = (fd);            \
		(fd) = -1;                 \
		_fd;                       \
	})

/* Grows *array (of *cap elements of size sz) to hold at least n elements. */
static inline int nfo_grow(void *array, size_t *cap, size_t n, size_t sz)
{
	void **a = array;
	size_t c = *cap ? *cap : 8;
	void *p;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	p = realloc(*a, c * sz);
	if (!p)
		return -ENOMEM;
	*a = p;
	*cap = c;
	return 0;
}

#endif
