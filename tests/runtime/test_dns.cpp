// FQDN learning pieces: DNS response parsing (compression, CNAME chains, hostile input),
// the FQDN cache (selectors, TTLs, persistence) and the proxy holding answers until the
// callback returned (UDP and TCP, on loopback only).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/dns/dns_message.h"
#include "runtime/dns/dns_proxy.h"
#include "runtime/dns/fqdn_cache.h"

using namespace moat;
using namespace moat::runtime::dns;

namespace {

/// Builds DNS messages for the tests; names compress against the question at offset 12.
struct Builder {
  std::vector<uint8_t> b;
  explicit Builder(uint16_t id = 0x1234, uint16_t flags = 0x8180) {
    put16(id);
    put16(flags);
    for (int i = 0; i < 4; ++i) put16(0);
  }
  void put16(uint16_t v) { b.push_back(v >> 8); b.push_back(v & 0xff); }
  void put32(uint32_t v) { put16(v >> 16); put16(v & 0xffff); }
  void name(const std::string& n) {
    size_t s = 0;
    while (s < n.size()) {
      size_t d = n.find('.', s);
      if (d == std::string::npos) d = n.size();
      b.push_back(static_cast<uint8_t>(d - s));
      b.insert(b.end(), n.begin() + s, n.begin() + d);
      s = d + 1;
    }
    b.push_back(0);
  }
  void count(int idx, uint16_t v) { b[4 + 2 * idx] = v >> 8; b[5 + 2 * idx] = v & 0xff; }
  void question(const std::string& n, uint16_t type) { name(n); put16(type); put16(1); }
  void rr_header(uint16_t type, uint32_t ttl, uint16_t rdlen) { put16(type); put16(1); put32(ttl); put16(rdlen); }
  void a(const std::string& owner, const char* ip, uint32_t ttl) {
    name(owner);
    rr_header(kTypeA, ttl, 4);
    in_addr x;
    inet_pton(AF_INET, ip, &x);
    auto* p = reinterpret_cast<uint8_t*>(&x);
    b.insert(b.end(), p, p + 4);
  }
  void aaaa_ptr(uint16_t ptr, const char* ip, uint32_t ttl) {  // owner = compression pointer
    put16(0xc000 | ptr);
    rr_header(kTypeAaaa, ttl, 16);
    in6_addr x;
    inet_pton(AF_INET6, ip, &x);
    auto* p = reinterpret_cast<uint8_t*>(&x);
    b.insert(b.end(), p, p + 16);
  }
  void cname(const std::string& owner, const std::string& target, uint32_t ttl) {
    name(owner);
    Builder t;
    t.b.clear();
    t.name(target);
    rr_header(kTypeCname, ttl, static_cast<uint16_t>(t.b.size()));
    b.insert(b.end(), t.b.begin(), t.b.end());
  }
};

FqdnMatch fq(std::string v, bool pattern) { return FqdnMatch{pattern, std::move(v), {}}; }

Module policy_with(std::vector<FqdnMatch> ms) {
  Module m;
  for (auto& f : ms) {
    Rule r;
    r.dir = Direction::Egress;
    r.peer.kind = Peer::Kind::Fqdn;
    r.peer.fqdn = f;
    m.add_rule(r);
  }
  return m;
}

} // namespace

TEST_CASE("a response's question, addresses, TTLs and compressed names are read") {
  Builder m;
  m.count(0, 1);
  m.count(1, 2);
  m.question("Api.Example.COM", kTypeAaaa);
  m.aaaa_ptr(12, "fd00:199:7::2", 300);
  m.a("api.example.com", "10.199.7.2", 0x80000000u);  // top bit set: TTL 0
  auto r = parse_message(m.b.data(), m.b.size());
  REQUIRE(r);
  CHECK(r->is_response);
  CHECK(r->id == 0x1234);
  CHECK(r->qname == "api.example.com");
  CHECK(r->qtype == kTypeAaaa);
  REQUIRE(r->addresses.size() == 2);
  CHECK(r->addresses[0].name == "api.example.com");
  CHECK(r->addresses[0].ip.str() == "fd00:199:7::2");
  CHECK(r->addresses[0].ttl == 300);
  CHECK(r->addresses[1].ttl == 0);
}

