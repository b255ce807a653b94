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

/* What each element of struct nfo_nft_elems carries (flags column). */
enum {
	NFO_NFT_ELEM_END = 1 << 0,        /* NFT_SET_ELEM_INTERVAL_END */
	NFO_NFT_ELEM_TIMEOUT = 1 << 1,    /* NFTA_SET_ELEM_TIMEOUT */
	NFO_NFT_ELEM_EXPIRATION = 1 << 2, /* NFTA_SET_ELEM_EXPIRATION */
	NFO_NFT_ELEM_KEY_END = 1 << 3,    /* NFTA_SET_ELEM_KEY_END */
	NFO_NFT_ELEM_VERDICT = 1 << 4,    /* NFTA_SET_ELEM_DATA with a verdict */
};

/*
 * The elements of one set as the kernel sent them, in columns: no object
 * per element (a libnftnl element is a few hundred bytes of heap, and a
 * blocklist has a million). Columns no element uses stay NULL.
 */
struct nfo_nft_elems {
	uint32_t family;
	char *table;
	char *name;
	uint32_t key_len;     /* every element's (the first one's) */
	bool bad;             /* an element of another key length, or a key end
			       * of another length than its key */
	bool repeated;        /* the dump sent an element twice: some may be
			       * missing (nfo_nft_elems_repeat); whether that
			       * matters is the importer's to say */
	size_t n;
	size_t cap;
	uint8_t *keys;        /* n * key_len */
	uint8_t *flags;       /* n: NFO_NFT_ELEM_* */
	uint8_t *key_ends;    /* n * key_len */
	uint64_t *timeouts;   /* ms */
	uint64_t *expirations; /* ms left when the message was built */
	uint32_t *verdicts;   /* NFTA_VERDICT_CODE, host order */
	char **chains;        /* NFTA_VERDICT_CHAIN, NULL for other verdicts */
};

void nfo_nft_elems_free(struct nfo_nft_elems **e);
/* An empty column set for one set (tests, and sets with no element). */
int nfo_nft_elems_new(struct nfo_nft_elems **ret, uint32_t family, const char *table,
		      const char *name);
/* The elements of a libnftnl set object, in columns (tests build sets
 * that way). */
int nfo_nft_elems_from_nftnl(struct nftnl_set *s, struct nfo_nft_elems **ret);

struct nfo_nft_dump {
	uint32_t genid;
	/* Read before the first element request of the dump (hz 0: none). */
	struct nfo_nft_jiffies at;
	struct nftnl_table_list *tables;
	struct nftnl_chain_list *chains;
	struct nftnl_set_list *sets; /* without their elements: */
	struct nfo_nft_elems **elems; /* per set that has elements */
	size_t nelems;
	struct nftnl_rule_list *rules;
	struct nftnl_flowtable_list *flowtables;
	/* Sets whose element dump was left running (nfo_nft_read_ruleset_opts
	 * with stream_after): elems holds what was read of them so far. */
	struct nfo_nft_stream **streams;
	size_t nstreams;
	size_t stream_after;
	/* Every message received, concatenated, when capture was asked for. */
	uint8_t *raw;
	size_t raw_len;
	size_t raw_cap;
	bool capture;
};

int nfo_nft_dump_new(struct nfo_nft_dump **ret);
void nfo_nft_dump_free(struct nfo_nft_dump **d);
/* The elements of a set of d; NULL if it has none. */
const struct nfo_nft_elems *nfo_nft_dump_elems(const struct nfo_nft_dump *d, uint32_t family,
					       const char *table, const char *name);

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

/*
 * The same, but the element dump of a plain set (no interval, map, or
 * packet-path updates; timeouts allowed) that has more than stream_after elements is not
 * read to its end: the dump stays running on a socket of its own, a
 * struct nfo_nft_stream in ret's streams, to be read on with
 * nfo_nft_stream_read(). The kernel's element dump is quadratic (each
 * message walks the set from its start), so a million elements take tens
 * of seconds; this way the rest of the ruleset is read in a fraction of it.
 * stream_after 0: read everything.
 */
int nfo_nft_read_ruleset_opts(struct nfo_nft_dump **ret, bool capture, uint64_t *progress,
			      size_t stream_after);

