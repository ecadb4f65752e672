/* SPDX-License-Identifier: MIT */
/*
 * bench_latency: notification latency, from the vmp_account() call that
 * fills a window to a reader thread blocked in read() on the eventfd
 * registered for the group, with the thread executor (one worker).
 *
 *   t0 = now; vmp_account(ctx, g, 0xca, true, 512, 0);   (main thread)
 *   read(efd) returns; t1 = now;                         (reader thread)
 *
 * 512 scanned, 0 reclaimed is a full window at pressure 100 (critical), so
 * the "low" listener fires once per call. The path is: account ->
 * schedule (exec_lock, queue, cond signal) -> worker wakes -> evaluation
 * -> eventfd write -> reader wakes: two thread wake-ups.
 *
 * Baseline, same run, same method: a bare eventfd write from the main
 * thread waking a reader blocked in read() on another eventfd (one
 * wake-up).
 *
 * For context (info, not the goal) more rows: an eventfd relay through
 * a second thread (two wake-ups in series, the floor of any worker-thread
 * design), the time spent inside the waking call by the caller: the
 * window-filling vmp_account() (it wakes the worker) and, to compare, the
 * baseline's write() (it wakes the reader); and, in a phase of their own
 * after the others, both measurements again with a caller that keeps
 * running BUSY_NS after the call before it blocks (a worker woken on its
 * caller's CPU yields to it, see executor.c: this shows that yield's cost).
 *
 * Library and baseline samples alternate, each after a short pause so
 * the reader (and the worker) are asleep: every sample is a cold wake.
 * The main thread blocks on a semaphore that the reader posts after taking
 * its timestamp: it neither spins nor polls, so it takes no CPU from the
 * worker or the reader while a sample is in flight. Reported: min, median,
 * p90, p99 and max over all samples.
 */
#include "bench_util.h"

#include "vmpressure.h"

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PAUSE_NS 200000u /* between samples: the reader is surely asleep */
#define BUSY_NS 100000u  /* the busy caller's run after the call */

struct reader {
	int efd;
	uint64_t *wake_ns; /* per sample, written by the reader */
	int *cpu;          /* per sample: where the reader woke */
	size_t n;
	sem_t done;        /* posted after each sample's timestamp */
	_Atomic int failed;
	pthread_t th;
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	for (size_t i = 0; i < r->n; i++) {
		uint64_t v;
		ssize_t k;
		do
			k = read(r->efd, &v, sizeof(v));
		while (k < 0 && errno == EINTR);
		uint64_t t = vmp__mono_ns();
		if (k != sizeof(v)) {
			atomic_store(&r->failed, 1);
			sem_post(&r->done);
			return NULL;
		}
		r->wake_ns[i] = t;
		r->cpu[i] = sched_getcpu();
		sem_post(&r->done);
	}
	return NULL;
}

static void reader_start(struct reader *r, int efd, size_t n)
{
	r->efd = efd;
	r->n = n;
	r->wake_ns = calloc(n, sizeof(uint64_t));
	r->cpu = calloc(n, sizeof(int));
	if (!r->wake_ns || !r->cpu)
		bench_die("out of memory");
	sem_init(&r->done, 0, 0);
	atomic_init(&r->failed, 0);
	int rc = pthread_create(&r->th, NULL, reader_main, r);
	if (rc)
		bench_die("pthread_create: %s", strerror(rc));
}

/* Block until the reader has sample i. The reader posts only after its
 * timestamp, so waking this thread is not part of the measurement. */
static void wait_sample(struct reader *r, size_t i)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 5;
	int rc;
	while ((rc = sem_clockwait(&r->done, CLOCK_MONOTONIC, &dl)) != 0 && errno == EINTR)
		;
	if (rc != 0)
		bench_die("no notification within 5 s (sample %zu): %s", i, strerror(errno));
	if (atomic_load(&r->failed))
		bench_die("reader: read() failed");
}

struct stats {
	uint64_t min, med, p90, p99, max;
};

static struct stats summarize(uint64_t *lat, size_t n)
{
	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	return (struct stats){lat[0], bench_quantile_sorted(lat, n, 0.5),
			      bench_quantile_sorted(lat, n, 0.9),
			      bench_quantile_sorted(lat, n, 0.99), lat[n - 1]};
}

static void print_row(const char *label, struct stats s)
{
	printf("  %-38s %8.1f %8.1f %8.1f %8.1f %9.1f\n", label, s.min / 1e3, s.med / 1e3,
	       s.p90 / 1e3, s.p99 / 1e3, s.max / 1e3);
}

/* Info only: an eventfd relay thread between the writer and the reader,
 * i.e. the two wake-ups in series that any worker-thread design pays. */
struct relay {
	int in, out;
	size_t n;
	pthread_t th;
};

