// The L4/L7 half of a Cilium rule: toPorts (ports, endPort, protocol, L7 rules) and icmps,
// validated as Cilium's PortRule/ICMPRule Validate() do (pkg/policy/api).
#include <algorithm>
#include <cctype>

#include "frontend/yaml/cilium.h"
#include "ir/validate.h"

namespace moat::yamlfe {

namespace {

struct IcmpName {
  std::string_view name;
  uint8_t v4, v6;  // 255: not defined for that family
};
/// ICMP type names Cilium accepts in icmps.fields.type (pkg/policy/api/icmp.go).
constexpr IcmpName kIcmpNames[] = {
    {"EchoReply", 0, 129},
    {"DestinationUnreachable", 3, 1},
    {"Redirect", 5, 137},
    {"Echo", 8, 128},
    {"EchoRequest", 8, 128},
    {"RouterAdvertisement", 9, 134},
    {"RouterSelection", 10, 133},
    {"RouterSolicitation", 10, 133},
    {"TimeExceeded", 11, 3},
    {"ParameterProblem", 12, 4},
    {"Timestamp", 13, 255},
    {"TimestampReply", 14, 255},
    {"Photuris", 40, 255},
    {"ExtendedEchoRequest", 42, 160},
    {"ExtendedEchoReply", 43, 161},
    {"PacketTooBig", 255, 2},
    {"MulticastListenerQuery", 255, 130},
    {"MulticastListenerReport", 255, 131},
    {"MulticastListenerDone", 255, 132},
    {"NeighborSolicitation", 255, 135},
    {"NeighborAdvertisement", 255, 136},
    {"RedirectMessage", 255, 137},
    {"RouterRenumbering", 255, 138},
    {"ICMPNodeInformationQuery", 255, 139},
    {"ICMPNodeInformationResponse", 255, 140},
    {"InverseNeighborDiscoverySolicitation", 255, 141},
    {"InverseNeighborDiscoveryAdvertisement", 255, 142},
    {"HomeAgentAddressDiscoveryRequest", 255, 144},
    {"HomeAgentAddressDiscoveryReply", 255, 145},
    {"MobilePrefixSolicitation", 255, 146},
    {"MobilePrefixAdvertisement", 255, 147},
    {"DuplicateAddressRequestCodeSuffix", 255, 157},
    {"DuplicateAddressConfirmationCodeSuffix", 255, 158},
};

/// One PortProtocol {port, endPort, protocol}. Port "0" means every port.
/// `dropped` is set (without an error) for entries moat cannot represent.
std::optional<PortMatch> parse_port_protocol(Ctx& ctx, const doc::Node& node, SourceRange fallback, bool* dropped) {
  Map m(ctx, node, "a toPorts ports entry", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"port", "endPort", "protocol"});
  PortMatch pm;
  pm.range = m.range();
  pm.proto = Protocol::Any;  // Cilium: protocol omitted or ANY = TCP, UDP and SCTP
  if (m.has("protocol") && !is_null(m.get("protocol"))) {
    auto text = scalar_string(ctx, m.get("protocol"), "protocol", m.key_range("protocol"));
    if (!text) return std::nullopt;
    auto proto = parse_protocol(*text);
    std::string upper(*text);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    if (!proto && (upper == "VRRP" || upper == "IGMP" || upper == "GRE" || upper == "IPIP" || upper == "IPV6" ||
                   upper == "ESP" || upper == "AH")) {
      // Valid for Cilium (extended IP protocols), but moat's IR has no such protocol.
      ctx.diags.report(Code::W208, m.value_range("protocol"),
                       "protocol " + upper + " is not modeled by moat; this port entry is ignored");
      *dropped = true;
      return std::nullopt;
    }
    if (!proto) {
      ctx.diags.report(Code::E305, m.value_range("protocol"),
                       "unsupported protocol '" + *text + "' (moat supports TCP, UDP, SCTP, ICMP, ICMPv6 and ANY)");
      return std::nullopt;
    }
    pm.proto = *proto;
  }
  if (!m.require("port")) return std::nullopt;
  doc::Node port = m.get("port");
  SourceRange pr = m.value_range("port");
  if (!port.IsScalar()) {
    ctx.diags.report(Code::E202, pr, "port must be a number or a port name, not " + describe(port));
    return std::nullopt;
  }
  std::string text(port.Scalar());
  auto num = parse_decimal(text);
  if (num) {
    if (*num > 65535) {
      ctx.diags.report(Code::E303, pr, "port " + text + " is outside 0-65535 (0 means every port)");
      return std::nullopt;
    }
    pm.lo = pm.hi = static_cast<uint16_t>(*num);
    if (*num == 0) pm.lo = 0, pm.hi = 65535;
  } else {
    // Cilium lower-cases port names before comparing them (PortProtocol.Sanitize).
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    if (auto why = check_port_name(text)) {
      ctx.diags.report(Code::E303, pr, "port '" + std::string(port.Scalar()) + "' is neither a number nor a valid port name: " + *why);
      return std::nullopt;
    }
    pm.name = text;
  }
  if (pm.proto == Protocol::ICMP || pm.proto == Protocol::ICMPv6) {
    if (!(pm.name.empty() && pm.lo == 0)) {
      ctx.diags.report(Code::E305, pr, "toPorts with protocol " + std::string(to_string(pm.proto)) +
                                           " must use port 0; match ICMP types with `icmps`");
      return std::nullopt;
    }
    pm.lo = 0, pm.hi = 255;
  }
  if (m.has("endPort") && !is_null(m.get("endPort"))) {
    auto end = scalar_int(ctx, m.get("endPort"), "endPort", m.key_range("endPort"));
    if (!end) return std::nullopt;
    SourceRange er = m.value_range("endPort");
    if (!pm.name.empty()) {
      // Cilium ignores endPort on a named port; say so rather than pretend it is a range.
      ctx.diags.report(Code::W208, er, "endPort is ignored with the named port '" + pm.name + "' (as Cilium does)");
    } else if (pm.lo == 0) {
      ctx.diags.report(Code::E312, er, "endPort requires a port in 1-65535 (port 0 already means every port)");
      return std::nullopt;
    } else if (*end < 0 || *end > 65535) {
      ctx.diags.report(Code::E303, er, "endPort " + std::to_string(*end) + " is outside 1-65535");
      return std::nullopt;
    } else if (*end < pm.lo) {
      ctx.diags.report(Code::E302, er, "endPort " + std::to_string(*end) + " is smaller than port " + std::to_string(pm.lo));
      return std::nullopt;
    } else {
      pm.hi = static_cast<uint16_t>(*end);
    }
  }
  if (!validate_port(pm, ctx.diags)) return std::nullopt;
  return pm;
}

std::optional<HttpRule> parse_http_rule(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "an http rule", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"method", "path", "host", "headers", "headerMatches"});
  HttpRule h;
  h.range = m.range();
  for (auto [key, field] : {std::pair{"method", &h.method}, {"path", &h.path}, {"host", &h.host}}) {
    if (!m.has(key) || is_null(m.get(key))) continue;
    auto v = strict_string(ctx, m.get(key), key, m.key_range(key));
    if (!v) return std::nullopt;
    *field = *v;
  }
  // Header requirements are kept in the IR but no verdict, proof or printed L7 condition
  // looks at them: say so rather than let a reader think they were checked.
  m.unmodeled("headers", "header requirements are not checked; verdicts and the printed L7 condition leave them out");
  m.unmodeled("headerMatches", "header requirements are not checked; verdicts and the printed L7 condition leave them out");
  for (const doc::Node& hd : list_items(ctx, m.get("headers"), "headers", m.key_range("headers"))) {
    auto v = strict_string(ctx, hd, "a header", m.key_range("headers"));
    if (!v) return std::nullopt;
    h.headers.push_back(*v);
  }
  for (const doc::Node& hm : list_items(ctx, m.get("headerMatches"), "headerMatches", m.key_range("headerMatches"))) {
    Map x(ctx, hm, "a headerMatches entry", m.key_range("headerMatches"));
    if (!x.valid()) return std::nullopt;
    x.check({"name", "value", "secret", "mismatch"});
    if (!x.require("name")) return std::nullopt;
    auto name = strict_string(ctx, x.get("name"), "name", x.key_range("name"));
    if (!name) return std::nullopt;
    std::string header = *name;
    if (x.has("value")) {
      auto v = strict_string(ctx, x.get("value"), "value", x.key_range("value"));
      if (!v) return std::nullopt;
      header += ": " + *v;
    }
    x.unmodeled("secret", "the header value comes from a Kubernetes secret moat cannot read");
    x.unmodeled("mismatch", "the mismatch action (log/add/delete/replace) is not verified");
    h.headers.push_back(header);
  }
  return h;
}

