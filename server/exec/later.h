/*
 * later.h - work a write leaves for the end of its batch (exec.c).
 *
 * Some work of a write is cheaper done once for the whole batch than once
 * per call: the search index (an FTS5 table flushes its pending terms at
 * every SAVEPOINT, and every call runs in one, so a row inserted per call
 * costs a segment per call). A call on the executor may hand such work to
 * exec_later(): it runs in the batch's transaction, outside any call's
 * savepoint, before COMMIT (so it is on disk with the call, in the same
 * commit), or is dropped when the call fails (its savepoint rolled back).
 * Pending work also runs before any call that is not one of the lean
 * writes (annotation.create, reply.create), so every other call, reads
 * included, sees it done. If it fails, the whole batch is rolled back and
 * answered with errors: nothing is acknowledged that is not on disk.
 */
#ifndef SCH_EXEC_LATER_H
#define SCH_EXEC_LATER_H

#include <stdbool.h>

struct rpc_ctx;

/* ctx: a context on the executor's database for no connection. 0 or an
 * error (SCH_E*). */
typedef int (*exec_later_fn)(struct rpc_ctx *ctx, void *arg);

/* Queues fn(arg) for later and returns true; false when the calling code
 * does not run in a lean write on the executor (then do the work now).
 * free_arg (may be NULL) frees arg after the run or when dropped. */
bool exec_later(exec_later_fn fn, void *arg, void (*free_arg)(void *));

/*
 * A lean run: consecutive lean writes of one batch, with no other call,
 * job or batch between them. Within one, nothing but lean writes changes
 * the database (the batch holds the write lock; any other call ends the
 * run), so state a lean write loaded may be reused by the next ones of the
 * run as long as the lean writes themselves keep it right (threads/ keeps
 * the caller's viewer so). Returns false outside a lean write on the
 * executor; else sets *run to the current run's number.
 */
bool exec_lean_run(unsigned long *run);

/* How many batches the executor has rolled back so far: a cache of
 * written state kept on the executor (pace.c) drops what it holds when
 * this changes, as its writes since may not be on disk. */
unsigned long exec_rollbacks(void);

#endif
