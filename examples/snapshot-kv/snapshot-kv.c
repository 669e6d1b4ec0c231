/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * snapshot-kv - an in-memory key-value store that snapshots while it serves
 *
 *   snapshot-kv [--keys N] [--out FILE]
 *
 * Fills an open-addressing hash table of 64-byte records with N keys
 * (default 512 Ki: a 64 MiB table), then snapshots it like Redis' BGSAVE:
 * odfork(), and the child writes the table as it was at the fork to FILE
 * (default: an unnamed scratch file in /tmp) with io_uring, while the
 * parent keeps serving random gets and puts.  The parent reports how long odfork()
 * paused it, and logs the fork-time contents of every record it changes.
 * When the child is done, the table rolled back with that undo log is the
 * state at the fork: FILE must equal it byte for byte.
 *
 * Exit status: 0 when the snapshot verified, 1 on failure, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liburing.h>
#include <odfork.h>

#include "../common.h"

#define KV_DEFAULT_KEYS	(512u * 1024)
#define KV_MAX_KEYS	(1u << 28)
#define KV_BATCH	4096		/* requests between looks at the child */
#define RING_DEPTH	8		/* writes in flight */
#define RING_CHUNK	(4u << 20)	/* bytes per write */

struct rec {
	uint64_t key;		/* 0: empty slot */
	uint64_t version;	/* bumped by every put */
	uint64_t val[6];	/* derived from key and version */
};

struct undo {
	uint64_t i;		/* slot */
	struct rec old;		/* its contents at the fork */
};

static struct rec *slot;	/* the table, written to FILE as it is */
static uint64_t mask;		/* number of slots - 1 */
static uint64_t nr_keys, key_space, rng_state;
static uint64_t *dirty;		/* one bit per slot changed since the fork */
static struct undo *undo;
static size_t nr_undo, max_undo;
static uint64_t hits;		/* gets that found their key */

static size_t table_bytes(void)
{
	return (mask + 1) * sizeof(struct rec);
}

/* The slot holding key, or the empty slot where it would go. */
static uint64_t find(uint64_t key)
{
	uint64_t i = mix64(key) & mask;

	while (slot[i].key && slot[i].key != key)
		i = (i + 1) & mask;
	return i;
}

/* Remember slot i as it was at the fork, the first time it changes. */
static void undo_save(uint64_t i)
{
	if (dirty[i / 64] & (1ull << (i % 64)))
		return;
	dirty[i / 64] |= 1ull << (i % 64);
	if (nr_undo == max_undo) {
		max_undo = max_undo ? 2 * max_undo : 4096;
		undo = realloc(undo, max_undo * sizeof(*undo));
		if (!undo) {
			perror("snapshot-kv: undo log");
			exit(1);
		}
	}
	undo[nr_undo].i = i;
	undo[nr_undo++].old = slot[i];
}

/* Insert or update key, up to a load of 3/4. */
static void put(uint64_t key, int log)
{
	struct rec *r = &slot[find(key)];
	unsigned int j;

	if (!r->key && 4 * (nr_keys + 1) > 3 * (mask + 1))
		return;
	if (log)
		undo_save(r - slot);
	nr_keys += !r->key;
	r->version = r->key ? r->version + 1 : 1;
	r->key = key;
	for (j = 0; j < 6; j++)
		r->val[j] = mix64(key ^ (r->version << 32) ^ j);
}

/* Random requests: three gets for each put. */
static void serve_batch(void)
{
	unsigned int n;
	uint64_t x;

	for (n = 0; n < KV_BATCH; n++) {
		x = mix64(++rng_state);
		if (x % 4)
			hits += !!slot[find(1 + (x >> 2) % key_space)].key;
		else
			put(1 + (x >> 2) % key_space, 1);
	}
}

static size_t chunk_len(size_t off)
{
	size_t len = table_bytes() - off;

	return len < RING_CHUNK ? len : RING_CHUNK;
}

