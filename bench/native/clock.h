/* Wall and CPU clocks shared by the native load clients, and the measured window built on them. */
#ifndef TAKO_BENCH_CLOCK_H
#define TAKO_BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

/* Monotonic time, ns. */
static inline long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* This process's CPU time (user + system), µs. */
static inline long long cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* A load loop's measured window: a warm-up, then `duration_ns` counted. */
struct window {
  long long start, end; /* the measured part, monotonic ns */
  long long count0, cpu0, t0; /* the count, CPU time and time when measuring began */
  int measuring;
};

/* Opens the window now: measuring starts after `warmup_ns`. */
static inline void window_open(struct window *w, long long warmup_ns, long long duration_ns) {
  w->start = now_ns() + warmup_ns;
  w->end = w->start + duration_ns;
  w->count0 = w->cpu0 = w->t0 = 0;
  w->measuring = 0;
}

/* Called at each turn of the loop with the count so far: starts measuring once the warm-up is
 * over; returns 0 once the window has ended. */
static inline int window_tick(struct window *w, long long count) {
  long long now = now_ns();
  if (!w->measuring && now >= w->start) {
    w->measuring = 1;
    w->count0 = count;
    w->cpu0 = cpu_us();
    w->t0 = now;
  }
  return now < w->end;
}

/* Closes the window: the measured wall and CPU time (ms), and what was counted in it. */
static inline long long window_close(const struct window *w, long long count, double *ms, double *cpu_ms) {
  *ms = (now_ns() - w->t0) / 1e6;
  *cpu_ms = (cpu_us() - w->cpu0) / 1e3;
  return count - w->count0;
}

#endif
