/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Attach modes and the configured interfaces: what the configuration names,
 * the loader attaches and status shows. Shared by config, loader and daemon
 * so that none of them needs another's header for it.
 */
#ifndef NFO_IFACE_H
#define NFO_IFACE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

enum nfo_mode {
	NFO_MODE_XDP,         /* native XDP, falling back to generic */
	NFO_MODE_XDP_GENERIC,
	NFO_MODE_TC,          /* tcx ingress */
	_NFO_MODE_MAX,
};

const char *nfo_mode_name(int mode);
int nfo_mode_from_string(const char *s);

/*
 * One configured interface: what is attached to it (the loader's part), and
 * what the daemon found out about it when it last planned (the loader
 * neither reads nor writes those; status shows them).
 */
struct nfo_iface {
	char name[IF_NAMESIZE];
	int mode;         /* configured */
	int ifindex;      /* 0: not present */
	int active_mode;  /* what is attached (xdp may fall back to generic) */
	int link_fd;      /* -1: not attached */
	uint32_t prog_id;
	char error[192];  /* why not attached, or a note (fallback) */

	/* only its ingress chains are decided, and why ("": all its hooks) */
	char l3_note[96];
	/* nothing is decided on it (packets may be diverted before nftables
	 * sees them), and why ("": not blocked) */
	char block_note[128];
	bool foreign_tcx;    /* another tcx ingress program: what the last plan assumed */
	bool missing_logged; /* "not found" logged: said again only once it was seen */
};

#endif
