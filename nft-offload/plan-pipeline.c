// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pipeline: for one interface and one packet class (IPv4, IPv6, other
 * EtherTypes), the "groups" the packet meets: base chains of equal priority,
 * in hook order (ingress, then prerouting, then input), with gates between
 * the hooks (the frame is for this host's MAC; the destination is a local
 * address), and STOP where the kernel may do what the rules do not say
 * (flowtables, chain types other than filter and nat). NAT is a gate on the
 * conntrack class before the NAT hook, then the nat chains of that hook,
 * whose NAT statements are effects (docs/SEMANTICS.md, "NAT on the receive
 * path").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>

#include "netlink/rtnl.h"
#include "plan-internal.h"

#define NFO_PRI_NAT_DST (-100) /* NF_IP_PRI_NAT_DST */
#define NFO_PRI_NAT_SRC 100    /* NF_IP_PRI_NAT_SRC: the NAT hook at input */

static bool chain_on_dev(const struct nfo_chain *c, const char *dev)
{
	for (size_t i = 0; i < c->ndevs; i++)
		if (!strcmp(c->devs[i], dev))
			return true;
	return false;
}

static bool family_applies(int family, int cls)
{
	if (family == NFPROTO_INET)
		return cls == CLS_IPV4 || cls == CLS_IPV6;
	if (family == NFPROTO_IPV4)
		return cls == CLS_IPV4;
	if (family == NFPROTO_IPV6)
		return cls == CLS_IPV6;
	return false;
}

/* nf_nat registers its hooks for a family as soon as one nat chain exists
 * (at any hook), and then rewrites packets of existing NAT bindings whatever
 * the rules say: later chains and the routing decision see other addresses
 * and ports. */
static bool nat_present(const struct nfo_ruleset *rs, int cls)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct nfo_chain *c = &rs->chains[i];

		if (c->base && c->type && !strcmp(c->type, "nat") && family_applies(c->family, cls))
			return true;
	}
	return false;
}

static int add_group(struct pipeline *p, int kind, const int *chains, size_t n)
{
	struct cgroup *g = realloc(p->groups, (p->ngroups + 1) * sizeof(*g));

	if (!g)
		return -ENOMEM;
	p->groups = g;
	g = &p->groups[p->ngroups++];
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	if (n) {
		g->chains = malloc(n * sizeof(*g->chains));
		if (!g->chains)
			return -ENOMEM;
		memcpy(g->chains, chains, n * sizeof(*chains));
		g->n = n;
	}
	return 0;
}

#define HOOKED_STOP (-1)
#define HOOKED_NAT_GATE (-2)

struct hooked {
	int chain; /* cchain index, or HOOKED_STOP, HOOKED_NAT_GATE */
	int32_t prio;
};

static int cmp_hooked(const void *a, const void *b)
{
	const struct hooked *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->chain - y->chain;
}

/* The NAT gate: the pipeline goes on only for the conntrack classes NAT
 * cannot change at this hook. */
static int add_nat_gate(struct ctx *x, struct pipeline *p)
{
	int ci, r = plan_new_nat_gate(x, &ci);

	return r < 0 ? r : add_group(p, G_GATE, &ci, 1);
}

/* Base chains of one hook, ordered by priority; equal priorities form one
 * group (their relative order is not defined), a STOP marker its own. The
 * NAT gate goes before the group of its priority (the nat chains). */
static int add_hook_groups(struct ctx *x, struct pipeline *p, struct hooked *h, size_t n)
{
	int *buf;
	int r = 0;

	if (!n)
		return 0;
	qsort(h, n, sizeof(*h), cmp_hooked);
	buf = malloc(n * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0;) {
		size_t k = i, m = 0;
		bool stop = false, gate = false;

		while (k < n && h[k].prio == h[i].prio) {
			if (h[k].chain == HOOKED_STOP)
				stop = true;
			else if (h[k].chain == HOOKED_NAT_GATE)
				gate = true;
			else
				buf[m++] = h[k].chain;
			k++;
		}
		if (gate && !stop)
			r = add_nat_gate(x, p);
		/* A group containing STOP passes whatever its chains say. */
		if (r == 0 && stop)
			r = add_group(p, G_STOP, NULL, 0);
		else if (r == 0 && m)
			r = add_group(p, G_CHAINS, buf, m);
		i = k;
	}
	free(buf);
	return r;
}

