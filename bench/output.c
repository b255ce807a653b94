// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload-bench: what it prints: the table, JSON, the chart. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "nft-offload/json.h"
#include "common/log.h"
#include "common/util.h"

#include "bench.h"

/* the width of the first column of the tables: the longest label */
#define LABEL_W 34

void machine_read(struct machine *m)
{
	struct utsname u;
	char line[256];
	FILE *f;

	snprintf(m->cpu, sizeof(m->cpu), "unknown CPU");
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "model name", 10) || !(p = strchr(line, ':')))
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(m->cpu, sizeof(m->cpu), "%s", p);
		break;
	}
	if (f)
		fclose(f);
	m->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "Linux %s", u.release);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct summary summarize(const double *v, unsigned n)
{
	double s[MAX_RUNS];
	struct summary r = {};

	if (!n)
		return r;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

/* Whether the receiver, not the generator, set the pace. */
bool saturated(const struct cell *c)
{
	return summarize(c->pps, c->n).med < SATURATED * summarize(c->offered, c->n).med &&
	       summarize(c->busy, c->n).med >= BUSY;
}

struct cell *cell_at(const struct results *res, size_t ni, int mode, int layout)
{
	return &res->cells[(ni * _M_MAX + (size_t)mode) * _LAYOUT_MAX + (size_t)layout];
}

/* The rows of the table and the series of the chart. */
static const struct {
	int mode, layout;
} series[] = {
	{ M_NFT_INPUT, LAYOUT_LINEAR }, { M_NFT_INPUT, LAYOUT_SET },
	{ M_NFT_INGRESS, LAYOUT_LINEAR }, { M_NFT_INGRESS, LAYOUT_SET },
	{ M_XDP, LAYOUT_LINEAR }, { M_XDP, LAYOUT_SET },
	{ M_TC, LAYOUT_LINEAR }, { M_TC, LAYOUT_SET },
	{ M_REF, LAYOUT_LINEAR },
	{ M_SINK, LAYOUT_LINEAR },
};

static void series_label(size_t i, char *buf, size_t len)
{
	if (mode_is_fixed(series[i].mode))
		snprintf(buf, len, "%s", mode_label[series[i].mode]);
	else
		snprintf(buf, len, "%s, %s", mode_label[series[i].mode], layout_id[series[i].layout]);
}

/* Decimals for a rate in Mpps: 0.006, 0.049, 0.39, 3.06. */
static int mpps_digits(double pps)
{
	return pps < 0.0995e6 ? 3 : 2;
}

static void log_cell(size_t nrules, int mode, int layout, const struct cell *c)
{
	struct summary s = summarize(c->pps, c->n), o = summarize(c->offered, c->n),
		       b = summarize(c->busy, c->n), ns = summarize(c->ns_pkt, c->n);
	char inside[48] = "";

	if (mode_is_bpf(mode))
		snprintf(inside, sizeof(inside), ", %.0f ns/packet in BPF", ns.med);
	log_info("bench: %zu rules, %s%s%s: %.3f Mpps (%.3f-%.3f)%s, offered %.2f Mpps, "
		 "receiver CPU %.0f%% busy%s", nrules, mode_label[mode],
		 mode_is_fixed(mode) ? "" : ", ", mode_is_fixed(mode) ? "" : layout_id[layout],
		 s.med / 1e6, s.min / 1e6, s.max / 1e6, inside, o.med / 1e6, b.med * 100,
		 saturated(c) ? "" : " (not saturated)");
}

/* The figures of one rule count, on stderr as they come. */
void log_cells(const struct results *res, size_t ni)
{
	for (size_t i = 0; i < ARRAY_SIZE(series); i++)
		log_cell(res->o->rules[ni], series[i].mode, series[i].layout,
			 cell_at(res, ni, series[i].mode, series[i].layout));
}

/* Ratio of the medians of two series; 0 when b has none. */
static double ratio(const double *a, unsigned na, const double *b, unsigned nb)
{
	double d = summarize(b, nb).med;

	return d > 0 ? summarize(a, na).med / d : 0;
}

/* nft-offload xdp (linear) against mode `base`, per rule count: Mpps or ns/pkt. */
static void ratio_row(const struct results *res, const char *title, int base, bool times,
		      bool ns)
{
	char cell[48];

	printf("%-*s", LABEL_W, title);
	for (size_t ni = 0; ni < res->o->nrules; ni++) {
		const struct cell *x = cell_at(res, ni, M_XDP, LAYOUT_LINEAR);
		const struct cell *b = cell_at(res, ni, base, LAYOUT_LINEAR);
		double q = ns ? ratio(x->ns_pkt, x->n, b->ns_pkt, b->n) : ratio(x->pps, x->n, b->pps, b->n);

		if (times)
			snprintf(cell, sizeof(cell), "%.1fx", q);
		else
			snprintf(cell, sizeof(cell), "%.2f", q);
		printf("  %-21s", cell);
	}
	printf("\n");
}

static void print_latency(const struct results *res)
{
	const struct bench_opts *o = res->o;

	if (!o->nlat)
		return;
	printf("\nupdate latency: `nft insert rule` of an accept in front of the drop rule, "
	       "nft-offload xdp,\nms, median (min-max) of %u\n\n", o->runs);
	printf("%-7s  %-24s  %-24s  %-24s  %s\n", "rules", "change -> live (daemon)",
	       "of which plan + load", "nft returned -> seen", "status (idle)");
	for (size_t li = 0; li < o->nlat; li++) {
		const struct lat *l = &res->lat[li];
		struct summary d = summarize(l->daemon_ms, l->n), x = summarize(l->ext_ms, l->n),
			       bu = summarize(l->build_ms, l->n), st = summarize(l->status_ms, l->n);
		char a[48], b[48], c[48];

		snprintf(a, sizeof(a), "%.1f (%.1f-%.1f)", d.med, d.min, d.max);
		snprintf(b, sizeof(b), "%.1f (%.1f-%.1f)", bu.med, bu.min, bu.max);
		snprintf(c, sizeof(c), "%.1f (%.1f-%.1f)", x.med, x.min, x.max);
		printf("%-7zu  %-24s  %-24s  %-24s  %.1f\n", l->rules, a, b, c, st.med);
	}
	printf("change -> live: from the daemon's first change notification (the fast path\n"
	       "turns off, nftables alone decides) to the new generation live (status\n"
	       "last_update_ms); plan + load: last_build_ms, the rest is reading and\n"
	       "translating the ruleset; nft returned -> seen: from `nft` exiting to\n"
	       "`status --json` showing the new generation enabled, polling the control socket.\n");
}

void print_table(const struct results *res)
{
	const struct bench_opts *o = res->o;
	bool unsat = false;
	char label[64], cell[48];

	printf("nft-offload-bench: %s, %d CPUs, %s\n", res->m.cpu, res->m.cpus, res->m.kernel);
	printf("generator: CPU %d, BPF_PROG_TEST_RUN live frames, %d-byte UDP frames, %d flows\n"
	       "receiver:  CPU %d, veth with GRO and threaded NAPI (SCHED_FIFO)\n",
	       res->gen_cpu, FRAME_LEN, FLOWS, res->rx_cpu);
	printf("packets dropped per second by the receiver, Mpps: median (min-max) of %u run%s "
	       "of %.1f s\n\n", o->runs, o->runs == 1 ? "" : "s", o->duration);
	printf("%-*s", LABEL_W, "rules in front of the drop");
	for (size_t ni = 0; ni < o->nrules; ni++) {
		snprintf(cell, sizeof(cell), "N=%zu", o->rules[ni]);
		printf("  %-21s", cell);
	}
	printf("\n");
	for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
		series_label(i, label, sizeof(label));
		printf("%-*s", LABEL_W, label);
		for (size_t ni = 0; ni < o->nrules; ni++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			struct summary s = summarize(c->pps, c->n);
			bool u = !saturated(c);

			unsat |= u;
			snprintf(cell, sizeof(cell), "%.*f (%.*f-%.*f)%s", mpps_digits(s.med),
				 s.med / 1e6, mpps_digits(s.min), s.min / 1e6, mpps_digits(s.max),
				 s.max / 1e6, u ? "*" : "");
			printf("  %-21s", cell);
		}
		printf("\n");
	}
	/* nft-offload xdp (linear) against nftables' input chain and the
	 * hand-written filter, under the table's columns */
	ratio_row(res, "xdp linear / nft input", M_NFT_INPUT, true, false);
	ratio_row(res, "xdp linear / hand-written", M_REF, false, false);
	if (unsat)
		printf("* not saturated (the receiver took nearly all the generator offered, or its\n"
		       "  CPU idled): a lower bound\n");

	printf("\nns per packet inside the BPF program (run_time_ns / run_cnt over the same\n"
	       "windows, BPF statistics on for every mode), %s\n\n", res->m.cpu);
	printf("%-*s", LABEL_W, "rules in front of the drop");
	for (size_t ni = 0; ni < o->nrules; ni++) {
		snprintf(cell, sizeof(cell), "N=%zu", o->rules[ni]);
		printf("  %-21s", cell);
	}
	printf("\n");
	for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
		if (!mode_is_bpf(series[i].mode))
			continue;
		series_label(i, label, sizeof(label));
		printf("%-*s", LABEL_W, label);
		for (size_t ni = 0; ni < o->nrules; ni++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			struct summary s = summarize(c->ns_pkt, c->n);

			snprintf(cell, sizeof(cell), "%.0f (%.0f-%.0f)", s.med, s.min, s.max);
			printf("  %-21s", cell);
		}
		printf("\n");
	}
	ratio_row(res, "xdp linear / hand-written", M_REF, false, true);
	print_latency(res);
}