TEST_CASE("addresses reached through CNAMEs answer for every name of the chain") {
  Builder m;
  m.count(0, 1);
  m.count(1, 3);
  m.question("www.shop.test", kTypeA);
  m.cname("www.shop.test", "edge.cdn.test", 60);
  m.cname("edge.cdn.test", "pop1.cdn.test", 60);
  m.a("pop1.cdn.test", "10.199.9.9", 30);
  auto r = parse_message(m.b.data(), m.b.size());
  REQUIRE(r);
  REQUIRE(r->addresses.size() == 1);
  CHECK(names_for(*r, r->addresses[0]) ==
        std::vector<std::string>{"edge.cdn.test", "pop1.cdn.test", "www.shop.test"});
}

TEST_CASE("truncated, looping and forward-pointing messages are rejected without crashing") {
  Builder m;
  m.count(0, 1);
  m.count(1, 1);
  m.question("a.test", kTypeA);
  m.a("a.test", "10.199.1.1", 5);
  for (size_t n = 0; n < m.b.size(); ++n) CHECK_FALSE(parse_message(m.b.data(), n));
  // A name that points at itself, and one that points forward.
  Builder loop;
  loop.count(0, 1);
  loop.put16(0xc00c);
  loop.put16(1);
  loop.put16(1);
  CHECK_FALSE(parse_message(loop.b.data(), loop.b.size()));
  Builder fwd;
  fwd.count(0, 1);
  fwd.put16(0xc010);
  fwd.put16(1);
  fwd.put16(1);
  fwd.put16(0);
  CHECK_FALSE(parse_message(fwd.b.data(), fwd.b.size()));
  // Random bytes: any answer is fine as long as nothing reads out of bounds (ASan builds).
  uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(1 + i % 300);
    for (auto& c : junk) c = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
    (void)parse_message(junk.data(), junk.size());
  }
}

TEST_CASE("the FQDN cache learns only selected names and honours TTLs") {
  Module pol = policy_with({fq("*.s3.*.amazonaws.com", true), fq("api.example.com", false)});
  FqdnSelectors sel(pol);
  CHECK(sel.selects("bkt.s3.us-west-2.amazonaws.com"));
  CHECK_FALSE(sel.selects("s3.us-west-2.amazonaws.com"));

  Builder m;
  m.count(0, 1);
  m.count(1, 2);
  m.question("bkt.s3.us-west-2.amazonaws.com", kTypeA);
  m.a("bkt.s3.us-west-2.amazonaws.com", "10.199.50.1", 10);
  m.a("evil.test", "10.199.50.2", 10);  // not selected: never learned
  auto r = parse_message(m.b.data(), m.b.size());
  REQUIRE(r);
  FqdnCache c;
  CHECK(c.learn(*r, sel, 0, 1000));
  CHECK_FALSE(c.learn(*r, sel, 0, 2000));  // a refresh, no new name
  REQUIRE(c.address_count() == 1);
  auto eps = c.endpoints();
  CHECK(eps[0].kind == EndpointKind::External);
  CHECK(eps[0].ips[0].str() == "10.199.50.1");
  CHECK(eps[0].dns_names == std::vector<std::string>{"bkt.s3.us-west-2.amazonaws.com"});
  CHECK(*c.next_expiry() == 12000);  // refreshed at 2000 + 10 s
  CHECK_FALSE(c.expire(11999));
  CHECK(c.expire(12000));
  CHECK(c.address_count() == 0);

  CHECK(c.learn(*r, sel, 60, 0));  // the minimum TTL lifts a short TTL
  CHECK(*c.next_expiry() == 60000);
  auto copy = FqdnCache::from_json(c.to_json());
  REQUIRE(copy);
  CHECK(copy->endpoints()[0].dns_names == eps[0].dns_names);
  CHECK(copy->next_expiry() == c.next_expiry());
  CHECK_FALSE(FqdnCache::from_json("{\"not\": \"a list\"}"));

  FqdnSelectors narrower(policy_with({fq("api.example.com", false)}));
  CHECK(c.retain(narrower));
  CHECK(c.address_count() == 0);

  Builder nx(0x1, 0x8183);  // NXDOMAIN teaches nothing
  nx.count(0, 1);
  nx.question("api.example.com", kTypeA);
  CHECK_FALSE(c.learn(*parse_message(nx.b.data(), nx.b.size()), sel, 0, 0));
}

TEST_CASE("listen and upstream addresses parse with optional ports") {
  std::string h;
  uint16_t p;
  CHECK(parse_host_port("169.254.20.10", h, p));
  CHECK((h == "169.254.20.10" && p == 53));
  CHECK(parse_host_port("127.0.0.1:5353", h, p));
  CHECK(p == 5353);
  CHECK(parse_host_port("[fd00::53]:54", h, p));
  CHECK((h == "fd00::53" && p == 54));
  CHECK(parse_host_port("fd00::53", h, p));
  CHECK_FALSE(parse_host_port("example.com:53", h, p));
  CHECK_FALSE(parse_host_port("127.0.0.1:0", h, p));
  CHECK_FALSE(parse_host_port("[fd00::1", h, p));
}

