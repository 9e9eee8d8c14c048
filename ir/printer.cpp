// Prints a Module in a stable text form: one line per node, sorted as stored, with the
// source location of each, so golden files show exactly what a front end produced.
#include "ir/printer.h"

#include <fmt/format.h>

namespace moat {

namespace {
std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? sep : "") + xs[i];
  return out;
}

std::string print_requirement(const LabelRequirement& r) {
  switch (r.op) {
  case LabelRequirement::Op::Exists: return r.key;
  case LabelRequirement::Op::DoesNotExist: return "!" + r.key;
  case LabelRequirement::Op::In:
    if (r.values.size() == 1) return r.key + ": " + r.values[0];
    return r.key + " in [" + join(r.values, ", ") + "]";
  case LabelRequirement::Op::NotIn: return r.key + " notin [" + join(r.values, ", ") + "]";
  }
  return "?";
}

std::string loc(const SourceManager& sm, const SourceRange& r) {
  if (!r.known()) return "<unknown>";
  // Goldens must not depend on where the checkout lives: print the file name only.
  std::string p = sm.path(r.file);
  size_t slash = p.rfind('/');
  if (slash != std::string::npos) p = p.substr(slash + 1);
  return fmt::format("{}:{}:{}", p, r.line, r.col);
}
} // namespace

std::string print_selector(const LabelSelector& s) {
  std::vector<std::string> parts;
  for (const LabelRequirement& r : s.reqs) parts.push_back(print_requirement(r));
  return "{" + join(parts, ", ") + "}";
}

std::string print_endpoint_selector(const EndpointSelector& s) {
  return "ns" + print_selector(s.namespaces) + " pod" + print_selector(s.pods);
}

std::string print_peer(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Any: return "any";
  case Peer::Kind::Endpoints: return "endpoints " + print_endpoint_selector(p.endpoints);
  case Peer::Kind::Cidr: {
    std::string out = "cidr " + p.cidr.str();
    std::vector<std::string> ex;
    for (const IpPrefix& e : p.except) ex.push_back(e.str());
    if (!ex.empty()) out += " except " + join(ex, ", ");
    if (p.cidr_any_address) out += " any-address";
    return out;
  }
  case Peer::Kind::Entity: return std::string("entity ") + to_string(p.entity);
  case Peer::Kind::Fqdn: return std::string("fqdn ") + (p.fqdn.pattern ? "pattern " : "name ") + '"' + p.fqdn.value + '"';
  case Peer::Kind::Nodes: return "nodes " + print_selector(p.nodes);
  }
  return "?";
}

std::string print_ports(const std::vector<PortMatch>& ports) {
  if (ports.empty()) return "all-ports";
  std::vector<std::string> parts;
  for (const PortMatch& pm : ports) {
    if (!pm.name.empty())
      parts.push_back(fmt::format("{} {}", to_string(pm.proto), pm.name));
    else if (pm.lo == pm.hi)
      parts.push_back(fmt::format("{} {}", to_string(pm.proto), pm.lo));
    else
      parts.push_back(fmt::format("{} {}..{}", to_string(pm.proto), pm.lo, pm.hi));
  }
  return join(parts, ", ");
}