static bool addr_is_up(const struct nfo_plan_input *in, int ifindex)
{
	for (size_t i = 0; i < in->nup; i++)
		if (in->up_ifindexes[i] == ifindex)
			return true;
	return false;
}

/* Unicast addresses delivered locally when received on iface. IPv6
 * link-local addresses only count on the interface they belong to; tentative
 * and failed addresses do not receive. */
static int local_set(const struct nfo_plan_input *in, const struct nfo_plan_iface *iface,
		     int cls, struct nfo_vset *out)
{
	for (size_t i = 0; i < in->naddrs; i++) {
		const struct nfo_addr *a = &in->addrs[i];
		nfo_u128 v;
		int r;

		if (!addr_is_up(in, a->ifindex))
			continue;
		if (cls == CLS_IPV4 && a->family == AF_INET) {
			v = nfo_u128_from_be(a->addr, 4);
		} else if (cls == CLS_IPV6 && a->family == AF_INET6) {
			if (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
				continue;
			if (a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80 &&
			    a->ifindex != iface->ifindex)
				continue;
			if (a->addr[0] == 0xff)
				continue;
			v = nfo_u128_from_be(a->addr, 16);
		} else {
			continue;
		}
		r = nfo_vset_push(out, v, v);
		if (r < 0)
			return r;
	}
	nfo_vset_normalize(out);
	return 0;
}

/*
 * IPv4 broadcast destinations delivered locally (docs/SEMANTICS.md 3.2):
 * ip_route_input_slow() sends 255.255.255.255 to brd_input without a
 * lookup, and a destination whose route is RTN_BROADCAST (the local
 * table's broadcast routes, which rule 0 looks up first) there too, unless
 * bc_forwarding forwards it. Added to out; nothing but 255.255.255.255
 * when the local table is not known.
 */
static int broadcast_set(const struct nfo_plan_input *in, struct nfo_vset *out)
{
	struct nfo_vset types = {}, bc = {};
	uint8_t t[4];
	uint32_t brd = RTN_BROADCAST;
	int r;

	r = nfo_vset_add(out, 0xffffffffu, 0xffffffffu);
	if (r < 0 || !in->bcast_input)
		return r;
	/* the input route's flow carries the packet's TOS, which
	 * plan_fib4_set() (the flow of `fib daddr type`) leaves out */
	for (size_t i = 0; i < in->nroutes; i++)
		if (in->routes[i].family == AF_INET && in->routes[i].tos)
			return 0;
	memcpy(t, &brd, 4); /* the register value: host byte order */
	r = nfo_vset_push(&types, nfo_u128_from_be(t, 4), nfo_u128_from_be(t, 4));
	if (r == 0)
		r = plan_fib4_set(in, &types, &bc);
	nfo_vset_free(&types);
	/* 0.0.0.0/8 is broadcast to inet_dev_addr_type() but a martian
	 * destination to the input route */
	for (size_t i = 0; r > 0 && i < bc.n; i++) {
		nfo_u128 lo = bc.iv[i].lo < 0x01000000u ? 0x01000000u : bc.iv[i].lo;

		if (lo <= bc.iv[i].hi)
			r = nfo_vset_add(out, lo, bc.iv[i].hi) < 0 ? -ENOMEM : 1;
	}
	nfo_vset_free(&bc);
	return r < 0 ? r : 0;
}

/* Every chain a jump or goto can reach, however deep: eval_chain applies
 * the depth bound itself. (A cut here would hide a chain first met too deep
 * and met again shallower.) The visited bits stop loops. */
static void reach_from(struct ctx *x, uint8_t *bits, int ci)
{
	const struct cchain *cc = &x->cc[ci];

	if (bits[ci])
		return;
	bits[ci] = 1;
	for (uint32_t k = 0; k < cc->n; k++) {
		const struct crule *c = &x->cr[cc->first + k];

		if (c->target >= 0)
			reach_from(x, bits, c->target);
	}
}

static uint8_t iface_pred_holds(const struct nfo_pred *p, const struct nfo_plan_iface *iface)
{
	uint8_t b[16] = {};
	nfo_u128 v;

	if (p->dim == NFO_PDIM_IIF) {
		uint32_t idx = (uint32_t)iface->ifindex;

		memcpy(b, &idx, 4); /* meta iif is host byte order */
		v = nfo_u128_from_be(b, 4);
	} else {
		memcpy(b, iface->name, strnlen(iface->name, sizeof(b)));
		v = nfo_u128_from_be(b, 16);
	}
	return nfo_vset_contains(&p->set, v) ? TV_T : TV_F;
}

/* Ingress: netdev chains see every frame, inet ingress only IP. A
 * flowtable on the device may forward IP packets of known flows at its
 * priority, past every later chain: from there on, STOP. */
static size_t ingress_hooks(struct ctx *x, const struct nfo_plan_iface *iface, int cls,
			    struct hooked *h)
{
	const struct nfo_ruleset *rs = x->in->rs;
	size_t nh = 0;

	for (size_t i = 0; i < rs->nflowtables && cls != CLS_OTHER; i++) {
		const struct nfo_flowtable *f = &rs->flowtables[i];

		for (size_t k = 0; k < f->ndevs; k++) {
			if (!strcmp(f->devs[k], iface->name)) {
				h[nh++] = (struct hooked){ -1, f->prio };
				break;
			}
		}
	}
	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base || c->hook != NFO_HOOK_INGRESS || !chain_on_dev(c, iface->name))
			continue;
		if (c->family == NFPROTO_NETDEV || (c->family == NFPROTO_INET && cls != CLS_OTHER))
			h[nh++] = (struct hooked){ (int)i, c->prio };
	}
	return nh;
}

