/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nft-offload-bench: packets per second one receiver CPU drops, with plain
 * nftables, with nft-offload, with a hand-written XDP filter for the same
 * drop and with an XDP program that drops everything, and the nanoseconds
 * per packet the BPF programs spend; then how long a ruleset change takes to
 * reach the fast path.
 *
 * Two network namespaces joined by a veth. The generator is
 * BPF_PROG_TEST_RUN in live-frames mode on one CPU: bpf/bench/nfo_gen.bpf.c
 * gives every frame a new UDP source port and redirects it out of the sender
 * veth. The receiving veth runs GRO and threaded NAPI, its NAPI thread pinned
 * to another CPU, so everything the receiver does per packet (XDP, building
 * the skb, GRO, tc, netfilter) happens on a core of its own, and the
 * generator offers more than any receiver mode can take. The receiver's rate
 * is the growth of the counter of whatever drops the packets (the nftables
 * rule, the daemon's totals, the BPF program's count) over a window in
 * steady state.
 *
 * The ruleset is N rules on other UDP ports followed by the counted rule that
 * drops the test traffic (as people write them), or the same N ports in one
 * named set. nft-offload runs as the real daemon, a child process in the
 * receiver namespace.
 *
 * Files: main.c options and the sequence of runs; netns.c namespaces, veth,
 * commands, CPUs; gen.c the traffic generator; modes.c rulesets, the daemon,
 * the BPF programs of the bench and the measurements; output.c the table,
 * JSON and chart; blocklist.c the --blocklist mode, a large blocklist that
 * keeps changing (its own figures and output).
 */
#ifndef NFO_BENCH_BENCH_H
#define NFO_BENCH_BENCH_H

#include <net/if.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct nfo_buf;
struct nfo_gen;
struct nfo_ref;
struct nfo_sink;
struct machine;
struct bpf_link;

#define TABLE "nfo_bench"
#define DROP_PORT 9            /* the port of the test traffic (discard) */
#define OTHER_PORT0 20000      /* the N non-matching rules: 20000, 20001, ... */
#define MAX_RULES 40000
#define MAX_COUNTS 16
#define MAX_RUNS 99
#define FLOWS 1024             /* UDP source ports the generator cycles through */
#define SPORT0 1024
#define FRAME_LEN 60           /* the smallest Ethernet frame without FCS */
#define FRAME6_LEN 64          /* IPv6: 14 + 40 + 8 bytes of headers, 2 of payload */
#define FRAME_MAX 80
#define PROBE_PORT 10          /* blocklist bench: the probe stream's port */
#define PROBE_EVERY 16         /* one frame in this many is a probe (a power of two) */
#define SATURATED 0.97         /* received/offered above this: generator-bound */
#define BUSY 0.85              /* receiver CPU busy below this: generator-bound */

#define IP_TX "192.0.2.1"      /* RFC 5737 TEST-NET-1, inside our namespaces */
#define IP_RX "192.0.2.2"
#define IP6_TX "2001:db8:ffff::1"  /* RFC 3849, the documentation prefix */
#define IP6_RX "2001:db8:ffff::2"
extern const uint8_t bench_mac_tx[6], bench_mac_rx[6];

enum bench_mode { M_NFT_INPUT, M_NFT_INGRESS, M_XDP, M_TC, M_REF, M_SINK, _M_MAX };
enum bench_layout { LAYOUT_LINEAR, LAYOUT_SET, _LAYOUT_MAX };

extern const char *const mode_id[_M_MAX];
extern const char *const mode_label[_M_MAX];
extern const char *const layout_id[_LAYOUT_MAX];

/* Modes whose packets a BPF program of ours or of the daemon drops. */
static inline bool mode_is_bpf(int mode)
{
	return mode == M_XDP || mode == M_TC || mode == M_REF || mode == M_SINK;
}

/* Modes that do not depend on the ruleset (measured with none loaded). */
static inline bool mode_is_fixed(int mode)
{
	return mode == M_REF || mode == M_SINK;
}

struct bench_opts {
	size_t rules[MAX_COUNTS];
	size_t nrules;
	size_t lat_rules[MAX_COUNTS];
	size_t nlat;
	double duration;
	unsigned runs;
	bool json;
	const char *plot;
	const char *daemon_bin; /* the nft-offload to measure */
	/* --blocklist: blocklist.c, instead of the packet rates */
	bool blocklist;
	size_t bl_v4, bl_nets, bl_v6, bl_nets6; /* elements of each set */
	bool bl_timeout;        /* the sets with flags timeout */
	double bl_churn;        /* adds (and as many deletes) per second */
	double bl_rate;         /* flood frames per second */
};