std::string print_module(const Module& m, const SourceManager& sm) {
  std::string out;
  for (const auto& [ns, labels] : m.namespaces) {
    std::vector<std::string> kv;
    for (const auto& [k, v] : labels) kv.push_back(k + ": " + v);
    out += fmt::format("namespace {} {{{}}}\n", ns, join(kv, ", "));
  }
  for (const NamedSelector& w : m.workloads)
    out += fmt::format("workload {}/{} = {}  @{}\n", w.ns, w.name, print_endpoint_selector(w.selector), loc(sm, w.range));
  for (const Endpoint& e : m.cluster_workloads) {
    std::vector<std::string> kv, ports;
    for (const auto& [k, v] : e.labels) kv.push_back(k + ": " + v);
    for (const NamedPort& p : e.ports) ports.push_back(fmt::format("{}={}/{}", p.name, p.port, to_string(p.proto)));
    out += fmt::format("cluster workload {} labels {{{}}}", e.name, join(kv, ", "));
    if (!ports.empty()) out += " ports {" + join(ports, ", ") + "}";
    for (const auto& [k, v] : e.resources) out += fmt::format(" requests {}={}", k, v);
    out += fmt::format("  @{}\n", loc(sm, e.range));
  }
  for (const NamedPeer& p : m.peers)
    out += fmt::format("peer {}/{} = {}  @{}\n", p.ns, p.name, print_peer(p.peer), loc(sm, p.range));
  for (const Isolation& i : m.isolations)
    out += fmt::format("isolate {} {}  [{}] @{}\n", to_string(i.dir), print_endpoint_selector(i.subject), i.origin,
                       loc(sm, i.range));
  for (const Rule& r : m.rules) {
    out += fmt::format("rule #{} {} {} subject {} peer {} ports {}", r.id, to_string(r.action), to_string(r.dir),
                       print_endpoint_selector(r.subject), print_peer(r.peer), print_ports(r.ports));
    if (r.twin >= 0) out += fmt::format(" twin #{}", r.twin);
    if (!r.dns.empty()) {
      std::vector<std::string> names;
      for (const FqdnMatch& f : r.dns) names.push_back((f.pattern ? "pattern:" : "name:") + f.value);
      out += " dns[" + join(names, ", ") + "]";
    }
    if (!r.http.empty()) {
      std::vector<std::string> hs;
      for (const HttpRule& h : r.http) hs.push_back(h.method + " " + h.path + (h.host.empty() ? "" : " host=" + h.host));
      out += " http[" + join(hs, ", ") + "]";
    }
    out += fmt::format("  [{}] @{}\n", r.origin, loc(sm, r.range));
  }
  // The admin and baseline tiers, in evaluation order (docs/LANGUAGE.md, Admin tiers).
  for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules})
    for (const Rule& r : *tier) {
      out += fmt::format("{} rule #{}", r.tier == Tier::Admin ? "admin" : "baseline", r.id);
      if (r.tier == Tier::Admin) out += fmt::format(" priority {}", r.priority);
      out += fmt::format(" {} {} subject {} peer {} ports {}  [{}] @{}\n", to_string(r.action), to_string(r.dir),
                         print_endpoint_selector(r.subject), print_peer(r.peer), print_ports(r.ports), r.origin,
                         loc(sm, r.range));
    }
  for (const NodePool& p : m.pools) {
    out += fmt::format("nodepool {}  @{}\n", p.name, loc(sm, p.range));
    for (const LabelRequirement& r : p.requirements) out += "  require " + print_requirement(r) + "\n";
    for (const auto& [k, v] : p.labels) out += fmt::format("  label {}={}\n", k, v);
    for (const Taint& t : p.taints) out += fmt::format("  taint {}={}:{}\n", t.key, t.value, t.effect);
    for (const Taint& t : p.startup_taints) out += fmt::format("  startup-taint {}={}:{}\n", t.key, t.value, t.effect);
    for (const auto& [k, v] : p.limits) out += fmt::format("  limit {}={}\n", k, v);
    for (const auto& [k, v] : p.disruption) out += fmt::format("  disruption {}={}\n", k, v);
    for (const EndpointSelector& a : p.admits) out += "  admits " + print_endpoint_selector(a) + "\n";
  }
  for (const Prove& p : m.proofs) out += fmt::format("{}  @{}\n", p.text, loc(sm, p.range));
  for (const Expect& e : m.expects)
    out += fmt::format("expect {} -> {} {}/{}: {}  @{}\n", e.from.name, e.to.name, to_string(e.proto), e.port,
                       e.allow ? "allow" : "deny", loc(sm, e.range));
  return out;
}

} // namespace moat
