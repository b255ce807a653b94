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

#endif
