// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmap.h"

int nfo_grace_new(struct nfo_grace *g)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	int inner, fd, r;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nfo_sync_in", 4, 4, 1, NULL);
	if (inner < 0)
		return -errno;
	mo.inner_map_fd = inner;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "nfo_sync", 4, 4, 1, &mo);
	if (fd < 0) {
		r = -errno;
		close(inner);
		return r;
	}
	g->fd = fd;
	g->inner_fd = inner;
	return 0;
}

int nfo_grace_wait(const struct nfo_grace *g)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(g->fd, &zero, &g->inner_fd, BPF_ANY) < 0)
		return -errno;
	return 0;
}

void nfo_grace_close(struct nfo_grace *g)
{
	if (g->fd >= 0)
		close(g->fd);
	if (g->inner_fd >= 0)
		close(g->inner_fd);
	g->fd = g->inner_fd = -1;
}

int nfo_map_write_array(int fd, uint32_t first, const void *values, size_t n, size_t vsz)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	uint32_t count = (uint32_t)n;
	int r = 0;

	assert(n <= UINT32_MAX - first);
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (n && bpf_map_update_batch(fd, keys, values, &count, NULL) < 0) {
		/* Kernels without batch operations on arrays: one by one. */
		for (uint32_t i = 0; i < n; i++) {
			if (bpf_map_update_elem(fd, &keys[i], (const uint8_t *)values + i * vsz,
						BPF_ANY) < 0) {
				r = -errno;
				break;
			}
		}
	}
	free(keys);
	return r;
}

int nfo_map_pinned(const char *path, const char *name, enum bpf_map_type type,
		   uint32_t value_size, uint32_t max_entries, bool *ret_reused)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	int fd;

	*ret_reused = false;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == (uint32_t)type &&
		    info.value_size == value_size && info.max_entries == max_entries) {
			*ret_reused = true;
			return fd;
		}
		close(fd);
		unlink(path);
	}
	fd = bpf_map_create(type, name, sizeof(uint32_t), value_size, max_entries, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int nfo_table_map_new(const char *name, uint32_t nbuckets, uint32_t kw, bool has_exp,
		      int *ret_fd, void **ret_mem, size_t *ret_len, struct nfo_table *ret)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (nfo_table_bytes(nbuckets) + page - 1) / page * page;
	uint32_t seed = (uint32_t)random();
	void *mem;
	int fd, r;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t), NFO_BUCKET_SIZE,
			    nbuckets + 1, &mo);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	r = nfo_table_init(ret, mem, nbuckets, kw, has_exp, seed);
	if (r < 0) {
		munmap(mem, len);
		close(fd);
		return r;
	}
	*ret_fd = fd;
	*ret_mem = mem;
	*ret_len = len;
	return 0;
}
