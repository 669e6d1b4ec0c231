/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * hooks.c - callbacks run around odfork()
 *
 * Hooks live in a list that only grows: nodes are appended under
 * hooks_lock and never freed or changed after they are published.  odfork()
 * takes a snapshot (the newest node) without locking and walks the nodes up
 * to it, so hooks may register more hooks (they take effect from the next
 * odfork()) and other threads may register while odfork() runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

enum { HOOK_PREPARE, HOOK_PARENT, HOOK_CHILD, HOOK_NR };

struct odfork_hook {
	odfork_hook_fn fn[HOOK_NR];
	void *arg;
	struct odfork_hook *prev;	/* older */
	struct odfork_hook *next;	/* newer; set before the newer node is
					 * published */
};

static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct odfork_hook *hooks_head;			/* oldest */
static struct odfork_hook *_Atomic hooks_tail;		/* newest */

/*
 * A fork() by another thread may copy hooks_lock while it is held.  The
 * child then starts with the lock free: an append cut short by the fork
 * has either published its node or left the list as readers see it (a
 * ->next of the tail or a hooks_head set for an unpublished node is
 * overwritten by the next append), so the list is consistent as it is.
 */
static void hooks_reset_lock(void)
{
	pthread_mutex_init(&hooks_lock, NULL);
}

__attribute__((constructor)) static void hooks_init(void)
{
	pthread_atfork(NULL, NULL, hooks_reset_lock);
}

const struct odfork_hook *__odfork_hooks_snapshot(void)
{
	return atomic_load_explicit(&hooks_tail, memory_order_acquire);
}

void __odfork_hooks_prepare(const struct odfork_hook *last)
{
	const struct odfork_hook *h;

	for (h = last; h; h = h->prev)
		if (h->fn[HOOK_PREPARE])
			h->fn[HOOK_PREPARE](h->arg);
}

static void hooks_run_forward(const struct odfork_hook *last, int which)
{
	const struct odfork_hook *h;

	if (!last)
		return;
	for (h = hooks_head; ; h = h->next) {
		if (h->fn[which])
			h->fn[which](h->arg);
		if (h == last)
			break;
	}
}

void __odfork_hooks_parent(const struct odfork_hook *last)
{
	hooks_run_forward(last, HOOK_PARENT);
}

void __odfork_hooks_child(const struct odfork_hook *last)
{
	hooks_run_forward(last, HOOK_CHILD);
}

/*
 * saved_errno is volatile because clang assumes that malloc() leaves errno
 * alone and would drop the restore.
 */
int odfork_atfork(odfork_hook_fn prepare, odfork_hook_fn parent,
		  odfork_hook_fn child, void *arg)
{
	struct odfork_hook *h, *tail;
	volatile int saved_errno = errno;

	if (!prepare && !parent && !child)
		return -EINVAL;
	h = malloc(sizeof(*h));
	errno = saved_errno;
	if (!h)
		return -ENOMEM;
	h->fn[HOOK_PREPARE] = prepare;
	h->fn[HOOK_PARENT] = parent;
	h->fn[HOOK_CHILD] = child;
	h->arg = arg;
	h->next = NULL;

	pthread_mutex_lock(&hooks_lock);
	tail = atomic_load_explicit(&hooks_tail, memory_order_relaxed);
	h->prev = tail;
	if (tail)
		tail->next = h;
	else
		hooks_head = h;
	atomic_store_explicit(&hooks_tail, h, memory_order_release);
	pthread_mutex_unlock(&hooks_lock);
	return 0;
}
