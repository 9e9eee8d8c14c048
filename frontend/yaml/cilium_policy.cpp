// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2) -> isolations,
// allow rules and deny rules. Semantics follow Cilium's own code and docs:
//  - isolation ("default deny") per direction when a rule has a non-empty ingress or
//    ingressDeny (egress or egressDeny) list, unless enableDefaultDeny says otherwise:
//    https://docs.cilium.io/en/latest/security/policy/intro/ ("Policy Enforcement Modes",
//    default mode) and the CRD field doc of enableDefaultDeny ("If not specified, the
//    default is true for each traffic direction that has rules"); Cilium's Rule.Sanitize
//    computes it as len(Ingress) > 0 || len(IngressDeny) > 0, so `ingress: []` does not
//    isolate while `ingress: [{}]` does (and allows nothing).
//  - a rule item with only toPorts/icmps applies to every peer:
//    https://docs.cilium.io/en/latest/security/policy/layer4/ ("Layer 4 policy can be
//    specified ... independently" of layer 3); an item `{}` selects no peer; an explicitly
//    empty peer list (`toEndpoints: []`) selects none either.
//  - a namespaced policy's selectors without a namespace requirement are scoped to its
//    namespace, and its endpointSelector always is (pkg/k8s/apis/cilium.io/utils).
//  - two kinds of L3 peers in one item are rejected ("combining X and Y is not supported").
#include <algorithm>

#include "frontend/yaml/cilium.h"
#include "frontend/yaml/yaml_kinds.h"
#include "ir/validate.h"

