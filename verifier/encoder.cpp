// Formulas for endpoints, selectors, peers, ports and verdicts (see encoder.h). Every
// function here mirrors one function of ir/interp.cpp; the differential test checks that
// they agree on random policies and flows.
#include "verifier/encoder.h"

#include <unordered_map>

#include "ir/interp.h"
#include "ir/printer.h"
#include "ir/selector_key.h"

namespace moat::verify {

namespace {
constexpr unsigned kKindBits = 3, kIdentBits = 24, kNodeBits = 16;

unsigned kind_value(EndpointKind k) { return static_cast<unsigned>(k); }

z3::expr any_of(z3::context& ctx, const z3::expr_vector& xs) {
  if (xs.empty()) return ctx.bool_val(false);
  if (xs.size() == 1) return xs[0];
  return z3::mk_or(xs);
}
z3::expr all_of(z3::context& ctx, const z3::expr_vector& xs) {
  if (xs.empty()) return ctx.bool_val(true);
  if (xs.size() == 1) return xs[0];
  return z3::mk_and(xs);
}
} // namespace

uint64_t eval_u64(const z3::model& m, const z3::expr& e) {
  uint64_t out = 0;
  m.eval(e, true).is_numeral_u64(out);  // callers read vectors of at most 64 bits
  return out;
}

bool eval_bool(const z3::model& m, const z3::expr& e) { return m.eval(e, true).is_true(); }

SymEndpoint Encoder::endpoint(const std::string& p) {
  auto bvc = [&](const std::string& n, unsigned bits) { return ctx_.bv_const((p + n).c_str(), bits); };
  auto boolc = [&](const std::string& n) { return ctx_.bool_const((p + n).c_str()); };
  SymEndpoint e{bvc(".kind", kKindBits), bvc(".ident", kIdentBits), bvc(".node", kNodeBits), {}, {}, {}, {},
                boolc(".has_ip"), boolc(".v6"), bvc(".ip4", 32), bvc(".ip6", 128), {}, {}, {}, {}};
  for (const KeyDomain& k : d_.ns_keys) {
    e.ns_has.push_back(boolc(".ns?" + k.key));
    e.ns_val.push_back(bvc(".ns=" + k.key, k.bits()));
  }
  for (const KeyDomain& k : d_.pod_keys) {
    e.pod_has.push_back(boolc(".pod?" + k.key));
    e.pod_val.push_back(bvc(".pod=" + k.key, k.bits()));
  }
  for (size_t c = 0; c < d_.names.classes.size(); ++c) e.dns.push_back(boolc(".dns" + std::to_string(c)));
  for (const std::string& n : d_.port_names) {
    e.np_has.push_back(boolc(".port?" + n));
    e.np_proto.push_back(bvc(".port-proto." + n, 8));
    e.np_port.push_back(bvc(".port=" + n, 16));
  }
  return e;
}

SymFlow Encoder::flow(const std::string& prefix) {
  return SymFlow{endpoint(prefix + ".src"), endpoint(prefix + ".dst"), ctx_.bv_const((prefix + ".proto").c_str(), 8),
                 ctx_.bv_const((prefix + ".port").c_str(), 16)};
}

z3::expr Encoder::is_kind(const SymEndpoint& e, EndpointKind k) { return e.kind == bv(kind_value(k), kKindBits); }

z3::expr Encoder::is_node(const SymEndpoint& e) {
  return is_kind(e, EndpointKind::Host) || is_kind(e, EndpointKind::RemoteNode);
}

z3::expr Encoder::well_formed(const SymEndpoint& e) {
  z3::expr_vector c(ctx_);
  c.push_back(z3::ule(e.kind, bv(kind_value(EndpointKind::External), kKindBits)));
  z3::expr workload = is_kind(e, EndpointKind::Workload);
  z3::expr external = is_kind(e, EndpointKind::External);
  auto domain = [&](const std::vector<KeyDomain>& keys, const std::vector<z3::expr>& has,
                    const std::vector<z3::expr>& val, const z3::expr& labelled) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if ((1u << keys[i].bits()) != keys[i].size()) c.push_back(z3::ult(val[i], bv(keys[i].size(), keys[i].bits())));
      // Endpoints without such labels carry none; fixing them keeps models (and cubes) canonical.
      c.push_back(z3::implies(!labelled, !has[i] && val[i] == bv(0, keys[i].bits())));
    }
  };
  domain(d_.ns_keys, e.ns_has, e.ns_val, workload);
  // The pod-side keys hold a workload's pod labels or a node's Node labels (Peer::Kind::Nodes).
  domain(d_.pod_keys, e.pod_has, e.pod_val, workload || is_node(e));
  c.push_back(z3::implies(workload, e.ns_has[0]));  // kubernetes.io/metadata.name is always set
  // A namespace the sources declare has exactly the declared labels.
  for (const auto& [name, labels] : d_.namespaces) {
    z3::expr_vector fixed(ctx_);
    for (size_t i = 1; i < d_.ns_keys.size(); ++i) {
      auto it = labels.find(d_.ns_keys[i].key);
      if (it == labels.end())
        fixed.push_back(!e.ns_has[i]);
      else
        fixed.push_back(e.ns_has[i] && e.ns_val[i] == bv(d_.ns_keys[i].index_of(it->second), d_.ns_keys[i].bits()));
    }
    c.push_back(z3::implies(workload && e.ns_val[0] == bv(d_.ns_keys[0].index_of(name), d_.ns_keys[0].bits()),
                            all_of(ctx_, fixed)));
  }
  c.push_back(e.has_ip);  // the flow's own address
  for (const z3::expr& b : e.dns) c.push_back(z3::implies(!external, !b));
  for (size_t i = 0; i < d_.port_names.size(); ++i) {
    // Container ports are TCP, UDP or SCTP, numbered 1..65535, and only workloads have them.
    c.push_back(z3::implies(!workload, !e.np_has[i]));
    c.push_back(e.np_proto[i] == bv(6, 8) || e.np_proto[i] == bv(17, 8) || e.np_proto[i] == bv(132, 8));
    c.push_back(e.np_port[i] != bv(0, 16));
  }
  return all_of(ctx_, c);
}

