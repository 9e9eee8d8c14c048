// FQDN learning pieces: DNS message parsing (compression, CNAME chains, hostile input),
// the FQDN cache (selectors, TTLs and their caps, per-name / per-address / total bounds,
// the cluster domain, zombies, persistence) and the proxy (answers held until learned,
// only verified answers accepted, queries outside DNS rules refused, bounded workers), on
// loopback only.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include "backend/bundle/map_contents.h"
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

LearnLimits limits(uint32_t min_ttl) {
  LearnLimits l;
  l.min_ttl_s = min_ttl;
  return l;
}

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
  CHECK(c.learn(*r, sel, limits(0), 1000));
  CHECK_FALSE(c.learn(*r, sel, limits(0), 2000));  // a refresh, no new name
  REQUIRE(c.address_count() == 1);
  auto eps = c.endpoints();
  CHECK(eps[0].kind == EndpointKind::External);
  CHECK(eps[0].ips[0].str() == "10.199.50.1");
  CHECK(eps[0].dns_names == std::vector<std::string>{"bkt.s3.us-west-2.amazonaws.com"});
  CHECK(*c.next_expiry() == 12000);  // refreshed at 2000 + 10 s
  CHECK_FALSE(c.expire(11999));
  CHECK(c.expire(12000));
  CHECK(c.address_count() == 0);

  CHECK(c.learn(*r, sel, limits(60), 0));  // the minimum TTL lifts a short TTL
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
  CHECK_FALSE(c.learn(*parse_message(nx.b.data(), nx.b.size()), sel, limits(0), 0));
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

TEST_CASE("only records on the question's CNAME chain are learned") {
  Module pol = policy_with({fq("**.test", true)});
  FqdnSelectors sel(pol);
  Builder m;
  m.count(0, 1);
  m.count(1, 4);
  m.question("www.shop.test", kTypeA);
  m.cname("www.shop.test", "edge.cdn.test", 60);
  m.a("edge.cdn.test", "10.199.9.9", 30);
  m.a("bank.test", "10.199.9.66", 30);               // off the chain: an upstream's extra
  m.cname("mail.test", "edge.cdn.test", 30);          // a CNAME into the chain from elsewhere
  auto r = parse_message(m.b.data(), m.b.size());
  REQUIRE(r);
  CHECK(cname_chain(*r) == std::vector<std::string>{"www.shop.test", "edge.cdn.test"});
  CHECK(names_for(*r, r->addresses[0]) == std::vector<std::string>{"edge.cdn.test", "www.shop.test"});
  CHECK(names_for(*r, r->addresses[1]).empty());
  FqdnCache c;
  CHECK(c.learn(*r, sel, limits(0), 0));
  REQUIRE(c.address_count() == 1);
  CHECK(c.endpoints()[0].ips[0].str() == "10.199.9.9");
  CHECK(c.endpoints()[0].dns_names == std::vector<std::string>{"edge.cdn.test", "www.shop.test"});

  // A CNAME loop and a fork end the chain; neither makes it longer than its records.
  Builder loop;
  loop.count(0, 1);
  loop.count(1, 4);
  loop.question("a.test", kTypeA);
  loop.cname("a.test", "b.test", 5);
  loop.cname("b.test", "a.test", 5);
  loop.cname("b.test", "c.test", 5);
  loop.a("c.test", "10.199.9.1", 5);
  auto lr = parse_message(loop.b.data(), loop.b.size());
  REQUIRE(lr);
  CHECK(cname_chain(*lr) == std::vector<std::string>{"a.test", "b.test"});
  CHECK(names_for(*lr, lr->addresses[0]).empty());
}

TEST_CASE("a label holding a dot or a control byte makes the message unparsable") {
  Builder m;
  m.count(0, 1);
  m.b.push_back(7);
  for (char c : std::string("evil.co")) m.b.push_back(static_cast<uint8_t>(c));
  m.name("test");
  m.put16(kTypeA);
  m.put16(1);
  CHECK_FALSE(parse_message(m.b.data(), m.b.size()));
}

