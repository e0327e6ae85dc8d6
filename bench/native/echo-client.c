/*
 * The native stream echo load client (TCP or Unix): `conns` connections, each keeping `window`
 * messages of `size` bytes in flight; a message counts when its bytes have come back, and each
 * completed message is replaced at once. The same protocol as the Node client
 * (src/clients/echo.ts), at a fraction of its CPU cost, so that the server under test, not the
 * client, is what limits the figure.
 *
 *   echo-client tcp HOST PORT CONNS SIZE WINDOW WARMUP_MS DURATION_MS
 *   echo-client unix PATH CONNS SIZE WINDOW WARMUP_MS DURATION_MS
 *
 * Prints one JSON line: {"ms":..,"cpuMs":..,"messages":..,"bytes":..} over the measured window.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define MAX_EVENTS 256

struct conn {
  int fd;
  long long partial;  /* bytes of the oldest in-flight message received so far */
  long long owed;     /* bytes still to write (messages to send, times size) */
  int want_out;       /* whether EPOLLOUT is registered */
};

static char *out_buf;
static long long out_len;
static long long size;
static long long messages = 0;
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "echo-client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void set_out(struct conn *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
  c->want_out = on;
}

/* Writes what is owed until done or the socket is full. */
static void flush(struct conn *c) {
  while (c->owed > 0) {
    long long n = c->owed < out_len ? c->owed : out_len;
    ssize_t w = write(c->fd, out_buf, (size_t)n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      die("write");
    }
    c->owed -= w;
  }
  set_out(c, c->owed > 0);
}

static int open_conn(int tcp, const char *host, int port, const char *path) {
  int fd;
  if (tcp) {
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
      a4.sin_family = AF_INET;
      a4.sin_port = htons((unsigned short)port);
      fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || connect(fd, (struct sockaddr *)&a4, sizeof a4) < 0) die("connect");
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
      a6.sin6_family = AF_INET6;
      a6.sin6_port = htons((unsigned short)port);
      fd = socket(AF_INET6, SOCK_STREAM, 0);
      if (fd < 0 || connect(fd, (struct sockaddr *)&a6, sizeof a6) < 0) die("connect");
    } else {
      fprintf(stderr, "echo-client: HOST must be an IP address, got %s\n", host);
      exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  } else {
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof un.sun_path) {
      fprintf(stderr, "echo-client: socket path too long\n");
      exit(2);
    }
    strcpy(un.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof un) < 0) die("connect");
  }
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
  return fd;
}

int main(int argc, char **argv) {
  int tcp = argc == 9 && strcmp(argv[1], "tcp") == 0;
  int unix_ = argc == 8 && strcmp(argv[1], "unix") == 0;
  if (!tcp && !unix_) {
    fprintf(stderr, "usage: %s tcp HOST PORT CONNS SIZE WINDOW WARMUP_MS DURATION_MS\n       %s unix PATH CONNS SIZE WINDOW WARMUP_MS DURATION_MS\n", argv[0], argv[0]);
    return 2;
  }
  char **rest = argv + (tcp ? 4 : 3);
  int conns = atoi(rest[0]);
  size = atoll(rest[1]);
  long long window = atoll(rest[2]);
  long long warmup_ns = atoll(rest[3]) * 1000000LL;
  long long duration_ns = atoll(rest[4]) * 1000000LL;
  if (conns < 1 || conns > 100000 || size < 1 || window < 1) {
    fprintf(stderr, "echo-client: bad arguments\n");
    return 2;
  }

  out_len = size * window;
  if (out_len < 65536) out_len = 65536;
  out_buf = malloc((size_t)out_len);
  char *in_buf = malloc(1 << 20);
  struct conn *cs = calloc((size_t)conns, sizeof *cs);
  if (out_buf == NULL || in_buf == NULL || cs == NULL) die("malloc");
  memset(out_buf, 0x61, (size_t)out_len);

  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  for (int i = 0; i < conns; i++) {
    cs[i].fd = open_conn(tcp, argv[2], tcp ? atoi(argv[3]) : 0, argv[2]);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
  }
  for (int i = 0; i < conns; i++) {
    cs[i].owed = size * window;
    flush(&cs[i]);
  }

  struct window w;
  window_open(&w, warmup_ns, duration_ns);
  struct epoll_event events[MAX_EVENTS];
  while (window_tick(&w, messages)) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, 5);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
          ssize_t r = read(c->fd, in_buf, 1 << 20);
          if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            die("read");
          }
          if (r == 0) {
            fprintf(stderr, "echo-client: the server closed a connection\n");
            return 1;
          }
          c->partial += r;
          if (c->partial >= size) {
            long long done = c->partial / size;
            c->partial -= done * size;
            messages += done;
            c->owed += done * size;
          }
          if (r < (1 << 20)) break;
        }
      }
      flush(c);
    }
  }
  double ms, cpu_ms;
  long long m = window_close(&w, messages, &ms, &cpu_ms);
  printf("{\"ms\":%.3f,\"cpuMs\":%.3f,\"messages\":%lld,\"bytes\":%lld}\n", ms, cpu_ms, m, m * size);
  for (int i = 0; i < conns; i++) close(cs[i].fd);
  return 0;
}
