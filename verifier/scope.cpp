// Scopes, model decoding and interpreter replay (see scope.h).
#include "verifier/scope.h"

#include <fmt/format.h>

#include <map>

namespace moat::verify {

namespace {

std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? sep : "") + xs[i];
  return out;
}

std::string labels_text(const Labels& l, const char* skip = nullptr) {
  std::vector<std::string> kv;
  for (const auto& [k, v] : l)
    if (!skip || k != skip) kv.push_back(v.empty() ? k : k + ": " + v);
  return "{" + join(kv, ", ") + "}";
}

Protocol protocol_of(uint64_t v) {
  switch (v) {
  case 1: return Protocol::ICMP;
  case 6: return Protocol::TCP;
  case 17: return Protocol::UDP;
  case 58: return Protocol::ICMPv6;
  case 132: return Protocol::SCTP;
  default: return Protocol::Any;
  }
}

} // namespace

} // namespace moat::verify

std::string moat::describe_endpoint(const Endpoint& e) {
  using namespace moat::verify;
  // Names of decoded symbolic endpoints ("src", "dst", "w") say nothing: leave them out.
  bool named = !e.name.empty() && e.name != "src" && e.name != "dst" && e.name != "w";
  switch (e.kind) {
  case EndpointKind::Workload: {
    std::string out = (e.ns.empty() ? std::string("?") : e.ns) + "/" + labels_text(e.labels);
    Labels extra = e.ns_labels;
    extra.erase(kNamespaceNameLabel);
    if (!extra.empty()) out += " (namespace labels " + labels_text(extra) + ")";
    if (!e.ports.empty()) {
      std::vector<std::string> ps;
      for (const NamedPort& p : e.ports) ps.push_back(fmt::format("{}: {}/{}", p.name, p.port, to_string(p.proto)));
      out += " ports {" + join(ps, ", ") + "}";
    }
    if (named) out = e.name + " = " + out;
    return out;
  }
  case EndpointKind::External: {
    std::vector<std::string> ips;
    for (const IpAddr& ip : e.ips) ips.push_back(ip.str());
    std::string out = ips.empty() ? std::string("external (no address)") : join(ips, ", ");
    if (!e.dns_names.empty()) out += " (dns " + join(e.dns_names, ", ") + ")";
    if (named) out = e.name + " = " + out;
    return out;
  }
  default: {
    std::string out = to_string(e.kind);
    if (!e.node.empty()) out += " of " + e.node;
    if (!e.labels.empty()) out += " (node labels " + labels_text(e.labels) + ")";
    if (named && e.name != out) out = e.name + " = " + out;
    return out;
  }
  }
}

namespace moat {
namespace {
std::string requirement_text(const LabelRequirement& r) {
  switch (r.op) {
  case LabelRequirement::Op::Exists: return r.key;
  case LabelRequirement::Op::DoesNotExist: return "!" + r.key;
  case LabelRequirement::Op::In:
    return r.values.size() == 1 ? r.key + ": " + r.values[0] : r.key + " in [" + moat::verify::join(r.values, ", ") + "]";
  case LabelRequirement::Op::NotIn: return r.key + " notin [" + moat::verify::join(r.values, ", ") + "]";
  }
  return "?";
}
std::string selector_text(const LabelSelector& s) {
  if (s.reqs.empty()) return "*";
  std::vector<std::string> parts;
  for (const LabelRequirement& r : s.reqs) parts.push_back(requirement_text(r));
  return "{" + moat::verify::join(parts, ", ") + "}";
}
} // namespace
} // namespace moat

std::string moat::describe_peer(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Any: return "any";
  case Peer::Kind::Endpoints: {
    const LabelSelector& ns = p.endpoints.namespaces;
    std::string nspart;
    if (ns.reqs.size() == 1 && ns.reqs[0].key == kNamespaceNameLabel && ns.reqs[0].op == LabelRequirement::Op::In &&
        ns.reqs[0].values.size() == 1)
      nspart = ns.reqs[0].values[0];
    else
      nspart = ns.reqs.empty() ? "*" : "namespace " + selector_text(ns);
    return nspart + "/" + selector_text(p.endpoints.pods);
  }
  case Peer::Kind::Cidr: {
    std::string out = "cidr " + p.cidr.str();
    std::vector<std::string> ex;
    for (const IpPrefix& e : p.except) ex.push_back(e.str());
    if (!ex.empty()) out += " except " + moat::verify::join(ex, ", ");
    return out;
  }
  case Peer::Kind::Entity: return to_string(p.entity);
  case Peer::Kind::Fqdn: return "fqdn \"" + p.fqdn.value + "\"";
  case Peer::Kind::Nodes: return "nodes " + selector_text(p.nodes);
  }
  return "?";
}

