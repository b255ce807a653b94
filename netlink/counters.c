// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>

#include "counters.h"

/* a dump of one chain of tens of thousands of rules comes in many of these */
#define NFO_COUNTER_RECV_SIZE 32768

int nfo_nft_counter_open(struct mnl_socket **ret)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int r;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		mnl_socket_close(nl);
		return r;
	}
	*ret = nl;
	return 0;
}

void nfo_nft_counter_close(struct mnl_socket **nl)
{
	if (*nl)
		mnl_socket_close(*nl);
	*nl = NULL;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nfo_nft_rule_counter *c = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *ex;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	/* a dump: the last rule wins */
	*c = (struct nfo_nft_rule_counter){ .handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE) };
	it = nftnl_expr_iter_create(r);
	while (it && (ex = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(ex, NFTNL_EXPR_NAME);

		if (name && !strcmp(name, "counter")) {
			c->has_counter = true;
			c->packets = nftnl_expr_get_u64(ex, NFTNL_EXPR_CTR_PACKETS);
			c->bytes = nftnl_expr_get_u64(ex, NFTNL_EXPR_CTR_BYTES);
		}
	}
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int nfo_nft_rule_counter(struct mnl_socket *nl, uint32_t family, const char *table,
			 const char *chain, uint64_t handle, struct nfo_nft_rule_counter *ret)
{
	static uint32_t seq;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfo_nft_rule_counter c = {};
	uint32_t portid = mnl_socket_get_portid(nl);
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	uint8_t *rbuf;
	int n, err = 0;

	seq++;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family,
				    handle ? NLM_F_ACK : NLM_F_DUMP, seq);
	r = nftnl_rule_alloc();
	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (handle)
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	rbuf = malloc(NFO_COUNTER_RECV_SIZE);
	if (!rbuf)
		return -ENOMEM;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl, rbuf, NFO_COUNTER_RECV_SIZE);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) {
			err = -errno;
			goto out;
		}
		n = mnl_cb_run(rbuf, (size_t)len, seq, portid, rule_cb, &c);
		if (n < 0) {
			err = errno ? -errno : -EIO;
			goto out;
		}
		if (n <= MNL_CB_STOP)
			break;
	}
	if (!c.handle)
		err = -ENOENT;
	else
		*ret = c;
out:
	free(rbuf);
	return err;
}
