// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every part of the daemon shares and nothing else: the clock they
 * time with, and the lock and busy word of the state the event loop
 * publishes and the control thread renders (status.h). Kept apart from
 * daemon.c so that the parts it calls never call back into it.
 */
#include <pthread.h>
#include <time.h>

#include "daemon-internal.h"

double daemon_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

void daemon_lock(struct daemon *d)
{
	pthread_mutex_lock(&d->st.lock);
}

void daemon_unlock(struct daemon *d)
{
	pthread_mutex_unlock(&d->st.lock);
}

void daemon_busy(struct daemon *d, const char *what, bool reset)
{
	if (reset)
		__atomic_store_n(&d->st.busy_elements, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->st.busy, what, __ATOMIC_RELEASE);
}
