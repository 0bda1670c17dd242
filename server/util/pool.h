/*
 * pool.h - a small pthread pool for slow work (Argon2id, imports).
 *
 * Jobs run on a worker thread; when a job's work function returns, its done
 * function is queued back to whoever asked (the executor, exec/exec.c)
 * through the callback given at submit. The pool never touches
 * the database or a socket itself. The number of jobs running at once is the
 * number of threads, which bounds the memory Argon2id can take.
 */
#ifndef SCH_POOL_H
#define SCH_POOL_H

struct pool;

/* Runs on a worker thread. */
typedef void (*pool_work_fn)(void *arg);
/* Runs on the worker thread right after work; hands the result back (for
 * example by enqueuing a continuation and waking the loop). */
typedef void (*pool_done_fn)(void *arg);

/* Starts nthreads workers; the caller owns the pool (pool_stop frees it). */
struct pool *pool_start(int nthreads);
/* Queues a job; never blocks on the job running. */
void pool_submit(struct pool *p, pool_work_fn work, pool_done_fn done,
		 void *arg);
/* Finishes queued jobs, joins the workers and frees the pool. */
void pool_stop(struct pool *p);

#endif
