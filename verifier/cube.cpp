// Cube construction, generalization and rendering (see cube.h).
#include "verifier/cube.h"

#include <algorithm>

#include <fmt/format.h>

namespace moat::verify {

namespace {

const SymEndpoint& end_of(const SymFlow& f, int end) { return end == 0 ? f.src : f.dst; }

z3::expr same_node(Encoder& enc, const SymFlow& f) {
  return f.src.node == enc.bv(0, 16) || f.dst.node == enc.bv(0, 16) || f.src.node == f.dst.node;
}

Literal lit(Literal::Kind kind, int end = -1, size_t index = 0, bool flag = false) {
  Literal l;
  l.kind = kind;
  l.end = end;
  l.index = index;
  l.flag = flag;
  return l;
}

IpPrefix prefix_of(const Literal& l) {
  IpPrefix p;
  p.addr = l.v6 ? IpAddr{} : IpAddr::v4(static_cast<uint32_t>(l.ip[0]));
  if (l.v6) {
    p.addr.v6 = true;
    for (unsigned b = 0; b < 8; ++b) {
      p.addr.bytes[b] = static_cast<uint8_t>(l.ip[0] >> (56 - 8 * b));
      p.addr.bytes[8 + b] = static_cast<uint8_t>(l.ip[1] >> (56 - 8 * b));
    }
  }
  p.len = static_cast<uint8_t>(l.prefix);
  for (unsigned i = p.len; i < p.addr.bits(); ++i) p.addr.bytes[i / 8] &= ~(1u << (7 - i % 8));
  return p;
}

void set_address(Literal& l, const IpAddr& a) {
  l.ip[0] = l.ip[1] = 0;
  if (!a.v6) {
    l.ip[0] = a.v4_host_order();
    return;
  }
  for (unsigned b = 0; b < 8; ++b) {
    l.ip[0] = l.ip[0] << 8 | a.bytes[b];
    l.ip[1] = l.ip[1] << 8 | a.bytes[8 + b];
  }
}

std::string proto_name(uint64_t v) {
  switch (v) {
  case 1: return "icmp";
  case 6: return "tcp";
  case 17: return "udp";
  case 58: return "icmpv6";
  case 132: return "sctp";
  }
  return fmt::format("proto {}", v);
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + xs[i];
  return out;
}

/// A label literal as selector text: "k: v", "k in [..]", "k notin [..]", "k", "!k".
std::string label_text(const KeyDomain& k, const Literal& l, bool always_present = false) {
  const std::vector<bool>& a = l.allowed;
  size_t n = k.values.size();
  bool absent = a[k.size()] && !always_present;
  bool fresh = false;
  std::vector<std::string> in, out;
  for (size_t i = 0; i < k.size(); ++i) {
    if (i >= n) fresh = fresh || a[i];
    else (a[i] ? in : out).push_back(k.values[i]);
  }
  if (!fresh && in.empty()) return "!" + k.key;
  if (!fresh && !absent) return in.size() == 1 ? k.key + ": " + in[0] : k.key + " in [" + join(in) + "]";
  if (fresh && absent) return k.key + " notin [" + join(out) + "]";  // NotIn also holds when absent
  if (fresh && always_present) return out.empty() ? k.key : k.key + " notin [" + join(out) + "]";
  if (fresh) return out.empty() ? k.key : k.key + ", " + k.key + " notin [" + join(out) + "]";
  return "!" + k.key + " or " + k.key + " in [" + join(in) + "]";
}

std::vector<bool> point_set(const KeyDomain& k, bool has, uint64_t val) {
  std::vector<bool> a(k.size() + 1, false);
  a[has ? val : k.size()] = true;
  // Values no selector mentions are interchangeable: allow them as a group.
  if (has && val >= k.values.size())
    for (size_t i = k.values.size(); i < k.size(); ++i) a[i] = true;
  return a;
}

/// Binary search for the least v in [lo, hi] where `holds(v)`; `holds` is monotone
/// (false ... false true ... true) and true at hi.
template <typename Holds>
uint64_t least_holding(uint64_t lo, uint64_t hi, Holds holds) {
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (holds(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

/// The greatest v in [lo, hi] where `holds(v)`; monotone the other way, true at lo.
template <typename Holds>
uint64_t greatest_holding(uint64_t lo, uint64_t hi, Holds holds) {
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    if (holds(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

} // namespace

Cube Cube::point(Session& s, const SymFlow& f, const z3::model& m) {
  Cube c;
  const Domain& d = s.domain();
  for (int end = 0; end < 2; ++end) {
    const SymEndpoint& e = end_of(f, end);
    Literal k = lit(Literal::Kind::EndKind, end);
    k.value = eval_u64(m, e.kind);
    c.lits_.push_back(k);
    auto kind = static_cast<EndpointKind>(k.value);
    if (kind == EndpointKind::Workload) {
      for (size_t i = 0; i < d.ns_keys.size(); ++i) {
        Literal l = lit(Literal::Kind::NsLabel, end, i, eval_bool(m, e.ns_has[i]));
        l.value = l.flag ? eval_u64(m, e.ns_val[i]) : 0;
        l.allowed = point_set(d.ns_keys[i], l.flag, l.value);
        c.lits_.push_back(l);
      }
    }
    // Pod labels, or a node's Node labels (`nodes` peers tell nodes apart by them).
    if (kind == EndpointKind::Workload || kind == EndpointKind::Host || kind == EndpointKind::RemoteNode)
      for (size_t i = 0; i < d.pod_keys.size(); ++i) {
        Literal l = lit(Literal::Kind::PodLabel, end, i, eval_bool(m, e.pod_has[i]));
        l.value = l.flag ? eval_u64(m, e.pod_val[i]) : 0;
        l.allowed = point_set(d.pod_keys[i], l.flag, l.value);
        c.lits_.push_back(l);
      }
    if (kind == EndpointKind::Workload) {
      if (end == 1)  // named ports resolve at the destination only
        for (size_t i = 0; i < d.port_names.size(); ++i) {
          Literal l = lit(Literal::Kind::NamedPort, end, i, eval_bool(m, e.np_has[i]));
          if (l.flag) l.value = eval_u64(m, e.np_proto[i]), l.value2 = eval_u64(m, e.np_port[i]);
          c.lits_.push_back(l);
          // "The flow goes to the destination's port named N", whatever its number.
          if (l.flag && eval_bool(m, e.np_proto[i] == f.proto && e.np_port[i] == f.port))
            c.lits_.push_back(lit(Literal::Kind::NamedPortHit, end, i, true));
        }
    }
    if (kind == EndpointKind::External) {
      if (eval_bool(m, e.has_ip)) {
        Literal l = lit(Literal::Kind::Ip, end);
        l.v6 = eval_bool(m, e.v6);
        l.prefix = l.v6 ? 128 : 32;
        if (l.v6) {
          l.ip[0] = eval_u64(m, e.ip6.extract(127, 64));
          l.ip[1] = eval_u64(m, e.ip6.extract(63, 0));
        } else {
          l.ip[0] = eval_u64(m, e.ip4);
        }
        c.lits_.push_back(l);
      }
      for (size_t i = 0; i < e.dns.size(); ++i) c.lits_.push_back(lit(Literal::Kind::Dns, end, i, eval_bool(m, e.dns[i])));
    }
  }
  c.lits_.push_back(lit(Literal::Kind::Self, -1, 0, eval_bool(m, s.enc().self(f))));
  c.lits_.push_back(lit(Literal::Kind::SameNode, -1, 0, eval_bool(m, same_node(s.enc(), f))));
  Literal proto = lit(Literal::Kind::Proto);
  proto.value = eval_u64(m, f.proto);
  c.lits_.push_back(proto);
  uint64_t port = eval_u64(m, f.port);
  Literal lo = lit(Literal::Kind::PortLo), hi = lit(Literal::Kind::PortHi);
  lo.value = hi.value = port;
  c.lits_.push_back(lo);
  c.lits_.push_back(hi);
  return c;
}

z3::expr Cube::literal(Session& s, const SymFlow& f, const Literal& l) const {
  Encoder& enc = s.enc();
  const Domain& d = s.domain();
  switch (l.kind) {
  case Literal::Kind::EndKind: return end_of(f, l.end).kind == enc.bv(l.value, 3);
  case Literal::Kind::NsLabel:
  case Literal::Kind::PodLabel: {
    bool ns = l.kind == Literal::Kind::NsLabel;
    const SymEndpoint& e = end_of(f, l.end);
    const z3::expr& has = ns ? e.ns_has[l.index] : e.pod_has[l.index];
    const z3::expr& val = ns ? e.ns_val[l.index] : e.pod_val[l.index];
    const KeyDomain& k = ns ? d.ns_keys[l.index] : d.pod_keys[l.index];
    z3::expr_vector alts(s.ctx());
    for (size_t i = 0; i < k.size(); ++i)
      if (l.allowed[i]) alts.push_back(val == enc.bv(i, k.bits()));
    z3::expr present = alts.empty() ? s.ctx().bool_val(false) : has && z3::mk_or(alts);
    return l.allowed[k.size()] ? (!has || present) : present;
  }
  case Literal::Kind::NamedPort: {
    const SymEndpoint& e = end_of(f, l.end);
    if (!l.flag) return !e.np_has[l.index];
    return e.np_has[l.index] && e.np_proto[l.index] == enc.bv(l.value, 8) && e.np_port[l.index] == enc.bv(l.value2, 16);
  }
  case Literal::Kind::NamedPortHit: {
    const SymEndpoint& e = end_of(f, l.end);
    return e.np_has[l.index] && e.np_proto[l.index] == f.proto && e.np_port[l.index] == f.port;
  }
  case Literal::Kind::Ip: {
    z3::expr in = enc.cidr(end_of(f, l.end), prefix_of(l));
    for (const IpPrefix& h : l.except) in = in && !enc.cidr(end_of(f, l.end), h);
    return in;
  }
  case Literal::Kind::Dns: return l.flag ? end_of(f, l.end).dns[l.index] : !end_of(f, l.end).dns[l.index];
  case Literal::Kind::Self: return l.flag ? enc.self(f) : !enc.self(f);
  case Literal::Kind::SameNode: return l.flag ? same_node(enc, f) : !same_node(enc, f);
  case Literal::Kind::Proto: return f.proto == enc.bv(l.value, 8);
  case Literal::Kind::PortLo: return z3::uge(f.port, enc.bv(l.value, 16));
  case Literal::Kind::PortHi: return z3::ule(f.port, enc.bv(l.value, 16));
  }
  return s.ctx().bool_val(true);
}

z3::expr Cube::expr(Session& s, const SymFlow& f) const {
  z3::expr_vector xs(s.ctx());
  for (const Literal& l : lits_) xs.push_back(literal(s, f, l));
  return xs.empty() ? s.ctx().bool_val(true) : z3::mk_and(xs);
}

z3::expr Cube::mark(Session& s, const z3::expr& literal) {
  auto it = marks_.find(literal.id());
  if (it != marks_.end()) return it->second;
  z3::expr p = s.ctx().bool_const(fmt::format("cube!{}", marks_.size()).c_str());
  solver_->add(z3::implies(p, literal));
  marks_.emplace(literal.id(), p);
  return p;
}

bool Cube::implied(Session& s, const SymFlow& f, const z3::expr& not_target) {
  if (!solver_) return s.check(expr(s, f) && not_target).result == z3::unsat;
  z3::expr_vector assumed(s.ctx());
  for (const Literal& l : lits_) assumed.push_back(mark(s, literal(s, f, l)));
  return s.check_assuming(*solver_, assumed).result == z3::unsat;
}

void Cube::generalize(Session& s, const SymFlow& f, const z3::expr& target, const std::vector<IpPrefix>& prefixes,
                      bool own_solver) {
  z3::expr not_target = !target;
  const std::vector<Literal> point = lits_;
  // own_solver: ¬target holds for every query below, on a solver of the cube's own (dropped
  // on return, with the marks). Otherwise each query pushes ¬target on the session's solver.
  if (own_solver) {
    solver_ = s.fork();
    solver_->add(not_target);
  }
  struct Drop {
    Cube& c;
    ~Drop() {
      c.marks_.clear();
      c.solver_.reset();
    }
  } drop{*this};
  // 1. Unsat core: keep only the literals the solver needed to exclude ¬target.
  {
    z3::solver& solver = solver_ ? *solver_ : s.solver();
    if (!solver_) {
      solver.push();
      solver.add(not_target);
    }
    z3::expr_vector marks(s.ctx());
    for (size_t i = 0; i < lits_.size(); ++i) {
      if (solver_) {
        marks.push_back(mark(s, literal(s, f, lits_[i])));
        continue;
      }
      z3::expr p = s.ctx().bool_const(fmt::format("cube!{}", i).c_str());
      solver.add(z3::implies(p, literal(s, f, lits_[i])));
      marks.push_back(p);
    }
    z3::check_result r = solver.check(marks);
    if (r == z3::unsat) {
      z3::expr_vector core = solver.unsat_core();
      std::vector<Literal> kept;
      for (size_t i = 0; i < lits_.size(); ++i) {
        bool in = false;
        for (unsigned j = 0; j < core.size() && !in; ++j) in = z3::eq(core[j], marks[i]);
        if (in) kept.push_back(lits_[i]);
      }
      lits_ = std::move(kept);
    }
    if (!solver_) solver.pop();
    if (r != z3::unsat) return;  // unknown: the point cube is still a correct (small) cube
    // Adding point literals back keeps the cube inside the target. Put back the ones that
    // make readable cubes: the protocol of a port bound, and "to the named port" (which
    // then lets the absolute port and named-port numbers go).
    // The protocol and port bounds always come back: they are widened below, and a cube
    // that leaves them to other literals (a named port's number) fragments into one cube
    // per number.
    for (const Literal& l : point) {
      bool has = std::any_of(lits_.begin(), lits_.end(), [&](const Literal& k) { return k.kind == l.kind && k.index == l.index && k.end == l.end; });
      if (has) continue;
      if (l.kind == Literal::Kind::Proto || l.kind == Literal::Kind::PortLo || l.kind == Literal::Kind::PortHi ||
          l.kind == Literal::Kind::NamedPortHit)
        lits_.insert(lits_.begin(), l);
    }
  }
  // 2. Drop literals one at a time (cores are not minimal). Bounds are widened below.
  for (size_t i = 0; i < lits_.size();) {
    // The protocol goes last (below): ports are widened within their protocol first, so
    // cubes read "tcp any port" and "icmp type 4..255" rather than mixing protocols.
    if (lits_[i].kind == Literal::Kind::PortLo || lits_[i].kind == Literal::Kind::PortHi ||
        lits_[i].kind == Literal::Kind::Proto || lits_[i].kind == Literal::Kind::NamedPortHit) {
      ++i;
      continue;
    }
    Literal saved = lits_[i];
    lits_.erase(lits_.begin() + i);
    if (implied(s, f, not_target)) continue;
    // A label may still generalize to a larger set of values: add them one by one (values
    // no selector mentions as one group), for domains small enough to enumerate.
    if (saved.kind == Literal::Kind::NsLabel || saved.kind == Literal::Kind::PodLabel) {
      const KeyDomain& k = saved.kind == Literal::Kind::NsLabel ? s.domain().ns_keys[saved.index]
                                                                  : s.domain().pod_keys[saved.index];
      lits_.insert(lits_.begin() + i, saved);
      if (k.size() <= 16) {
        for (size_t v = 0; v <= k.values.size(); ++v) {
          size_t idx = v == k.values.size() ? k.size() : v;  // the last step tries "absent"
          std::vector<bool> before = lits_[i].allowed;
          if (before[idx]) continue;
          lits_[i].allowed[idx] = true;
          if (!implied(s, f, not_target)) lits_[i].allowed = before;
        }
        bool fresh_in = lits_[i].allowed[k.values.size()];
        if (!fresh_in) {
          std::vector<bool> before = lits_[i].allowed;
          for (size_t x = k.values.size(); x < k.size(); ++x) lits_[i].allowed[x] = true;
          if (!implied(s, f, not_target)) lits_[i].allowed = before;
        }
      }
      ++i;
      continue;
    }
    lits_.insert(lits_.begin() + i, saved);
    ++i;
  }
  // 3. Widen: the shortest address prefix, the lowest and highest port still inside.
  for (size_t i = 0; i < lits_.size(); ++i) {
    Literal::Kind kind = lits_[i].kind;
    if (kind == Literal::Kind::Ip) {
      widen_ip(s, f, not_target, i, prefixes);
    } else if (kind == Literal::Kind::PortLo || kind == Literal::Kind::PortHi) {
      auto holds = [&](uint64_t v) {
        lits_[i].value = v;
        return implied(s, f, not_target);
      };
      lits_[i].value = kind == Literal::Kind::PortLo ? least_holding(0, lits_[i].value, holds)
                                                     : greatest_holding(lits_[i].value, 65535, holds);
    }
  }
  // Bounds that reach the ends of the range say nothing.
  // (Transport ports start at 1: a lower bound of 1 under tcp/udp/sctp is no bound.)
  bool transport = std::any_of(lits_.begin(), lits_.end(), [](const Literal& l) {
    return l.kind == Literal::Kind::Proto && (l.value == 6 || l.value == 17 || l.value == 132);
  });
  std::erase_if(lits_, [&](const Literal& l) {
    return (l.kind == Literal::Kind::PortLo && (l.value == 0 || (transport && l.value == 1))) ||
           (l.kind == Literal::Kind::PortHi && l.value == 65535);
  });
  // 4. Every port of the protocol: maybe every protocol.
  bool bounded = std::any_of(lits_.begin(), lits_.end(), [](const Literal& l) {
    return l.kind == Literal::Kind::PortLo || l.kind == Literal::Kind::PortHi;
  });
  auto proto = std::find_if(lits_.begin(), lits_.end(), [](const Literal& l) { return l.kind == Literal::Kind::Proto; });
  if (!bounded && proto != lits_.end()) {
    Literal saved = *proto;
    lits_.erase(proto);
    if (!implied(s, f, not_target)) lits_.push_back(saved);
  }
}

void Cube::widen_ip(Session& s, const SymFlow& f, const z3::expr& not_target, size_t i,
                    const std::vector<IpPrefix>& prefixes) {
  // Implied at the current length: find the least implied length.
  unsigned len = static_cast<unsigned>(least_holding(0, lits_[i].prefix, [&](uint64_t v) {
    lits_[i].prefix = static_cast<unsigned>(v);
    return implied(s, f, not_target);
  }));
  lits_[i].prefix = len;
  if (len == 0) return;
  // A policy prefix around this block, minus the policy prefixes inside it that are not
  // entirely in the target (at most four holes): the largest such block wins.
  IpPrefix block = prefix_of(lits_[i]);
  const IpPrefix* best = nullptr;
  std::vector<IpPrefix> best_holes;
  for (const IpPrefix& p : prefixes) {
    if (!p.contains(block) || p.len >= block.len || (best && p.len >= best->len)) continue;
    std::vector<IpPrefix> holes;
    Literal saved = lits_[i];
    for (const IpPrefix& h : prefixes) {
      if (!p.contains(h) || h.len <= p.len || h.contains(block) || block.contains(h)) continue;
      bool covered = std::any_of(holes.begin(), holes.end(), [&](const IpPrefix& o) { return o.contains(h); });
      if (covered) continue;
      lits_[i] = saved;
      lits_[i].prefix = h.len;
      lits_[i].v6 = h.addr.v6;
      set_address(lits_[i], h.addr);
      bool inside = implied(s, f, not_target);
      lits_[i] = saved;
      if (!inside) holes.push_back(h);
    }
    if (holes.size() > 4) continue;
    lits_[i].prefix = p.len;
    lits_[i].except = holes;
    if (implied(s, f, not_target)) {
      best = &p;
      best_holes = holes;
    }
    lits_[i] = saved;
  }
  if (best) {
    lits_[i].prefix = best->len;
    lits_[i].except = best_holes;
  }
}

std::string Cube::end_text(const Domain& d, int end) const {
  const Literal* kind = nullptr;
  std::vector<std::string> ns, pod, ports, extra;
  std::string ns_name, ip;
  bool pod_absent_ok = true;  // every pod-side literal also holds where its key is absent
  for (const Literal& l : lits_) {
    if (l.end != end) continue;
    switch (l.kind) {
    case Literal::Kind::EndKind: kind = &l; break;
    case Literal::Kind::NsLabel:
      if (l.index == 0) {
        // Every namespace has a name: "absent" means nothing for this key.
        const KeyDomain& k = d.ns_keys[0];
        long named = std::count(l.allowed.begin(), l.allowed.end() - 1, true);
        if (named == 1 && l.value < k.values.size() && l.allowed[l.value]) ns_name = k.values[l.value];
        else if (named < static_cast<long>(k.size())) ns.push_back(label_text(k, l, true));
        break;
      }
      ns.push_back(label_text(d.ns_keys[l.index], l));
      break;
    case Literal::Kind::PodLabel:
      pod.push_back(label_text(d.pod_keys[l.index], l));
      pod_absent_ok = pod_absent_ok && l.allowed[d.pod_keys[l.index].size()];
      break;
    case Literal::Kind::NamedPort:
      ports.push_back(l.flag ? fmt::format("port {} = {}/{}", d.port_names[l.index], l.value2, proto_name(l.value))
                             : fmt::format("no port {}", d.port_names[l.index]));
      break;
    case Literal::Kind::NamedPortHit: ports.push_back("to its port " + d.port_names[l.index]); break;
    case Literal::Kind::Ip: {
      IpPrefix p = prefix_of(l);
      ip = p.len == 0 ? (l.v6 ? "any IPv6 address" : "any IPv4 address") : "cidr " + p.str();
      std::vector<std::string> holes;
      for (const IpPrefix& h : l.except) holes.push_back(h.str());
      if (!holes.empty()) ip += " except " + join(holes);
      break;
    }
    case Literal::Kind::Dns:
      extra.push_back(fmt::format("{} like {}", l.flag ? "named" : "not named", d.names.classes[l.index].example));
      break;
    default: break;
    }
  }
  std::string out;
  auto k = kind ? static_cast<EndpointKind>(kind->value) : EndpointKind::Workload;
  // Pod-side labels alone do not make a workload: nodes carry their Node labels on the same
  // keys (Encoder::well_formed).
  bool workload_parts = !ns.empty() || !ns_name.empty() || !ports.empty();
  if ((kind && k == EndpointKind::Workload) || (!kind && workload_parts)) {
    std::string nspart = ns_name.empty() ? (ns.empty() ? "*" : "namespace {" + join(ns) + "}")
                                         : (ns.empty() ? ns_name : ns_name + " {" + join(ns) + "}");
    out = nspart + "/" + (pod.empty() ? "*" : "{" + join(pod) + "}");
    if (!ports.empty()) out += " with " + join(ports);
  } else if (kind && k == EndpointKind::External) {
    out = ip.empty() ? "any external address" : ip;
  } else if (kind) {
    out = to_string(k);
    if ((k == EndpointKind::Host || k == EndpointKind::RemoteNode) && !pod.empty()) out += " {" + join(pod) + "}";
  } else {
    bool named = std::any_of(lits_.begin(), lits_.end(), [&](const Literal& l) {
      return l.end == end && l.kind == Literal::Kind::Dns && l.flag;
    });
    out = !ip.empty() ? ip : named ? "any external address" : "any endpoint";
    // No kind: labels on the pod-side keys are a workload's or a node's. When each
    // requirement also holds without its key (notin, !key), endpoints without labels — any
    // kind — are in the cube too; otherwise only workloads and nodes are.
    if (!pod.empty()) {
      if (!pod_absent_ok && ip.empty() && !named) out = "workload or node";
      out += " with labels {" + join(pod) + "}";
    }
  }
  if (!extra.empty()) out += " (" + join(extra) + ")";
  if (end == 1)
    for (const Literal& l : lits_) {
      if (l.kind == Literal::Kind::Self) out += l.flag ? " (itself)" : "";
      if (l.kind == Literal::Kind::SameNode) out += l.flag ? " (on the same node)" : " (on another node)";
    }
  return out;
}

std::string Cube::ports_text() const {
  const Literal *proto = nullptr, *lo = nullptr, *hi = nullptr;
  for (const Literal& l : lits_) {
    if (l.kind == Literal::Kind::Proto) proto = &l;
    if (l.kind == Literal::Kind::PortLo) lo = &l;
    if (l.kind == Literal::Kind::PortHi) hi = &l;
  }
  std::string p = proto ? proto_name(proto->value) : "any protocol";
  bool icmp = proto && (proto->value == 1 || proto->value == 58);
  uint64_t a = lo ? lo->value : 0, b = hi ? hi->value : 65535;
  if (icmp && b >= 255) b = 255;
  if (proto && !icmp && a == 0) a = 1;  // transport ports start at 1
  if ((!lo || a <= (icmp || !proto ? 0 : 1)) && (!hi || (icmp && b == 255))) return p + (icmp ? " any type" : " any port");
  std::string what = icmp ? " type " : proto ? " " : " port ";
  return a == b ? fmt::format("{}{}{}", p, what, a) : fmt::format("{}{}{}..{}", p, what, a, b);
}

} // namespace moat::verify
