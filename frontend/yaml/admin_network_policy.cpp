// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) ->
// rules of the admin and baseline tiers (ir.h Tier), validated as the CRD's schema does
// (kubernetes-sigs/network-policy-api, apis/v1alpha1: priority 0-1000, at most 100 rules per
// direction, 100 peers and ports per rule, 25 networks or domain names per peer, exactly one
// field per subject, peer and port, the BANP singleton named `default`).
#include <algorithm>
#include <cctype>

#include "frontend/yaml/label_selector.h"
#include "frontend/yaml/yaml_kinds.h"
#include "ir/validate.h"

namespace moat::yamlfe {

namespace {

constexpr int64_t kMaxPriority = 1000;
constexpr size_t kMaxRules = 100, kMaxPeers = 100, kMaxPorts = 100, kMaxAddresses = 25, kMaxRuleName = 100;

struct AdminPolicy {
  const ObjectMeta* meta;
  bool baseline = false;
  int32_t priority = 0;
  EndpointSelector subject;
};

/// A field that is present and not null (the API's optional pointers: null means unset).
bool set(const Map& m, std::string_view key) { return m.has(key) && !is_null(m.get(key)); }

/// E223 unless exactly one of `keys` is set; returns the one.
std::optional<std::string_view> exactly_one(Ctx& ctx, const Map& m, std::initializer_list<std::string_view> keys) {
  std::vector<std::string_view> present;
  for (std::string_view k : keys)
    if (set(m, k)) present.push_back(k);
  if (present.size() == 1) return present[0];
  std::string names;
  for (std::string_view k : keys) names += (names.empty() ? "" : ", ") + std::string(k);
  ctx.diags.report(Code::E223, present.size() > 1 ? m.key_range(present[1]) : m.range(),
                   m.what() + " must set exactly one of " + names +
                       (present.empty() ? " (none is set)" : " (" + std::string(present[0]) + " and " +
                                                                 std::string(present[1]) + " are both set)"));
  return std::nullopt;
}

/// The items of a list field with the CRD's MinItems / MaxItems; nullopt (reported) when outside.
std::optional<std::vector<doc::Node>> bounded_list(Ctx& ctx, const Map& m, std::string_view key, size_t min,
                                                    size_t max) {
  std::vector<doc::Node> items = list_items(ctx, m.get(key), key, m.key_range(key));
  if (items.size() < min) {
    ctx.diags.report(Code::E204, set(m, key) ? m.key_range(key) : m.range(),
                     "'" + std::string(key) + "' of " + m.what() + " must have at least " + std::to_string(min) +
                         " item" + (min == 1 ? "" : "s"));
    return std::nullopt;
  }
  if (items.size() > max) {
    ctx.diags.report(Code::E222, m.key_range(key),
                     "'" + std::string(key) + "' has " + std::to_string(items.size()) + " items; the API allows at most " +
                         std::to_string(max));
    return std::nullopt;
  }
  return items;
}

std::optional<LabelSelector> selector(Ctx& ctx, const Map& m, std::string_view key) {
  return parse_label_selector(ctx, m.get(key), key, LabelFlavor::Kubernetes, m.key_range(key));
}

/// NamespacedPod {namespaceSelector, podSelector}: both required; empty selects all.
std::optional<EndpointSelector> namespaced_pod(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "pods", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"namespaceSelector", "podSelector"});
  if (!m.require("namespaceSelector") || !m.require("podSelector")) return std::nullopt;
  auto ns = selector(ctx, m, "namespaceSelector");
  auto pods = selector(ctx, m, "podSelector");
  if (!ns || !pods) return std::nullopt;
  EndpointSelector s;
  s.namespaces = std::move(*ns);
  s.pods = std::move(*pods);
  s.range = m.range();
  return s;
}

/// `namespaces` (every pod of the matching namespaces) or `pods`: the shapes subjects and
/// selector peers share.
std::optional<EndpointSelector> endpoint_choice(Ctx& ctx, const Map& m, std::string_view which) {
  if (which == "pods") return namespaced_pod(ctx, m.get("pods"), m.key_range("pods"));
  auto ns = selector(ctx, m, "namespaces");
  if (!ns) return std::nullopt;
  EndpointSelector s;
  s.namespaces = std::move(*ns);
  s.range = m.key_range("namespaces");
  return s;
}

