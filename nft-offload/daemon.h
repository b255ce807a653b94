/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NFO_DAEMON_H
#define NFO_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loader.h"
#include "status.h"

#define NFO_DEFAULT_RUN_DIR "/run/nft-offload"
#define NFO_DEFAULT_BPFFS "/sys/fs/bpf"

struct nfo_daemon_opts {
	const char *config_path;
	bool config_given;   /* --config: the file must exist */
	char **attach;       /* --attach IFACE[:MODE] */
	size_t nattach;
	char **services;     /* --service 'NAME [ingress F T C] [egress F T C]' */
	size_t nservices;
	const char *run_dir;
	const char *bpffs;
	int netlink_rcvbuf;  /* 0: default */
	const char *metrics_listen; /* --metrics-listen ADDR:PORT, NULL: the config's */
};

int nfo_daemon_main(const struct nfo_daemon_opts *opts);

#endif