/// `rules:` of one toPorts entry.
bool parse_l7(Ctx& ctx, const doc::Node& node, SourceRange fallback, Direction dir, PortGroup& group) {
  Map m(ctx, node, "toPorts rules", fallback);
  if (!m.valid()) return false;
  m.check({"http", "dns", "kafka", "l7proto", "l7"});
  bool ok = true;
  int kinds = 0;
  for (const char* k : {"http", "dns", "kafka", "l7proto"}) kinds += m.has(k) && !is_null(m.get(k));
  if (kinds > 1) {
    ctx.diags.report(Code::E207, m.range(), "one toPorts entry may carry only one kind of L7 rules (Cilium rejects more)");
    return false;
  }
  for (const doc::Node& r : list_items(ctx, m.get("http"), "http rules", m.key_range("http"))) {
    if (auto h = parse_http_rule(ctx, r, m.key_range("http"))) group.http.push_back(std::move(*h));
    else ok = false;
  }
  std::vector<doc::Node> dns = list_items(ctx, m.get("dns"), "dns rules", m.key_range("dns"));
  if (!dns.empty() && dir == Direction::Ingress) {
    ctx.diags.report(Code::E207, m.key_range("dns"), "DNS rules are not allowed on ingress");
    return false;
  }
  for (const doc::Node& r : dns) {
    if (auto f = parse_fqdn_match(ctx, r, "a dns rule", m.key_range("dns"))) group.dns.push_back(std::move(*f));
    else ok = false;
  }
  m.unmodeled("kafka", "Kafka rules are not enforced or verified; these ports are treated as open to all Kafka requests");
  m.unmodeled("l7proto", "generic L7 rules are not enforced or verified; these ports are treated as fully open");
  return ok;
}