std::optional<EndpointSelector> parse_subject(Ctx& ctx, const Map& spec) {
  if (!spec.require("subject")) return std::nullopt;
  Map m(ctx, spec.get("subject"), "subject", spec.key_range("subject"));
  if (!m.valid()) return std::nullopt;
  m.check({"namespaces", "pods"});
  auto which = exactly_one(ctx, m, {"namespaces", "pods"});
  if (!which) return std::nullopt;
  return endpoint_choice(ctx, m, *which);
}

/// The CRD's DomainName pattern: an optional "*." and two or more DNS labels of
/// [A-Za-z0-9_-] that start and end alphanumeric, an optional trailing dot.
bool valid_domain_name(std::string_view s) {
  if (s.substr(0, 2) == "*.") s.remove_prefix(2);
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  size_t labels = 0;
  for (size_t start = 0; start <= s.size();) {
    size_t dot = std::min(s.find('.', start), s.size());
    std::string_view l = s.substr(start, dot - start);
    if (l.empty() || !std::isalnum(static_cast<unsigned char>(l.front())) ||
        !std::isalnum(static_cast<unsigned char>(l.back())))
      return false;
    for (char c : l)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    ++labels;
    start = dot + 1;
  }
  return labels >= 2;
}

/// One `from`/`to` item: exactly one field. Appends the peers it stands for (networks and
/// domainNames: one per entry; nodes: the node entities).
bool parse_peer(Ctx& ctx, const AdminPolicy& pol, Direction dir, Action action, const doc::Node& node,
                SourceRange fallback, std::vector<Peer>& out) {
  Map m(ctx, node, dir == Direction::Ingress ? "a 'from' peer" : "a 'to' peer", fallback);
  if (!m.valid()) return false;
  std::optional<std::string_view> which;
  if (dir == Direction::Ingress) {
    m.check({"namespaces", "pods"});
    which = exactly_one(ctx, m, {"namespaces", "pods"});
  } else if (pol.baseline) {
    m.check({"namespaces", "pods", "nodes", "networks"});
    which = exactly_one(ctx, m, {"namespaces", "pods", "nodes", "networks"});
  } else {
    m.check({"namespaces", "pods", "nodes", "networks", "domainNames"});
    which = exactly_one(ctx, m, {"namespaces", "pods", "nodes", "networks", "domainNames"});
  }
  if (!which) return false;
  if (*which == "namespaces" || *which == "pods") {
    auto sel = endpoint_choice(ctx, m, *which);
    if (!sel) return false;
    Peer p;
    p.kind = Peer::Kind::Endpoints;
    p.endpoints = std::move(*sel);
    p.range = m.range();
    out.push_back(std::move(p));
    return true;
  }
  if (*which == "nodes") {
    auto sel = selector(ctx, m, "nodes");
    if (!sel) return false;
    if (!sel->empty()) {
      // The API (AdminNetworkPolicyEgressPeer.Nodes): "selects a set of nodes in the cluster
      // (based on the node's labels). It selects the nodeIPs as the peer type by matching on
      // the IPs present in the node.Status.Addresses field of the node." The node endpoints
      // (local host and remote nodes) carry their Node's labels.
      Peer p;
      p.kind = Peer::Kind::Nodes;
      p.nodes = std::move(*sel);
      p.range = m.range();
      out.push_back(std::move(p));
      return true;
    }
    // Every node's addresses: the local node (host) and every other node (remote-node).
    for (Entity e : {Entity::Host, Entity::RemoteNode}) {
      Peer p;
      p.kind = Peer::Kind::Entity;
      p.entity = e;
      p.range = m.range();
      out.push_back(std::move(p));
    }
    return true;
  }
  auto items = bounded_list(ctx, m, *which, 1, kMaxAddresses);
  if (!items) return false;
  bool ok = true;
  for (const doc::Node& item : *items) {
    SourceRange r = range_of(ctx, item, m.key_range(*which));
    auto text = strict_string(ctx, item, *which == "networks" ? "a networks entry" : "a domainNames entry", r);
    if (!text) {
      ok = false;
      continue;
    }
    Peer p;
    p.range = r;
    if (*which == "networks") {
      // The schema's isCIDR: an address alone is not a network.
      auto cidr = text->find('/') != std::string::npos ? IpPrefix::parse(*text) : std::nullopt;
      if (!cidr) {
        ctx.diags.report(Code::E304, r, "networks entry '" + *text + "' is not a CIDR (address/length)");
        ok = false;
        continue;
      }
      warn_host_bits(*text, *cidr, r, ctx.diags);
      p.kind = Peer::Kind::Cidr;
      p.cidr = *cidr;
      // The API: "cluster-internal traffic will be checked against the rule as well".
      p.cidr_any_address = true;
    } else {
      if (action != Action::Allow) {
        ctx.diags.report(Code::E227, m.key_range("domainNames"), "domainNames peers are only supported in Allow rules");
        return false;
      }
      if (!valid_domain_name(*text)) {
        ctx.diags.report(Code::E227, r,
                         "domainNames entry '" + *text + "' is not a domain name (two or more labels, an optional "
                                                         "leading '*.')");
        ok = false;
        continue;
      }
      p.kind = Peer::Kind::Fqdn;
      // The API's "*." matches one or more whole labels: moat's "**." pattern.
      bool wildcard = text->substr(0, 2) == "*.";
      p.fqdn.pattern = wildcard;
      p.fqdn.value = normalize_fqdn(wildcard ? "**." + text->substr(2) : *text);
      p.fqdn.range = r;
    }
    out.push_back(std::move(p));
  }
  return ok;
}

