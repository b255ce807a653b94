/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NFO_FS_H
#define NFO_FS_H

#include <stdbool.h>
#include <sys/types.h>

/* Creates the directories of path (with mode; existing ones are fine), the
 * last component too if last; 0 or -errno. */
int nfo_mkdir_p(const char *path, mode_t mode, bool last);

#endif