static void json_summary(struct nfo_json *j, const char *key, const double *v, unsigned n,
			 bool integer)
{
	struct summary s = summarize(v, n);

	nfo_json_key(j, key);
	nfo_json_obj_begin(j);
	nfo_json_key(j, "median");
	integer ? nfo_json_u64(j, (uint64_t)(s.med + 0.5)) : nfo_json_double(j, s.med);
	nfo_json_key(j, "min");
	integer ? nfo_json_u64(j, (uint64_t)(s.min + 0.5)) : nfo_json_double(j, s.min);
	nfo_json_key(j, "max");
	integer ? nfo_json_u64(j, (uint64_t)(s.max + 0.5)) : nfo_json_double(j, s.max);
	nfo_json_obj_end(j);
}

void print_json(const struct results *res)
{
	const struct bench_opts *o = res->o;
	struct nfo_buf b = {};
	struct nfo_json j;

	nfo_json_init(&j, &b);
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "version", NFO_VERSION);
	nfo_json_kstr(&j, "nft_offload", o->daemon_bin);
	nfo_json_key(&j, "machine");
	nfo_json_obj_begin(&j);
	nfo_json_kstr(&j, "cpu", res->m.cpu);
	nfo_json_ki64(&j, "cpus", res->m.cpus);
	nfo_json_kstr(&j, "kernel", res->m.kernel);
	nfo_json_obj_end(&j);
	nfo_json_key(&j, "setup");
	nfo_json_obj_begin(&j);
	nfo_json_ki64(&j, "generator_cpu", res->gen_cpu);
	nfo_json_ki64(&j, "receiver_cpu", res->rx_cpu);
	nfo_json_ki64(&j, "frame_bytes", FRAME_LEN);
	nfo_json_ki64(&j, "flows", FLOWS);
	nfo_json_kdouble(&j, "duration_s", o->duration);
	nfo_json_kdouble(&j, "warmup_s", res->warmup);
	nfo_json_ki64(&j, "runs", o->runs);
	nfo_json_kbool(&j, "bpf_stats", true);
	nfo_json_obj_end(&j);

	nfo_json_key(&j, "results");
	nfo_json_arr_begin(&j);
	for (size_t ni = 0; ni < o->nrules; ni++) {
		for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			nfo_json_obj_begin(&j);
			nfo_json_kstr(&j, "mode", mode_id[series[i].mode]);
			nfo_json_kstr(&j, "layout", mode_is_fixed(series[i].mode) ? NULL : layout_id[series[i].layout]);
			nfo_json_ku64(&j, "rules", o->rules[ni]);
			nfo_json_kstr(&j, "attach", c->attach[0] ? c->attach : NULL);
			json_summary(&j, "pps", c->pps, c->n, true);
			json_summary(&j, "offered_pps", c->offered, c->n, true);
			json_summary(&j, "receiver_busy", c->busy, c->n, false);
			if (mode_is_bpf(series[i].mode))
				json_summary(&j, "ns_per_packet", c->ns_pkt, c->n, false);
			if (series[i].mode == M_XDP) {
				const struct cell *ref = cell_at(res, ni, M_REF, LAYOUT_LINEAR);

				nfo_json_key(&j, "vs_hand_written");
				nfo_json_obj_begin(&j);
				nfo_json_kdouble(&j, "pps_ratio", ratio(c->pps, c->n, ref->pps, ref->n));
				nfo_json_kdouble(&j, "ns_per_packet_ratio",
						 ratio(c->ns_pkt, c->n, ref->ns_pkt, ref->n));
				nfo_json_obj_end(&j);
			}
			nfo_json_kbool(&j, "saturated", saturated(c));
			nfo_json_key(&j, "runs_pps");
			nfo_json_arr_begin(&j);
			for (unsigned k = 0; k < c->n; k++)
				nfo_json_u64(&j, (uint64_t)(c->pps[k] + 0.5));
			nfo_json_arr_end(&j);
			nfo_json_obj_end(&j);
		}
	}
	nfo_json_arr_end(&j);

	nfo_json_key(&j, "update_latency");
	nfo_json_arr_begin(&j);
	for (size_t li = 0; li < o->nlat; li++) {
		const struct lat *l = &res->lat[li];

		nfo_json_obj_begin(&j);
		nfo_json_ku64(&j, "rules", l->rules);
		nfo_json_kstr(&j, "mode", mode_id[M_XDP]);
		json_summary(&j, "daemon_ms", l->daemon_ms, l->n, false);
		json_summary(&j, "build_ms", l->build_ms, l->n, false);
		json_summary(&j, "external_ms", l->ext_ms, l->n, false);
		json_summary(&j, "status_round_trip_ms", l->status_ms, l->n, false);
		nfo_json_obj_end(&j);
	}
	nfo_json_arr_end(&j);
	nfo_json_obj_end(&j);
	nfo_buf_put(&b, "\n", 1);
	if (b.s)
		fputs(b.s, stdout);
	nfo_buf_free(&b);
}