z3::expr Encoder::well_formed(const SymFlow& f) {
  z3::expr_vector c(ctx_);
  c.push_back(well_formed(f.src));
  c.push_back(well_formed(f.dst));
  c.push_back(valid_proto_port(f));
  // The same endpoint at both ends: every attribute agrees.
  z3::expr_vector same(ctx_);
  auto eq = [&](const z3::expr& a, const z3::expr& b) { same.push_back(a == b); };
  eq(f.src.kind, f.dst.kind);
  eq(f.src.node, f.dst.node);
  for (size_t i = 0; i < f.src.ns_has.size(); ++i) eq(f.src.ns_has[i], f.dst.ns_has[i]), eq(f.src.ns_val[i], f.dst.ns_val[i]);
  for (size_t i = 0; i < f.src.pod_has.size(); ++i) eq(f.src.pod_has[i], f.dst.pod_has[i]), eq(f.src.pod_val[i], f.dst.pod_val[i]);
  eq(f.src.v6, f.dst.v6);
  eq(f.src.ip4, f.dst.ip4);
  eq(f.src.ip6, f.dst.ip6);
  for (size_t i = 0; i < f.src.dns.size(); ++i) eq(f.src.dns[i], f.dst.dns[i]);
  for (size_t i = 0; i < f.src.np_has.size(); ++i)
    eq(f.src.np_has[i], f.dst.np_has[i]), eq(f.src.np_proto[i], f.dst.np_proto[i]), eq(f.src.np_port[i], f.dst.np_port[i]);
  c.push_back(z3::implies(self(f), all_of(ctx_, same)));
  // Two workloads in one namespace see the same namespace labels.
  z3::expr_vector ns_same(ctx_);
  for (size_t i = 1; i < f.src.ns_has.size(); ++i) {
    ns_same.push_back(f.src.ns_has[i] == f.dst.ns_has[i]);
    ns_same.push_back(f.src.ns_val[i] == f.dst.ns_val[i]);
  }
  c.push_back(z3::implies(is_kind(f.src, EndpointKind::Workload) && is_kind(f.dst, EndpointKind::Workload) &&
                              f.src.ns_val[0] == f.dst.ns_val[0],
                          all_of(ctx_, ns_same)));
  return all_of(ctx_, c);
}

z3::expr Encoder::valid_proto_port(const SymFlow& f) {
  z3::expr p = f.proto;
  z3::expr icmp = p == bv(1, 8) || p == bv(58, 8);
  return (icmp || p == bv(6, 8) || p == bv(17, 8) || p == bv(132, 8)) &&
         z3::implies(icmp, z3::ule(f.port, bv(255, 16))) &&  // ICMP: the type
         z3::implies(!icmp, f.port != bv(0, 16));            // transport ports 1..65535
}