/// Protocol of portNumber / portRange: TCP (the default), UDP or SCTP.
std::optional<Protocol> port_protocol(Ctx& ctx, const Map& m) {
  if (!set(m, "protocol")) return Protocol::TCP;
  auto text = strict_string(ctx, m.get("protocol"), "protocol", m.key_range("protocol"));
  if (!text) return std::nullopt;
  if (*text == "TCP") return Protocol::TCP;
  if (*text == "UDP") return Protocol::UDP;
  if (*text == "SCTP") return Protocol::SCTP;
  ctx.diags.report(Code::E305, m.value_range("protocol"),
                   "unsupported protocol '" + *text + "' (AdminNetworkPolicy accepts TCP, UDP or SCTP, upper-case)");
  return std::nullopt;
}

std::optional<uint16_t> port_number(Ctx& ctx, const Map& m, std::string_view key) {
  if (!m.require(key)) return std::nullopt;
  auto n = scalar_int(ctx, m.get(key), key, m.key_range(key));
  if (!n) return std::nullopt;
  if (*n < 1 || *n > 65535) {
    ctx.diags.report(Code::E303, m.value_range(key), std::string(key) + " " + std::to_string(*n) + " is outside 1-65535");
    return std::nullopt;
  }
  return static_cast<uint16_t>(*n);
}

/// One `ports` item: exactly one of portNumber {protocol, port}, namedPort, portRange
/// {protocol, start, end}.
std::optional<PortMatch> parse_port(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "a ports entry", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"portNumber", "namedPort", "portRange"});
  auto which = exactly_one(ctx, m, {"portNumber", "namedPort", "portRange"});
  if (!which) return std::nullopt;
  PortMatch pm;
  pm.range = m.range();
  if (*which == "namedPort") {
    auto name = strict_string(ctx, m.get("namedPort"), "namedPort", m.key_range("namedPort"));
    if (!name) return std::nullopt;
    if (auto why = check_port_name(*name)) {
      ctx.diags.report(Code::E303, m.value_range("namedPort"), "namedPort '" + *name + "' is not a valid port name: " + *why);
      return std::nullopt;
    }
    // A named port is whatever container port of that name the destination declares, of
    // its own protocol.
    pm.proto = Protocol::Any;
    pm.name = *name;
    return pm;
  }
  Map p(ctx, m.get(*which), std::string(*which), m.key_range(*which));
  if (!p.valid()) return std::nullopt;
  if (*which == "portNumber") p.check({"protocol", "port"});
  else p.check({"protocol", "start", "end"});
  auto proto = port_protocol(ctx, p);
  if (!proto) return std::nullopt;
  pm.proto = *proto;
  if (*which == "portNumber") {
    auto n = port_number(ctx, p, "port");
    if (!n) return std::nullopt;
    pm.lo = pm.hi = *n;
  } else {
    auto lo = port_number(ctx, p, "start"), hi = port_number(ctx, p, "end");
    if (!lo || !hi) return std::nullopt;
    if (*hi < *lo) {
      ctx.diags.report(Code::E302, p.value_range("end"),
                       "portRange end " + std::to_string(*hi) + " is smaller than start " + std::to_string(*lo));
      return std::nullopt;
    }
    pm.lo = *lo, pm.hi = *hi;
  }
  if (!validate_port(pm, ctx.diags)) return std::nullopt;
  return pm;
}

