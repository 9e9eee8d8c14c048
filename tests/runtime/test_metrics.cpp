// The agent's metrics endpoint: it listens on the address it is given (the node's address in
// deploy/, so Prometheus can scrape it; loopback by default), serves the metrics at exactly
// GET /metrics and nothing else, and refuses an address that is not an IP literal.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "runtime/agent/metrics.h"

using namespace moat::runtime::agent;

namespace {

// One HTTP/1.0 request to address:port; "" when the connection is refused.
std::string http_get(const char* address, int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address, &a.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = request + "\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

} // namespace

TEST_CASE("metrics endpoint: the given address, GET /metrics only") {
  std::string err;
  // 127.0.0.2 stands for the node's address: a loopback address other than the default.
  auto server = MetricsServer::start("127.0.0.2", 0, [] { return std::string("moat_agent_ready 1\n"); }, err);
  REQUIRE(server);
  INFO(err);
  int port = server->bound_port();
  REQUIRE(port > 0);

  std::string ok = http_get("127.0.0.2", port, "GET /metrics HTTP/1.0");
  CHECK(ok.rfind("HTTP/1.0 200 OK", 0) == 0);
  CHECK(ok.find("\r\n\r\nmoat_agent_ready 1\n") != std::string::npos);
  CHECK(http_get("127.0.0.2", port, "GET /metrics?name[]=x HTTP/1.0").rfind("HTTP/1.0 200 OK", 0) == 0);

  for (const char* other : {"GET / HTTP/1.0", "GET /metricsfoo HTTP/1.0", "GET /metrics/../status HTTP/1.0",
                            "POST /metrics HTTP/1.0", "GET /debug/pprof HTTP/1.0", "GET /metrics"}) {
    INFO(other);
    std::string r = http_get("127.0.0.2", port, other);
    CHECK(r.rfind("HTTP/1.0 404 Not Found", 0) == 0);
    CHECK(r.find("moat_agent_ready") == std::string::npos);
  }
  // Bound to the address it was given, not to every address.
  CHECK(http_get("127.0.0.1", port, "GET /metrics HTTP/1.0").empty());
}

TEST_CASE("metrics endpoint: loopback by default, a bad address is an error") {
  std::string err;
  auto server = MetricsServer::start("127.0.0.1", 0, [] { return std::string("m 1\n"); }, err);
  REQUIRE(server);
  CHECK(http_get("127.0.0.1", server->bound_port(), "GET /metrics HTTP/1.0").find("m 1") != std::string::npos);

  CHECK_FALSE(MetricsServer::start("node-1.example", 0, [] { return std::string(); }, err));
  CHECK(err.find("not an IPv4 or IPv6 address") != std::string::npos);
  CHECK_FALSE(MetricsServer::start("192.0.2.1", 0, [] { return std::string(); }, err));  // not ours
  CHECK(err.find("cannot listen on 192.0.2.1:0") != std::string::npos);
}