z3::expr Encoder::pin(const SymEndpoint& e, const Endpoint& c, const IpAddr* ip, unsigned ident, unsigned node) {
  z3::expr_vector x(ctx_);
  x.push_back(e.kind == bv(kind_value(c.kind), kKindBits));
  x.push_back(e.ident == bv(ident, kIdentBits));
  x.push_back(e.node == bv(node, kNodeBits));
  bool workload = c.kind == EndpointKind::Workload;
  bool is_node_end = c.kind == EndpointKind::Host || c.kind == EndpointKind::RemoteNode;
  auto labels = [&](const std::vector<KeyDomain>& keys, const std::vector<z3::expr>& has,
                    const std::vector<z3::expr>& val, const Labels& l, bool labelled) {
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = l.find(keys[i].key);
      // The interpreter reads pod labels of workloads and Node labels of nodes only.
      bool present = labelled && it != l.end();
      x.push_back(present ? has[i] : !has[i]);
      x.push_back(val[i] == bv(present ? keys[i].index_of(it->second) : 0, keys[i].bits()));
    }
  };
  Labels ns_labels = c.ns_labels;
  if (!c.ns.empty()) ns_labels.emplace(kNamespaceNameLabel, c.ns);
  labels(d_.ns_keys, e.ns_has, e.ns_val, ns_labels, workload);
  labels(d_.pod_keys, e.pod_has, e.pod_val, c.labels, workload || is_node_end);
  x.push_back(ip ? e.has_ip : !e.has_ip);
  x.push_back(e.v6 == ctx_.bool_val(ip && ip->v6));
  if (ip && !ip->v6) {
    x.push_back(e.ip4 == bv(ip->v4_host_order(), 32));
  } else if (ip) {
    for (unsigned q = 0; q < 4; ++q) {
      uint32_t w = uint32_t(ip->bytes[4 * q]) << 24 | uint32_t(ip->bytes[4 * q + 1]) << 16 |
                   uint32_t(ip->bytes[4 * q + 2]) << 8 | ip->bytes[4 * q + 3];
      x.push_back(e.ip6.extract(127 - 32 * q, 96 - 32 * q) == bv(w, 32));
    }
  }
  std::vector<bool> classes(e.dns.size(), false);
  for (const std::string& n : c.dns_names)
    if (auto k = d_.find_class(n); k && *k < classes.size()) classes[*k] = true;
  for (size_t i = 0; i < e.dns.size(); ++i) x.push_back(classes[i] ? e.dns[i] : !e.dns[i]);
  for (size_t i = 0; i < d_.port_names.size(); ++i) {
    const NamedPort* np = nullptr;
    for (const NamedPort& p : c.ports)
      if (p.name == d_.port_names[i]) {
        np = &p;
        break;
      }
    x.push_back(np ? e.np_has[i] : !e.np_has[i]);
    x.push_back(e.np_proto[i] == bv(np ? static_cast<unsigned>(np->proto) : 0, 8));
    x.push_back(e.np_port[i] == bv(np ? np->port : 0, 16));
  }
  return all_of(ctx_, x);
}

z3::expr Encoder::pin_proto_port(const SymFlow& f, Protocol proto, uint16_t port) {
  return f.proto == bv(static_cast<unsigned>(proto), 8) && f.port == bv(port, 16);
}

z3::expr Encoder::label_req(const std::vector<z3::expr>& has, const std::vector<z3::expr>& val,
                            const std::vector<KeyDomain>& keys, std::optional<size_t> key,
                            const LabelRequirement& r) {
  using Op = LabelRequirement::Op;
  if (!key) return ctx_.bool_val(r.op == Op::NotIn || r.op == Op::DoesNotExist);  // key never set
  size_t k = *key;
  auto listed = [&] {
    z3::expr_vector alts(ctx_);
    for (const std::string& v : r.values) {
      unsigned idx = keys[k].index_of(v);
      if (idx < keys[k].values.size()) alts.push_back(val[k] == bv(idx, keys[k].bits()));
    }
    return has[k] && any_of(ctx_, alts);
  };
  switch (r.op) {
  case Op::In: return listed();
  case Op::NotIn: return !listed();  // also holds when the key is absent (Kubernetes)
  case Op::Exists: return has[k];
  case Op::DoesNotExist: return !has[k];
  }
  return ctx_.bool_val(false);
}

