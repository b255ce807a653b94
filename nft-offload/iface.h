/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Attach modes and the configured interfaces: what the configuration names,
 * the loader attaches and status shows. Shared by config, loader and daemon
 * so that none of them needs another's header for it.
 */
#ifndef NFO_IFACE_H
#define NFO_IFACE_H

#include <net/if.h>
#include <stdint.h>

enum nfo_mode {
	NFO_MODE_XDP,         /* native XDP, falling back to generic */
	NFO_MODE_XDP_GENERIC,
	NFO_MODE_TC,          /* tcx ingress */
	_NFO_MODE_MAX,
};

const char *nfo_mode_name(int mode);
int nfo_mode_from_string(const char *s);

/* One configured interface and what is attached to it. */
struct nfo_iface {
	char name[IF_NAMESIZE];
	int mode;         /* configured */
	int ifindex;      /* 0: not present */
	int active_mode;  /* what is attached (xdp may fall back to generic) */
	int link_fd;      /* -1: not attached */
	uint32_t prog_id;
	char error[192];  /* why not attached, or a note (fallback) */
};

#endif