namespace moat::yamlfe {

namespace {

struct Section {
  const char* key;
  Direction dir;
  Action action;
};
constexpr Section kSections[] = {
    {"ingress", Direction::Ingress, Action::Allow},
    {"ingressDeny", Direction::Ingress, Action::Deny},
    {"egress", Direction::Egress, Action::Allow},
    {"egressDeny", Direction::Egress, Action::Deny},
};

struct RuleCtx {
  CiliumScope scope;
  EndpointSelector subject;
  std::string origin;
  Module* sink;  // ctx.out, or a scratch module for rules moat cannot apply
};

/// Adds the policy's namespace to a namespaced peer selector that names none.
void scope_peer(const RuleCtx& rc, CiliumSelector& cs) {
  if (rc.scope.clusterwide || cs.has_namespace_name) return;
  cs.sel.namespaces.reqs.insert(cs.sel.namespaces.reqs.begin(), namespace_is(rc.scope.ns, cs.sel.range));
}

std::optional<Peer> cidr_peer(Ctx& ctx, const doc::Node& node, SourceRange fallback, bool set) {
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.range = range_of(ctx, node, fallback);
  doc::Node cidr_node = node;
  std::vector<doc::Node> excepts;
  std::optional<Map> m;
  if (set) {
    m.emplace(ctx, node, "a CIDRSet entry", fallback);
    if (!m->valid()) return std::nullopt;
    m->check({"cidr", "except", "cidrGroupRef", "cidrGroupSelector"});
    if (m->unmodeled("cidrGroupRef", "CiliumCIDRGroup contents are not loaded; this peer is ignored") ||
        m->unmodeled("cidrGroupSelector", "CiliumCIDRGroup contents are not loaded; this peer is ignored"))
      return std::nullopt;
    if (!m->require("cidr")) return std::nullopt;
    cidr_node = m->get("cidr");
    excepts = list_items(ctx, m->get("except"), "except", m->key_range("except"));
  }
  SourceRange cr = range_of(ctx, cidr_node, p.range);
  auto text = strict_string(ctx, cidr_node, "a CIDR", cr);
  if (!text) return std::nullopt;
  // fromCIDR also takes a bare address; CIDRSet requires address/length (CIDRRule.Validate).
  auto prefix = (!set || text->find('/') != std::string::npos) ? IpPrefix::parse(*text) : std::nullopt;
  if (!prefix) {
    ctx.diags.report(Code::E304, cr, "'" + *text + "' is not a valid CIDR" + (set ? " (address/length)" : ""));
    return std::nullopt;
  }
  p.cidr = *prefix;
  warn_host_bits(*text, *prefix, cr, ctx.diags);
  for (const doc::Node& e : excepts) {
    SourceRange er = range_of(ctx, e, m->key_range("except"));
    auto et = strict_string(ctx, e, "an except entry", er);
    if (!et) return std::nullopt;
    auto ex = et->find('/') != std::string::npos ? IpPrefix::parse(*et) : std::nullopt;
    if (!ex) {
      ctx.diags.report(Code::E304, er, "except '" + *et + "' is not a CIDR (address/length)");
      return std::nullopt;
    }
    if (!p.cidr.contains(*ex)) {
      ctx.diags.report(Code::E301, er, "except " + ex->str() + " is not inside " + p.cidr.str());
      return std::nullopt;
    }
    warn_host_bits(*et, *ex, er, ctx.diags);
    p.except.push_back(*ex);
  }
  if (!validate_cidr_except(p, ctx.diags)) return std::nullopt;
  return p;
}

std::optional<Peer> fqdn_peer(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  auto match = parse_fqdn_match(ctx, node, "a toFQDNs entry", fallback);
  if (!match) return std::nullopt;
  Peer p;
  p.kind = Peer::Kind::Fqdn;
  p.range = match->range;
  p.fqdn = std::move(*match);
  return p;
}

/// One item of ingress/ingressDeny/egress/egressDeny: peers x port groups -> IR rules.
void parse_item(Ctx& ctx, const RuleCtx& rc, const Section& sec, const doc::Node& node, SourceRange fallback) {
  bool in = sec.dir == Direction::Ingress, deny = sec.action == Action::Deny;
  std::string what = std::string("an ") + sec.key + " rule";
  Map m(ctx, node, what, fallback);
  if (!m.valid()) return;
  const char* k_endpoints = in ? "fromEndpoints" : "toEndpoints";
  const char* k_cidr = in ? "fromCIDR" : "toCIDR";
  const char* k_cidrset = in ? "fromCIDRSet" : "toCIDRSet";
  const char* k_entities = in ? "fromEntities" : "toEntities";
  const char* k_nodes = in ? "fromNodes" : "toNodes";
  const char* k_groups = in ? "fromGroups" : "toGroups";
  const char* k_requires = in ? "fromRequires" : "toRequires";
  if (in && deny)
    m.check({"fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups", "fromRequires",
             "toPorts", "icmps"});
  else if (in)
    m.check({"fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups", "fromRequires",
             "toPorts", "icmps", "authentication"});
  else if (deny)
    m.check({"toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toNodes", "toGroups", "toRequires", "toServices",
             "toPorts", "icmps"});
  else
    m.check({"toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toNodes", "toGroups", "toRequires", "toServices",
             "toFQDNs", "toPorts", "icmps", "authentication"});

  // Cilium counts non-empty lists as L3 members and allows one kind per item.
  std::vector<const char*> l3 = {k_endpoints, k_cidr, k_cidrset, k_entities, k_nodes, k_groups};
  if (!in) l3.push_back("toServices");
  std::vector<const char*> present;
  for (const char* k : l3) {
    doc::Node v = m.get(k);
    if (v.IsDefined() && v.IsSequence() && v.size() > 0) present.push_back(k);
  }
  doc::Node fq = m.get("toFQDNs");
  if (!in && fq.IsDefined() && fq.IsSequence() && fq.size() > 0 && !present.empty()) {
    ctx.diags.report(Code::E307, m.key_range("toFQDNs"),
                     std::string("toFQDNs cannot be combined with ") + present[0] +
                         " in one rule (Cilium rejects it); write a separate rule");
    return;
  }
  if (present.size() > 1) {
    ctx.diags.report(Code::E207, m.key_range(present[1]),
                     std::string("combining ") + present[0] + " and " + present[1] +
                         " in one rule is not supported by Cilium; write two rules");
    return;
  }

  auto groups = parse_cilium_ports(ctx, m, sec.dir, deny);
  bool ok = groups.has_value();

  std::vector<Peer> peers;
  bool any_l3 = false;  // a peer field with a non-null value: an empty list selects nobody
  for (const char* k : {k_endpoints, k_cidr, k_cidrset, k_entities, k_nodes, k_groups, "toServices", "toFQDNs"})
    if (m.has(k) && !is_null(m.get(k))) any_l3 = true;
  for (const doc::Node& s : list_items(ctx, m.get(k_endpoints), k_endpoints, m.key_range(k_endpoints))) {
    auto cs = parse_cilium_selector(ctx, s, std::string("a ") + k_endpoints + " selector", m.key_range(k_endpoints));
    if (!cs) {
      ok = false;
      continue;
    }
    if (cs->reserved_cidr) {
      peers.push_back(*cs->reserved_cidr);
      continue;
    }
    Peer p;
    p.range = cs->sel.range;
    if (cs->reserved) {
      p.kind = Peer::Kind::Entity;
      p.entity = *cs->reserved;
    } else {
      scope_peer(rc, *cs);
      p.kind = Peer::Kind::Endpoints;
      p.endpoints = std::move(cs->sel);
    }
    peers.push_back(std::move(p));
  }
  for (const doc::Node& c : list_items(ctx, m.get(k_cidr), k_cidr, m.key_range(k_cidr))) {
    if (auto p = cidr_peer(ctx, c, m.key_range(k_cidr), false)) peers.push_back(std::move(*p));
    else ok = false;
  }
  for (const doc::Node& c : list_items(ctx, m.get(k_cidrset), k_cidrset, m.key_range(k_cidrset))) {
    size_t errors = ctx.diags.error_count();  // an unmodeled cidrGroupRef is only a warning
    if (auto p = cidr_peer(ctx, c, m.key_range(k_cidrset), true)) peers.push_back(std::move(*p));
    else if (ctx.diags.error_count() > errors) ok = false;
  }
  for (const doc::Node& e : list_items(ctx, m.get(k_entities), k_entities, m.key_range(k_entities))) {
    size_t errors = ctx.diags.error_count();
    if (auto p = entity_peer(ctx, e, m.key_range(k_entities), rc.scope)) peers.push_back(std::move(*p));
    else if (ctx.diags.error_count() > errors) ok = false;
  }
  for (const doc::Node& f : list_items(ctx, m.get("toFQDNs"), "toFQDNs", m.key_range("toFQDNs"))) {
    if (auto p = fqdn_peer(ctx, f, m.key_range("toFQDNs"))) peers.push_back(std::move(*p));
    else ok = false;
  }
  m.unmodeled(k_nodes, "node selectors are not modeled; these node peers are ignored");
  m.unmodeled(k_groups, "cloud provider groups are not modeled; these peers are ignored");
  m.unmodeled("toServices", "service backends are not resolved; these peers are ignored");
  bool requires_ = m.unmodeled(k_requires, "requirements on peers are ignored, so other rules may allow more here");
  m.unmodeled("authentication", "mutual authentication is not verified; the rule applies without it");
  if (!ok || ctx.exhausted) return;

  auto non_empty = [&](const char* k) {
    doc::Node v = m.get(k);
    return v.IsDefined() && v.IsSequence() && v.size() > 0;
  };
  bool has_l4 = non_empty("toPorts") || non_empty("icmps");
  if (!any_l3 && !requires_ && has_l4) {
    Peer any;
    any.kind = Peer::Kind::Any;
    any.range = m.range();
    peers.push_back(any);
  }
  for (const Peer& peer : peers) {
    for (const PortGroup& g : *groups) {
      if (!ctx.spend(1, node)) return;
      Rule r;
      r.subject = rc.subject;
      r.dir = sec.dir;
      r.action = sec.action;
      r.peer = peer;
      r.ports = g.ports;
      r.http = g.http;
      r.dns = g.dns;
      r.origin = rc.origin;
      r.source = rc.scope.clusterwide ? RuleSource::CiliumClusterwideNetworkPolicy : RuleSource::CiliumNetworkPolicy;
      r.range = peer.range;
      rc.sink->add_rule(std::move(r));
    }
  }
}

/// One Cilium rule (the `spec`, or one entry of `specs`).
void parse_rule(Ctx& ctx, const ObjectMeta& meta, const CiliumScope& scope, const doc::Node& node,
                SourceRange fallback) {
  Map spec(ctx, node, meta.kind + " spec", fallback);
  if (!spec.valid()) return;
  spec.check({"endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny", "labels",
              "description", "enableDefaultDeny", "log"});
  // `endpointSelector:` with no value is a nil selector, which Cilium rejects like a missing one.
  bool has_ep = spec.has("endpointSelector") && !is_null(spec.get("endpointSelector"));
  bool has_node = spec.has("nodeSelector") && !is_null(spec.get("nodeSelector"));
  if (has_ep && has_node) {
    ctx.diags.report(Code::E207, spec.key_range("nodeSelector"), "a rule cannot have both endpointSelector and nodeSelector");
    return;
  }
  if (!has_ep && !has_node) {
    ctx.diags.report(Code::E204, spec.range(), "missing required field 'endpointSelector' (or 'nodeSelector') in " + spec.what());
    return;
  }

  RuleCtx rc;
  rc.scope = scope;
  rc.origin = origin_of(meta, !scope.clusterwide);
  Module scratch;
  rc.sink = &ctx.out;
  if (has_node) {
    // Host policies select nodes, not workloads; check them, apply nothing.
    spec.unmodeled("nodeSelector", "host policies are not modeled; this rule is checked but not applied");
    rc.sink = &scratch;
  } else {
    auto cs = parse_cilium_selector(ctx, spec.get("endpointSelector"), "endpointSelector", spec.key_range("endpointSelector"));
    if (!cs) return;
    if (cs->reserved || cs->reserved_cidr) {
      ctx.diags.report(Code::W208, spec.key_range("endpointSelector"),
                       "endpointSelector selects a reserved identity, not a workload; moat does not model policies "
                       "on it, so this rule is checked but not applied");
      rc.sink = &scratch;
    }
    if (!scope.clusterwide) {
      // Cilium always scopes a namespaced policy's subject to its own namespace, replacing
      // any namespace the selector names (with a warning in the agent log).
      auto& reqs = cs->sel.namespaces.reqs;
      auto it = std::find_if(reqs.begin(), reqs.end(), [](const LabelRequirement& r) { return r.key == kNamespaceNameLabel; });
      if (it != reqs.end()) {
        if (!(it->op == LabelRequirement::Op::In && it->values == std::vector<std::string>{scope.ns}))
          ctx.diags.report(Code::W208, it->range,
                           "a CiliumNetworkPolicy always applies in its own namespace '" + scope.ns +
                               "'; this namespace requirement is replaced, as Cilium does");
        reqs.erase(std::remove_if(reqs.begin(), reqs.end(),
                                  [](const LabelRequirement& r) { return r.key == kNamespaceNameLabel; }),
                   reqs.end());
      }
      reqs.insert(reqs.begin(), namespace_is(scope.ns, meta.name_range));
    }
    rc.subject = std::move(cs->sel);
    rc.subject.range = spec.key_range("endpointSelector");
  }

  std::optional<bool> default_deny[2];
  if (spec.has("enableDefaultDeny")) {
    Map dd(ctx, spec.get("enableDefaultDeny"), "enableDefaultDeny", spec.key_range("enableDefaultDeny"));
    dd.check({"ingress", "egress"});
    for (int d = 0; d < 2; ++d) {
      const char* k = d == 0 ? "ingress" : "egress";
      if (dd.has(k) && !is_null(dd.get(k))) default_deny[d] = scalar_bool(ctx, dd.get(k), std::string("enableDefaultDeny.") + k, dd.key_range(k));
    }
  }

  size_t counts[2] = {0, 0};
  SourceRange iso_range[2] = {rc.subject.range, rc.subject.range};
  for (const Section& sec : kSections) {
    std::vector<doc::Node> items = list_items(ctx, spec.get(sec.key), sec.key, spec.key_range(sec.key));
    int d = sec.dir == Direction::Ingress ? 0 : 1;
    if (!items.empty() && counts[d] == 0) iso_range[d] = spec.key_range(sec.key);
    counts[d] += items.size();
    for (const doc::Node& item : items)
      if (!ctx.exhausted) parse_item(ctx, rc, sec, item, spec.key_range(sec.key));
  }
  if (rc.sink != &ctx.out) return;
  for (int d = 0; d < 2; ++d) {
    bool isolate = default_deny[d].value_or(counts[d] > 0);
    if (!isolate) continue;
    Isolation iso;
    iso.subject = rc.subject;
    iso.dir = d == 0 ? Direction::Ingress : Direction::Egress;
    iso.origin = rc.origin;
    iso.range = default_deny[d] ? spec.key_range("enableDefaultDeny") : iso_range[d];
    ctx.out.isolations.push_back(std::move(iso));
  }
}

} // namespace

void parse_cilium_policy(Ctx& ctx, const Map& obj, const ObjectMeta& meta, bool clusterwide) {
  obj.check({"apiVersion", "kind", "metadata", "spec", "specs", "status"});
  CiliumScope scope;
  scope.clusterwide = clusterwide;
  scope.ns = meta.ns;
  bool has_spec = obj.has("spec") && !is_null(obj.get("spec"));
  bool has_specs = obj.has("specs") && !is_null(obj.get("specs"));
  if (!has_spec && !has_specs) {
    ctx.diags.report(Code::E204, meta.name_range, "missing required field 'spec' (or 'specs') in " + meta.kind);
    return;
  }
  if (has_spec) parse_rule(ctx, meta, scope, obj.get("spec"), obj.key_range("spec"));
  for (const doc::Node& r : list_items(ctx, obj.get("specs"), "specs", obj.key_range("specs")))
    if (!ctx.exhausted) parse_rule(ctx, meta, scope, r, obj.key_range("specs"));
}

} // namespace moat::yamlfe
