/* Wall and CPU clocks shared by the native load clients. */
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

#endif
