// Kubernetes NetworkPolicy (networking.k8s.io/v1) -> isolations and allow rules.
// Follows the API server's defaulting and validation (pkg/apis/networking): policyTypes
// defaulting, peer shapes, ipBlock except, port/endPort rules.
#include <algorithm>

#include "frontend/yaml/label_selector.h"
#include "frontend/yaml/yaml_kinds.h"
#include "ir/validate.h"

namespace moat::yamlfe {

namespace {

struct Policy {
  const ObjectMeta* meta;
  EndpointSelector subject;
  std::string origin;
};

/// ipBlock {cidr, except}: except prefixes must be strictly inside cidr (the API server
/// rejects an except equal to the cidr; validate_cidr_except checks containment).
std::optional<Peer> parse_ip_block(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "ipBlock", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"cidr", "except"});
  if (!m.require("cidr")) return std::nullopt;
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.range = m.range();
  // Whether an ipBlock also matches pod and node addresses is the CNI's choice (docs/CNI.md):
  // Cilium never (cilium#9209), Calico and the upstream e2e suite do; `except` carves
  // addresses out either way.
  p.cidr_any_address = ip_block_matches_cluster(ctx.opts ? ctx.opts->cni : kDefaultCniProfile);
  auto text = strict_string(ctx, m.get("cidr"), "ipBlock cidr", m.key_range("cidr"));
  if (!text) return std::nullopt;
  auto cidr = text->find('/') != std::string::npos ? IpPrefix::parse(*text) : std::nullopt;
  if (!cidr) {
    ctx.diags.report(Code::E304, m.value_range("cidr"), "ipBlock cidr '" + *text + "' is not a CIDR (address/length)");
    return std::nullopt;
  }
  p.cidr = *cidr;
  warn_host_bits(*text, *cidr, m.value_range("cidr"), ctx.diags);
  bool ok = true;
  for (const doc::Node& e : list_items(ctx, m.get("except"), "ipBlock except", m.key_range("except"))) {
    SourceRange er = range_of(ctx, e, m.key_range("except"));
    auto et = strict_string(ctx, e, "an except entry", er);
    if (!et) {
      ok = false;
      continue;
    }
    auto ex = et->find('/') != std::string::npos ? IpPrefix::parse(*et) : std::nullopt;
    if (!ex) {
      ctx.diags.report(Code::E304, er, "except '" + *et + "' is not a CIDR (address/length)");
      ok = false;
      continue;
    }
    if (!p.cidr.contains(*ex) || ex->len == p.cidr.len) {
      ctx.diags.report(Code::E301, er,
                       "except " + ex->str() + " is not strictly inside ipBlock cidr " + p.cidr.str() +
                           (ex->addr.v6 != p.cidr.addr.v6 ? " (different address family)" : ""));
      ok = false;
      continue;
    }
    warn_host_bits(*et, *ex, er, ctx.diags);
    p.except.push_back(*ex);
  }
  if (!ok || !validate_cidr_except(p, ctx.diags)) return std::nullopt;
  return p;
}

/// One `from`/`to` item. podSelector alone = the policy's namespace; namespaceSelector
/// alone = every pod of the matching namespaces; both in one item = AND.
std::optional<Peer> parse_peer(Ctx& ctx, const Policy& pol, const doc::Node& node, std::string_view what,
                               SourceRange fallback) {
  Map m(ctx, node, std::string(what), fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"podSelector", "namespaceSelector", "ipBlock"});
  bool pods = m.has("podSelector"), nss = m.has("namespaceSelector"), ip = m.has("ipBlock");
  if (!pods && !nss && !ip) {
    ctx.diags.report(Code::E204, m.range(),
                     std::string(what) + " must have podSelector, namespaceSelector or ipBlock (an empty peer is "
                                         "rejected by the API server; omit `from`/`to` to allow every peer)");
    return std::nullopt;
  }
  if (ip && (pods || nss)) {
    ctx.diags.report(Code::E206, m.key_range("ipBlock"),
                     "ipBlock cannot be combined with " + std::string(pods ? "podSelector" : "namespaceSelector") +
                         " in one peer; write them as two items of the list");
    return std::nullopt;
  }
  if (ip) {
    auto p = parse_ip_block(ctx, m.get("ipBlock"), m.key_range("ipBlock"));
    if (p) p->range = m.range();  // the peer item, as for selector peers
    return p;
  }

  Peer p;
  p.kind = Peer::Kind::Endpoints;
  p.range = m.range();
  p.endpoints.range = m.range();
  if (pods) {
    auto sel = parse_label_selector(ctx, m.get("podSelector"), "podSelector", LabelFlavor::Kubernetes,
                                    m.key_range("podSelector"));
    if (!sel) return std::nullopt;
    p.endpoints.pods = std::move(*sel);
  }
  if (nss) {
    auto sel = parse_label_selector(ctx, m.get("namespaceSelector"), "namespaceSelector", LabelFlavor::Kubernetes,
                                    m.key_range("namespaceSelector"));
    if (!sel) return std::nullopt;
    p.endpoints.namespaces = std::move(*sel);
  } else {
    p.endpoints.namespaces.reqs.push_back(namespace_is(pol.meta->ns, m.key_range("podSelector")));
    p.endpoints.namespaces.range = m.key_range("podSelector");
  }
  return p;
}