struct cell {
	double pps[MAX_RUNS];
	double offered[MAX_RUNS];
	double busy[MAX_RUNS];  /* share of the window the NAPI thread was on CPU */
	double ns_pkt[MAX_RUNS]; /* BPF modes: run_time_ns / run_cnt over the window */
	unsigned n;
	char attach[16]; /* nft-offload modes: what the daemon attached */
};

struct lat {
	size_t rules;
	double daemon_ms[MAX_RUNS];
	double build_ms[MAX_RUNS];
	double ext_ms[MAX_RUNS];
	double status_ms[MAX_RUNS];
	unsigned n;
};

struct env {
	const struct bench_opts *o;
	char tmp[64];          /* /tmp/nft-offload-bench.XXXXXX */
	char ns_name[2][48];  /* [0] sender, [1] receiver */
	bool ns_made[2];
	int self_ns, tx_ns, rx_ns;
	char if_tx[IF_NAMESIZE], if_rx[IF_NAMESIZE];
	int tx_ifindex;
	cpu_set_t allowed;     /* the CPUs we were given */
	cpu_set_t not_rx;      /* all but the receiver's */
	int gen_cpu, rx_cpu;
	double warmup;
	struct mnl_socket *nl; /* nftables netlink, in the receiver namespace */
	struct nfo_gen *gen;
	struct nfo_ref *ref;
	struct nfo_sink *sink;
	struct bpf_link *xdp_link; /* the ref or sink program while measured */
	int stats_fd;          /* BPF_ENABLE_STATS: run-time stats while held */
	int stats_sysctl;      /* kernel.bpf_stats_enabled to put back; -1: untouched */
	int ncpus_possible;
	uint8_t frame[FRAME_MAX];
	size_t frame_len;
	int gen_family;        /* of the frame: AF_INET or AF_INET6 */
	double gen_rate;       /* frames per second; 0: as fast as it can */
	pthread_t gen_thread;
	bool gen_running;
	atomic_bool gen_stop;
	atomic_bool gen_done;
	int gen_err;
	int autogroup_nice;    /* to put back; INT_MIN: untouched */
	pid_t napi_pids[8];    /* the receiver's NAPI threads */
	int nnapi;
	pid_t daemon_pid;
	char daemon_dir[PATH_MAX];
	char daemon_log[PATH_MAX];
	double daemon_live_s;  /* daemon_start: from fork to the fast path first live */
	double daemon_wait_s;  /* daemon_start gives up after this long (0: 120 s) */
	int status_timeout_ms; /* daemon_status gives up after this long without an answer
				* (0: 10 s) */
	int drop_family;       /* the counted drop rule of the loaded ruleset */
	const char *drop_chain;
	uint64_t drop_handle;
};

extern volatile sig_atomic_t bench_interrupted;

double now_s(void);
int sleep_s(double s);

/* netns.c */
void show_file(const char *path, const char *what);
int run(struct env *e, int nsfd, struct nfo_buf *out, const char *const *argv);
#define RUN(e, ns, out, ...) run((e), (ns), (out), (const char *const[]){ __VA_ARGS__, NULL })
int write_file(const char *path, const char *val);
int ns_write(int nsfd, const char *path, const char *val);
int enter_ns(int fd);
void leave_ns(struct env *e);
int pin_napi(struct env *e);
double napi_cpu_s(struct env *e);
int env_setup(struct env *e);
void env_free(struct env *e);

/* gen.c */
int gen_load(struct env *e);
int gen_start(struct env *e);
int gen_stop(struct env *e);
uint64_t gen_sent(struct env *e);
uint64_t gen_probe_sent(struct env *e);
void gen_frame(struct env *e, int family);
void gen_srcs_set(struct env *e, bool probe, const uint8_t (*addrs)[16], size_t n);