std::optional<Action> parse_action(Ctx& ctx, const AdminPolicy& pol, const Map& m) {
  if (!m.require("action")) return std::nullopt;
  auto text = strict_string(ctx, m.get("action"), "action", m.key_range("action"));
  if (!text) return std::nullopt;
  if (*text == "Allow") return Action::Allow;
  if (*text == "Deny") return Action::Deny;
  if (*text == "Pass" && !pol.baseline) return Action::Pass;
  ctx.diags.report(Code::E224, m.value_range("action"),
                   "action '" + *text + "' is not one of " +
                       (pol.baseline ? "Allow, Deny (a BaselineAdminNetworkPolicy has nothing below it to Pass to)"
                                     : "Allow, Deny, Pass"));
  return std::nullopt;
}

/// One ingress / egress rule: every peer becomes one rule of the tier, in order.
void parse_rule(Ctx& ctx, const AdminPolicy& pol, Direction dir, const doc::Node& node, SourceRange fallback) {
  const char* peers_key = dir == Direction::Ingress ? "from" : "to";
  Map m(ctx, node, std::string("an ") + to_string(dir) + " rule", fallback);
  if (!m.valid()) return;
  m.check({"name", "action", peers_key, "ports"});
  std::string name;
  if (set(m, "name")) {
    auto n = strict_string(ctx, m.get("name"), "name", m.key_range("name"));
    if (!n) return;
    if (n->size() > kMaxRuleName) {
      ctx.diags.report(Code::E222, m.value_range("name"),
                       "rule name has " + std::to_string(n->size()) + " characters; the API allows at most " +
                           std::to_string(kMaxRuleName));
      return;
    }
    name = *n;
  }
  auto action = parse_action(ctx, pol, m);
  if (!m.require(peers_key)) return;
  auto peer_items = bounded_list(ctx, m, peers_key, 1, kMaxPeers);
  if (!action || !peer_items) return;
  std::vector<PortMatch> ports;
  bool ok = true;
  if (set(m, "ports")) {
    auto port_items = bounded_list(ctx, m, "ports", 1, kMaxPorts);
    if (!port_items) return;
    for (const doc::Node& p : *port_items) {
      if (auto pm = parse_port(ctx, p, m.key_range("ports"))) ports.push_back(std::move(*pm));
      else ok = false;
    }
  }
  std::vector<Peer> peers;
  for (const doc::Node& item : *peer_items)
    ok = parse_peer(ctx, pol, dir, *action, item, m.key_range(peers_key), peers) && ok;
  if (!ok || ctx.exhausted) return;
  bool named = std::any_of(ports.begin(), ports.end(), [](const PortMatch& p) { return !p.name.empty(); });
  bool addresses = std::any_of(peers.begin(), peers.end(), [](const Peer& p) { return p.kind != Peer::Kind::Endpoints; });
  if (named && addresses) {
    ctx.diags.report(Code::E225, m.key_range("ports"),
                     "a namedPort cannot be used with networks, nodes or domainNames peers: they have no named ports");
    return;
  }
  std::string origin = origin_of(*pol.meta, false) + (name.empty() ? "" : " rule '" + name + "'");
  std::vector<Rule>& sink = pol.baseline ? ctx.out.baseline_rules : ctx.out.admin_rules;
  for (Peer& peer : peers) {
    if (!ctx.spend(1, node)) return;
    Rule r;
    r.subject = pol.subject;
    r.dir = dir;
    r.action = *action;
    r.range = peer.range;
    r.peer = std::move(peer);
    r.ports = ports;
    r.origin = origin;
    r.source = pol.baseline ? RuleSource::BaselineAdminNetworkPolicy : RuleSource::AdminNetworkPolicy;
    r.tier = pol.baseline ? Tier::Baseline : Tier::Admin;
    r.priority = pol.priority;
    r.id = static_cast<uint32_t>(sink.size());
    sink.push_back(std::move(r));
  }
}