int plot(struct env *e, const struct results *res)
{
	static const char *const colors[_M_MAX] = {
		[M_NFT_INPUT] = "#d62728", [M_NFT_INGRESS] = "#9467bd", [M_XDP] = "#2ca02c",
		[M_TC] = "#ff7f0e", [M_REF] = "#1f77b4", [M_SINK] = "#444444",
	};
	const struct bench_opts *o = res->o;
	const char *ext = strrchr(o->plot, '.');
	char dat[PATH_MAX], gp[PATH_MAX], label[64];
	bool logx = true;
	size_t lo = SIZE_MAX, hi = 0;
	FILE *f;

	snprintf(dat, sizeof(dat), "%s/plot.dat", e->tmp);
	snprintf(gp, sizeof(gp), "%s/plot.gp", e->tmp);
	f = fopen(dat, "we");
	if (!f)
		return -errno;
	for (size_t ni = 0; ni < o->nrules; ni++) {
		fprintf(f, "%zu", o->rules[ni]);
		for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
			const struct cell *c = cell_at(res, ni, series[i].mode, series[i].layout);
			struct summary s = summarize(c->pps, c->n);

			fprintf(f, " %.4f %.4f %.4f", s.med / 1e6, s.min / 1e6, s.max / 1e6);
		}
		fprintf(f, "\n");
		logx &= o->rules[ni] > 0;
		lo = o->rules[ni] < lo ? o->rules[ni] : lo;
		hi = o->rules[ni] > hi ? o->rules[ni] : hi;
	}
	if (fclose(f) != 0)
		return -errno;

	f = fopen(gp, "we");
	if (!f)
		return -errno;
	if (!strcmp(ext, ".svg"))
		fprintf(f, "set terminal svg size 960,600 dynamic enhanced font 'sans,12' "
			   "background rgb 'white'\n");
	else
		fprintf(f, "set terminal pngcairo size 960,600 enhanced font 'sans,11' "
			   "background rgb 'white'\n");
	fprintf(f, "set output '%s'\n", o->plot);
	fprintf(f, "set title \"Packets dropped per second, one receiver CPU\\n{/*0.8 %s, %s, "
		   "median and min-max of %u x %.1f s}\"\n", res->m.cpu, res->m.kernel, o->runs,
		o->duration);
	fprintf(f, "set xlabel 'rules in front of the drop rule (N)'\nset ylabel 'Mpps'\n"
		   "set grid\nset yrange [0:*]\nset key outside right top\nset xtics (");
	for (size_t ni = 0; ni < o->nrules; ni++)
		fprintf(f, "%s'%zu' %zu", ni ? ", " : "", o->rules[ni], o->rules[ni]);
	fprintf(f, ")\n");
	if (logx && lo < hi)
		fprintf(f, "set logscale x 10\nset xrange [%g:%g]\n", (double)lo / 2, (double)hi * 2);
	else if (lo < hi)
		fprintf(f, "set xrange [%g:%g]\n", (double)lo - (double)(hi - lo) / 20,
			(double)hi + (double)(hi - lo) / 20);
	else
		fprintf(f, "set xrange [%g:%g]\n", (double)lo - 1, (double)hi + 1);
	fprintf(f, "plot ");
	for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
		size_t col = 2 + 3 * i;

		series_label(i, label, sizeof(label));
		fprintf(f, "%s'%s' using 1:%zu:%zu:%zu with yerrorlines lw 2 pt 7 ps 0.6 "
			   "lc rgb '%s' dt %d title '%s'", i ? ", \\\n     " : "", dat, col, col + 1,
			col + 2, colors[series[i].mode],
			mode_is_fixed(series[i].mode) ? 3 : series[i].layout == LAYOUT_SET ? 2 : 1, label);
	}
	fprintf(f, "\n");
	if (fclose(f) != 0)
		return -errno;
	return RUN(e, -1, NULL, "gnuplot", gp);
}