/* modes.c */
int bpf_stats_enable(struct env *e);
void bpf_stats_restore(struct env *e);
int bench_progs_load(struct env *e);
void bench_progs_free(struct env *e);
int xdp_attach(struct env *e, int mode);
void xdp_detach(struct env *e);
enum { RS_NONE, RS_INPUT, RS_INGRESS };
int ruleset_load(struct env *e, int where, int layout, size_t n);
struct dstatus {
	uint64_t generation;
	uint64_t updates;
	uint64_t set_updates;    /* of which element-only */
	uint64_t expiry_pending; /* elements added to sets with timeouts, not live yet */
	uint64_t passed_disabled; /* packets passed because the fast path was off */
	uint64_t dropped;
	uint64_t passed;
	double last_update_ms;
	double last_build_ms;
	bool enabled;
	bool attached;
	uint32_t prog_id;
	char mode[16];
};
int daemon_status(struct env *e, struct dstatus *ret);
const char *json_at(const char *s, const char *key);
int json_u64(const char *s, const char *key, uint64_t *ret);
int daemon_start(struct env *e, int mode, size_t nrules);
int daemon_stop(struct env *e);
int measure_into(struct env *e, int mode, struct cell *c);
int latency(struct env *e, struct lat *l);

/* blocklist.c */
struct bl_result {
	int family;            /* AF_INET, AF_INET6 */
	size_t addrs, nets;
	bool ran;
	double nft_load_s;     /* `nft -f` of the whole ruleset */
	double start_s;        /* daemon started -> fast path live */
	double loaded_s;       /* then -> no set being read any more */
	char where[2][24];     /* status' "fast_path" of the address set, the prefix set */
	double idle_share;     /* flood dropped in the fast path, nothing changing */
	uint64_t idle_sent, idle_lost; /* meanwhile: sent, lost before the fast path */
	double add_ms[MAX_RUNS], del_ms[MAX_RUNS];
	unsigned nadd, ndel;
	bool upd_off_seen;     /* status showed the fast path disabled during those */
	uint64_t upd_sent, upd_dropped, upd_passed_off;
	/* churn */
	double churn_s;
	uint64_t churn_adds, churn_dels, batches, batches_failed;
	double batch_ms_med, batch_ms_max;
	uint64_t flood_sent, flood_dropped, passed, passed_off;
	uint64_t updates, set_updates;
	uint64_t fp_seen;       /* frames the fast path ran on (its own totals) */
	uint64_t xdp_packets;   /* the veth's count of the same */
	uint64_t flood_reached; /* flood frames among them */
	uint64_t flood_nft_dropped, flood_seen; /* of those the fast path passed */
	uint64_t flood_dropped_by[2]; /* by the address set's rule, the prefix set's */
	uint64_t probe_sent, probe_reached, probe_seen;
	uint64_t probe_fp_dropped;  /* by the fast path: must be 0 */
	uint64_t probe_nft_dropped; /* by nftables itself */
	uint64_t veth_lost;     /* frames lost between generator and receiver */
	uint64_t wd_trips;      /* the watchdog turned the fast path off */
	/* the daemon's log of the churn's element updates: total, queued,
	 * model, GETSETELEM, maps, GETSETELEM's CPU time (ms) */
	double d_med[6], d_max[6];
	size_t d_updates;
	/* the adds to sets with timeouts, live when their expiries are
	 * answered: notification read -> live, asked after, GETSETELEM, maps */
	double a_med[4], a_max[4];
	size_t a_updates;
	unsigned d_lost, d_rereads;
	/* memory */
	uint64_t rss_kb, rss_after_kb;
	uint64_t map_bytes;
	unsigned nmaps;
};
int blocklist(struct env *e, struct bl_result *ret_v4, struct bl_result *ret_v6);
void bl_print(const struct bench_opts *o, const struct machine *m, const struct bl_result *r,
	      size_t n);
void bl_print_json(const struct bench_opts *o, const struct machine *m,
		   const struct bl_result *r, size_t n);

/* output.c */
struct summary {
	double med, min, max;
};
struct summary summarize(const double *v, unsigned n);
bool saturated(const struct cell *c);

struct machine {
	char cpu[128];
	int cpus;
	char kernel[128];
};
void machine_read(struct machine *m);

struct results {
	const struct bench_opts *o;
	struct machine m;
	int gen_cpu, rx_cpu;
	double warmup;
	struct cell *cells; /* [rule count][mode][layout] */
	struct lat *lat;
};
struct cell *cell_at(const struct results *res, size_t ni, int mode, int layout);
void log_cells(const struct results *res, size_t ni);
void print_table(const struct results *res);
void print_json(const struct results *res);
int plot(struct env *e, const struct results *res);

#endif
