// Lowers `on ...` port clauses (protocols, numbers, ranges, named ports) and narrows the
// ports of rules to `dns`, validating them with the checks shared by all front ends.
#include <algorithm>

#include <fmt/format.h>

#include "frontend/moat/lower.h"
#include "ir/validate.h"

namespace moat::moatlang {

namespace {

/// Parses a decimal token without overflow; values past 65535 saturate at 65536.
uint32_t port_number(antlr4::tree::TerminalNode* n) {
  uint32_t v = 0;
  for (char c : n->getText()) v = std::min<uint32_t>(v * 10 + static_cast<uint32_t>(c - '0'), 65536);
  return v;
}

std::optional<PortMatch> lower_range(LowerContext& cx, MoatParser::PortRangeContext* r, Protocol proto) {
  PortMatch pm;
  pm.proto = proto;
  pm.range = cx.range(r);
  auto nums = r->NUMBER();
  uint32_t lo = port_number(nums[0]);
  uint32_t hi = nums.size() > 1 ? port_number(nums[1]) : lo;
  bool icmp = proto == Protocol::ICMP || proto == Protocol::ICMPv6;
  uint32_t max = icmp ? 255 : 65535;
  for (size_t i = 0; i < nums.size(); ++i) {
    uint32_t v = port_number(nums[i]);
    if (v > 65535) {
      std::string shown = nums[i]->getText().substr(0, 20);
      cx.diags.report(Code::E303, cx.range(nums[i]),
                      icmp ? fmt::format("{} type {} is outside 0-{}", to_string(proto), shown, max)
                           : fmt::format("port {} is outside 1-65535", shown));
      return std::nullopt;
    }
  }
  pm.lo = static_cast<uint16_t>(lo);
  pm.hi = static_cast<uint16_t>(hi);
  // 0..65535 means "every port" to the shared validator; written out, port 0 is a mistake.
  if (!icmp && lo == 0 && !(nums.size() > 1 && hi == 65535)) {
    cx.diags.report(Code::E303, cx.range(nums[0]), "port 0 is outside 1-65535");
    return std::nullopt;
  }
  if (!validate_port(pm, cx.diags)) return std::nullopt;
  return pm;
}

PortMatch all_ports(Protocol proto, SourceRange range) {
  PortMatch pm;
  pm.proto = proto;
  pm.lo = 0;
  pm.hi = (proto == Protocol::ICMP || proto == Protocol::ICMPv6) ? 255 : 65535;
  pm.range = range;
  return pm;
}

std::optional<PortMatch> lower_value(LowerContext& cx, MoatParser::PortValueContext* v, Protocol proto,
                                     SourceRange item_range) {
  if (v->portRange()) {
    auto pm = lower_range(cx, v->portRange(), proto);
    if (pm) pm->range = item_range;
    return pm;
  }
  std::string name = v->WORD()->getText();
  if (proto == Protocol::ICMP || proto == Protocol::ICMPv6) {
    cx.diags.report(Code::E303, cx.range(v), fmt::format("{} types are numbers (0-255), not names like '{}'",
                                                         to_string(proto), name));
    return std::nullopt;
  }
  PortMatch pm;
  pm.proto = proto;
  pm.name = name;
  pm.range = item_range;
  return pm;
}

} // namespace

std::optional<PortMatch> lower_port_item(LowerContext& cx, MoatParser::PortItemContext* item,
                                         std::optional<Protocol>& previous) {
  SourceRange range = cx.range(item);
  if (auto* known = dynamic_cast<MoatParser::KnownProtocolPortContext*>(item)) {
    auto proto = parse_protocol(known->protocol()->getText());
    if (!proto) {
      cx.diags.report(Code::E305, cx.range(known->protocol()), "unknown protocol");
      return std::nullopt;
    }
    previous = *proto;
    if (!known->portValue()) return all_ports(*proto, range);
    return lower_value(cx, known->portValue(), *proto, range);
  }
  if (auto* unknown = dynamic_cast<MoatParser::UnknownProtocolPortContext*>(item)) {
    cx.diags.report(Code::E305, cx.range(unknown->WORD()),
                    fmt::format("unknown protocol '{}'; expected tcp, udp, sctp, icmp, icmpv6 or any",
                                unknown->WORD()->getText()));
    return std::nullopt;
  }
  auto* bare = dynamic_cast<MoatParser::BareRangePortContext*>(item);
  if (!bare) return std::nullopt;
  if (!previous) {
    cx.diags.report(Code::E305, range,
                    fmt::format("port {} needs a protocol: write 'tcp {}' (or udp, sctp, any)", cx.text(bare),
                                cx.text(bare)));
    return std::nullopt;
  }
  auto pm = lower_range(cx, bare->portRange(), *previous);
  if (pm) pm->range = range;
  return pm;
}

std::optional<std::vector<PortMatch>> lower_ports(LowerContext& cx, MoatParser::PortsClauseContext* clause) {
  std::vector<PortMatch> out;
  if (!clause) return out;
  std::optional<Protocol> previous;
  bool ok = true;
  for (auto* item : clause->portItem()) {
    auto pm = lower_port_item(cx, item, previous);
    if (pm) out.push_back(std::move(*pm));
    ok = ok && pm;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<PortMatch>> dns_ports(LowerContext& cx, const std::vector<PortMatch>& given,
                                                SourceRange range) {
  const PortMatch base[] = {PortMatch{Protocol::UDP, 53, 53, "", range}, PortMatch{Protocol::TCP, 53, 53, "", range}};
  if (given.empty()) return std::vector<PortMatch>(std::begin(base), std::end(base));
  std::vector<PortMatch> out;
  for (const PortMatch& p : given) {
    if (!p.name.empty()) {
      cx.diags.report(Code::E107, p.range,
                      fmt::format("named port '{}' cannot be used with dns (kube-dns listens on udp 53 and tcp 53)",
                                  p.name));
      return std::nullopt;
    }
    for (const PortMatch& d : base) {
      bool proto_ok = p.proto == d.proto || p.proto == Protocol::Any;
      if (!proto_ok || p.lo > 53 || p.hi < 53) continue;
      bool dup = std::any_of(out.begin(), out.end(), [&](const PortMatch& o) { return o.proto == d.proto; });
      if (!dup) out.push_back(PortMatch{d.proto, 53, 53, "", p.range});
    }
  }
  if (out.empty()) {
    cx.diags.report(Code::E107, given.front().range,
                    "dns is kube-dns on udp 53 and tcp 53; these ports select neither");
    return std::nullopt;
  }
  return out;
}

} // namespace moat::moatlang
