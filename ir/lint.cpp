// The solver-free lints. Each is conservative: it warns only when the problem is certain
// from the syntax (W401, W402, W406, W407) or is a plain pattern (W403, W404).
#include "ir/lint.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

#include "ir/interp.h"
#include "ir/subject_index.h"

namespace moat {

namespace {

/// The values a requirement allows for its key, or nullopt when it does not pin them.
const std::vector<std::string>* pinned_values(const LabelRequirement& r) {
  return r.op == LabelRequirement::Op::In ? &r.values : nullptr;
}

bool requirements_conflict(const LabelRequirement& a, const LabelRequirement& b) {
  if (a.key != b.key) return false;
  using Op = LabelRequirement::Op;
  bool a_absent = a.op == Op::DoesNotExist, b_absent = b.op == Op::DoesNotExist;
  bool a_present = a.op == Op::In || a.op == Op::Exists;
  bool b_present = b.op == Op::In || b.op == Op::Exists;
  if ((a_absent && b_present) || (b_absent && a_present)) return true;
  const auto* av = pinned_values(a);
  const auto* bv = pinned_values(b);
  if (av && bv)
    return std::none_of(av->begin(), av->end(),
                        [&](const std::string& v) { return std::find(bv->begin(), bv->end(), v) != bv->end(); });
  auto excluded = [](const std::vector<std::string>& in, const LabelRequirement& notin) {
    return std::all_of(in.begin(), in.end(), [&](const std::string& v) {
      return std::find(notin.values.begin(), notin.values.end(), v) != notin.values.end();
    });
  };
  if (av && b.op == Op::NotIn) return excluded(*av, b);
  if (bv && a.op == Op::NotIn) return excluded(*bv, a);
  return false;
}

/// The module's isolations and rules, indexed by the namespaces their subjects pin: every
/// lint below asks about one rule's subject, and scanning all isolations or rules per rule
/// is quadratic on a cluster of many namespaces.
struct Indexes {
  const Module& m;
  const SubjectIndex &isolations, &rules;
  Indexes(const Module& mod, const ModuleIndexes& built) : m(mod), isolations(built.isolations), rules(built.rules) {}
  bool isolated_somewhere(const EndpointSelector& subject, Direction dir) const {
    for (uint32_t i : isolations.candidates(subject)) {
      const Isolation& iso = m.isolations[i];
      if (iso.dir == dir && selectors_may_overlap(iso.subject, subject)) return true;
    }
    return false;
  }
};

bool peer_is_world_wide(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Any: return true;
  case Peer::Kind::Entity: return p.entity == Entity::World || p.entity == Entity::All;
  case Peer::Kind::Cidr: return p.cidr.len == 0 && p.except.empty();
  default: return false;
  }
}

/// The cluster DNS service as the `dns` keyword and most clusters define it.
Endpoint kube_dns_endpoint() {
  Endpoint e;
  e.name = "kube-system/kube-dns";
  e.kind = EndpointKind::Workload;
  e.ns = "kube-system";
  e.ns_labels = {{kNamespaceNameLabel, "kube-system"}};
  e.labels = {{"k8s-app", "kube-dns"}};
  return e;
}

/// Does egress rule `r` (any action) possibly speak for `subject`'s DNS queries: udp/53 to
/// kube-dns?
bool about_dns(const Rule& r, const EndpointSelector& subject, const Endpoint& dns) {
  if (r.dir != Direction::Egress || !selectors_may_overlap(r.subject, subject)) return false;
  bool to_dns = r.peer.kind == Peer::Kind::Any || peer_matches(r.peer, dns) ||
                (r.peer.kind == Peer::Kind::Endpoints &&
                 selectors_may_overlap(r.peer.endpoints, EndpointSelector{
                     {{{kNamespaceNameLabel, LabelRequirement::Op::In, {"kube-system"}, {}}}, {}},
                     {{{"k8s-app", LabelRequirement::Op::In, {"kube-dns"}, {}}}, {}}, {}}));
  return to_dns && ports_match(r.ports, Protocol::UDP, 53, &dns);
}

/// The AdminNetworkPolicy Deny that decides `subject`'s DNS queries before any NetworkPolicy
/// is read: the first admin rule about DNS (evaluation order), when it denies. Its deny shadows
/// every NetworkPolicy allow of DNS, isolated or not (the tiers' order, ir/ir.h Tier).
const Rule* admin_dns_deny(const Module& m, const EndpointSelector& subject) {
  Endpoint dns = kube_dns_endpoint();
  for (const Rule& r : m.admin_rules)
    if (about_dns(r, subject, dns)) return r.action == Action::Deny ? &r : nullptr;
  return nullptr;
}

/// Can an egress allow let `subject` query DNS (udp/53 to kube-dns, or anywhere)? An
/// AdminNetworkPolicy Allow counts too (it decides before any isolation).
bool dns_allowed(const Indexes& idx, const EndpointSelector& subject) {
  if (!idx.isolated_somewhere(subject, Direction::Egress)) return true;
  Endpoint dns = kube_dns_endpoint();
  std::vector<uint32_t> cand = idx.rules.candidates(subject);
  auto reaches_dns = [&](const Rule& r) { return r.action == Action::Allow && about_dns(r, subject, dns); };
  return std::any_of(cand.begin(), cand.end(), [&](uint32_t id) { return reaches_dns(idx.m.rules[id]); }) ||
         std::any_of(idx.m.admin_rules.begin(), idx.m.admin_rules.end(), reaches_dns);
}

/// Are all of a rule's ports ICMPv6 neighbour discovery types? Such a rule decides nothing:
/// neighbour discovery is always allowed (ir/interp.cpp), so neither allow nor deny acts.
bool only_neighbour_discovery(const std::vector<PortMatch>& ports) {
  return !ports.empty() && std::all_of(ports.begin(), ports.end(), [](const PortMatch& pm) {
    return pm.proto == Protocol::ICMPv6 && pm.name.empty() && pm.lo >= kNdpFirstType && pm.hi <= kNdpLastType;
  });
}

} // namespace

