/* Sends COUNT small UDP datagrams from SRC to DST:PORT as fast as the kernel takes them (in
 * batches with sendmmsg) and prints the rate; stops early after MAX_SECONDS. On a veth pair
 * the receiving side (forwarding, filters, delivery) runs in the sender's softirq, so the rate
 * is the per-packet cost of the whole path. Used by bench/datapath/compare.sh.
 *   udp_flood SRC DST PORT COUNT MAX_SECONDS      prints "sent N seconds S pps P" */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBatch = 32 };

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char* what) {
  perror(what);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: udp_flood SRC DST PORT COUNT MAX_SECONDS\n");
    return 2;
  }
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
    fprintf(stderr, "udp_flood: bad IPv4 address\n");
    return 2;
  }
  dst.sin_port = htons((unsigned short)atoi(argv[3]));
  long count = atol(argv[4]);
  double max_seconds = atof(argv[5]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket");
  if (bind(fd, (struct sockaddr*)&src, sizeof src) < 0) return fail("bind");
  if (connect(fd, (struct sockaddr*)&dst, sizeof dst) < 0) return fail("connect");

  char payload[18] = "moat-bench-flood";
  struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload};
  struct mmsghdr msgs[kBatch];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < kBatch; ++i) {
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0;
  double start = now_s();
  while (sent < count && now_s() - start < max_seconds) {
    int want = count - sent < kBatch ? (int)(count - sent) : kBatch;
    int n = sendmmsg(fd, msgs, (unsigned)want, 0);
    if (n < 0) {
      /* An ICMP error for an earlier datagram is reported once on the connected socket
       * (nothing was sent then), and a full device queue is transient: try again. */
      if (errno == ECONNREFUSED || errno == ENOBUFS || errno == EAGAIN) continue;
      return fail("sendmmsg");
    }
    sent += n;
  }
  double elapsed = now_s() - start;
  printf("sent %ld seconds %.3f pps %.0f\n", sent, elapsed, (double)sent / elapsed);
  close(fd);
  return 0;
}
