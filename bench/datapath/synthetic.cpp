// Synthetic benchmark policies (see synthetic.h).
#include "synthetic.h"

#include <fmt/format.h>

namespace moat::bench {

IpAddr synthetic_source(size_t i) {
  return IpAddr::v4(((172u << 24) | (16u << 16)) + static_cast<uint32_t>(i) + 1);
}
Protocol synthetic_proto(size_t i) { return i % 4 == 3 ? Protocol::UDP : Protocol::TCP; }
uint16_t synthetic_port(size_t i) { return static_cast<uint16_t>(1000 + i % 50000); }
bool synthetic_deny(size_t i) { return i % 20 == 19; }

namespace {
EndpointSelector web_selector() {
  EndpointSelector s;
  s.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"web"}, {}});
  return s;
}
} // namespace

Endpoint synthetic_web() {
  Endpoint e;
  e.name = "bench/web";
  e.ns = "bench";
  e.ns_labels = {{kNamespaceNameLabel, "bench"}};
  e.labels = {{"app", "web"}};
  e.ips = {*IpAddr::parse("10.0.0.1")};
  return e;
}

Module synthetic_policy(size_t rules) {
  Module m;
  m.isolations.push_back({web_selector(), Direction::Ingress, "bench", {}});
  for (size_t i = 0; i < rules; ++i) {
    Rule r;
    r.subject = web_selector();
    r.dir = Direction::Ingress;
    r.action = synthetic_deny(i) ? Action::Deny : Action::Allow;
    r.peer.kind = Peer::Kind::Cidr;
    r.peer.cidr = IpPrefix{synthetic_source(i), 32};
    uint16_t port = synthetic_port(i);
    r.ports.push_back({synthetic_proto(i), port, static_cast<uint16_t>(i % 10 == 5 ? port + 99 : port), "", {}});
    r.origin = "bench";
    m.add_rule(std::move(r));
  }
  return m;
}

std::string synthetic_yaml(size_t rules) {
  std::string y =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bench, namespace: bench}\n"
      "spec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n  ingress:\n";
  for (size_t i = 0; i < rules; ++i) {
    uint16_t port = synthetic_port(i);
    const char* proto = synthetic_proto(i) == Protocol::UDP ? "UDP" : "TCP";
    std::string ports = i % 10 == 5 ? fmt::format("{{port: {}, endPort: {}, protocol: {}}}", port, port + 99, proto)
                                    : fmt::format("{{port: {}, protocol: {}}}", port, proto);
    y += fmt::format("  - from: [{{ipBlock: {{cidr: {}/32}}}}]\n    ports: [{}]\n", synthetic_source(i).str(), ports);
  }
  return y;
}

std::string synthetic_moat(size_t rules) {
  std::string m = "namespace bench {\n  default deny ingress;\n  workload web = { app: web };\n";
  for (size_t i = 0; i < rules; ++i) {
    uint16_t port = synthetic_port(i);
    std::string ports = i % 10 == 5 ? fmt::format("{}..{}", port, port + 99) : std::to_string(port);
    m += fmt::format("  {} cidr {}/32 -> web on {} {};\n", synthetic_deny(i) ? "deny" : "allow",
                     synthetic_source(i).str(), synthetic_proto(i) == Protocol::UDP ? "udp" : "tcp", ports);
  }
  return m + "}\n";
}

} // namespace moat::bench