TEST_CASE("TTLs are capped, and so are addresses per name, names per address and addresses in all") {
  FqdnSelectors sel(policy_with({fq("*", true)}));
  Builder m;
  m.count(0, 1);
  m.count(1, 1);
  m.question("big.test", kTypeA);
  m.a("big.test", "10.199.5.1", 0x7fffffff);  // 68 years
  auto r = parse_message(m.b.data(), m.b.size());
  REQUIRE(r);
  FqdnCache c;
  LearnLimits lim;
  lim.min_ttl_s = 0;
  CHECK(c.learn(*r, sel, lim, 0));
  CHECK(*c.next_expiry() == 3600 * 1000);  // the default cap: one hour

  lim.max_addresses_per_name = 3;
  lim.max_names_per_address = 2;
  lim.max_addresses = 5;
  FqdnCache caps;
  for (int i = 0; i < 10; ++i)  // one name, ten addresses: the three latest stay
    caps.learn(*IpAddr::parse("10.199.6." + std::to_string(i)), {"many.test"}, 10 + i, 0, lim);
  CHECK(caps.address_count() == 3);
  CHECK(caps.endpoints()[0].ips[0].str() == "10.199.6.7");
  FqdnCache names;
  for (int i = 0; i < 10; ++i)  // one address, ten names: the two latest stay (one identity)
    names.learn(*IpAddr::parse("10.199.7.1"), {"n" + std::to_string(i) + ".test"}, 10 + i, 0, lim);
  CHECK(names.name_count() == 2);
  CHECK(names.endpoints()[0].dns_names == std::vector<std::string>{"n8.test", "n9.test"});
  FqdnCache total;
  for (int i = 0; i < 10; ++i)
    total.learn(*IpAddr::parse("10.199.8." + std::to_string(i)), {"t" + std::to_string(i) + ".test"}, 10 + i, 0, lim);
  CHECK(total.address_count() == 5);
  auto back = FqdnCache::from_json(total.to_json());
  REQUIRE(back);
  CHECK(back->address_count() == 5);
}

TEST_CASE("names under the cluster domain are never learned") {
  FqdnSelectors sel(policy_with({fq("*", true)}));
  Builder m;
  m.count(0, 1);
  m.count(1, 1);
  m.question("10-0-0-1.default.pod.cluster.local", kTypeA);  // CoreDNS `pods insecure`
  m.a("10-0-0-1.default.pod.cluster.local", "10.0.0.1", 30);
  auto r = parse_message(m.b.data(), m.b.size());
  REQUIRE(r);
  FqdnCache c;
  CHECK_FALSE(teaches(*r, sel, limits(0)));
  CHECK_FALSE(c.learn(*r, sel, limits(0), 0));
  LearnLimits other = limits(0);
  other.cluster_domain = "corp.internal";
  CHECK(c.learn(*r, sel, other, 0));
  CHECK(in_domain("cluster.local", "cluster.local"));
  CHECK_FALSE(in_domain("evilcluster.local", "cluster.local"));
}