static void *relay_main(void *p)
{
	struct relay *rl = p;
	for (size_t i = 0; i < rl->n; i++) {
		uint64_t v;
		ssize_t k;
		do
			k = read(rl->in, &v, sizeof(v));
		while (k < 0 && errno == EINTR);
		if (k != sizeof(v) || write(rl->out, &v, sizeof(v)) != sizeof(v))
			return NULL; /* the reader then times out: reported */
	}
	return NULL;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		bench_die("eventfd: %s", strerror(errno));
	return fd;
}

/* Info only: a callback listener, registered after the eventfd (so it runs
 * first, newest first), timestamps the worker's evaluation: the split of
 * the latency into the library's hop (caller -> worker) and the eventfd's
 * (worker -> reader), by where the reader woke. */
static uint64_t *eval_ns;
static int *eval_cpu;
static _Atomic size_t sample_i;
static void on_eval(const struct vmp_event *ev, void *arg)
{
	(void)arg;
	if (ev->flags)
		return;
	size_t i = atomic_load(&sample_i);
	eval_ns[i] = vmp__mono_ns();
	eval_cpu[i] = sched_getcpu();
}

int main(void)
{
	size_t n = (size_t)(2000 * bench_scale());
	if (n < 20)
		n = 20;
	size_t nb = n / 4 < 20 ? 20 : n / 4; /* busy-caller samples, after the n */

	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = VMP_EXECUTOR_THREAD;
	cfg.threads = 1;
	vmp_ctx *ctx;
	vmp_group *g;
	int rc = vmp_ctx_new(&ctx, &cfg);
	if (rc)
		bench_die("vmp_ctx_new: %s", strerror(-rc));
	if ((rc = vmp_group_new(vmp_ctx_root(ctx), "bench", &g)))
		bench_die("vmp_group_new: %s", strerror(-rc));
	int lib_efd = new_eventfd(), base_efd = new_eventfd();
	int relay_in = new_eventfd(), relay_out = new_eventfd();
	if ((rc = vmp_listen_eventfd(g, lib_efd, "low")))
		bench_die("vmp_listen_eventfd: %s", strerror(-rc));
	eval_ns = calloc(n + nb, sizeof(uint64_t));
	eval_cpu = calloc(n + nb, sizeof(int));
	if (!eval_ns || !eval_cpu || (rc = vmp_listen_callback(g, "low", on_eval, NULL)))
		bench_die("vmp_listen_callback: %d", rc);

	static struct reader lib_r, base_r, relay_r;
	static struct relay rl;
	reader_start(&lib_r, lib_efd, n + nb);
	reader_start(&base_r, base_efd, n + nb);
	reader_start(&relay_r, relay_out, n);
	rl = (struct relay){.in = relay_in, .out = relay_out, .n = n};
	if ((rc = pthread_create(&rl.th, NULL, relay_main, &rl)))
		bench_die("pthread_create: %s", strerror(rc));

	uint64_t *lib_t0 = calloc(n + nb, sizeof(uint64_t)), *lib_t1 = calloc(n, sizeof(uint64_t));
	uint64_t *base_t0 = calloc(n + nb, sizeof(uint64_t)), *base_t1 = calloc(n, sizeof(uint64_t));
	uint64_t *relay_t0 = calloc(n, sizeof(uint64_t));
	uint64_t *lat = calloc(n + nb, sizeof(uint64_t));
	if (!lib_t0 || !lib_t1 || !base_t0 || !base_t1 || !relay_t0 || !lat)
		bench_die("out of memory");

	printf("bench_latency: vmp_account(ctx, g, 0xca, true, 512, 0) -> reader blocked in read() on the\n"
	       "  eventfd of vmp_listen_eventfd(g, efd, \"low\"); thread executor, 1 worker\n"
	       "  %zu samples per row, rows interleaved, %.0f us pause before each sample\n",
	       n, PAUSE_NS / 1e3);
	bench_print_load();
	fflush(stdout);

	const uint64_t one = 1;
	for (size_t i = 0; i < n; i++) {
		bench_sleep_ns(PAUSE_NS);
		atomic_store(&sample_i, i);
		lib_t0[i] = vmp__mono_ns();
		vmp_account(ctx, g, 0xca, true, 512, 0);
		lib_t1[i] = vmp__mono_ns();
		wait_sample(&lib_r, i);

		bench_sleep_ns(PAUSE_NS);
		base_t0[i] = vmp__mono_ns();
		if (write(base_efd, &one, sizeof(one)) != sizeof(one))
			bench_die("eventfd write: %s", strerror(errno));
		base_t1[i] = vmp__mono_ns();
		wait_sample(&base_r, i);

		bench_sleep_ns(PAUSE_NS);
		relay_t0[i] = vmp__mono_ns();
		if (write(relay_in, &one, sizeof(one)) != sizeof(one))
			bench_die("eventfd write: %s", strerror(errno));
		wait_sample(&relay_r, i);
	}
	for (size_t i = n; i < n + nb; i++) { /* the busy caller, last: see above */
		bench_sleep_ns(PAUSE_NS);
		atomic_store(&sample_i, i);
		lib_t0[i] = vmp__mono_ns();
		vmp_account(ctx, g, 0xca, true, 512, 0);
		while (vmp__mono_ns() - lib_t0[i] < BUSY_NS)
			;
		wait_sample(&lib_r, i);

		bench_sleep_ns(PAUSE_NS);
		base_t0[i] = vmp__mono_ns();
		if (write(base_efd, &one, sizeof(one)) != sizeof(one))
			bench_die("eventfd write: %s", strerror(errno));
		while (vmp__mono_ns() - base_t0[i] < BUSY_NS)
			;
		wait_sample(&base_r, i);
	}
	pthread_join(lib_r.th, NULL);
	pthread_join(base_r.th, NULL);
	pthread_join(relay_r.th, NULL);
	pthread_join(rl.th, NULL);

	for (size_t i = 0; i < n; i++)
		lat[i] = lib_r.wake_ns[i] - lib_t0[i];
	struct stats ls = summarize(lat, n);
	for (size_t i = 0; i < n; i++)
		lat[i] = base_r.wake_ns[i] - base_t0[i];
	struct stats bs = summarize(lat, n);
	for (size_t i = 0; i < n; i++)
		lat[i] = relay_r.wake_ns[i] - relay_t0[i];
	struct stats rs = summarize(lat, n);
	for (size_t i = 0; i < n; i++)
		lat[i] = eval_ns[i] - lib_t0[i];
	struct stats h1 = summarize(lat, n);
	size_t nsame = 0, nother = 0;
	uint64_t *other = calloc(n, sizeof(uint64_t));
	if (!other)
		bench_die("out of memory");
	for (size_t i = 0; i < n; i++) {
		uint64_t d = lib_r.wake_ns[i] - eval_ns[i];
		if (lib_r.cpu[i] == eval_cpu[i])
			lat[nsame++] = d;
		else
			other[nother++] = d;
	}
	struct stats h2s = {0}, h2o = {0};
	if (nsame)
		h2s = summarize(lat, nsame);
	if (nother)
		h2o = summarize(other, nother);
	free(other);
	for (size_t i = 0; i < n; i++)
		lat[i] = lib_t1[i] - lib_t0[i];
	struct stats cs = summarize(lat, n);
	for (size_t i = 0; i < n; i++)
		lat[i] = base_t1[i] - base_t0[i];
	struct stats ws = summarize(lat, n);
	for (size_t i = 0; i < nb; i++)
		lat[i] = lib_r.wake_ns[n + i] - lib_t0[n + i];
	struct stats lbs = summarize(lat, nb);
	for (size_t i = 0; i < nb; i++)
		lat[i] = base_r.wake_ns[n + i] - base_t0[n + i];
	struct stats bbs = summarize(lat, nb);

	printf("\n  %-38s %8s %8s %8s %8s %9s\n", "latency (us)", "min", "median", "p90", "p99", "max");
	print_row("vmp_account -> eventfd reader", ls);
	print_row("baseline: eventfd write -> reader", bs);
	print_row("info: write -> relay thread -> reader", rs);
	print_row("info: hop 1, account -> evaluation", h1);
	char label[64];
	snprintf(label, sizeof(label), "info: hop 2, reader on its CPU (%zu)", nsame);
	if (nsame)
		print_row(label, h2s);
	snprintf(label, sizeof(label), "info: hop 2, reader elsewhere (%zu)", nother);
	if (nother)
		print_row(label, h2o);
	print_row("info: caller: the filling vmp_account()", cs);
	print_row("info: caller: the baseline's write()", ws);
	snprintf(label, sizeof(label), "info: busy caller (%zu): vmp_account", nb);
	print_row(label, lbs);
	snprintf(label, sizeof(label), "info: busy caller (%zu): baseline", nb);
	print_row(label, bbs);
	printf("  (relay: two wake-ups in series, as account -> worker -> reader; hop 1: the\n"
	       "   filling call to the worker's evaluation; hop 2: the worker's eventfd write to\n"
	       "   the reader, split by whether the reader woke on the worker's CPU; caller rows:\n"
	       "   time spent inside the call that wakes the worker / the reader; busy caller:\n"
	       "   the first two rows again, in a last phase where the caller runs %.0f us\n"
	       "   after the call before it blocks)\n\n", BUSY_NS / 1e3);
	double ratio = (double)ls.med / (double)bs.med;
	bench_verdict(ratio <= 3.0,
		      "goal: median within 3x of the baseline median; measured %.1f vs %.1f us (%.2fx)",
		      ls.med / 1e3, bs.med / 1e3, ratio);

	vmp_unlisten_eventfd(g, lib_efd);
	vmp_ctx_free(ctx);
	int fds[] = {lib_efd, base_efd, relay_in, relay_out};
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	struct reader *rs_all[] = {&lib_r, &base_r, &relay_r};
	for (int i = 0; i < 3; i++) {
		sem_destroy(&rs_all[i]->done);
		free(rs_all[i]->wake_ns);
	}
	free(lib_t0);
	free(lib_t1);
	free(base_t0);
	free(base_t1);
	free(relay_t0);
	free(lat);
	return 0;
}
