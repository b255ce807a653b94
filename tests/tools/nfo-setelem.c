// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfo-setelem FAMILY TABLE SET: element transactions as a blocklist bouncer
 * sends them (straight netlink, no ruleset cache: `nft` reads the whole set
 * before each command, which at 100,000 elements takes longer than the
 * 10 ms between a bouncer's batches). Each line of stdin is one
 * transaction of IPv4 addresses, "+A" to add and "-A" to delete, e.g.
 * "+10.0.0.1 +10.0.0.2 -10.0.0.3"; once the kernel acknowledged all of it
 * (committed), "ok GENID" is printed (the ruleset generation read right
 * after the commit: this transaction's or a later one's), or "error ERRNO".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/gen.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define MAX_ELEMS 1024

static int family_of(const char *s)
{
	if (!strcmp(s, "inet"))
		return NFPROTO_INET;
	if (!strcmp(s, "ip"))
		return NFPROTO_IPV4;
	if (!strcmp(s, "netdev"))
		return NFPROTO_NETDEV;
	return -1;
}

/* One message of the batch: the elements of s, added or deleted. */
static void put_elems(struct mnl_nlmsg_batch *b, int type, int family, struct nftnl_set *s,
		      uint32_t seq)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), (uint16_t)type,
						     (uint16_t)family, NLM_F_ACK | (type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0),
						     seq);

	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	mnl_nlmsg_batch_next(b);
}

static struct nftnl_set *new_set(int family, const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		exit(1);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t)family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	return s;
}

static int txn(struct mnl_socket *nl, int family, const char *table, const char *name, char *line,
	       uint32_t *seq)
{
	static char buf[1 << 17];
	struct nftnl_set *add = new_set(family, table, name), *del = new_set(family, table, name);
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	uint32_t first = *seq, portid = mnl_socket_get_portid(nl);
	size_t nadd = 0, ndel = 0;
	int r = 0, msgs = 0;

	for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		struct nftnl_set_elem *e;
		struct in_addr a;

		if ((tok[0] != '+' && tok[0] != '-') || inet_pton(AF_INET, tok + 1, &a) != 1 ||
		    nadd + ndel >= MAX_ELEMS) {
			r = -EINVAL;
			goto out;
		}
		e = nftnl_set_elem_alloc();
		if (!e)
			exit(1);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &a, sizeof(a));
		if (tok[0] == '+') {
			nftnl_set_elem_add(add, e);
			nadd++;
		} else {
			nftnl_set_elem_add(del, e);
			ndel++;
		}
	}
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), (*seq)++);
	mnl_nlmsg_batch_next(b);
	/* in the order a bouncer sends them: bans, then expiries */
	if (nadd) {
		put_elems(b, NFT_MSG_NEWSETELEM, family, add, (*seq)++);
		msgs++;
	}
	if (ndel) {
		put_elems(b, NFT_MSG_DELSETELEM, family, del, (*seq)++);
		msgs++;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b), (*seq)++);
	mnl_nlmsg_batch_next(b);
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) {
		r = -errno;
		goto out;
	}
	/* one ACK per message that asked for it: the batch is committed */
	while (msgs > 0) {
		char rbuf[MNL_SOCKET_BUFFER_SIZE];
		ssize_t n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int rem = (int)n;

		if (n < 0) {
			r = -errno;
			goto out;
		}
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first)
				continue;
			if (err->error && !r)
				r = err->error;
			msgs--;
		}
	}
	(void)portid;
out:
	mnl_nlmsg_batch_stop(b);
	nftnl_set_free(add);
	nftnl_set_free(del);
	return r;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = nftnl_gen_alloc();
	int r = MNL_CB_ERROR;

	if (g && nftnl_gen_nlmsg_parse(nlh, g) == 0) {
		*(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
		r = MNL_CB_OK;
	}
	nftnl_gen_free(g);
	return r;
}

/* The ruleset generation now (NFT_MSG_GETGEN): at least the one of the
 * transaction just committed. */
static int genid(struct mnl_socket *nl, uint32_t *seq, uint32_t *ret_genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, *seq);
	uint32_t s = (*seq)++;
	ssize_t n;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* one NEWGEN message answers (not a dump) */
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	errno = 0;
	if (mnl_cb_run(buf, (size_t)n, s, mnl_socket_get_portid(nl), gen_cb, ret_genid) < 0)
		return errno ? -errno : -EPROTO;
	return 0;
}

int main(int argc, char **argv)
{
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	char line[65536];
	int family;

	if (argc != 4 || (family = family_of(argv[1])) < 0) {
		fprintf(stderr, "usage: %s inet|ip|netdev TABLE SET < lines of +ADDR/-ADDR\n", argv[0]);
		return 2;
	}
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfo-setelem: netlink");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		int r = txn(nl, family, argv[2], argv[3], line, &seq);
		uint32_t gen = 0;

		if (r == 0)
			r = genid(nl, &seq, &gen);
		if (r < 0)
			printf("error %d\n", -r);
		else
			printf("ok %u\n", gen);
		fflush(stdout);
	}
	mnl_socket_close(nl);
	return 0;
}