/* Queue the write of the chunk at off, tagged with off. */
static void ring_queue(struct io_uring *ring, int fd, size_t off)
{
	/* Never NULL: no more than RING_DEPTH requests are queued. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_write(sqe, fd, (char *)slot + off, chunk_len(off), off);
	io_uring_sqe_set_data64(sqe, off);
}

/* Submit, wait for a completion: its result, and its tag in *tag. */
static int ring_reap(struct io_uring *ring, uint64_t *tag)
{
	struct io_uring_cqe *cqe;
	int r;

	r = io_uring_submit_and_wait(ring, 1);
	if (r >= 0)
		r = io_uring_wait_cqe(ring, &cqe);
	if (r < 0)
		return r;
	*tag = io_uring_cqe_get_data64(cqe);
	r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

/* Write the whole table in chunks, RING_DEPTH of them in flight. */
static int snap_write(struct io_uring *ring, int fd)
{
	size_t next = 0, len = table_bytes();
	unsigned int busy = 0;
	uint64_t off;
	int res;

	while (next < len || busy) {
		for (; busy < RING_DEPTH && next < len; busy++) {
			ring_queue(ring, fd, next);
			next += chunk_len(next);
		}
		res = ring_reap(ring, &off);
		if (res < 0)
			return res;
		/* Short on a regular file: out of space, or a bug. */
		if ((size_t)res != chunk_len(off))
			return -EIO;
		busy--;
	}
	return 0;
}

static void snap_child(int fd)
{
	struct io_uring ring;
	uint64_t tag;
	int r;

	r = io_uring_queue_init(RING_DEPTH, &ring, 0);
	if (!r)
		r = snap_write(&ring, fd);
	if (!r) {
		io_uring_prep_fsync(io_uring_get_sqe(&ring), fd, 0);
		r = ring_reap(&ring, &tag);
	}
	if (r < 0)
		fprintf(stderr, "snapshot-kv: writing the snapshot: %s\n",
			strerror(-r));
	_exit(r < 0);
}

/* Serve requests until the child has written the snapshot. */
static int serve_until(pid_t child)
{
	double start = now_us();
	uint64_t requests = 0;
	int status;
	pid_t r;

	do {
		serve_batch();
		requests += KV_BATCH;
		r = waitpid(child, &status, WNOHANG);
	} while (r == 0);
	printf("snapshot-kv: served %llu requests (%llu hits) during the "
	       "%.1f ms snapshot, %zu records changed\n",
	       (unsigned long long)requests, (unsigned long long)hits,
	       (now_us() - start) / 1e3, nr_undo);
	if (r == child && WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	fprintf(stderr, "snapshot-kv: the snapshot child failed\n");
	return -1;
}

/* Roll the table back to the fork, then compare it with the file. */
static int snap_verify(int fd)
{
	size_t i, len = table_bytes();
	struct stat sb;
	void *file;
	int r;

	for (i = nr_undo; i-- > 0;)
		slot[undo[i].i] = undo[i].old;
	if (fstat(fd, &sb) || (size_t)sb.st_size != len) {
		fprintf(stderr, "snapshot-kv: snapshot has the wrong size\n");
		return -1;
	}
	file = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (file == MAP_FAILED) {
		perror("snapshot-kv: mmap");
		return -1;
	}
	r = memcmp(file, slot, len);
	munmap(file, len);
	if (r)
		fprintf(stderr, "snapshot-kv: snapshot differs from the table "
			"at the fork\n");
	else
		printf("snapshot-kv: snapshot verified: %zu bytes, the table "
		       "as it was at the fork\n", len);
	return r ? -1 : 0;
}

static int snapshot(int fd)
{
	double start = now_us();
	pid_t pid = odfork();

	if (pid == 0)
		snap_child(fd);
	if (pid < 0) {
		perror("snapshot-kv: odfork");
		return -1;
	}
	printf("snapshot-kv: odfork() paused the store for %.3f ms\n",
	       (now_us() - start) / 1e3);
	return serve_until(pid) ? -1 : snap_verify(fd);
}

static int table_init(uint64_t keys)
{
	uint64_t k, nr_slots = 64;

	while (nr_slots < 2 * keys)
		nr_slots *= 2;
	mask = nr_slots - 1;
	key_space = keys + keys / 4;	/* puts also insert new keys */
	slot = calloc(nr_slots, sizeof(*slot));
	dirty = calloc(nr_slots / 64, sizeof(*dirty));
	if (!slot || !dirty)
		return -1;
	for (k = 1; k <= keys; k++)
		put(k, 0);
	return 0;
}

static int open_out(const char *out)
{
	FILE *f;

	if (out)
		return open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	f = tmpfile();		/* a scratch file, gone when we exit */
	return f ? fileno(f) : -1;
}

static int parse_args(int argc, char **argv, uint64_t *keys, char **out)
{
	static const struct option opts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "k:o:", opts, NULL)) != -1) {
		if (c == 'o') {
			*out = optarg;
			continue;
		}
		if (c != 'k')
			return -1;
		errno = 0;
		*keys = strtoull(optarg, &end, 0);
		if (errno || *end || !*keys || *keys > KV_MAX_KEYS)
			return -1;
	}
	return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint64_t keys = KV_DEFAULT_KEYS;
	char *out = NULL;
	int fd, r;

	if (parse_args(argc, argv, &keys, &out)) {
		fprintf(stderr, "usage: snapshot-kv [--keys N (1..%u)] "
			"[--out FILE]\n", KV_MAX_KEYS);
		return 2;
	}
	if (table_init(keys)) {
		fprintf(stderr, "snapshot-kv: no memory for %llu keys\n",
			(unsigned long long)keys);
		return 1;
	}
	fd = open_out(out);
	if (fd < 0) {
		perror("snapshot-kv: snapshot file");
		return 1;
	}
	printf("snapshot-kv: %llu keys in a %.1f MiB table, libodfork %s, "
	       "on-demand fork: %s\n", (unsigned long long)nr_keys,
	       table_bytes() / 1048576.0, odfork_version(),
	       odfork_available() ? "yes" : "no (odfork() is fork())");
	r = snapshot(fd);
	close(fd);
	return r ? 1 : 0;
}