/* A nat chain runs inside nf_nat's hook at prio (nf_nat_inet_fn walks the
 * nat chains of the hook in their own priority order; one group is the
 * safe reading of that order). Its policy applies only to new connections:
 * a drop policy is not planned. */
static struct hooked nat_hooked(const struct nfo_chain *c, int ci, int32_t prio)
{
	if (c->policy_drop)
		return (struct hooked){ HOOKED_STOP, prio };
	return (struct hooked){ ci, prio };
}

/* Prerouting; *ret_nin: how many input chains there are. */
static size_t prerouting_hooks(struct ctx *x, int cls, struct hooked *h, size_t *ret_nin)
{
	size_t nh = 0, nin = 0;

	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base || !family_applies(c->family, cls))
			continue;
		if (c->hook == NFO_HOOK_INPUT)
			nin++;
		if (c->hook != NFO_HOOK_PREROUTING)
			continue;
		/* nat chains run inside the NAT hook, after its gate; other
		 * types at this hook are not known to be harmless. */
		if (!strcmp(c->type, "filter"))
			h[nh++] = (struct hooked){ (int)i, c->prio };
		else if (!strcmp(c->type, "nat"))
			h[nh++] = nat_hooked(c, (int)i, NFO_PRI_NAT_DST);
		else
			h[nh++] = (struct hooked){ HOOKED_STOP, c->prio };
	}
	*ret_nin = nin;
	return nh;
}

static size_t input_hooks(struct ctx *x, int cls, struct hooked *h)
{
	size_t nh = 0;

	for (size_t i = 0; i < x->ncc; i++) {
		const struct nfo_chain *c = x->cc[i].chain;

		if (!c || !c->base || c->hook != NFO_HOOK_INPUT || !family_applies(c->family, cls))
			continue;
		if (!strcmp(c->type, "filter"))
			h[nh++] = (struct hooked){ (int)i, c->prio };
		else if (!strcmp(c->type, "nat"))
			h[nh++] = nat_hooked(c, (int)i, NFO_PRI_NAT_SRC);
		else
			h[nh++] = (struct hooked){ HOOKED_STOP, c->prio };
	}
	return nh;
}

/* A gate group on dim: the pipeline goes on only where set holds. */
static int add_gate(struct ctx *x, struct pipeline *p, int dim, struct nfo_vset *set)
{
	int ci, r = plan_new_gate(x, dim, set, &ci);

	return r < 0 ? r : add_group(p, G_GATE, &ci, 1);
}

int plan_build_pipeline(struct ctx *x, const struct nfo_plan_iface *iface, int cls,
			struct pipeline *p)
{
	const struct nfo_ruleset *rs = x->in->rs;
	bool nat = cls != CLS_OTHER && nat_present(rs, cls);
	struct nfo_vset one = {}, local = {};
	struct hooked *h;
	size_t nh, nin;
	int r;