z3::expr Encoder::label_selector(const SymEndpoint& e, const LabelSelector& s, bool ns_side) {
  z3::expr_vector c(ctx_);
  for (const LabelRequirement& r : s.reqs) {
    if (ns_side)
      c.push_back(label_req(e.ns_has, e.ns_val, d_.ns_keys, d_.ns_key(r.key), r));
    else
      c.push_back(label_req(e.pod_has, e.pod_val, d_.pod_keys, d_.pod_key(r.key), r));
  }
  return all_of(ctx_, c);
}

z3::expr Encoder::endpoint_selector(const SymEndpoint& e, const EndpointSelector& s) {
  return is_kind(e, EndpointKind::Workload) && label_selector(e, s.namespaces, true) && label_selector(e, s.pods, false);
}

z3::expr Encoder::cidr(const SymEndpoint& e, const IpPrefix& p) {
  z3::expr_vector c(ctx_);
  c.push_back(p.addr.v6 ? e.v6 : !e.v6);
  if (!p.addr.v6) {
    if (p.len > 0)
      c.push_back(e.ip4.extract(31, 32 - p.len) == bv(p.addr.v4_host_order() >> (32 - p.len), p.len));
  } else {
    for (unsigned q = 0; q < 4 && 32 * q < p.len; ++q) {
      uint32_t w = uint32_t(p.addr.bytes[4 * q]) << 24 | uint32_t(p.addr.bytes[4 * q + 1]) << 16 |
                   uint32_t(p.addr.bytes[4 * q + 2]) << 8 | p.addr.bytes[4 * q + 3];
      unsigned k = std::min(32u, p.len - 32 * q);  // prefix bits in this word
      c.push_back(e.ip6.extract(127 - 32 * q, 128 - 32 * q - k) == bv(uint64_t(w) >> (32 - k), k));
    }
  }
  return all_of(ctx_, c);
}

z3::expr Encoder::peer(const SymEndpoint& r, const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Any: return ctx_.bool_val(true);
  case Peer::Kind::Endpoints: return endpoint_selector(r, p.endpoints);
  case Peer::Kind::Cidr: {
    z3::expr_vector ex(ctx_);
    for (const IpPrefix& e : p.except) ex.push_back(cidr(r, e));
    z3::expr kind = p.cidr_any_address ? ctx_.bool_val(true) : is_kind(r, EndpointKind::External);
    return kind && r.has_ip && cidr(r, p.cidr) && !any_of(ctx_, ex);
  }
  case Peer::Kind::Entity: {
    auto k = [&](EndpointKind kind) { return is_kind(r, kind); };
    switch (p.entity) {
    case Entity::World: return k(EndpointKind::External);
    case Entity::Cluster: return !k(EndpointKind::External);
    case Entity::Host: return k(EndpointKind::Host);
    case Entity::RemoteNode: return k(EndpointKind::RemoteNode);
    case Entity::KubeApiserver: return k(EndpointKind::KubeApiserver);
    case Entity::All: return ctx_.bool_val(true);
    default: return ctx_.bool_val(false);  // init, health, unmanaged, ingress: not modelled
    }
  }
  case Peer::Kind::Nodes: return is_node(r) && label_selector(r, p.nodes, false);
  case Peer::Kind::Fqdn: {
    auto idx = d_.fqdn(p.fqdn);
    z3::expr_vector alts(ctx_);
    if (idx)
      for (size_t c = 0; c < d_.names.classes.size(); ++c) {
        const auto& m = d_.names.classes[c].matches;
        if (std::binary_search(m.begin(), m.end(), static_cast<uint32_t>(*idx))) alts.push_back(r.dns[c]);
      }
    return is_kind(r, EndpointKind::External) && any_of(ctx_, alts);
  }
  }
  return ctx_.bool_val(false);
}

z3::expr Encoder::protocol_is(const SymFlow& f, Protocol p) { return f.proto == bv(static_cast<unsigned>(p), 8); }