std::optional<PortMatch> parse_icmp_field(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "an icmps field", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"type", "family"});
  PortMatch pm;
  pm.proto = Protocol::ICMP;
  pm.range = m.range();
  if (m.has("family") && !is_null(m.get("family"))) {
    auto fam = strict_string(ctx, m.get("family"), "family", m.key_range("family"));
    if (!fam) return std::nullopt;
    if (*fam == "IPv6") pm.proto = Protocol::ICMPv6;
    else if (*fam != "IPv4") {
      ctx.diags.report(Code::E305, m.value_range("family"), "ICMP family must be IPv4 or IPv6, not '" + *fam + "'");
      return std::nullopt;
    }
  }
  if (!m.require("type")) return std::nullopt;
  doc::Node t = m.get("type");
  SourceRange tr = m.value_range("type");
  auto text = scalar_string(ctx, t, "type", tr);
  if (!text) return std::nullopt;
  if (auto n = parse_decimal(*text)) {
    if (*n > 255) {
      ctx.diags.report(Code::E303, tr, "ICMP type " + *text + " is outside 0-255");
      return std::nullopt;
    }
    pm.lo = pm.hi = static_cast<uint16_t>(*n);
    return pm;
  }
  for (const IcmpName& n : kIcmpNames) {
    if (*text != n.name) continue;
    uint8_t v = pm.proto == Protocol::ICMP ? n.v4 : n.v6;
    if (v == 255) break;
    pm.lo = pm.hi = v;
    return pm;
  }
  ctx.diags.report(Code::E305, tr,
                   "unknown " + std::string(pm.proto == Protocol::ICMP ? "ICMP" : "ICMPv6") + " type name '" + *text + "'");
  return std::nullopt;
}

} // namespace

