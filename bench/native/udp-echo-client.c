/*
 * The native UDP echo load client: `sockets` connected UDP sockets, each keeping at most `window`
 * datagrams of `size` bytes outstanding; a flow with no reply for `loss_timeout_ms` counts what it
 * has outstanding as lost and sends again. The same protocol as the Node client
 * (src/clients/udp.ts), at a fraction of its CPU cost, so that the server under test, not the
 * client, is what limits the figure.
 *
 *   udp-echo-client HOST PORT SIZE SOCKETS WINDOW WARMUP_MS DURATION_MS LOSS_TIMEOUT_MS
 *
 * Prints one JSON line: {"ms":..,"cpuMs":..,"sent":..,"received":..,"lost":..}, counted over the
 * measured window (lost includes what was still outstanding after a grace period at the end).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define MAX_SOCKETS 64
#define BATCH 64

struct flow {
  int fd;
  long outstanding;
  long long last_progress_ns;
};

static long long sent = 0, received = 0, lost = 0;
static char *payload;
static size_t size;
static long window_size;

/* Tops the flow up to its window; stops early when the socket buffer is full. */
static void fill(struct flow *f) {
  while (f->outstanding < window_size) {
    if (send(f->fd, payload, size, MSG_DONTWAIT) < 0) return;
    f->outstanding++;
    sent++;
  }
}

static void die(const char *what) {
  fprintf(stderr, "udp-echo-client: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s HOST PORT SIZE SOCKETS WINDOW WARMUP_MS DURATION_MS LOSS_TIMEOUT_MS\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  size = (size_t)atol(argv[3]);
  int sockets = atoi(argv[4]);
  window_size = atol(argv[5]);
  long long warmup_ns = atoll(argv[6]) * 1000000LL;
  long long duration_ns = atoll(argv[7]) * 1000000LL;
  long long loss_ns = atoll(argv[8]) * 1000000LL;
  if (sockets < 1 || sockets > MAX_SOCKETS || window_size < 1 || size < 1 || size > 65507 || port < 1 || port > 65535) {
    fprintf(stderr, "udp-echo-client: bad arguments\n");
    return 2;
  }

  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  struct sockaddr *addr;
  socklen_t addr_len;
  int family;
  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((unsigned short)port);
    addr = (struct sockaddr *)&a4;
    addr_len = sizeof a4;
    family = AF_INET;
  } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)port);
    addr = (struct sockaddr *)&a6;
    addr_len = sizeof a6;
    family = AF_INET6;
  } else {
    fprintf(stderr, "udp-echo-client: HOST must be an IP address, got %s\n", host);
    return 2;
  }

  payload = malloc(size);
  char *bufs = malloc((size_t)BATCH * 65536);
  if (payload == NULL || bufs == NULL) die("malloc");
  memset(payload, 0x62, size);
  static struct mmsghdr rmsgs[BATCH], smsgs[BATCH];
  static struct iovec riov[BATCH], siov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    riov[i] = (struct iovec){ .iov_base = bufs + (size_t)i * 65536, .iov_len = 65536 };
    rmsgs[i].msg_hdr = (struct msghdr){ .msg_iov = &riov[i], .msg_iovlen = 1 };
    siov[i] = (struct iovec){ .iov_base = payload, .iov_len = size };
    smsgs[i].msg_hdr = (struct msghdr){ .msg_iov = &siov[i], .msg_iovlen = 1 };
  }

  struct flow flows[MAX_SOCKETS];
  struct pollfd pfds[MAX_SOCKETS];
  long long start = now_ns();
  for (int i = 0; i < sockets; i++) {
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    if (connect(fd, addr, addr_len) < 0) die("connect");
    flows[i] = (struct flow){ .fd = fd, .outstanding = 0, .last_progress_ns = start };
    pfds[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
  }
  for (int i = 0; i < sockets; i++) fill(&flows[i]);

  long long window_start = start + warmup_ns;
  long long window_end = window_start + duration_ns;
  long long grace = loss_ns * 2 < 100000000LL ? loss_ns * 2 : 100000000LL;
  long long stop_at = window_end + grace;
  long long s0 = 0, r0 = 0, l0 = 0, cpu0 = 0, t0 = 0;
  long long s1 = 0, r1 = 0, cpu1 = 0, t1 = 0;
  int phase = 0; /* 0 warm-up, 1 measuring, 2 grace (no new sends) */

  for (;;) {
    long long now = now_ns();
    if (phase == 0 && now >= window_start) {
      phase = 1;
      s0 = sent; r0 = received; l0 = lost; cpu0 = cpu_us(); t0 = now;
    }
    if (phase == 1 && now >= window_end) {
      phase = 2;
      s1 = sent; r1 = received; cpu1 = cpu_us(); t1 = now;
    }
    if (phase == 2 && now >= stop_at) break;
    /* Loss: a flow without progress for loss_timeout has lost what it has outstanding. */
    for (int i = 0; i < sockets; i++) {
      struct flow *f = &flows[i];
      if (phase < 2 && f->outstanding > 0 && now - f->last_progress_ns > loss_ns) {
        lost += f->outstanding;
        f->outstanding = 0;
        f->last_progress_ns = now;
        fill(f);
      } else if (phase < 2 && f->outstanding < window_size) {
        fill(f);
      }
    }
    int ready = poll(pfds, (nfds_t)sockets, 5);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (ready == 0) continue;
    now = now_ns();
    for (int i = 0; i < sockets; i++) {
      if (!(pfds[i].revents & POLLIN)) continue;
      struct flow *f = &flows[i];
      /* Batched: every reply waiting on the socket in one recvmmsg, the next datagrams in one sendmmsg. */
      for (;;) {
        int n = recvmmsg(f->fd, rmsgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break; /* EAGAIN, or ECONNREFUSED from a departed server: the watchdog handles it */
        received += n;
        f->outstanding = f->outstanding > n ? f->outstanding - n : 0;
        f->last_progress_ns = now;
        if (phase < 2) {
          int want = (int)(window_size - f->outstanding);
          if (want > BATCH) want = BATCH;
          if (want > 0) {
            int m = sendmmsg(f->fd, smsgs, (unsigned)want, MSG_DONTWAIT);
            if (m > 0) {
              f->outstanding += m;
              sent += m;
            }
          }
        }
        if (n < BATCH) break;
      }
    }
  }
  long long still = 0;
  for (int i = 0; i < sockets; i++) still += flows[i].outstanding;
  printf("{\"ms\":%.3f,\"cpuMs\":%.3f,\"sent\":%lld,\"received\":%lld,\"lost\":%lld}\n", (t1 - t0) / 1e6, (cpu1 - cpu0) / 1e3, s1 - s0, r1 - r0,
         lost - l0 + still);
  return 0;
}