namespace {

/// A fake upstream on 127.0.0.1: answers every query with one A record (UDP and TCP).
struct FakeUpstream {
  int udp = -1, tcp = -1;
  uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::thread th;
  static std::vector<uint8_t> answer_for(const uint8_t* q, size_t n) {
    std::vector<uint8_t> a(q, q + n);
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;  // ANCOUNT = 1
    const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 199, 77, 7};
    a.insert(a.end(), rr, rr + sizeof rr);
    return a;
  }
  FakeUpstream() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    udp = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t l = sizeof a;
    getsockname(udp, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
    tcp = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    listen(tcp, 8);
    th = std::thread([this] {
      uint8_t buf[1500];
      while (!stop) {
        pollfd p[2] = {{udp, POLLIN, 0}, {tcp, POLLIN, 0}};
        if (poll(p, 2, 100) <= 0) continue;
        if (p[0].revents & POLLIN) {
          sockaddr_storage from;
          socklen_t fl = sizeof from;
          ssize_t n = recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
          auto ans = answer_for(buf, n);
          sendto(udp, ans.data(), ans.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
        }
        if (p[1].revents & POLLIN) {
          int c = accept(tcp, nullptr, nullptr);
          uint8_t len[2];
          if (recv(c, len, 2, MSG_WAITALL) == 2) {
            size_t n = size_t(len[0]) << 8 | len[1];
            if (recv(c, buf, n, MSG_WAITALL) == static_cast<ssize_t>(n)) {
              auto ans = answer_for(buf, n);
              uint8_t al[2] = {uint8_t(ans.size() >> 8), uint8_t(ans.size())};
              send(c, al, 2, 0);
              send(c, ans.data(), ans.size(), 0);
            }
          }
          close(c);
        }
      }
    });
  }
  ~FakeUpstream() {
    stop = true;
    th.join();
    close(udp);
    close(tcp);
  }
};

uint16_t free_port() {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t l = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &l);
  close(s);
  return ntohs(a.sin_port);
}

} // namespace

TEST_CASE("the proxy forwards an answer only after the callback returned (UDP and TCP)") {
  FakeUpstream up;
  uint16_t port = free_port();
  std::atomic<int64_t> callback_done_ns{0};
  std::atomic<int> calls{0};
  std::string err;
  auto proxy = DnsProxy::start({{"127.0.0.1:" + std::to_string(port)}, "127.0.0.1:" + std::to_string(up.port), 1000},
                               [&](const Response& r) {
                                 // A slow map update: the client must not see the answer before it ends.
                                 std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                 CHECK(r.addresses.size() == 1);
                                 ++calls;
                                 callback_done_ns = std::chrono::steady_clock::now().time_since_epoch().count();
                               },
                               err);
  REQUIRE(proxy);
  Builder q(0x4242, 0x0100);
  q.count(0, 1);
  q.question("api.example.com", kTypeA);

  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{3, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sendto(s, q.b.data(), q.b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  uint8_t buf[1500];
  ssize_t n = recv(s, buf, sizeof buf, 0);
  int64_t got_ns = std::chrono::steady_clock::now().time_since_epoch().count();
  close(s);
  REQUIRE(n > 0);
  CHECK(calls == 1);
  CHECK(got_ns >= callback_done_ns);
  auto r = parse_message(buf, n);
  REQUIRE(r);
  CHECK(r->id == 0x4242);
  CHECK(r->addresses.at(0).ip.str() == "10.199.77.7");

  int t = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(connect(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  uint8_t len[2] = {0, static_cast<uint8_t>(q.b.size())};
  send(t, len, 2, 0);
  send(t, q.b.data(), q.b.size(), 0);
  REQUIRE(recv(t, len, 2, MSG_WAITALL) == 2);
  n = recv(t, buf, size_t(len[0]) << 8 | len[1], MSG_WAITALL);
  got_ns = std::chrono::steady_clock::now().time_since_epoch().count();
  close(t);
  REQUIRE(n > 0);
  CHECK(calls == 2);
  CHECK(got_ns >= callback_done_ns);
  CHECK(proxy->stats().answers == 2);
  CHECK(proxy->stats().hold_ns >= 100'000'000u);
}