/// One `ports` item: protocol (TCP default; TCP, UDP, SCTP exactly), port (number or
/// IANA name), endPort (numeric port only, >= port).
std::optional<PortMatch> parse_port(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "a ports entry", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"protocol", "port", "endPort"});
  PortMatch pm;
  pm.range = m.range();
  if (m.has("protocol") && !is_null(m.get("protocol"))) {
    auto proto = strict_string(ctx, m.get("protocol"), "protocol", m.key_range("protocol"));
    if (!proto) return std::nullopt;
    if (*proto == "TCP") pm.proto = Protocol::TCP;
    else if (*proto == "UDP") pm.proto = Protocol::UDP;
    else if (*proto == "SCTP") pm.proto = Protocol::SCTP;
    else {
      ctx.diags.report(Code::E305, m.value_range("protocol"),
                       "unsupported protocol '" + *proto + "' (NetworkPolicy accepts TCP, UDP or SCTP, upper-case)");
      return std::nullopt;
    }
  }
  bool has_port = m.has("port") && !is_null(m.get("port"));
  bool has_end = m.has("endPort") && !is_null(m.get("endPort"));
  if (has_port) {
    doc::Node port = m.get("port");
    SourceRange pr = m.value_range("port");
    if (!port.IsScalar()) {
      ctx.diags.report(Code::E202, pr, "port must be a number or a port name, not " + describe(port));
      return std::nullopt;
    }
    auto num = is_plain(port) ? parse_decimal(port.Scalar()) : std::nullopt;
    if (num) {
      if (*num < 1 || *num > 65535) {
        ctx.diags.report(Code::E303, pr, "port " + std::string(port.Scalar()) + " is outside 1-65535");
        return std::nullopt;
      }
      pm.lo = pm.hi = static_cast<uint16_t>(*num);
    } else {
      if (!is_plain(port) && parse_decimal(port.Scalar())) {
        ctx.diags.report(Code::E202, pr,
                         "port \"" + std::string(port.Scalar()) + "\" is a quoted string, which the API server reads as a port "
                                                     "name; write it without quotes");
        return std::nullopt;
      }
      if (auto why = check_port_name(port.Scalar())) {
        ctx.diags.report(Code::E303, pr, "port '" + std::string(port.Scalar()) + "' is neither a number in 1-65535 nor a valid port name: " + *why);
        return std::nullopt;
      }
      pm.name = port.Scalar();
    }
  }
  if (has_end) {
    auto end = scalar_int(ctx, m.get("endPort"), "endPort", m.key_range("endPort"));
    if (!end) return std::nullopt;
    SourceRange er = m.value_range("endPort");
    if (!has_port || !pm.name.empty()) {
      ctx.diags.report(Code::E312, er,
                       has_port ? "endPort cannot be used with the named port '" + pm.name + "'"
                                : std::string("endPort requires a numeric port"));
      return std::nullopt;
    }
    if (*end < 1 || *end > 65535) {
      ctx.diags.report(Code::E303, er, "endPort " + std::to_string(*end) + " is outside 1-65535");
      return std::nullopt;
    }
    if (*end < pm.lo) {
      ctx.diags.report(Code::E302, er, "endPort " + std::to_string(*end) + " is smaller than port " + std::to_string(pm.lo));
      return std::nullopt;
    }
    pm.hi = static_cast<uint16_t>(*end);
  }
  if (!has_port) pm.lo = 0, pm.hi = 65535;  // every port of the protocol
  if (!validate_port(pm, ctx.diags)) return std::nullopt;
  return pm;
}

/// One ingress/egress item: every (item x peer) is one allow rule; `from`/`to` omitted or
/// empty means every peer (so `ingress: [{}]` allows everything).
void parse_rule_item(Ctx& ctx, const Policy& pol, Direction dir, const doc::Node& node, SourceRange fallback,
                     Module& sink) {
  const char* peers_key = dir == Direction::Ingress ? "from" : "to";
  std::string what = std::string("an ") + to_string(dir) + " rule";
  Map m(ctx, node, what, fallback);
  if (!m.valid()) return;
  m.check({peers_key, "ports"});

  std::vector<PortMatch> ports;
  bool ok = true;
  for (const doc::Node& p : list_items(ctx, m.get("ports"), "ports", m.key_range("ports"))) {
    if (auto pm = parse_port(ctx, p, m.key_range("ports"))) ports.push_back(std::move(*pm));
    else ok = false;
  }

  std::vector<Peer> peers;
  std::vector<doc::Node> items = list_items(ctx, m.get(peers_key), peers_key, m.key_range(peers_key));
  for (const doc::Node& item : items) {
    if (auto p = parse_peer(ctx, pol, item, std::string("a '") + peers_key + "' peer", m.key_range(peers_key)))
      peers.push_back(std::move(*p));
    else
      ok = false;
  }
  if (!ok || ctx.exhausted) return;
  if (items.empty()) {
    Peer any;
    any.kind = Peer::Kind::Any;
    any.range = m.range();
    peers.push_back(any);
  }
  for (Peer& peer : peers) {
    if (!ctx.spend(1, node)) return;
    Rule r;
    r.subject = pol.subject;
    r.dir = dir;
    r.action = Action::Allow;
    r.range = peer.range;
    r.peer = std::move(peer);
    r.ports = ports;
    r.origin = pol.origin;
    r.source = RuleSource::NetworkPolicy;
    sink.add_rule(std::move(r));
  }
}

} // namespace

