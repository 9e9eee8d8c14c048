#include "ir/ir.h"

#include <algorithm>
#include <cctype>

namespace moat {

const char* to_string(Direction d) { return d == Direction::Ingress ? "ingress" : "egress"; }
const char* to_string(Action a) {
  switch (a) {
  case Action::Allow: return "allow";
  case Action::Deny: return "deny";
  case Action::Pass: return "pass";
  }
  return "?";
}

const char* to_string(Tier t) {
  switch (t) {
  case Tier::Admin: return "AdminNetworkPolicy";
  case Tier::Policy: return "NetworkPolicy";
  case Tier::Baseline: return "BaselineAdminNetworkPolicy";
  }
  return "?";
}

const char* to_string(Protocol p) {
  switch (p) {
  case Protocol::Any: return "any";
  case Protocol::ICMP: return "icmp";
  case Protocol::TCP: return "tcp";
  case Protocol::UDP: return "udp";
  case Protocol::ICMPv6: return "icmpv6";
  case Protocol::SCTP: return "sctp";
  }
  return "?";
}

namespace {
struct EntityName {
  Entity e;
  const char* name;
};
constexpr EntityName kEntities[] = {
    {Entity::World, "world"},         {Entity::Cluster, "cluster"},
    {Entity::Host, "host"},           {Entity::RemoteNode, "remote-node"},
    {Entity::KubeApiserver, "kube-apiserver"}, {Entity::All, "all"},
    {Entity::Init, "init"},           {Entity::Health, "health"},
    {Entity::Unmanaged, "unmanaged"}, {Entity::Ingress, "ingress"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
} // namespace

const char* to_string(Entity e) {
  for (const auto& n : kEntities)
    if (n.e == e) return n.name;
  return "?";
}

const char* to_string(EndpointKind k) {
  switch (k) {
  case EndpointKind::Workload: return "workload";
  case EndpointKind::Host: return "host";
  case EndpointKind::RemoteNode: return "remote-node";
  case EndpointKind::KubeApiserver: return "kube-apiserver";
  case EndpointKind::External: return "external";
  }
  return "?";
}

const char* to_string(RuleSource s) {
  switch (s) {
  case RuleSource::Moat: return "moat";
  case RuleSource::NetworkPolicy: return "NetworkPolicy";
  case RuleSource::CiliumNetworkPolicy: return "CiliumNetworkPolicy";
  case RuleSource::CiliumClusterwideNetworkPolicy: return "CiliumClusterwideNetworkPolicy";
  case RuleSource::AdminNetworkPolicy: return "AdminNetworkPolicy";
  case RuleSource::BaselineAdminNetworkPolicy: return "BaselineAdminNetworkPolicy";
  }
  return "?";
}

std::optional<Protocol> parse_protocol(std::string_view name) {
  std::string n = lower(name);
  if (n == "tcp") return Protocol::TCP;
  if (n == "udp") return Protocol::UDP;
  if (n == "sctp") return Protocol::SCTP;
  if (n == "icmp") return Protocol::ICMP;
  if (n == "icmpv6") return Protocol::ICMPv6;
  if (n == "any") return Protocol::Any;
  return std::nullopt;
}

std::optional<Entity> parse_entity(std::string_view name) {
  std::string n = lower(name);
  for (const auto& e : kEntities)
    if (n == e.name) return e.e;
  return std::nullopt;
}

} // namespace moat