z3::expr Encoder::ports(const std::vector<PortMatch>& ports, const SymFlow& f) {
  if (ports.empty()) return ctx_.bool_val(true);
  z3::expr_vector alts(ctx_);
  for (const PortMatch& pm : ports) {
    z3::expr covers = pm.proto == Protocol::Any
                          ? (protocol_is(f, Protocol::TCP) || protocol_is(f, Protocol::UDP) || protocol_is(f, Protocol::SCTP))
                          : protocol_is(f, pm.proto);
    if (pm.name.empty()) {
      z3::expr_vector c(ctx_);
      c.push_back(covers);
      if (pm.lo > 0) c.push_back(z3::uge(f.port, bv(pm.lo, 16)));
      if (pm.hi < 65535) c.push_back(z3::ule(f.port, bv(pm.hi, 16)));
      alts.push_back(all_of(ctx_, c));
    } else if (auto i = d_.port_name(pm.name)) {
      alts.push_back(covers && f.dst.np_has[*i] && f.dst.np_proto[*i] == f.proto && f.dst.np_port[*i] == f.port);
    }
  }
  return any_of(ctx_, alts);
}

z3::expr Encoder::self(const SymFlow& f) { return f.src.ident == f.dst.ident; }

z3::expr Encoder::neighbour_discovery(const SymFlow& f) {
  // ir/interp.cpp is_neighbour_discovery: ICMPv6 types 133..137 (RFC 4861).
  return protocol_is(f, Protocol::ICMPv6) && z3::uge(f.port, bv(kNdpFirstType, 16)) &&
         z3::ule(f.port, bv(kNdpLastType, 16));
}

z3::expr Encoder::implicit(const SymFlow& f) {
  z3::expr same_node = f.src.node == bv(0, kNodeBits) || f.dst.node == bv(0, kNodeBits) || f.src.node == f.dst.node;
  return self(f) || neighbour_discovery(f) ||
         (is_kind(f.src, EndpointKind::Host) && is_kind(f.dst, EndpointKind::Workload) && same_node);
}

z3::expr Encoder::rule_match(const Rule& r, const SymFlow& f) {
  return endpoint_selector(local(f, r.dir), r.subject) && peer(remote(f, r.dir), r.peer) && ports(r.ports, f);
}

std::vector<Encoder::SubjectGroup> Encoder::group(const Module& m, const std::vector<uint32_t>* ids, Direction dir,
                                                  Action a, const RuleFilter* filter) {
  std::vector<SubjectGroup> out;
  std::unordered_map<std::string, size_t> by_subject;
  std::vector<std::unordered_map<std::string, size_t>> by_peer;
  size_t n = ids ? ids->size() : m.rules.size();
  for (size_t i = 0; i < n; ++i) {
    const Rule& r = m.rules[ids ? (*ids)[i] : i];
    if (r.dir != dir || r.action != a) continue;
    if (filter && !filter->accepts(dir, r.subject)) continue;
    // Keys, not printed forms: printing every rule's selectors was most of a 100,000-rule
    // module's grouping, and the keys cannot make two different selectors read alike.
    auto [s, fresh] = by_subject.emplace(selector_key(r.subject), out.size());
    if (fresh) {
      out.push_back(SubjectGroup{&r.subject, {}});
      by_peer.emplace_back();
    }
    SubjectGroup& g = out[s->second];
    std::string peer_key =
        r.peer.kind == Peer::Kind::Endpoints ? "endpoints " + selector_key(r.peer.endpoints) : print_peer(r.peer);
    auto [p, pfresh] = by_peer[s->second].emplace(std::move(peer_key), g.peers.size());
    if (pfresh) g.peers.push_back(PeerGroup{&r.peer, {}});
    g.peers[p->second].rules.push_back(&r);
  }
  return out;
}

const std::vector<Encoder::SubjectGroup>& Encoder::groups(const Module& m, Direction dir, Action a) {
  auto key = std::make_tuple(&m, static_cast<int>(dir), static_cast<int>(a));
  auto it = groups_.find(key);
  if (it != groups_.end()) return it->second;
  return groups_.emplace(key, group(m, nullptr, dir, a, nullptr)).first->second;
}