/* A set's element dump in progress. */
struct nfo_nft_stream {
	uint32_t family;
	char *table;
	char *name;
	uint64_t read;     /* elements read, the dump's part included */
	uint64_t pass_read; /* elements read by this pass (sent twice: twice) */
	bool interrupted;  /* the generation moved while it ran (as far as it
			    * was checked): it may have skipped elements */
	bool done;
	unsigned pass;     /* dumps of the set started (1: the first) */
	/* The clock read before this pass's request (hz 0: none): every
	 * expiration it returns is the time left at a later moment, so
	 * at + expiration is a lower bound of the kernel's expiry. */
	struct nfo_nft_jiffies at;
	struct mnl_socket *nl;
	uint8_t *rbuf;
	uint32_t seq;
};

/* The stream of a set in d, or NULL. */
struct nfo_nft_stream *nfo_nft_dump_stream(const struct nfo_nft_dump *d, uint32_t family,
					   const char *table, const char *name);
/* Takes stream i out of d (the caller frees it). */
struct nfo_nft_stream *nfo_nft_dump_take_stream(struct nfo_nft_dump *d, size_t i);
void nfo_nft_stream_free(struct nfo_nft_stream **st);
/* Reads stream i of d to its end into d's elements and drops it (the set
 * is then read whole): -EAGAIN if the generation moved while it ran (a
 * dump that spans generations can skip elements). */
int nfo_nft_dump_finish_stream(struct nfo_nft_dump *d, size_t i, uint64_t *progress);
/*
 * Reads up to max_msgs more messages of the set's elements into *ret
 * (new columns, the caller frees them; NULL when none came): 1 when the
 * dump ended, 0 when more are to come, -errno. Each recv() makes the
 * kernel build the next message, so this blocks only for that.
 */
int nfo_nft_stream_read(struct nfo_nft_stream *st, size_t max_msgs, struct nfo_nft_elems **ret);
/* A stream of one set's elements on a socket of its own, its first pass
 * requested (a set whose element changes could not all be followed: the
 * daemon reads it again while the fast path runs). */
int nfo_nft_stream_open(uint32_t family, const char *table, const char *name,
			struct nfo_nft_stream **ret);
/* Starts the set's element dump again (another pass, after a pass that
 * the generation moved under). */
int nfo_nft_stream_restart(struct nfo_nft_stream *st);

/* Whether es holds some element twice: an element dump that sent one
 * twice may have left others out (the set's hash table resized under the
 * walk), so it is read again (netlink/nft.c). Counted in
 * nfo_nft_dumps_repeated(). */
bool nfo_nft_elems_repeat(const struct nfo_nft_elems *es);

/* Element dumps (or stream passes) found to have sent an element twice
 * (the set's table resized under the walk: some left out) and read again,
 * since the process started. */
uint64_t nfo_nft_dumps_repeated(void);
void nfo_nft_note_dump_repeated(void);

int nfo_nft_get_genid(uint32_t *ret_genid);

/*
 * Reads one set and its elements (ret, ret_elems), checking the ruleset is
 * at generation genid before and after: -EAGAIN if it moved (then read
 * everything). ret_at: the clock read before the elements were asked for.
 */
int nfo_nft_read_set(uint32_t family, const char *table, const char *name, uint32_t genid,
		     struct nftnl_set **ret, struct nfo_nft_elems **ret_elems,
		     struct nfo_nft_jiffies *ret_at);

/* What GETSETELEM said of one key (nfo_nft_get_elems). */
struct nfo_nft_elem_state {
	bool present;            /* false: ENOENT, the set does not hold it now */
	bool has_timeout;
	bool has_expiration;
	uint64_t timeout_ms;     /* NFTA_SET_ELEM_TIMEOUT */
	uint64_t expiration_ms;  /* NFTA_SET_ELEM_EXPIRATION: time left when answered */
};

/*
 * Asks the kernel for nkeys keys (key_len bytes each) of one set, one
 * element per GETSETELEM request (the kernel answers each with the element
 * or its own error: an ENOENT tells only of that key), many requests per
 * sendmsg. ret[i]: key i's state now. ret_at: the clock read before the
 * first request, so that ret_at + expiration is a lower bound of each
 * element's expiry. A set or table gone answers ENOENT for every key: all
 * absent (its deletion is a notification of its own). Errors: the answers
 * cannot be trusted.
 */
int nfo_nft_get_elems(uint32_t family, const char *table, const char *name, const uint8_t *keys,
		      size_t nkeys, uint32_t key_len, struct nfo_nft_elem_state *ret,
		      struct nfo_nft_jiffies *ret_at);

/*
 * The answers in buf (what recv() returned) to requests seq0 .. seq0 + n - 1
 * of nfo_nft_get_elems() for keys (key_len bytes each): fills ret[i] and
 * sets answered[i] when request i's acknowledgement or error came. Pure
 * (unit-tested with captured replies). -EINVAL: an answer does not parse or
 * names another key; -errno: an error other than ENOENT.
 */
