// Realistic generated policies (see gen_policy.h).
#include "bench/verify/gen_policy.h"

#include <algorithm>
#include <random>
#include <string>

#include <fmt/format.h>

namespace moat::bench {

namespace {

const char* kRegions[] = {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
                          "eu-central-1", "ap-south-1", "ap-northeast-1", "ap-southeast-1", "sa-east-1",
                          "ca-central-1", "eu-north-1", "ap-northeast-2", "me-south-1", "af-south-1"};
const char* kTiers[] = {"web", "api", "db", "cache", "worker", "batch"};
const char* kEnvs[] = {"prod", "staging", "dev"};
const uint16_t kPorts[] = {80, 443, 8080, 5432, 6379, 9090, 3000, 8443};

LabelRequirement in(const std::string& k, std::vector<std::string> v, LabelRequirement::Op op = LabelRequirement::Op::In) {
  std::sort(v.begin(), v.end());
  return LabelRequirement{k, op, std::move(v), {}};
}

std::string ns_name(size_t i) { return fmt::format("ns-{:04}", i); }

EndpointSelector in_ns(size_t ns, std::vector<LabelRequirement> pods = {}) {
  EndpointSelector s;
  s.namespaces.reqs.push_back(in(kNamespaceNameLabel, {ns_name(ns)}));
  s.pods.reqs = std::move(pods);
  return s;
}

PortMatch tcp(uint16_t lo, uint16_t hi = 0) { return PortMatch{Protocol::TCP, lo, hi ? hi : lo, "", {}}; }

Peer endpoints(EndpointSelector s) {
  Peer p;
  p.kind = Peer::Kind::Endpoints;
  p.endpoints = std::move(s);
  return p;
}

Peer dns_peer() {
  EndpointSelector s;
  s.namespaces.reqs.push_back(in(kNamespaceNameLabel, {"kube-system"}));
  s.pods.reqs.push_back(in("k8s-app", {"kube-dns"}));
  return endpoints(s);
}

} // namespace

Module generate_policy(size_t rules, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  Module m;
  size_t namespaces = std::max<size_t>(4, rules / 40);
  for (size_t i = 0; i < namespaces; ++i) {
    m.namespaces[ns_name(i)] = {{kNamespaceNameLabel, ns_name(i)},
                                {"team", fmt::format("team-{}", i / 4)},
                                {"env", kEnvs[i % 3]}};
    for (Direction d : {Direction::Ingress, Direction::Egress})
      m.isolations.push_back(Isolation{in_ns(i), d, fmt::format("NetworkPolicy {}/default-deny", ns_name(i)), {}});
  }
  m.namespaces["kube-system"] = {{kNamespaceNameLabel, "kube-system"}};
  size_t apps = 6;
  auto app = [&](size_t a) { return in("app", {fmt::format("app-{}", a)}); };
  for (size_t n = 0; m.rules.size() < rules; ++n) {
    size_t ns = n % namespaces;
    Rule r;
    r.origin = fmt::format("CiliumNetworkPolicy {}/rule-{}", ns_name(ns), n);
    size_t kind = pick(100);
    size_t a = pick(apps), b = pick(apps);
    r.subject = in_ns(ns, {app(a)});
    if (kind < 42) {
      // A connection, as the moat language lowers `allow a -> b on tcp p`: the egress half
      // at the client and the ingress half at the server (same namespace, or a client in
      // another namespace of the server's team).
      size_t client_ns = kind < 30 ? ns : pick(namespaces);
      uint16_t port = kind < 30 ? kPorts[pick(8)] : 8080;
      Rule egress = r, ingress = r;
      egress.dir = Direction::Egress;
      egress.subject = in_ns(client_ns, {app(b)});
      egress.peer = endpoints(in_ns(ns, {app(a)}));
      egress.ports = {tcp(port)};
      ingress.dir = Direction::Ingress;
      ingress.peer = endpoints(in_ns(client_ns, {app(b)}));
      ingress.ports = {tcp(port)};
      uint32_t e = m.add_rule(std::move(egress));
      ingress.twin = static_cast<int32_t>(e);
      m.rules[e].twin = static_cast<int32_t>(m.add_rule(std::move(ingress)));
      continue;
    } else if (kind < 54) {  // ingress from every namespace of a team (half of a wider rule)
      r.dir = Direction::Ingress;
      EndpointSelector s;
      s.namespaces.reqs.push_back(in("team", {fmt::format("team-{}", pick(namespaces / 4 + 1))}));
      s.pods.reqs.push_back(app(b));
      r.peer = endpoints(s);
      r.ports = {tcp(8080)};
    } else if (kind < 62) {  // DNS
      r.dir = Direction::Egress;
      r.peer = dns_peer();
      r.ports = {PortMatch{Protocol::UDP, 53, 53, "", {}}, tcp(53)};
    } else if (kind < 72) {  // CIDR with except
      r.dir = Direction::Egress;
      r.peer.kind = Peer::Kind::Cidr;
      if (pick(2)) {
        r.peer.cidr = *IpPrefix::parse(fmt::format("10.{}.0.0/16", ns % 256));
        r.peer.except.push_back(*IpPrefix::parse(fmt::format("10.{}.128.0/17", ns % 256)));
      } else {
        r.peer.cidr = *IpPrefix::parse(fmt::format("52.{}.{}.0/24", pick(64), pick(256)));
      }
      r.ports = {tcp(443)};
    } else if (kind < 84) {  // FQDN names and patterns
      r.dir = Direction::Egress;
      r.peer.kind = Peer::Kind::Fqdn;
      size_t f = pick(3);
      if (f == 0) r.peer.fqdn = FqdnMatch{true, fmt::format("*.s3.{}.amazonaws.com", kRegions[pick(16)]), {}};
      else if (f == 1) r.peer.fqdn = FqdnMatch{false, fmt::format("api-{}.partner-{}.example.com", pick(20), pick(25)), {}};
      else r.peer.fqdn = FqdnMatch{true, "**.googleapis.com", {}};
      r.ports = {tcp(443)};
    } else if (kind < 90) {  // port ranges
      r.dir = pick(2) ? Direction::Ingress : Direction::Egress;
      r.peer = endpoints(in_ns(ns, {in("tier", {kTiers[pick(6)], kTiers[pick(6)]})}));
      r.ports = {pick(2) ? tcp(30000, 32767) : PortMatch{Protocol::UDP, 10000, 10100, "", {}}};
    } else if (kind < 95) {  // matchExpressions
      r.dir = Direction::Ingress;
      r.subject = in_ns(ns, {in("tier", {"web", "api"}), in("canary", {}, LabelRequirement::Op::DoesNotExist)});
      r.peer = endpoints(in_ns(ns, {in("app", {fmt::format("app-{}", b)}, LabelRequirement::Op::NotIn),
                                    in("tier", {}, LabelRequirement::Op::Exists)}));
      r.ports = {tcp(kPorts[pick(8)])};
    } else {  // denies: the metadata service, and dev namespaces into this one
      r.action = Action::Deny;
      if (pick(2)) {
        r.dir = Direction::Egress;
        r.subject = in_ns(ns);
        r.peer.kind = Peer::Kind::Cidr;
        r.peer.cidr = *IpPrefix::parse("169.254.169.254/32");
      } else {
        r.dir = Direction::Ingress;
        r.subject = in_ns(ns);
        EndpointSelector s;
        s.namespaces.reqs.push_back(in("env", {"dev"}));
        r.peer = endpoints(s);
      }
    }
    m.add_rule(std::move(r));
  }
  return m;
}

Module change_one_rule(const Module& m, uint64_t seed) {
  Module out = m;
  std::mt19937_64 rng(seed * 7919);
  // An egress allow to a CIDR block with its port moved by one: a one-line review change
  // that does change verdicts (nothing else on the far side has to agree).
  for (size_t tries = 0; tries < 4 * out.rules.size(); ++tries) {
    Rule& r = out.rules[rng() % out.rules.size()];
    if (r.action != Action::Allow || r.dir != Direction::Egress || r.peer.kind != Peer::Kind::Cidr ||
        r.ports.size() != 1 || r.ports[0].lo != r.ports[0].hi)
      continue;
    r.ports[0].lo = r.ports[0].hi = static_cast<uint16_t>(r.ports[0].lo + 1);
    return out;
  }
  return out;
}

Prove isolation_proof() {
  Prove p;
  p.kind = Prove::Kind::Isolated;
  p.text = "isolated namespace ns-0000, namespace ns-0001";
  p.subjects = {endpoints(in_ns(0)), endpoints(in_ns(1))};
  return p;
}

Prove confinement_proof() {
  Prove p;
  p.kind = Prove::Kind::EgressWithin;
  p.text = "ns-0000/{app: app-0} egress within { dns, ns-0000/*, cidr 10.0.0.0/16 on tcp 443, "
           "fqdn \"*.s3.*.amazonaws.com\" on tcp 443 }";
  p.subjects = {endpoints(in_ns(0, {in("app", {"app-0"})}))};
  p.peers.push_back(PeerPorts{dns_peer(), {PortMatch{Protocol::UDP, 53, 53, "", {}}, tcp(53)}, {}});
  p.peers.push_back(PeerPorts{endpoints(in_ns(0)), {}, {}});
  Peer cidr;
  cidr.kind = Peer::Kind::Cidr;
  cidr.cidr = *IpPrefix::parse("10.0.0.0/16");
  p.peers.push_back(PeerPorts{cidr, {tcp(443)}, {}});
  Peer s3;
  s3.kind = Peer::Kind::Fqdn;
  s3.fqdn = FqdnMatch{true, "*.s3.*.amazonaws.com", {}};
  p.peers.push_back(PeerPorts{s3, {tcp(443)}, {}});
  return p;
}

} // namespace moat::bench
