/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * hooks.c - callbacks run around odfork()
 *
 * The registered hooks form an immutable table: a registration publishes
 * a new table (the live hooks of the old one plus the new hook) and
 * retires the old one.  odfork() takes a snapshot, the current table and
 * the removal generation, under hooks_lock, and runs the hooks without the
 * lock, so hooks may register or remove hooks and other threads may too:
 * each odfork() runs, in all three phases, the hooks registered when it
 * started.
 *
 * A removal marks the hook with a new generation, which hides it from
 * later snapshots, then waits until no odfork() of another thread runs
 * a snapshot that still holds it: when odfork_atfork_remove() returns,
 * the hook's code is not running and will not run again, so the code
 * can be unloaded.  Snapshots in flight are linked on hooks_inflight; a
 * retired table is freed when no snapshot uses it any more.
 *
 * hooks_lock is held across fork() (pthread_atfork handlers), so a child
 * never starts with a registration cut in half.  In the child, only the
 * forking thread's snapshots are still in flight.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

enum { HOOK_PREPARE, HOOK_PARENT, HOOK_CHILD, HOOK_NR };

#define NOT_REMOVED	ULONG_MAX

struct hook {
	odfork_hook_fn fn[HOOK_NR];
	void *arg;
	unsigned long id;		/* the same in every table */
	_Atomic unsigned long removed;	/* generation of its removal */
};

struct hook_table {
	struct hook_table *next_retired;
	size_t nr;
	struct hook hook[];		/* in order of registration */
};

static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hooks_done = PTHREAD_COND_INITIALIZER;
static struct hook_table *_Atomic hooks_current;
static struct hook_table *hooks_retired;
static struct odfork_hook_snap *hooks_inflight;
static unsigned long hooks_gen;		/* removals so far */
static unsigned long hooks_next_id;

static int table_in_use(const struct hook_table *t)
{
	const struct odfork_hook_snap *s;

	for (s = hooks_inflight; s; s = s->next)
		if (s->table == t)
			return 1;
	return 0;
}

/* Free the retired tables that no snapshot uses.  Under hooks_lock. */
static void free_retired(void)
{
	struct hook_table **p = &hooks_retired, *t;

	while ((t = *p)) {
		if (table_in_use(t)) {
			p = &t->next_retired;
			continue;
		}
		*p = t->next_retired;
		free(t);
	}
}

static void hooks_lock_fork(void)
{
	pthread_mutex_lock(&hooks_lock);
}

static void hooks_unlock_parent(void)
{
	pthread_mutex_unlock(&hooks_lock);
}

/* The other threads, and their snapshots, did not come along. */
static void hooks_unlock_child(void)
{
	struct odfork_hook_snap **p = &hooks_inflight, *s;
	pthread_t self = pthread_self();

	while ((s = *p)) {
		if (pthread_equal(s->thread, self))
			p = &s->next;
		else
			*p = s->next;
	}
	free_retired();
	pthread_cond_init(&hooks_done, NULL);
	pthread_mutex_unlock(&hooks_lock);
}

__attribute__((constructor)) static void hooks_init(void)
{
	pthread_atfork(hooks_lock_fork, hooks_unlock_parent,
		       hooks_unlock_child);
}

void __odfork_hooks_get(struct odfork_hook_snap *snap)
{
	snap->table = atomic_load_explicit(&hooks_current,
					   memory_order_relaxed);
	if (!snap->table)
		return;		/* never any hooks: nothing to protect */
	pthread_mutex_lock(&hooks_lock);
	snap->table = atomic_load_explicit(&hooks_current,
					   memory_order_relaxed);
	snap->gen = hooks_gen;
	snap->thread = pthread_self();
	snap->next = hooks_inflight;
	hooks_inflight = snap;
	pthread_mutex_unlock(&hooks_lock);
}

void __odfork_hooks_put(struct odfork_hook_snap *snap)
{
	struct odfork_hook_snap **p;

	if (!snap->table)
		return;
	pthread_mutex_lock(&hooks_lock);
	for (p = &hooks_inflight; *p; p = &(*p)->next) {
		if (*p == snap) {
			*p = snap->next;
			break;
		}
	}
	free_retired();
	pthread_cond_broadcast(&hooks_done);
	pthread_mutex_unlock(&hooks_lock);
}

/* Whether the snapshot runs h: registered then, and not yet removed. */
static int visible(const struct odfork_hook_snap *snap, const struct hook *h)
{
	return atomic_load_explicit(&h->removed, memory_order_relaxed) >
	       snap->gen;
}

static void run_hook(const struct odfork_hook_snap *snap, size_t i, int which)
{
	const struct hook *h = &snap->table->hook[i];

	if (h->fn[which] && visible(snap, h))
		h->fn[which](h->arg);
}

void __odfork_hooks_prepare(const struct odfork_hook_snap *snap)
{
	size_t i;

	if (!snap->table)
		return;
	for (i = snap->table->nr; i-- > 0; )
		run_hook(snap, i, HOOK_PREPARE);
}

static void run_forward(const struct odfork_hook_snap *snap, int which)
{
	size_t i;

	if (!snap->table)
		return;
	for (i = 0; i < snap->table->nr; i++)
		run_hook(snap, i, which);
}

void __odfork_hooks_parent(const struct odfork_hook_snap *snap)
{
	run_forward(snap, HOOK_PARENT);
}