TEST_CASE("an expired address stays as a zombie while its connections are live, up to a cap") {
  FqdnCache c;
  IpAddr a = *IpAddr::parse("10.199.3.1"), b = *IpAddr::parse("10.199.3.2"), d = *IpAddr::parse("10.199.3.3");
  for (const IpAddr& ip : {a, b, d}) c.learn(ip, {"s3.test"}, 5, 0, limits(0));
  std::map<IpAddr, bool> live{{a, true}, {b, false}, {d, true}};
  std::vector<std::pair<IpAddr, bool>> asked;
  ZombiePolicy z;
  z.recheck_ms = 1000;
  z.max_zombies = 1;
  z.in_use = [&](const IpAddr& ip, bool first) {
    asked.emplace_back(ip, first);
    return live[ip];
  };
  CHECK_FALSE(c.expire(4999, z));
  CHECK(asked.empty());
  CHECK(c.zombie_candidates(4999).empty());
  CHECK(c.zombie_candidates(5000).size() == 3);
  CHECK(c.expire(5000, z));  // b goes (no connection), d goes (over the cap), a stays
  CHECK(c.address_count() == 1);
  CHECK(c.is_zombie(a));
  CHECK(c.endpoints()[0].dns_names == std::vector<std::string>{"s3.test"});  // same identity
  CHECK(*c.next_expiry() == 6000);
  asked.clear();
  CHECK_FALSE(c.expire(5500, z));  // not due
  CHECK(asked.empty());
  CHECK_FALSE(c.expire(6000, z));  // still live
  CHECK(asked == std::vector<std::pair<IpAddr, bool>>{{a, false}});
  auto back = FqdnCache::from_json(c.to_json());
  REQUIRE(back);
  CHECK(back->is_zombie(a));
  CHECK(c.learn(a, {"other.test"}, 5, 6500, limits(0)));  // a live answer: no longer a zombie
  CHECK_FALSE(c.is_zombie(a));
  live[a] = false;
  CHECK(c.expire(20000, z));
  CHECK(c.address_count() == 0);
}

