/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The captured netlink dumps of tests/data (NAME.nlmsg, made from
 * rulesets/NAME.nft by tests/data/regenerate.sh), shared by the unit tests.
 */
#ifndef NFO_TEST_CAPTURE_H
#define NFO_TEST_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

/* Reads $NFO_TEST_DATA/NAME.nlmsg into a malloc'd buffer; -errno, and a line
 * on stderr that says why. */
int nfo_test_read_capture(const char *name, uint8_t **ret_buf, size_t *ret_len);

/* Every capture of $NFO_TEST_DATA in turn:
 *	struct nfo_test_captures it = {};
 *	while ((r = nfo_test_capture_next(&it)) > 0)
 *		use it.file ("NAME.nlmsg"), it.buf, it.len;
 *	(r: 0 after the last one, which frees everything; -errno on failure) */
struct nfo_test_captures {
	void *dir;
	char file[256];
	uint8_t *buf;
	size_t len;
};

int nfo_test_capture_next(struct nfo_test_captures *it);

#endif