std::optional<std::vector<PortGroup>> parse_cilium_ports(Ctx& ctx, const Map& item, Direction dir, bool deny) {
  std::vector<PortGroup> groups(1);
  bool ok = true;
  std::vector<doc::Node> to_ports = list_items(ctx, item.get("toPorts"), "toPorts", item.key_range("toPorts"));
  std::vector<doc::Node> icmps = list_items(ctx, item.get("icmps"), "icmps", item.key_range("icmps"));
  if (!to_ports.empty() && !icmps.empty()) {
    ctx.diags.report(Code::E207, item.key_range("icmps"),
                     "icmps may only be used without toPorts in one rule (Cilium rejects this); write two rules");
    return std::nullopt;
  }
  for (const doc::Node& pr : to_ports) {
    Map m(ctx, pr, "a toPorts entry", item.key_range("toPorts"));
    if (!m.valid()) {
      ok = false;
      continue;
    }
    if (deny) m.check({"ports"});
    else m.check({"ports", "rules", "serverNames", "listener", "originatingTLS", "terminatingTLS"});
    PortGroup group;
    bool dropped = false;
    for (const doc::Node& p : list_items(ctx, m.get("ports"), "ports", m.key_range("ports"))) {
      bool this_dropped = false;
      if (auto pm = parse_port_protocol(ctx, p, m.key_range("ports"), &this_dropped)) group.ports.push_back(std::move(*pm));
      else if (this_dropped) dropped = true;
      else ok = false;
    }
    if (!deny) {
      if (m.has("rules") && !is_null(m.get("rules")) && !parse_l7(ctx, m.get("rules"), m.key_range("rules"), dir, group))
        ok = false;
      m.unmodeled("serverNames", "TLS SNI matching is not enforced or verified; these ports are treated as open to every name");
      m.unmodeled("listener", "traffic redirected to an Envoy listener is treated as allowed");
      m.unmodeled("originatingTLS", "TLS origination is not modeled");
      m.unmodeled("terminatingTLS", "TLS termination is not modeled");
    }
    if (group.ports.empty() && dropped) continue;  // nothing moat can represent is left
    if (group.ports.empty()) {
      // A toPorts entry without ports is an L4 wildcard (Cilium's port 0, protocol ANY).
      PortMatch all;
      all.proto = Protocol::Any;
      all.range = m.range();
      group.ports.push_back(all);
    }
    if (group.http.empty() && group.dns.empty()) {
      for (PortMatch& p : group.ports) groups[0].ports.push_back(std::move(p));
    } else {
      groups.push_back(std::move(group));
    }
  }
  for (const doc::Node& ic : icmps) {
    Map m(ctx, ic, "an icmps entry", item.key_range("icmps"));
    if (!m.valid()) {
      ok = false;
      continue;
    }
    m.check({"fields"});
    for (const doc::Node& f : list_items(ctx, m.get("fields"), "fields", m.key_range("fields"))) {
      if (auto pm = parse_icmp_field(ctx, f, m.key_range("fields"))) groups[0].ports.push_back(std::move(*pm));
      else ok = false;
    }
  }
  if (!ok) return std::nullopt;
  // With L4 given, the first group holds only the plain entries; drop it when all entries
  // carried L7 rules. Without any L4, the one group means every port.
  if (groups[0].ports.empty() && (!to_ports.empty() || !icmps.empty())) groups.erase(groups.begin());
  return groups;
}

std::optional<FqdnMatch> parse_fqdn_match(Ctx& ctx, const doc::Node& node, std::string_view what,
                                          SourceRange fallback) {
  Map m(ctx, node, std::string(what), fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"matchName", "matchPattern"});
  bool name = m.has("matchName"), pattern = m.has("matchPattern");
  if (name == pattern) {
    ctx.diags.report(name ? Code::E207 : Code::E204, m.range(),
                     std::string(what) + " needs exactly one of matchName or matchPattern" + (name ? ", not both" : ""));
    return std::nullopt;
  }
  const char* key = name ? "matchName" : "matchPattern";
  auto text = strict_string(ctx, m.get(key), key, m.key_range(key));
  if (!text) return std::nullopt;
  if (auto why = check_fqdn(*text, pattern)) {
    ctx.diags.report(Code::E308, m.value_range(key), *why);
    return std::nullopt;
  }
  return FqdnMatch{pattern, normalize_fqdn(*text), m.range()};
}

} // namespace moat::yamlfe