	h = malloc((x->ncc + rs->nflowtables + 2) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	nh = ingress_hooks(x, iface, cls, h);
	r = add_hook_groups(x, p, h, nh);
	if (r < 0 || cls == CLS_OTHER || !iface->l3)
		goto out;

	nh = prerouting_hooks(x, cls, h, &nin);
	if (!nh && !nin)
		goto out; /* nothing at the IP layer can drop */
	/* ip_rcv_core() and ipv6_rcv() drop only frames for another host;
	 * broadcast and multicast frames meet prerouting like the host's own,
	 * but a macvlan or ipvlan in another namespace may take a copy of
	 * them first (docs/SEMANTICS.md 3.2): only where the user says there
	 * is none */
	r = nfo_vset_push(&one, NFO_L2_HOST, x->in->l2_group ? NFO_L2_MULTICAST : NFO_L2_HOST);
	if (r == 0)
		r = add_gate(x, p, NFO_DIM_L2HOST, &one);
	nfo_vset_free(&one);
	if (r < 0)
		goto out;
	/* Past the gate and the nat chains, NAT changed nothing: the local
	 * address gate and the input chains see the packet as received. */
	if (nat)
		h[nh++] = (struct hooked){ HOOKED_NAT_GATE, NFO_PRI_NAT_DST };
	r = add_hook_groups(x, p, h, nh);
	if (r < 0 || !nin)
		goto out;
	r = local_set(x->in, iface, cls, &local);
	if (r == 0 && cls == CLS_IPV4)
		r = broadcast_set(x->in, &local);
	if (r == 0)
		r = add_gate(x, p, cls == CLS_IPV4 ? NFO_DIM_DADDR4 : NFO_DIM_DADDR6, &local);
	nfo_vset_free(&local);
	if (r < 0)
		goto out;
	nh = input_hooks(x, cls, h);
	r = add_hook_groups(x, p, h, nh);
out:
	free(h);
	return r;
}

/* Service mode: the service chain alone, as if a base chain of its family
 * with policy accept jumped to it (for a regular chain, a return or its end
 * then means that policy: accept). Packets of other families: accepted. */
int plan_build_service_pipeline(struct ctx *x, int cls, struct pipeline *p)
{
	const struct nfo_chain *c = x->in->service_chain;
	int ci = -1;

	for (size_t i = 0; i < x->ncc && ci < 0; i++)
		if (x->cc[i].chain == c)
			ci = (int)i;
	if (ci < 0 || !family_applies(c->family, cls))
		return 0;
	return add_group(p, G_CHAINS, &ci, 1);
}

int plan_finish_pipeline(struct ctx *x, const struct nfo_plan_iface *iface, struct pipeline *p)
{
	uint8_t *all;
	size_t n = 0;

	p->last_group = malloc(x->ncc * sizeof(*p->last_group));
	all = calloc(x->ncc, 1);
	if (!p->last_group || !all) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->ncc; i++)
		p->last_group[i] = -1;
	for (size_t g = 0; g < p->ngroups; g++) {
		struct cgroup *grp = &p->groups[g];

		grp->reach = calloc(x->ncc, 1);
		if (!grp->reach) {
			free(all);
			return -ENOMEM;
		}
		for (size_t k = 0; k < grp->n; k++)
			reach_from(x, grp->reach, grp->chains[k]);
		for (size_t i = 0; i < x->ncc; i++) {
			if (!grp->reach[i])
				continue;
			p->last_group[i] = (int)g;
			all[i] = 1;
		}
	}
	for (size_t i = 0; i < x->ncc; i++)
		if (all[i])
			n += x->cc[i].n;
	p->init = malloc((n ? n : 1) * sizeof(*p->init));
	if (!p->init) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->ncc; i++) {
		const struct cchain *cc = &x->cc[i];

		if (!all[i])
			continue;
		for (uint32_t k = 0; k < cc->n; k++) {
			const struct crule *c = &x->cr[cc->first + k];
			struct aentry *e;

			if (c->kind == CR_SYNTH)
				continue;
			e = &p->init[p->ninit++];

			e->id = cc->first + k;
			e->ms = c->st_m;
			e->es = c->st_e;
			e->pad = 0;
			for (size_t f = 0; f < c->nifp; f++) {
				uint8_t v = iface_pred_holds(c->ifp[f], iface);

				e->ms = tv_and(e->ms, v);
				if (c->ifp[f]->before_effect)
					e->es = tv_and(e->es, v);
			}
		}
	}
	free(all);
	return 0;
}

void plan_pipeline_clear(struct pipeline *p)
{
	for (size_t g = 0; g < p->ngroups; g++) {
		free(p->groups[g].chains);
		free(p->groups[g].reach);
	}
	free(p->groups);
	free(p->last_group);
	free(p->init);
}