void __odfork_hooks_child(const struct odfork_hook_snap *snap)
{
	run_forward(snap, HOOK_CHILD);
}

/* Number of hooks of t that are not removed. */
static size_t live_hooks(const struct hook_table *t)
{
	size_t i, n = 0;

	for (i = 0; t && i < t->nr; i++)
		n += atomic_load(&t->hook[i].removed) == NOT_REMOVED;
	return n;
}

/* The live hooks of old, then h, in a new table.  Under hooks_lock. */
static void fill_table(struct hook_table *t, const struct hook_table *old,
		       const struct hook *h)
{
	size_t i;

	t->next_retired = NULL;
	t->nr = 0;
	for (i = 0; old && i < old->nr; i++) {
		if (atomic_load(&old->hook[i].removed) != NOT_REMOVED)
			continue;
		t->hook[t->nr] = old->hook[i];
		atomic_init(&t->hook[t->nr].removed, NOT_REMOVED);
		t->nr++;
	}
	t->hook[t->nr++] = *h;
}

/* Publish t and retire the table it replaces.  Under hooks_lock. */
static void publish(struct hook_table *t)
{
	struct hook_table *old = atomic_load(&hooks_current);

	atomic_store(&hooks_current, t);
	if (old) {
		old->next_retired = hooks_retired;
		hooks_retired = old;
	}
	free_retired();
}

static int add_hook(struct hook *h)
{
	struct hook_table *t;
	size_t n;

	pthread_mutex_lock(&hooks_lock);
	n = live_hooks(atomic_load(&hooks_current)) + 1;
	t = malloc(sizeof(*t) + n * sizeof(t->hook[0]));
	if (!t) {
		pthread_mutex_unlock(&hooks_lock);
		return -ENOMEM;
	}
	h->id = hooks_next_id++;
	atomic_init(&h->removed, NOT_REMOVED);
	fill_table(t, atomic_load(&hooks_current), h);
	publish(t);
	pthread_mutex_unlock(&hooks_lock);
	return 0;
}

/*
 * saved_errno is volatile because clang assumes that malloc() leaves errno
 * alone and would drop the restore.
 */
int odfork_atfork(odfork_hook_fn prepare, odfork_hook_fn parent,
		  odfork_hook_fn child, void *arg)
{
	volatile int saved_errno = errno;
	struct hook h;
	int ret;

	if (!prepare && !parent && !child)
		return -EINVAL;
	h.fn[HOOK_PREPARE] = prepare;
	h.fn[HOOK_PARENT] = parent;
	h.fn[HOOK_CHILD] = child;
	h.arg = arg;
	ret = add_hook(&h);
	errno = saved_errno;
	return ret;
}

static int same_hook(struct hook *h, odfork_hook_fn prepare,
		     odfork_hook_fn parent, odfork_hook_fn child, void *arg)
{
	return h->fn[HOOK_PREPARE] == prepare &&
	       h->fn[HOOK_PARENT] == parent &&
	       h->fn[HOOK_CHILD] == child && h->arg == arg &&
	       atomic_load(&h->removed) == NOT_REMOVED;
}

/* The newest live registration of these hooks, or NULL.  Under the lock. */
static struct hook *find_hook(odfork_hook_fn prepare, odfork_hook_fn parent,
			      odfork_hook_fn child, void *arg)
{
	struct hook_table *t = atomic_load(&hooks_current);
	size_t i;

	for (i = t ? t->nr : 0; i-- > 0; )
		if (same_hook(&t->hook[i], prepare, parent, child, arg))
			return &t->hook[i];
	return NULL;
}

static int table_has(const struct hook_table *t, unsigned long id)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->hook[i].id == id)
			return 1;
	return 0;
}

/*
 * Whether an odfork() of another thread may still run hook id, removed
 * at generation gen: a snapshot taken before gen whose table holds it.
 * The caller's own snapshots (a hook removing hooks) do not count.
 * Under hooks_lock.
 */
static int hook_busy(unsigned long id, unsigned long gen)
{
	const struct odfork_hook_snap *s;
	pthread_t self = pthread_self();

	for (s = hooks_inflight; s; s = s->next)
		if (s->gen < gen && !pthread_equal(s->thread, self) &&
		    table_has(s->table, id))
			return 1;
	return 0;
}

static int remove_hook(odfork_hook_fn prepare, odfork_hook_fn parent,
		       odfork_hook_fn child, void *arg)
{
	unsigned long id, gen;
	struct hook *h;

	pthread_mutex_lock(&hooks_lock);
	h = find_hook(prepare, parent, child, arg);
	if (!h) {
		pthread_mutex_unlock(&hooks_lock);
		return -ENOENT;
	}
	id = h->id;
	gen = ++hooks_gen;
	atomic_store(&h->removed, gen);
	while (hook_busy(id, gen))
		pthread_cond_wait(&hooks_done, &hooks_lock);
	pthread_mutex_unlock(&hooks_lock);
	return 0;
}

int odfork_atfork_remove(odfork_hook_fn prepare, odfork_hook_fn parent,
			 odfork_hook_fn child, void *arg)
{
	int saved_errno = errno;
	int ret = -EINVAL;

	if (prepare || parent || child)
		ret = remove_hook(prepare, parent, child, arg);
	errno = saved_errno;
	return ret;
}
