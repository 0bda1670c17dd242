/*
 * pool.c - fixed-size worker pool with one FIFO job queue.
 */
#include "util/pool.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/thread_name.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* One queued job. */
struct pool_job {
	pool_work_fn work;
	pool_done_fn done;
	void *arg;
	struct pool_job *next;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pool_job *head, *tail; /* FIFO of pending jobs */
	bool stopping;
	int nthreads;
	pthread_t *threads;
};

static void *pool_main(void *arg)
{
	struct pool *p = arg;

	thread_name("sch-pool");

	for (;;) {
		struct pool_job *job;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		job = p->head;
		if (job) {
			p->head = job->next;
			if (!p->head)
				p->tail = NULL;
		}
		pthread_mutex_unlock(&p->lock);
		if (!job)
			return NULL; /* stopping and drained */
		job->work(job->arg);
		if (job->done)
			job->done(job->arg);
		free(job);
	}
}

struct pool *pool_start(int nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->nthreads = nthreads > 0 ? nthreads : 1;
	p->threads = xcalloc((size_t)p->nthreads, sizeof(pthread_t));
	for (int i = 0; i < p->nthreads; i++)
		if (pthread_create(&p->threads[i], NULL, pool_main, p))
			die("cannot start worker thread");
	return p;
}

void pool_submit(struct pool *p, pool_work_fn work, pool_done_fn done,
		 void *arg)
{
	struct pool_job *job = xcalloc(1, sizeof(*job));

	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void pool_stop(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}
