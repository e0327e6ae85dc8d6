/*
 * The native connection-rate load client (TCP): `inflight` connection slots, each running
 * connect, one exchange (write `size` bytes, optionally after a pre-built PROXY header in the
 * same write; read the `size` bytes echoed back), close, and again. A connection counts when its
 * echo is complete. The same protocol as the Node client (src/clients/conn-rate.ts) at a fraction
 * of its CPU cost, so the server's accept-to-close path, not the client, sets the pace.
 *
 *   conn-rate-client HOST PORT INFLIGHT SIZE WARMUP_MS DURATION_MS [HEADER_HEX]
 *
 * Prints one JSON line: {"ms":..,"cpuMs":..,"connections":..} over the measured window.
 * Exits 1 with a message on any failed connect, reset or early close (the figure would lie).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

#define MAX_EVENTS 256

struct slot {
  int fd;
  int connected;      /* the connect completed and the request was written */
  long long got;      /* bytes of the echo received */
};

static struct sockaddr_in addr;
static char *out_buf;
static long long out_len;   /* header + message */
static long long size;      /* message bytes (echoed back) */
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "conn-rate-client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void open_slot(struct slot *s) {
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s->fd < 0) die("socket");
  int one = 1;
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->connected = 0;
  s->got = 0;
  if (connect(s->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) die("connect");
  struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) die("epoll_ctl");
}

static int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: %s HOST PORT INFLIGHT SIZE WARMUP_MS DURATION_MS [HEADER_HEX]\n", argv[0]);
    return 2;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "conn-rate-client: HOST must be an IPv4 address, got %s\n", argv[1]);
    return 2;
  }
  int inflight = atoi(argv[3]);
  size = atoll(argv[4]);
  long long warmup_ns = atoll(argv[5]) * 1000000LL;
  long long duration_ns = atoll(argv[6]) * 1000000LL;
  const char *header = argc == 8 ? argv[7] : "";
  size_t header_len = strlen(header);
  if (inflight < 1 || inflight > 10000 || size < 1 || size > 65536 || header_len % 2 != 0) {
    fprintf(stderr, "conn-rate-client: bad arguments\n");
    return 2;
  }
  header_len /= 2;
  out_len = (long long)header_len + size;
  out_buf = malloc((size_t)out_len);
  char *in_buf = malloc(65536);
  struct slot *slots = calloc((size_t)inflight, sizeof *slots);
  if (out_buf == NULL || in_buf == NULL || slots == NULL) die("malloc");
  for (size_t i = 0; i < header_len; i++) {
    int hi = hex(header[2 * i]), lo = hex(header[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      fprintf(stderr, "conn-rate-client: HEADER_HEX is not hex\n");
      return 2;
    }
    out_buf[i] = (char)(hi * 16 + lo);
  }
  memset(out_buf + header_len, 0x61, (size_t)size);

  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  for (int i = 0; i < inflight; i++) open_slot(&slots[i]);

  long long done = 0;
  struct window w;
  window_open(&w, warmup_ns, duration_ns);
  struct epoll_event events[MAX_EVENTS];
  while (window_tick(&w, done)) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, 5);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct slot *s = events[i].data.ptr;
      if (!s->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) die("getsockopt");
        if (err != 0) {
          errno = err;
          die("connect");
        }
        /* One write: the header (if any) and the message, as a proxy's first segment would be. */
        ssize_t w = write(s->fd, out_buf, (size_t)out_len);
        if (w < 0) die("write");
        if (w != out_len) {
          fprintf(stderr, "conn-rate-client: short write on a fresh connection\n");
          return 1;
        }
        s->connected = 1;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0) die("epoll_ctl");
        continue;
      }
      for (;;) {
        ssize_t r = read(s->fd, in_buf, 65536);
        if (r < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == EINTR) continue;
          die("read");
        }
        if (r == 0) {
          fprintf(stderr, "conn-rate-client: the server closed a connection after %lld of %lld bytes\n", s->got, size);
          return 1;
        }
        s->got += r;
        if (s->got >= size) break;
      }
      if (s->got >= size) {
        done++;
        close(s->fd); /* also removes it from the epoll set */
        open_slot(s);
      }
    }
  }
  double ms, cpu_ms;
  long long counted = window_close(&w, done, &ms, &cpu_ms);
  printf("{\"ms\":%.3f,\"cpuMs\":%.3f,\"connections\":%lld}\n", ms, cpu_ms, counted);
  for (int i = 0; i < inflight; i++) close(slots[i].fd);
  return 0;
}