namespace {

/// A fake upstream on 127.0.0.1, UDP and TCP. It answers each query with one A record, or
/// misbehaves as `mode` says.
struct FakeUpstream {
  enum class Mode { Normal, WrongId, WrongQuestion, OtherPort, SpoofFirst, Silent };
  Mode mode;
  int udp = -1, tcp = -1, other = -1;
  uint16_t port = 0;
  std::atomic<int> queries{0};
  std::atomic<bool> stop{false};
  std::thread th;
  std::vector<uint8_t> answer_for(const uint8_t* q, size_t n, bool spoof = false) const {
    std::vector<uint8_t> a(q, q + n);
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;  // ANCOUNT = 1
    const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 199, 77, 7};
    a.insert(a.end(), rr, rr + sizeof rr);
    if (spoof || mode == Mode::WrongId) a[1] ^= 0x5a;
    if (mode == Mode::WrongQuestion) {
      Builder b(static_cast<uint16_t>(a[0] << 8 | a[1]));
      b.count(0, 1);
      b.count(1, 1);
      b.question("evil.test", kTypeA);
      b.a("evil.test", "10.199.66.6", 30);
      return b.b;
    }
    return a;
  }
  explicit FakeUpstream(Mode m = Mode::Normal) : mode(m) {
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
    other = socket(AF_INET, SOCK_DGRAM, 0);  // same address, another port
    a.sin_port = 0;
    bind(other, reinterpret_cast<sockaddr*>(&a), sizeof a);
    th = std::thread([this] {
      uint8_t buf[1500];
      while (!stop) {
        pollfd p[2] = {{udp, POLLIN, 0}, {tcp, POLLIN, 0}};
        if (poll(p, 2, 100) <= 0) continue;
        if (p[0].revents & POLLIN) {
          sockaddr_storage from;
          socklen_t fl = sizeof from;
          ssize_t n = recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
          ++queries;
          if (n < 12 || mode == Mode::Silent) continue;
          auto* to = reinterpret_cast<sockaddr*>(&from);
          if (mode == Mode::SpoofFirst) {
            auto fake = answer_for(buf, n, true);
            sendto(udp, fake.data(), fake.size(), 0, to, fl);
          }
          auto ans = answer_for(buf, n);
          sendto(mode == Mode::OtherPort ? other : udp, ans.data(), ans.size(), 0, to, fl);
        }
        if (p[1].revents & POLLIN) {
          int c = accept(tcp, nullptr, nullptr);
          uint8_t len[2];
          if (recv(c, len, 2, MSG_WAITALL) == 2) {
            size_t n = size_t(len[0]) << 8 | len[1];
            if (recv(c, buf, n, MSG_WAITALL) == static_cast<ssize_t>(n) && n >= 12) {
              ++queries;
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
    close(other);
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

int64_t mono_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

std::vector<uint8_t> query_for(const std::string& name, uint16_t id = 0x4242) {
  Builder q(id, 0x0100);
  q.count(0, 1);
  q.question(name, kTypeA);
  return q.b;
}

sockaddr_in loopback(uint16_t port, const char* ip = "127.0.0.1") {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

/// One UDP query to the proxy from `from` (a loopback address); the reply, or nothing.
std::optional<Response> udp_ask(uint16_t port, const std::vector<uint8_t>& q, int timeout_ms = 3000,
                                const char* from = "127.0.0.1") {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src = loopback(0, from);
  bind(s, reinterpret_cast<sockaddr*>(&src), sizeof src);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a = loopback(port);
  sendto(s, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  uint8_t buf[1500];
  ssize_t n = recv(s, buf, sizeof buf, 0);
  close(s);
  if (n <= 0) return std::nullopt;
  return parse_message(buf, n);
}

/// One query over a fresh TCP connection; the reply, or nothing.
std::optional<Response> tcp_ask(uint16_t port, const std::vector<uint8_t>& q, int timeout_ms = 3000) {
  int t = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a = loopback(port);
  if (connect(t, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(t);
    return std::nullopt;
  }
  uint8_t len[2] = {uint8_t(q.size() >> 8), uint8_t(q.size())};
  send(t, len, 2, 0);
  send(t, q.data(), q.size(), 0);
  std::optional<Response> r;
  uint8_t buf[1500];
  if (recv(t, len, 2, MSG_WAITALL) == 2) {
    size_t n = size_t(len[0]) << 8 | len[1];
    if (recv(t, buf, n, MSG_WAITALL) == static_cast<ssize_t>(n)) r = parse_message(buf, n);
  }
  close(t);
  return r;
}

struct ProxyUnderTest {
  uint16_t port = free_port();
  std::unique_ptr<DnsProxy> proxy;
  ProxyUnderTest(uint16_t upstream, OnQuery on_query, OnAnswer on_answer, ProxyOptions opts = {}) {
    opts.listen = {"127.0.0.1:" + std::to_string(port)};
    opts.upstream = "127.0.0.1:" + std::to_string(upstream);
    opts.timeout_ms = 1000;
    std::string err;
    proxy = DnsProxy::start(opts, std::move(on_query), std::move(on_answer), err);
    REQUIRE(proxy);
  }
};

} // namespace

TEST_CASE("the proxy forwards an answer only after the callback returned (UDP and TCP)") {
  FakeUpstream up;
  std::atomic<int64_t> callback_done_ns{0};
  std::atomic<int> calls{0};
  ProxyUnderTest p(up.port, nullptr, [&](const IpAddr& client, const Response& r) -> uint64_t {
    // A slow map update: the client must not see the answer before it ends.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(r.addresses.size() == 1);
    CHECK(client.str() == "127.0.0.1");
    ++calls;
    callback_done_ns = mono_ns();
    return 0;
  });
  auto r = udp_ask(p.port, query_for("api.example.com"));
  int64_t got_ns = mono_ns();
  REQUIRE(r);
  CHECK(calls == 1);
  CHECK(got_ns >= callback_done_ns);
  CHECK(r->id == 0x4242);  // the client's ID again (it went upstream under a random one)
  CHECK(r->addresses.at(0).ip.str() == "10.199.77.7");

  r = tcp_ask(p.port, query_for("api.example.com", 0x777));
  got_ns = mono_ns();
  REQUIRE(r);
  CHECK(r->id == 0x777);
  CHECK(calls == 2);
  CHECK(got_ns >= callback_done_ns);
  CHECK(p.proxy->stats().answers == 2);
  CHECK(p.proxy->stats().hold_ns >= 100'000'000u);
}

TEST_CASE("an answer with a ticket waits for its release, answers without one do not wait") {
  FakeUpstream up;
  ProxyUnderTest p(up.port, nullptr, [&](const IpAddr&, const Response& r) -> uint64_t {
    return r.qname == "slow.test" ? 7 : 0;
  });
  std::atomic<int64_t> released_ns{0};
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    p.proxy->release(6);  // not enough
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    released_ns = mono_ns();
    p.proxy->release(7);
  });
  std::optional<Response> held, tcp_held;
  std::thread udp_client([&] { held = udp_ask(p.port, query_for("slow.test")); });
  std::thread tcp_client([&] { tcp_held = tcp_ask(p.port, query_for("slow.test")); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t t0 = mono_ns();
  auto quick = udp_ask(p.port, query_for("quick.test"));
  CHECK(quick);
  CHECK(mono_ns() - t0 < 200'000'000);  // not stuck behind the held one
  udp_client.join();
  tcp_client.join();
  releaser.join();
  int64_t done = mono_ns();
  REQUIRE(held);
  REQUIRE(tcp_held);
  CHECK(done >= released_ns);
  CHECK(p.proxy->stats().answers == 3);
}

TEST_CASE("replies that do not answer the query sent are neither learned nor forwarded") {
  using Mode = FakeUpstream::Mode;
  for (Mode mode : {Mode::WrongId, Mode::WrongQuestion, Mode::OtherPort}) {
    CAPTURE(static_cast<int>(mode));
    FakeUpstream up(mode);
    std::atomic<int> calls{0};
    ProxyUnderTest p(up.port, nullptr, [&](const IpAddr&, const Response&) -> uint64_t {
      ++calls;
      return 0;
    });
    CHECK_FALSE(udp_ask(p.port, query_for("api.example.com"), 1500));
    CHECK(calls == 0);
    CHECK(p.proxy->stats().answers == 0);
    if (mode != Mode::OtherPort) {  // (the other port cannot speak on our TCP connection)
      CHECK_FALSE(tcp_ask(p.port, query_for("api.example.com"), 1500));
      CHECK(calls == 0);
      CHECK(p.proxy->stats().mismatched >= 1);
    }
  }
}

TEST_CASE("a spoofed reply ahead of the real one neither teaches nor cancels the query") {
  FakeUpstream up(FakeUpstream::Mode::SpoofFirst);
  std::atomic<int> calls{0};
  ProxyUnderTest p(up.port, nullptr, [&](const IpAddr&, const Response&) -> uint64_t {
    ++calls;
    return 0;
  });
  auto r = udp_ask(p.port, query_for("api.example.com"));
  REQUIRE(r);
  CHECK(r->id == 0x4242);
  CHECK(calls == 1);
  CHECK(p.proxy->stats().mismatched == 1);
}

TEST_CASE("a query outside the client's DNS rules is REFUSED without going upstream") {
  FakeUpstream up;
  std::atomic<int> calls{0};
  ProxyUnderTest p(
      up.port, [](const IpAddr&, const Response& q) { return q.qname == "api.example.com"; },
      [&](const IpAddr&, const Response&) -> uint64_t {
        ++calls;
        return 0;
      });
  for (bool tcp : {false, true}) {
    auto r = tcp ? tcp_ask(p.port, query_for("exfil-4f3a.tunnel.test")) : udp_ask(p.port, query_for("exfil-4f3a.tunnel.test"));
    REQUIRE(r);
    CHECK(r->is_response);
    CHECK(r->rcode == kRcodeRefused);
    CHECK(r->qname == "exfil-4f3a.tunnel.test");
    CHECK(r->addresses.empty());
  }
  CHECK(up.queries == 0);
  CHECK(calls == 0);
  CHECK(p.proxy->stats().refused == 2);
  auto ok = udp_ask(p.port, query_for("api.example.com"));
  REQUIRE(ok);
  CHECK(ok->rcode == 0);
  CHECK(calls == 1);
  // Two questions in one query: one name could ride past the rules on the other's back.
  Builder two(0x99, 0x0100);
  two.count(0, 2);
  two.question("api.example.com", kTypeA);
  two.question("exfil.tunnel.test", kTypeA);
  auto r2 = udp_ask(p.port, two.b);
  REQUIRE(r2);
  CHECK(r2->rcode == kRcodeFormErr);
  CHECK(up.queries == 1);
}

TEST_CASE("TCP connections are served by a bounded pool with an idle timeout, and UDP in flight is bounded") {
  FakeUpstream up;
  ProxyOptions o;
  o.tcp_workers = 1;
  o.tcp_idle_ms = 300;
  ProxyUnderTest p(up.port, nullptr, [](const IpAddr&, const Response&) -> uint64_t { return 0; }, o);
  // An idle client holds the only worker until its idle timeout.
  int idle = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(p.port);
  REQUIRE(connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t t0 = mono_ns();
  auto r = tcp_ask(p.port, query_for("api.example.com"));
  int64_t waited_ms = (mono_ns() - t0) / 1'000'000;
  close(idle);
  REQUIRE(r);
  CHECK(waited_ms >= 200);
  CHECK(waited_ms < 1500);

  FakeUpstream silent(FakeUpstream::Mode::Silent);
  ProxyOptions small;
  small.max_pending = 4;
  ProxyUnderTest q(silent.port, nullptr, [](const IpAddr&, const Response&) -> uint64_t { return 0; }, small);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in qa = loopback(q.port);
  for (int i = 0; i < 10; ++i) {
    auto msg = query_for("n" + std::to_string(i) + ".test", static_cast<uint16_t>(i));
    sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&qa), sizeof qa);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  close(s);
  CHECK(q.proxy->stats().queries == 10);
  CHECK(q.proxy->stats().dropped == 6);
  CHECK(silent.queries == 4);
}

TEST_CASE("the identities of an address whose names keep changing do not pile up") {
  bundle::IdentityAllocator ids;
  uint32_t first = ids.get("x|10.199.7.99,|n0.test,", true);
  for (int i = 1; i < 1000; ++i) {
    std::string key = "x|10.199.7.99,|n" + std::to_string(i) + ".test,";
    uint32_t id = ids.get(key, true);
    CHECK(id != first);  // a forgotten number is never handed out again
    ids.retain({key});
  }
  CHECK(ids.size() == 1);
}

TEST_CASE("a zombie's birth and revival change the maps (it admits no new connection meanwhile)") {
  FqdnCache c;
  IpAddr a = *IpAddr::parse("10.199.3.1");
  REQUIRE(c.learn(a, {"s3.test"}, 5, 0, limits(0)));
  ZombiePolicy z;
  z.recheck_ms = 1000;
  z.in_use = [](const IpAddr&, bool) { return true; };
  // Nothing but the zombie's birth happens here, and its entry must be marked.
  CHECK(c.expire(5000, z));
  CHECK(c.zombie_addresses() == std::vector<IpAddr>{a});
  CHECK(c.endpoint(a)->dns_names == std::vector<std::string>{"s3.test"});  // same identity
  CHECK_FALSE(c.expire(6000, z));  // kept again: no change
  // The same name answered again: no new name, but the mark must go.
  CHECK(c.learn(a, {"s3.test"}, 5, 6500, limits(0)));
  CHECK(c.zombie_addresses().empty());
  CHECK_FALSE(c.learn(a, {"s3.test"}, 5, 6600, limits(0)));  // a plain refresh
  CHECK_FALSE(c.endpoint(*IpAddr::parse("10.199.3.9")));
}