/// W220 when another AdminNetworkPolicy read so far has the same priority.
void note_priority(Ctx& ctx, const Map& spec, const AdminPolicy& pol) {
  if (!ctx.seen) return;
  auto [it, fresh] = ctx.seen->anp_priorities.emplace(pol.priority, std::make_pair(pol.meta->name, spec.value_range("priority")));
  if (fresh) return;
  Diagnostic& d = ctx.diags.report(
      Code::W220, spec.value_range("priority"),
      "AdminNetworkPolicy " + pol.meta->name + " has the same priority (" + std::to_string(pol.priority) + ") as " +
          it->second.first + ": where both match a connection the API leaves the choice to the implementation; "
          "moat applies " + it->second.first + " first (the order it read them)");
  d.notes.push_back({it->second.second, "the other policy with priority " + std::to_string(pol.priority)});
}

} // namespace

void parse_admin_network_policy(Ctx& ctx, const Map& obj, const ObjectMeta& meta, bool baseline) {
  obj.check({"apiVersion", "kind", "metadata", "spec", "status"});
  AdminPolicy pol;
  pol.meta = &meta;
  pol.baseline = baseline;
  if (baseline && meta.name != "default") {
    ctx.diags.report(Code::E221, meta.name_range,
                     "a BaselineAdminNetworkPolicy must be named 'default' (the API admits one per cluster), not '" +
                         meta.name + "'");
    return;
  }
  if (!obj.require("spec")) return;
  Map spec(ctx, obj.get("spec"), std::string(meta.kind) + " spec", obj.key_range("spec"));
  if (!spec.valid()) return;
  if (baseline) spec.check({"subject", "ingress", "egress"});
  else spec.check({"priority", "subject", "ingress", "egress"});
  if (!baseline) {
    if (!spec.require("priority")) return;
    auto p = scalar_int(ctx, spec.get("priority"), "priority", spec.key_range("priority"));
    if (!p) return;
    if (*p < 0 || *p > kMaxPriority) {
      ctx.diags.report(Code::E220, spec.value_range("priority"),
                       "priority " + std::to_string(*p) + " is outside 0-1000 (lower values are evaluated first)");
      return;
    }
    pol.priority = static_cast<int32_t>(*p);
  }
  auto subject = parse_subject(ctx, spec);
  if (!subject) return;
  pol.subject = std::move(*subject);
  auto ingress = bounded_list(ctx, spec, "ingress", 0, kMaxRules);
  auto egress = bounded_list(ctx, spec, "egress", 0, kMaxRules);
  if (!ingress || !egress) return;
  if (!baseline) note_priority(ctx, spec, pol);
  for (const doc::Node& item : *ingress)
    if (!ctx.exhausted) parse_rule(ctx, pol, Direction::Ingress, item, spec.key_range("ingress"));
  for (const doc::Node& item : *egress)
    if (!ctx.exhausted) parse_rule(ctx, pol, Direction::Egress, item, spec.key_range("egress"));
}

void order_admin_rules(Module& m) {
  // Lower priority values first (AdminNetworkPolicySpec.Priority); stable, so equal
  // priorities keep the order the policies were read in and rules keep their written order.
  std::stable_sort(m.admin_rules.begin(), m.admin_rules.end(),
                   [](const Rule& a, const Rule& b) { return a.priority < b.priority; });
  for (size_t i = 0; i < m.admin_rules.size(); ++i) m.admin_rules[i].id = static_cast<uint32_t>(i);
}

} // namespace moat::yamlfe