void parse_network_policy(Ctx& ctx, const Map& obj, const ObjectMeta& meta) {
  obj.check({"apiVersion", "kind", "metadata", "spec", "status"});
  // A NetworkPolicy without spec is valid: every pod of the namespace, ingress isolated.
  Map spec(ctx, obj.get("spec"), "NetworkPolicy spec", obj.key_range("spec"));
  if (!spec.valid()) return;
  spec.check({"podSelector", "policyTypes", "ingress", "egress"});

  Policy pol;
  pol.meta = &meta;
  pol.origin = origin_of(meta, true);
  SourceRange subj_range = spec.has("podSelector") ? spec.key_range("podSelector") : meta.name_range;
  auto pods = parse_label_selector(ctx, spec.get("podSelector"), "podSelector", LabelFlavor::Kubernetes, subj_range);
  if (!pods) return;
  pol.subject.pods = std::move(*pods);
  pol.subject.namespaces.reqs.push_back(namespace_is(meta.ns, meta.name_range));
  pol.subject.namespaces.range = meta.name_range;
  pol.subject.range = subj_range;

  // policyTypes: explicit, or (API server defaulting, SetDefaults_NetworkPolicySpec)
  // Ingress, plus Egress when `egress` has at least one item. An empty list counts as omitted.
  bool isolate[2] = {false, false};
  SourceRange iso_range[2] = {spec.has("ingress") ? spec.key_range("ingress") : subj_range,
                              spec.has("egress") ? spec.key_range("egress") : subj_range};
  std::vector<doc::Node> types = list_items(ctx, spec.get("policyTypes"), "policyTypes", spec.key_range("policyTypes"));
  bool ok = true;
  for (const doc::Node& t : types) {
    SourceRange tr = range_of(ctx, t, spec.key_range("policyTypes"));
    auto s = strict_string(ctx, t, "a policyTypes entry", tr);
    if (!s) {
      ok = false;
    } else if (*s == "Ingress") {
      isolate[0] = true, iso_range[0] = tr;
    } else if (*s == "Egress") {
      isolate[1] = true, iso_range[1] = tr;
    } else {
      ctx.diags.report(Code::E202, tr, "policyTypes entries must be Ingress or Egress, not '" + *s + "'");
      ok = false;
    }
  }
  std::vector<doc::Node> ingress = list_items(ctx, spec.get("ingress"), "ingress", spec.key_range("ingress"));
  std::vector<doc::Node> egress = list_items(ctx, spec.get("egress"), "egress", spec.key_range("egress"));
  if (types.empty()) {
    isolate[0] = true;
    isolate[1] = !egress.empty();
  }
  if (!ok) return;

  for (int d = 0; d < 2; ++d) {
    if (!isolate[d]) continue;
    Isolation iso;
    iso.subject = pol.subject;
    iso.dir = d == 0 ? Direction::Ingress : Direction::Egress;
    iso.origin = pol.origin;
    iso.range = iso_range[d];
    ctx.out.isolations.push_back(std::move(iso));
  }
  // Kubernetes ignores the rules of a direction missing from policyTypes (they would
  // otherwise open holes when another policy isolates that direction). They are still
  // checked, so a mistake there is not silently accepted, then dropped with a warning.
  const std::vector<doc::Node>* sections[2] = {&ingress, &egress};
  for (int d = 0; d < 2; ++d) {
    Direction dir = d == 0 ? Direction::Ingress : Direction::Egress;
    const char* key = d == 0 ? "ingress" : "egress";
    Module scratch;
    Module& sink = isolate[d] ? ctx.out : scratch;
    for (const doc::Node& item : *sections[d])
      if (!ctx.exhausted) parse_rule_item(ctx, pol, dir, item, spec.key_range(key), sink);
    if (!isolate[d] && !sections[d]->empty())
      ctx.diags.report(Code::W208, spec.key_range(key),
                       std::string("'") + key + "' rules are ignored: policyTypes does not include " +
                           (d == 0 ? "Ingress" : "Egress"));
  }
}

} // namespace moat::yamlfe
