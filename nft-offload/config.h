/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configuration file (default /etc/nft-offload/nft-offload.conf):
 *
 *     # comment
 *     interface eth0 [mode xdp|xdp-generic|tc]
 *     max-counters 16384
 *     max-diagram-edges 4000000
 *     metrics-listen 127.0.0.1:9101   # Prometheus endpoint (default: none)
 *     timeout-margin 20
 *     service NAME [ingress FAMILY TABLE CHAIN] [egress FAMILY TABLE CHAIN]
 *
 * Errors name the file, the line and the problem.
 */
#ifndef NFO_CONFIG_H
#define NFO_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NFO_DEFAULT_CONFIG "/etc/nft-offload/nft-offload.conf"
#define NFO_DEFAULT_MAX_COUNTERS 16384
#define NFO_DEFAULT_MAX_EDGES 4000000
/* ms before the kernel's expiry of a set element at which the fast path
 * stops counting it as present (docs/SEMANTICS.md, traps) */
#define NFO_DEFAULT_TIMEOUT_MARGIN_MS 20

struct nfo_config_iface {
	char name[IF_NAMESIZE];
	int mode;
};

/* Per-service filters (service.h): the chains a unit's sockets are held to. */
enum { NFO_SERVICE_INGRESS, NFO_SERVICE_EGRESS, _NFO_SERVICE_DIR_MAX };
#define NFO_SERVICE_NAME_MAX 256
#define NFO_NFT_NAME_MAX 256 /* NFT_NAME_MAXLEN */

struct nfo_config_chainref {
	bool set;
	int family; /* NFPROTO_IPV4, NFPROTO_IPV6 or NFPROTO_INET */
	char table[NFO_NFT_NAME_MAX];
	char chain[NFO_NFT_NAME_MAX];
};

struct nfo_config_service {
	char name[NFO_SERVICE_NAME_MAX];
	struct nfo_config_chainref dir[_NFO_SERVICE_DIR_MAX];
};

struct nfo_config {
	struct nfo_config_iface *ifaces;
	size_t nifaces;
	struct nfo_config_service *services;
	size_t nservices;
	uint32_t max_counters;
	size_t max_edges;
	char metrics_listen[64]; /* ADDR:PORT, "": no metrics endpoint */
	uint32_t timeout_margin_ms;
	/* decide-broadcast yes: prerouting and input decide broadcast and
	 * multicast frames too (no macvlan/ipvlan on the attached interfaces
	 * in other namespaces: docs/SEMANTICS.md 3.2) */
	bool decide_broadcast;
};

void nfo_config_init(struct nfo_config *c);
void nfo_config_clear(struct nfo_config *c);
/* Parses text (a whole file) named filename into c (added to what is there). */
int nfo_config_parse(struct nfo_config *c, const char *text, size_t len, const char *filename,
		     char *err, size_t errlen);
/* Reads and parses a file; a missing file is an error only if required. */
int nfo_config_load(struct nfo_config *c, const char *path, int required, char *err,
		    size_t errlen);
/* "IFACE" or "IFACE:MODE", as given to --attach. */
int nfo_config_add_attach(struct nfo_config *c, const char *spec, char *err, size_t errlen);
/* "NAME [ingress FAMILY TABLE CHAIN] [egress FAMILY TABLE CHAIN]", as given
 * to --service. */
int nfo_config_add_service(struct nfo_config *c, const char *spec, char *err, size_t errlen);
const struct nfo_config_service *nfo_config_find_service(const struct nfo_config *c,
							 const char *name);
const char *nfo_service_dir_name(int dir);
/* The service's directory name under <bpffs>/nft-offload/services: bpffs
 * refuses names with dots, so each '.' becomes '_'. */
void nfo_service_pin_name(const char *name, char *buf, size_t len);

/* "IPV4:PORT" or "[IPV6]:PORT" (a numeric address: the daemon resolves no
 * names) into a socket address; -EINVAL if it is neither. */
int nfo_listen_addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

#endif