z3::expr Encoder::any_rule(const Module& m, Direction dir, Action a, const SymFlow& f, const RuleFilter& filter) {
  const SymEndpoint& l = local(f, dir);
  const SymEndpoint& r = remote(f, dir);
  z3::expr_vector subjects(ctx_);
  std::vector<SubjectGroup> picked;
  if (filter.rule_ids && filter.group_ids) picked = group(m, filter.rule_ids, dir, a, &filter);
  else if (filter.rule_ids) {
    for (uint32_t id : *filter.rule_ids) {
      const Rule& rule = m.rules[id];
      if (rule.dir != dir || rule.action != a || static_cast<int64_t>(id) == filter.skip_rule) continue;
      if (!filter.accepts(dir, rule.subject) || !filter.accepts_peer(dir, rule.peer)) continue;
      subjects.push_back(rule_match(rule, f));
    }
    return any_of(ctx_, subjects);
  }
  for (const SubjectGroup& g : filter.rule_ids ? picked : groups(m, dir, a)) {
    if (!filter.accepts(dir, *g.subject)) continue;
    z3::expr_vector peers(ctx_);
    for (const PeerGroup& pg : g.peers) {
      if (!filter.accepts_peer(dir, *pg.peer)) continue;
      z3::expr_vector ports_alts(ctx_);
      for (const Rule* rule : pg.rules) {
        if (static_cast<int64_t>(rule->id) == filter.skip_rule) continue;
        if (rule->ports.empty()) {
          ports_alts = z3::expr_vector(ctx_);
          ports_alts.push_back(ctx_.bool_val(true));
          break;
        }
        ports_alts.push_back(ports(rule->ports, f));
      }
      if (ports_alts.empty()) continue;
      peers.push_back(peer(r, *pg.peer) && any_of(ctx_, ports_alts));
    }
    if (peers.empty()) continue;
    subjects.push_back(endpoint_selector(l, *g.subject) && any_of(ctx_, peers));
  }
  return any_of(ctx_, subjects);
}

z3::expr Encoder::isolated(const Module& m, Direction dir, const SymEndpoint& l, const RuleFilter& filter) {
  z3::expr_vector alts(ctx_);
  std::unordered_map<std::string, bool> seen;
  auto add = [&](const Isolation& iso) {
    if (iso.dir != dir || !filter.accepts(dir, iso.subject)) return;
    if (!seen.emplace(print_endpoint_selector(iso.subject), true).second) return;
    alts.push_back(endpoint_selector(l, iso.subject));
  };
  if (filter.isolation_ids)
    for (uint32_t i : *filter.isolation_ids) add(m.isolations[i]);
  else
    for (const Isolation& iso : m.isolations) add(iso);
  return any_of(ctx_, alts);
}

z3::expr Encoder::first_match(const std::vector<Rule>& rules, Direction dir, const SymFlow& f,
                               const RuleFilter& filter, const z3::expr& pass, const z3::expr& none) {
  // ir/interp.cpp first_match: the first matching rule decides, so the chain is built from
  // the last rule up: ite(match_0, verdict_0, ite(match_1, verdict_1, ... none)).
  z3::expr out = none;
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const Rule& r = *it;
    if (r.dir != dir || !filter.accepts(dir, r.subject) || !filter.accepts_peer(dir, r.peer)) continue;
    z3::expr verdict = r.action == Action::Allow ? ctx_.bool_val(true) : r.action == Action::Deny ? ctx_.bool_val(false) : pass;
    out = z3::ite(rule_match(r, f), verdict, out);
  }
  return out;
}

z3::expr Encoder::direction_ok(const Module& m, Direction dir, const SymFlow& f, const RuleFilter& filter) {
  const SymEndpoint& l = local(f, dir);
  z3::expr deny = any_rule(m, dir, Action::Deny, f, filter);
  z3::expr allow = any_rule(m, dir, Action::Allow, f, filter);
  z3::expr iso = isolated(m, dir, l, filter);
  // Without the admin tiers, exactly the terms built before they existed: Z3's models (and
  // so the witnesses in goldens) depend on which terms the context has seen.
  if (!m.has_admin_tiers()) return !is_kind(l, EndpointKind::Workload) || (!deny && (!iso || allow));
  // The tiers of ir.h Tier, as ir/interp.cpp decide() reads them: the baseline tier decides
  // only where no policy isolates (default allow), the admin tier before everything (Pass:
  // the policy tier's verdict).
  z3::expr baseline = first_match(m.baseline_rules, dir, f, filter, ctx_.bool_val(true), ctx_.bool_val(true));
  z3::expr policy = !deny && z3::ite(iso, allow, baseline);
  z3::expr verdict = first_match(m.admin_rules, dir, f, filter, policy, policy);
  return !is_kind(l, EndpointKind::Workload) || verdict;
}

z3::expr Encoder::allowed(const Module& m, const SymFlow& f, const RuleFilter& filter) {
  return implicit(f) || (direction_ok(m, Direction::Egress, f, filter) && direction_ok(m, Direction::Ingress, f, filter));
}

} // namespace moat::verify