bool selectors_may_overlap(const LabelSelector& a, const LabelSelector& b) {
  for (const LabelRequirement& x : a.reqs)
    for (const LabelRequirement& y : b.reqs)
      if (requirements_conflict(x, y)) return false;
  // A selector that contradicts itself matches nothing at all.
  for (size_t i = 0; i < a.reqs.size(); ++i)
    for (size_t j = i + 1; j < a.reqs.size(); ++j)
      if (requirements_conflict(a.reqs[i], a.reqs[j])) return false;
  return true;
}

bool selectors_may_overlap(const EndpointSelector& a, const EndpointSelector& b) {
  return selectors_may_overlap(a.namespaces, b.namespaces) && selectors_may_overlap(a.pods, b.pods);
}

void run_lints(const Module& m, Diagnostics& diags, const ModuleIndexes* indexes) {
  std::optional<ModuleIndexes> own;
  if (!indexes) indexes = &own.emplace(m);
  Indexes idx(m, *indexes);
  std::set<std::tuple<FileId, uint32_t, uint32_t>> l7_reported;  // one W407 per L7 section
  for (const Rule& r : m.rules) {
    if (!r.http.empty()) {
      SourceRange at = r.http.front().range.known() ? r.http.front().range : r.range;
      if (l7_reported.insert({at.file, at.line, at.col}).second)
        diags.report(Code::W407, at,
                     "L7 HTTP rule: `moat check`, `moat query` and `moat test` judge the connection and show "
                     "the HTTP condition, but `moat build` refuses it (E701): the datapath cannot enforce L7, "
                     "and moat never fails open");
    }
    if (r.action == Action::Allow && !idx.isolated_somewhere(r.subject, r.dir))
      diags.report(Code::W401, r.range,
                   std::string("this allow changes nothing: no isolation selects its subject for ") +
                       to_string(r.dir) + " (add `default deny` or a policy that isolates it)");
    if (r.peer.kind == Peer::Kind::Fqdn && r.peer.fqdn.pattern && r.peer.fqdn.value == "*")
      diags.report(Code::W403, r.peer.fqdn.range.known() ? r.peer.fqdn.range : r.range,
                   "FQDN pattern '*' matches every name: this allows all DNS-named egress");
    if (r.peer.kind == Peer::Kind::Fqdn && r.dir == Direction::Egress && r.action == Action::Allow) {
      if (const Rule* deny = admin_dns_deny(m, r.subject)) {
        Diagnostic& d = diags.report(
            Code::W402, r.range,
            "FQDN egress needs DNS: an AdminNetworkPolicy rule denies this subject's queries to kube-dns on udp "
            "53 before any NetworkPolicy allow is read (" + deny->origin + "), so the name is never resolved");
        if (deny->range.known()) d.notes.push_back({deny->range, "the admin deny that shadows the DNS allows"});
      } else if (!dns_allowed(idx, r.subject)) {
        diags.report(Code::W402, r.range,
                     "FQDN egress needs DNS: no rule lets this subject reach kube-dns on udp 53, so the "
                     "name is never resolved and learned");
      }
    }
    if (only_neighbour_discovery(r.ports))
      diags.report(Code::W406, r.range,
                   std::string("this ") + to_string(r.action) +
                       " has no effect: IPv6 neighbour discovery (icmpv6 133-137) is always allowed, "
                       "like ARP");
    if (r.action == Action::Allow && r.dir == Direction::Egress && r.ports.empty() && peer_is_world_wide(r.peer))
      diags.report(Code::W404, r.range, "allows egress to the whole internet on every port and protocol");
  }
  run_tier_lints(m, diags);
}

} // namespace moat
