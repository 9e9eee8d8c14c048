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
  }
  return "?";
}

namespace moat::verify {

Scope::Scope(Encoder& enc, const std::vector<Endpoint>* inventory) : enc_(enc), inventory_(inventory) {}

std::vector<Scope::Pin>& Scope::pins(const SymEndpoint& e) {
  std::string key = e.kind.to_string();
  for (auto& [k, v] : pins_)
    if (k == key) return v;
  std::vector<Pin> out;
  // Identities decide "self" the way the interpreter does: the same endpoint, or the same
  // non-empty name and kind. Node ids: 0 is "unset" (the single node of a test).
  std::map<std::pair<std::string, int>, unsigned> ident;
  std::map<std::string, unsigned> node;
  for (size_t i = 0; i < inventory_->size(); ++i) {
    const Endpoint& c = (*inventory_)[i];
    unsigned id = static_cast<unsigned>(i + 1);
    if (!c.name.empty()) id = ident.emplace(std::make_pair(c.name, static_cast<int>(c.kind)), id).first->second;
    unsigned n = 0;
    if (!c.node.empty()) n = node.emplace(c.node, static_cast<unsigned>(node.size() + 1)).first->second;
    // Only external addresses matter (CIDR peers match nothing else): one pin per address.
    if (c.kind == EndpointKind::External && c.ips.size() > 1) {
      for (size_t a = 0; a < c.ips.size(); ++a)
        out.push_back(Pin{i, static_cast<int>(a), enc_.pin(e, c, &c.ips[a], id, n)});
    } else {
      out.push_back(Pin{i, c.ips.empty() ? -1 : 0, enc_.pin(e, c, c.ips.empty() ? nullptr : &c.ips[0], id, n)});
    }
  }
  pins_.emplace_back(key, std::move(out));
  return pins_.back().second;
}

z3::expr Scope::endpoint(const SymEndpoint& e) {
  if (!inventory_) return enc_.well_formed(e);
  z3::expr_vector alts(enc_.ctx());
  for (const Pin& p : pins(e)) alts.push_back(p.formula);
  return alts.empty() ? enc_.ctx().bool_val(false) : z3::mk_or(alts);
}

z3::expr Scope::flow(const SymFlow& f) {
  if (!inventory_) return enc_.well_formed(f);
  return endpoint(f.src) && endpoint(f.dst) && enc_.valid_proto_port(f);
}

z3::expr Scope::is(const SymEndpoint& e, size_t i) {
  z3::expr_vector alts(enc_.ctx());
  if (inventory_)
    for (const Pin& p : pins(e))
      if (p.index == i) alts.push_back(p.formula);
  return alts.empty() ? enc_.ctx().bool_val(false) : z3::mk_or(alts);
}

z3::expr Scope::is(const SymEndpoint& e, size_t i, size_t addr) {
  z3::expr_vector alts(enc_.ctx());
  if (inventory_)
    for (const Pin& p : pins(e)) {
      const Endpoint& c = (*inventory_)[p.index];
      bool several = c.kind == EndpointKind::External && c.ips.size() > 1;
      if (p.index == i && (!several || p.ip == static_cast<int>(addr))) alts.push_back(p.formula);
    }
  return alts.empty() ? enc_.ctx().bool_val(false) : z3::mk_or(alts);
}

Endpoint Scope::decode(const z3::model& model, const SymEndpoint& e, const std::string& name) {
  if (inventory_) {
    for (const Pin& p : pins(e))
      if (eval_bool(model, p.formula)) {
        Endpoint c = (*inventory_)[p.index];
        if (p.ip >= 0 && c.ips.size() > 1) c.ips = {c.ips[p.ip]};
        return c;
      }
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
    for (size_t i = 0; i < d.pod_keys.size(); ++i)
      if (eval_bool(model, e.pod_has[i]))
        out.labels[d.pod_keys[i].key] = d.pod_keys[i].value_at(static_cast<unsigned>(eval_u64(model, e.pod_val[i])));
    for (size_t i = 0; i < d.port_names.size(); ++i)
      if (eval_bool(model, e.np_has[i]))
        out.ports.push_back(NamedPort{d.port_names[i], protocol_of(eval_u64(model, e.np_proto[i])),
                                      static_cast<uint16_t>(eval_u64(model, e.np_port[i]))});
  }
  if (eval_bool(model, e.has_ip) && out.kind == EndpointKind::External) {
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
                                 std::string* error) {
  Flow flow{&w.src, w.self ? &w.src : &w.dst, w.proto, w.port};
  Verdict v = evaluate(m, flow);
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
                              const z3::expr& allowed, std::string* error) {
  Witness w = scope.decode(model, f);
  auto v = replay_on(m, w, model, allowed, error);
  if (!v) return std::nullopt;
  w.verdict = *v;
  return w;
}

} // namespace moat::verify