int nfo_nft_get_elems_parse(const void *buf, size_t len, uint32_t seq0, size_t n,
			    const uint8_t *keys, uint32_t key_len, struct nfo_nft_elem_state *ret,
			    bool *answered);

/* One GETSETELEM request for key into buf (room for
 * NFO_NFT_GETELEM_MAX bytes): its length. */
#define NFO_NFT_GETELEM_MAX 512
size_t nfo_nft_getelem_request(void *buf, uint32_t family, const char *table, const char *name,
			       const uint8_t *key, uint32_t key_len, uint32_t seq);

/* Notifications. */
struct nfo_nft_monitor;

/* NFT_DATA_VALUE_MAXLEN: the longest key an element can carry. */
#define NFO_NFT_KEY_MAX 64
/* Element operations buffered per transaction; past it the transaction's
 * sets are marked overflowed and must be read again. */
#define NFO_NFT_TXN_MAX_OPS 65536

/*
 * One element of a NEWSETELEM / DELSETELEM notification, as the kernel sent
 * it (nf_tables_fill_setelem). Fields not used yet are kept so that later
 * users (timeouts) need no change to the parser.
 */
struct nfo_nft_elem {
	uint8_t key[NFO_NFT_KEY_MAX];     /* NFTA_SET_ELEM_KEY, klen bytes */
	uint8_t key_end[NFO_NFT_KEY_MAX]; /* NFTA_SET_ELEM_KEY_END (concatenated ranges) */
	uint8_t klen;
	uint8_t kelen;
	bool del;                /* DELSETELEM */
	bool end;                /* NFT_SET_ELEM_INTERVAL_END: exclusive end of a range */
	bool has_timeout;
	bool has_expiration;
	uint64_t timeout_ms;     /* NFTA_SET_ELEM_TIMEOUT: only when not the set's default */
	uint64_t expiration_ms;  /* NFTA_SET_ELEM_EXPIRATION: time left when sent */
};

/* The element operations of one transaction on one set, in arrival order. */
struct nfo_nft_setdelta {
	uint32_t family;
	char *table;
	char *name;
	struct nfo_nft_elem *ops;
	size_t nops;
	size_t cap;
	/* more than NFO_NFT_TXN_MAX_OPS, or one that does not parse: ops
	 * dropped, read the set */
	bool overflow;
};

/* A completed transaction (its NEWGEN came). */
struct nfo_nft_txn {
	uint32_t genid;
	/* something else than elements changed, or an element message could
	 * not be parsed: the ruleset must be read again */
	bool structural;
	/* ... but only by adding rules that can only drop more: matches
	 * (loads, comparisons, set lookups), counters and a drop verdict, no
	 * other statement or verdict. nftables drops at least what it dropped
	 * before, so the fast path built before stays sound meanwhile. */
	bool only_drops;
	struct nfo_nft_setdelta *sets;
	size_t nsets;
};

struct nfo_nft_events {
	bool changed;      /* some ruleset change was announced */
	bool newgen;       /* a transaction completed */
	uint32_t genid;    /* the last completed generation seen */
	bool lost;         /* notifications were lost (ENOBUFS): resync */
	bool pending;      /* changes announced whose NEWGEN has not come yet */
	bool pending_structural; /* and they change more than elements */
	/* Completed transactions, in order. */
	struct nfo_nft_txn *txns;
	size_t ntxns;
};

void nfo_nft_txn_clear(struct nfo_nft_txn *t);
void nfo_nft_events_clear(struct nfo_nft_events *ev);

/* rcvbuf: socket receive buffer in bytes (0: the default, 32 MiB). */
int nfo_nft_monitor_new(struct nfo_nft_monitor **ret, int rcvbuf);
void nfo_nft_monitor_free(struct nfo_nft_monitor **m);
int nfo_nft_monitor_fd(const struct nfo_nft_monitor *m);
/* Reads every pending notification without blocking; accumulates into ev. */
int nfo_nft_monitor_read(struct nfo_nft_monitor *m, struct nfo_nft_events *ev);
/* A monitor without a socket, for nfo_nft_monitor_parse() (unit tests). */
int nfo_nft_monitor_new_offline(struct nfo_nft_monitor **ret);
/* Feeds a buffer of notifications (as recv() returned them) through m;
 * accumulates into ev. */
int nfo_nft_monitor_parse(struct nfo_nft_monitor *m, const void *buf, size_t len,
			  struct nfo_nft_events *ev);

#endif
