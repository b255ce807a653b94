// SPDX-License-Identifier: GPL-2.0-only
/* nft-offload-bench: namespaces, the veth between them, commands run in
 * them, and the CPUs the generator and the receiver get. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netlink/counters.h"
#include "nft-offload/json.h"
#include "common/log.h"
#include "common/util.h"

#include "bench.h"

void show_file(const char *path, const char *what)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n++ < 40)
		fprintf(stderr, "  %s: %s", what, line);
	fclose(f);
}

/*
 * Runs argv in network namespace nsfd (-1: ours) and waits for it. Its
 * stdout goes to out (if given), its stderr is shown if it fails. 0, or
 * -EIO when the command failed, or -errno.
 */
int run(struct env *e, int nsfd, struct nfo_buf *out, const char *const *argv)
{
	char errpath[PATH_MAX], cmd[256] = "";
	int pfd[2] = { -1, -1 }, errfd, nullfd, status;
	pid_t pid;

	snprintf(errpath, sizeof(errpath), "%s/cmd.err", e->tmp);
	errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (errfd < 0 || nullfd < 0 || (out && pipe2(pfd, O_CLOEXEC) < 0)) {
		int r = -errno;

		if (errfd >= 0)
			close(errfd);
		if (nullfd >= 0)
			close(nullfd);
		return r;
	}
	pid = fork();
	if (pid == 0) {
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(nullfd, 0);
		dup2(out ? pfd[1] : nullfd, 1);
		dup2(errfd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	status = -errno;
	close(errfd);
	close(nullfd);
	if (out)
		close(pfd[1]);
	if (pid < 0) {
		if (out)
			close(pfd[0]);
		return status;
	}
	if (out) {
		char buf[4096];
		ssize_t n;

		while ((n = read(pfd[0], buf, sizeof(buf))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			nfo_buf_put(out, buf, (size_t)n);
		}
		close(pfd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	for (const char *const *a = argv; *a; a++) {
		size_t l = strlen(cmd);

		snprintf(cmd + l, sizeof(cmd) - l, "%s%s", l ? " " : "", *a);
	}
	if (!bench_interrupted) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			log_error("bench: %s: command not found (contrib/install-deps.sh installs it)",
				  argv[0]);
		else
			log_error("bench: '%s' failed", cmd);
		show_file(errpath, argv[0]);
	}
	return -EIO;
}

int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * Writes val to path from inside network namespace nsfd, in a child. sysfs
 * shows the devices of the namespace that mounted it, so for /sys paths the
 * child mounts its own in a private mount namespace (`ip netns exec` does
 * the same); /proc/sys/net follows the writer's namespace already.
 */
int ns_write(int nsfd, const char *path, const char *val)
{
	bool sysfs = !strncmp(path, "/sys/", 5);
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(1);
		if (sysfs && (unshare(CLONE_NEWNS) < 0 ||
			      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			      mount("sysfs", "/sys", "sysfs", 0, NULL) < 0))
			_exit(2);
		_exit(write_file(path, val) < 0 ? 3 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int enter_ns(int fd)
{
	return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

void leave_ns(struct env *e)
{
	if (setns(e->self_ns, CLONE_NEWNET) < 0)
		log_error("bench: cannot return to our network namespace: %m");
}

static int open_ns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Pins the receiver's NAPI thread(s) to the receiver CPU, SCHED_FIFO so that
 * whatever else runs on the machine does not take that CPU from it (the
 * kernel still gives starved normal tasks a few percent: fair server /
 * RT throttling). Threaded NAPI kthreads are named "napi/<dev>-<napi id>"
 * (net/core/dev.c, napi_kthread_create), cut to TASK_COMM_LEN - 1
 * characters; interface names here are short enough for "napi/<dev>-" to
 * fit. Done before every run: attaching or detaching XDP may recreate the
 * NAPI instance.
 */
int pin_napi(struct env *e)
{
	struct sched_param sp = { .sched_priority = 1 };
	char prefix[32], path[300], comm[32];
	struct dirent *de;
	cpu_set_t set;
	int found = 0;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "napi/%s-", e->if_rx);
	d = opendir("/proc");
	if (!d)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(e->rx_cpu, &set);
	while ((de = readdir(d))) {
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		if (strncmp(comm, prefix, strlen(prefix)))
			continue;
		if (sched_setaffinity(atoi(de->d_name), sizeof(set), &set) < 0 ||
		    sched_setscheduler(atoi(de->d_name), SCHED_FIFO, &sp) < 0) {
			int r = -errno;

			closedir(d);
			return r;
		}
		if (found < (int)ARRAY_SIZE(e->napi_pids))
			e->napi_pids[found++] = atoi(de->d_name);
	}
	closedir(d);
	e->nnapi = found;
	return found ? found : -ENOENT;
}

/* CPU time the NAPI threads have used, in seconds (/proc/PID/schedstat:
 * time on CPU in ns, fs/proc/base.c proc_pid_schedstat). */
double napi_cpu_s(struct env *e)
{
	double sum = 0;

	for (int i = 0; i < e->nnapi; i++) {
		char path[64];
		unsigned long long ns = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)e->napi_pids[i]);
		f = fopen(path, "re");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += (double)ns / 1e9;
		if (f)
			fclose(f);
	}
	return sum;
}

/*
 * With autogroups (CONFIG_SCHED_AUTOGROUP, kernel.sched_autogroup_enabled)
 * nice values only rank tasks within a session; sessions share a CPU
 * equally, so a busy shell elsewhere would still take half the generator's
 * CPU. Our group's own nice value is raised for the run and put back.
 */
static void autogroup_raise(struct env *e)
{
	FILE *f = fopen("/proc/self/autogroup", "re");
	int nice;

	e->autogroup_nice = INT_MIN;
	if (!f)
		return;
	if (fscanf(f, "/autogroup-%*d nice %d", &nice) == 1)
		e->autogroup_nice = nice;
	fclose(f);
	if (e->autogroup_nice != INT_MIN && write_file("/proc/self/autogroup", "-20") < 0)
		e->autogroup_nice = INT_MIN;
}

static void autogroup_restore(struct env *e)
{
	char v[16];

	if (e->autogroup_nice == INT_MIN)
		return;
	snprintf(v, sizeof(v), "%d", e->autogroup_nice);
	(void)write_file("/proc/self/autogroup", v);
}

void env_free(struct env *e)
{
	nfo_nft_counter_close(&e->nl);
	if (e->tx_ns >= 0)
		close(e->tx_ns);
	if (e->rx_ns >= 0)
		close(e->rx_ns);
	e->tx_ns = e->rx_ns = -1;
	for (int i = 1; i >= 0; i--)
		if (e->ns_made[i])
			(void)RUN(e, -1, NULL, "ip", "netns", "delete", e->ns_name[i]);
	if (e->self_ns >= 0)
		close(e->self_ns);
	autogroup_restore(e);
	if (e->tmp[0]) {
		const char *argv[] = { "rm", "-rf", "--one-file-system", e->tmp, NULL };
		pid_t pid = fork();

		if (pid == 0) {
			execvp(argv[0], (char *const *)argv);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
}

int env_setup(struct env *e)
{
	char mac[2][18];
	int r;

	/* CPUs: the generator on the first we may use, the receiver on the
	 * second; everything else (us, the daemon, nft) stays off the
	 * receiver's. */
	if (sched_getaffinity(0, sizeof(e->allowed), &e->allowed) < 0)
		return -errno;
	if (CPU_COUNT(&e->allowed) < 2)
		return log_error_errno(-EINVAL, "bench: needs 2 CPUs (one for the generator, one for "
				       "the receiver); this process may use %d", CPU_COUNT(&e->allowed));
	e->gen_cpu = e->rx_cpu = -1;
	for (int c = 0; c < CPU_SETSIZE && e->rx_cpu < 0; c++) {
		if (!CPU_ISSET(c, &e->allowed))
			continue;
		if (e->gen_cpu < 0)
			e->gen_cpu = c;
		else
			e->rx_cpu = c;
	}
	e->not_rx = e->allowed;
	CPU_CLR(e->rx_cpu, &e->not_rx);
	if (sched_setaffinity(0, sizeof(e->not_rx), &e->not_rx) < 0)
		return -errno;
	/* The generator must not lose its CPU to whatever else runs here (the
	 * receiver would then idle between bursts, not saturated); our other
	 * threads and children (the daemon, nft) are idle while it runs, so
	 * they share its priority. Threads and children inherit it. */
	if (setpriority(PRIO_PROCESS, 0, -20) < 0)
		log_warn("bench: cannot raise our priority: %m");
	autogroup_raise(e);

	snprintf(e->tmp, sizeof(e->tmp), "/tmp/nft-offload-bench.XXXXXX");
	if (!mkdtemp(e->tmp)) {
		e->tmp[0] = '\0';
		return log_error_errno(-errno, "bench: cannot create a temporary directory: %m");
	}
	/* "napi/<ifname>-" must fit in a thread name (15 characters) */
	snprintf(e->if_tx, sizeof(e->if_tx), "nb%06xs", (unsigned)getpid() & 0xffffff);
	snprintf(e->if_rx, sizeof(e->if_rx), "nb%06xr", (unsigned)getpid() & 0xffffff);
	snprintf(e->ns_name[0], sizeof(e->ns_name[0]), "nfo-bench-%d-tx", (int)getpid());
	snprintf(e->ns_name[1], sizeof(e->ns_name[1]), "nfo-bench-%d-rx", (int)getpid());
	for (int i = 0; i < 2; i++) {
		static const char *const v6[] = { "/proc/sys/net/ipv6/conf/default/disable_ipv6",
						  "/proc/sys/net/ipv6/conf/all/disable_ipv6" };
		int fd;

		r = RUN(e, -1, NULL, "ip", "netns", "add", e->ns_name[i]);
		if (r < 0)
			return r;
		e->ns_made[i] = true;
		fd = open_ns(e->ns_name[i]);
		if (fd < 0)
			return log_error_errno(fd, "bench: cannot open namespace %s: %s", e->ns_name[i],
					       strerror(-fd));
		*(i ? &e->rx_ns : &e->tx_ns) = fd;
		/* no IPv6: its address changes (DAD) would make the daemon
		 * rebuild in the middle of a measurement */
		for (size_t k = 0; k < ARRAY_SIZE(v6); k++)
			(void)ns_write(fd, v6[k], "1");
	}
	for (int i = 0; i < 2; i++) {
		const uint8_t *m = i ? bench_mac_rx : bench_mac_tx;

		snprintf(mac[i], sizeof(mac[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
			 m[3], m[4], m[5]);
	}
	if ((r = RUN(e, e->tx_ns, NULL, "ip", "link", "add", e->if_tx, "address", mac[0], "type",
		     "veth", "peer", "name", e->if_rx, "address", mac[1], "netns",
		     e->ns_name[1])) < 0 ||
	    (r = RUN(e, e->tx_ns, NULL, "ip", "addr", "add", IP_TX "/24", "dev", e->if_tx)) < 0 ||
	    (r = RUN(e, e->rx_ns, NULL, "ip", "addr", "add", IP_RX "/24", "dev", e->if_rx)) < 0 ||
	    (r = RUN(e, e->tx_ns, NULL, "ip", "link", "set", e->if_tx, "up")) < 0 ||
	    (r = RUN(e, e->rx_ns, NULL, "ip", "link", "set", "lo", "up")) < 0 ||
	    (r = RUN(e, e->rx_ns, NULL, "ip", "link", "set", e->if_rx, "up")) < 0 ||
	    /* GRO gives the receiving veth a NAPI instance, which is also what
	     * lets the peer accept XDP_REDIRECTed frames (veth_xdp_xmit) */
	    (r = RUN(e, e->rx_ns, NULL, "ethtool", "-K", e->if_rx, "gro", "on")) < 0)
		return r;
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/sys/class/net/%s/threaded", e->if_rx);
		r = ns_write(e->rx_ns, path, "1");
		if (r < 0)
			return log_error_errno(r, "bench: cannot enable threaded NAPI on %s", e->if_rx);
	}
	r = pin_napi(e);
	if (r < 0)
		return log_error_errno(r, "bench: no NAPI thread for %s: %s", e->if_rx, strerror(-r));

	r = enter_ns(e->tx_ns);
	if (r < 0)
		return r;
	e->tx_ifindex = (int)if_nametoindex(e->if_tx);
	leave_ns(e);
	r = enter_ns(e->rx_ns);
	if (r < 0)
		return r;
	r = nfo_nft_counter_open(&e->nl);
	leave_ns(e);
	if (!e->tx_ifindex)
		return log_error_errno(-ENODEV, "bench: %s vanished from its namespace", e->if_tx);
	if (r < 0)
		return log_error_errno(r, "bench: nftables netlink socket: %s", strerror(-r));

	return gen_load(e);
}