namespace moat::verify {

Scope::Scope(Encoder& enc, const std::vector<Endpoint>* inventory) : enc_(enc), inventory_(inventory) {
  if (inventory_) classes_ = std::make_unique<InventoryClasses>(*inventory_, enc_.domain());
}

Scope::~Scope() = default;

Scope::Var& Scope::var(const SymEndpoint& e) {
  std::string key = e.kind.to_string();
  for (auto& [k, v] : vars_)
    if (k == key) return v;
  vars_.emplace_back(key, Var{});
  vars_.back().second.by_class.resize(classes_ ? classes_->classes().size() : 0);
  return vars_.back().second;
}

unsigned Scope::node_id(const Endpoint& c) {
  // Node ids: 0 is "unset" (the single node of a test).
  if (c.node.empty()) return 0;
  return nodes_.emplace(c.node, static_cast<unsigned>(nodes_.size() + 1)).first->second;
}

z3::expr Scope::member_pin(const SymEndpoint& e, size_t i, int ip) {
  const Endpoint& c = (*inventory_)[i];
  return enc_.pin(e, c, ip < 0 ? nullptr : &c.ips[static_cast<size_t>(ip)], classes_->ident(i), node_id(c));
}

const std::vector<Scope::Pin>& Scope::class_pins(Var& v, const SymEndpoint& e, uint32_t c) {
  std::vector<Pin>& out = v.by_class[c];
  if (!out.empty()) return out;
  for (const ClassPin& p : classes_->classes()[c].pins) out.push_back(Pin{p.member, p.addr, member_pin(e, p.member, p.addr)});
  v.built.push_back(c);
  return out;
}

z3::expr Scope::endpoint(const SymEndpoint& e) {
  if (!inventory_) return enc_.well_formed(e);
  return endpoint(e, classes_->all());
}

z3::expr Scope::endpoint(const SymEndpoint& e, const std::vector<uint32_t>& classes) {
  Var& v = var(e);
  z3::expr_vector alts(enc_.ctx());
  for (uint32_t c : classes)
    for (const Pin& p : class_pins(v, e, c)) alts.push_back(p.formula);
  return alts.empty() ? enc_.ctx().bool_val(false) : z3::mk_or(alts);
}

z3::expr Scope::flow(const SymFlow& f) {
  if (!inventory_) return enc_.well_formed(f);
  return endpoint(f.src) && endpoint(f.dst) && enc_.valid_proto_port(f);
}

z3::expr Scope::flow(const SymFlow& f, const std::vector<uint32_t>& src, const std::vector<uint32_t>& dst) {
  return endpoint(f.src, src) && endpoint(f.dst, dst) && enc_.valid_proto_port(f);
}

bool Scope::addresses_matter(const Endpoint& c) const {
  // As the inventory classes pin them: one pin per address when some CIDR peer can read it.
  return c.ips.size() > 1 && (c.kind == EndpointKind::External || enc_.domain().cluster_addresses);
}

z3::expr Scope::is(const SymEndpoint& e, size_t i) {
  if (!inventory_) return enc_.ctx().bool_val(false);
  const Endpoint& c = (*inventory_)[i];
  if (!addresses_matter(c)) return is(e, i, 0);
  z3::expr_vector alts(enc_.ctx());
  for (size_t a = 0; a < c.ips.size(); ++a) alts.push_back(is(e, i, a));
  return z3::mk_or(alts);
}

z3::expr Scope::is(const SymEndpoint& e, size_t i, size_t addr) {
  if (!inventory_) return enc_.ctx().bool_val(false);
  const Endpoint& c = (*inventory_)[i];
  // A workload's address matters too when an any-address CIDR peer reads it (ir.h Flow).
  int ip = c.ips.empty() ? -1 : (addresses_matter(c) ? static_cast<int>(addr) : 0);
  if (ip >= static_cast<int>(c.ips.size())) return enc_.ctx().bool_val(false);
  Var& v = var(e);
  for (const Pin& p : v.members)
    if (p.member == i && p.ip == ip) return p.formula;
  v.members.push_back(Pin{i, ip, member_pin(e, i, ip)});
  return v.members.back().formula;
}

Endpoint Scope::decode(const z3::model& model, const SymEndpoint& e, const std::string& name) {
  if (inventory_) {
    Var& v = var(e);
    auto concrete = [&](const Pin& p) {
      Endpoint c = (*inventory_)[p.member];
      if (p.ip >= 0 && c.ips.size() > 1) c.ips = {c.ips[static_cast<size_t>(p.ip)]};
      return c;
    };
    for (const Pin& p : v.members)
      if (eval_bool(model, p.formula)) return concrete(p);
    for (uint32_t c : v.built)
      for (const Pin& p : v.by_class[c])
        if (eval_bool(model, p.formula)) return concrete(p);
  }
  const Domain& d = enc_.domain();
  Endpoint out;
  out.name = name;
  out.kind = static_cast<EndpointKind>(eval_u64(model, e.kind));
  if (uint64_t n = eval_u64(model, e.node)) out.node = fmt::format("node-{}", n);
  if (out.kind == EndpointKind::Workload) {
    for (size_t i = 0; i < d.ns_keys.size(); ++i)
      if (eval_bool(model, e.ns_has[i]))
        out.ns_labels[d.ns_keys[i].key] = d.ns_keys[i].value_at(static_cast<unsigned>(eval_u64(model, e.ns_val[i])));
    out.ns = out.ns_labels[kNamespaceNameLabel];
  }
  // Pod labels, or a node's Node labels (Encoder::is_node).
  if (out.kind == EndpointKind::Workload || out.kind == EndpointKind::Host || out.kind == EndpointKind::RemoteNode)
    for (size_t i = 0; i < d.pod_keys.size(); ++i)
      if (eval_bool(model, e.pod_has[i]))
        out.labels[d.pod_keys[i].key] = d.pod_keys[i].value_at(static_cast<unsigned>(eval_u64(model, e.pod_val[i])));
  if (out.kind == EndpointKind::Workload) {
    for (size_t i = 0; i < d.port_names.size(); ++i)
      if (eval_bool(model, e.np_has[i]))
        out.ports.push_back(NamedPort{d.port_names[i], protocol_of(eval_u64(model, e.np_proto[i])),
                                      static_cast<uint16_t>(eval_u64(model, e.np_port[i]))});
  }
  if (eval_bool(model, e.has_ip) && (out.kind == EndpointKind::External || d.cluster_addresses)) {
    IpAddr ip;
    if (eval_bool(model, e.v6)) {
      ip.v6 = true;
      for (unsigned q = 0; q < 4; ++q) {
        uint64_t w = eval_u64(model, e.ip6.extract(127 - 32 * q, 96 - 32 * q));
        for (unsigned b = 0; b < 4; ++b) ip.bytes[4 * q + b] = static_cast<uint8_t>(w >> (24 - 8 * b));
      }
    } else {
      ip = IpAddr::v4(static_cast<uint32_t>(eval_u64(model, e.ip4)));
    }
    out.ips.push_back(ip);
  }
  for (size_t c = 0; c < e.dns.size(); ++c)
    if (eval_bool(model, e.dns[c])) out.dns_names.push_back(d.names.classes[c].example);
  return out;
}

Witness Scope::decode(const z3::model& model, const SymFlow& f) {
  Witness w;
  w.self = eval_bool(model, enc_.self(f));
  // Distinct names: the interpreter treats equal names of one kind as the same endpoint.
  w.src = decode(model, f.src, "src");
  w.dst = w.self ? w.src : decode(model, f.dst, "dst");
  w.proto = protocol_of(eval_u64(model, f.proto));
  w.port = static_cast<uint16_t>(eval_u64(model, f.port));
  return w;
}

std::optional<Verdict> replay_on(const Module& m, const Witness& w, const z3::model& model, const z3::expr& allowed,
                                 std::string* error, const VersionIndex* index) {
  Flow flow{&w.src, w.self ? &w.src : &w.dst, w.proto, w.port};
  Verdict v = index ? index->evaluate(flow) : evaluate(m, flow);
  bool solver = eval_bool(model, allowed);
  if (v.allowed != solver) {
    if (error)
      *error = fmt::format("the Z3 encoding and the interpreter disagree on {} -> {} {}/{}: solver says {}, "
                           "interpreter says {} (egress {}, ingress {})",
                           describe(w.src), describe(*flow.dst), to_string(w.proto), w.port,
                           solver ? "allow" : "deny", v.allowed ? "allow" : "deny", to_string(v.egress.why),
                           to_string(v.ingress.why));
    return std::nullopt;
  }
  return v;
}

std::optional<Witness> replay(const Module& m, Scope& scope, const z3::model& model, const SymFlow& f,
                              const z3::expr& allowed, std::string* error, const VersionIndex* index) {
  Witness w = scope.decode(model, f);
  auto v = replay_on(m, w, model, allowed, error, index);
  if (!v) return std::nullopt;
  w.verdict = *v;
  return w;
}

} // namespace moat::verify
