/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables over netlink: consistent ruleset dumps and change notifications.
 * Returns libnftnl objects; does not interpret them and does not print.
 */
#ifndef NFO_NETLINK_NFT_H
#define NFO_NETLINK_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct nftnl_table_list;
struct nftnl_chain_list;
struct nftnl_rule_list;
struct nftnl_set_list;
struct nftnl_set;
struct nftnl_flowtable_list;

/*
 * The kernel clock set element timeouts count in: jiffies64 as
 * get_jiffies_64() returns it, and its rate. NFTA_SET_ELEM_EXPIRATION is
 * the time left (ms) when the kernel built the message, so a reading taken
 * before the request makes each expiry's lower bound.
 */
struct nfo_nft_jiffies {
	uint64_t jiffies;
	uint32_t hz; /* 0: no reading */
};

/* Who reads it (the daemon: a BPF program). NULL: nobody; then sets whose
 * elements expire cannot be followed. */
typedef int (*nfo_nft_clock_fn)(void *userdata, struct nfo_nft_jiffies *ret);
void nfo_nft_set_clock(nfo_nft_clock_fn fn, void *userdata);

struct nfo_nft_dump {
	uint32_t genid;
	/* Read before the first element request of the dump (hz 0: none). */
	struct nfo_nft_jiffies at;
	struct nftnl_table_list *tables;
	struct nftnl_chain_list *chains;
	struct nftnl_set_list *sets; /* with their elements */
	struct nftnl_rule_list *rules;
	struct nftnl_flowtable_list *flowtables;
	/* Every message received, concatenated, when capture was asked for. */
	uint8_t *raw;
	size_t raw_len;
	size_t raw_cap;
	bool capture;
};

int nfo_nft_dump_new(struct nfo_nft_dump **ret);
void nfo_nft_dump_free(struct nfo_nft_dump **d);

/*
 * Adds the objects in a buffer of netlink messages (NEWTABLE, NEWCHAIN,
 * NEWSET, NEWSETELEM, NEWRULE, NEWFLOWTABLE, NEWGEN, as a dump returns them) to d. Set
 * elements must follow their set. Unit tests feed captured dumps through here.
 */
int nfo_nft_dump_parse(struct nfo_nft_dump *d, const void *buf, size_t len);

/*
 * Reads the whole ruleset at one generation: retries while the generation
 * moves during the dump. -EAGAIN if it never settled. *progress (if given)
 * counts the set elements read so far, atomically, for another thread to
 * report.
 */
int nfo_nft_read_ruleset(struct nfo_nft_dump **ret, bool capture, uint64_t *progress);

int nfo_nft_get_genid(uint32_t *ret_genid);

/*
 * Reads one set with its elements, checking the ruleset is at generation
 * genid before and after: -EAGAIN if it moved (then read everything).
 * ret_at: the clock read before the elements were asked for.
 */
int nfo_nft_read_set(uint32_t family, const char *table, const char *name, uint32_t genid,
		     struct nftnl_set **ret, struct nfo_nft_jiffies *ret_at);

/* Notifications. */
struct nfo_nft_monitor;

/* A set whose elements a completed transaction changed. */
struct nfo_nft_setname {
	uint32_t family;
	char *table;
	char *name;
};

struct nfo_nft_events {
	bool changed;      /* some ruleset change was announced */
	bool newgen;       /* a transaction completed */
	uint32_t genid;    /* the last completed generation seen */
	bool lost;         /* notifications were lost (ENOBUFS): resync */
	bool pending;      /* changes announced whose NEWGEN has not come yet */
	/* Completed transactions: did anything change but set elements, and
	 * which sets' elements changed. */
	bool structural;
	struct nfo_nft_setname *sets;
	size_t nsets;
};

void nfo_nft_events_clear(struct nfo_nft_events *ev);

/* rcvbuf: socket receive buffer in bytes (0: the default, 32 MiB). */
int nfo_nft_monitor_new(struct nfo_nft_monitor **ret, int rcvbuf);
void nfo_nft_monitor_free(struct nfo_nft_monitor **m);
int nfo_nft_monitor_fd(const struct nfo_nft_monitor *m);
/* Reads every pending notification without blocking; accumulates into ev. */
int nfo_nft_monitor_read(struct nfo_nft_monitor *m, struct nfo_nft_events *ev);

#endif
