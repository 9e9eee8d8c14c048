// `expect A -> B on PROTO PORT: allow|deny;` into ir::Expect with concrete endpoints, so
// every engine can evaluate it without an inventory: a workload reference becomes a pod
// whose labels satisfy the selector, an IP literal an external endpoint, and a quoted DNS
// name an external endpoint that learned that name, at a synthetic address in the
// benchmarking range 198.18.0.0/15 (RFC 2544), derived from the name so runs are stable.
#include <fmt/format.h>

#include "frontend/moat/lower.h"
#include "ir/interp.h"
#include "ir/validate.h"

namespace moat::moatlang {

namespace {

/// Chooses label values that satisfy `sel` where it can: In -> its first value, Exists ->
/// "x" (or "x1", "x2"... when NotIn forbids "x"). Keys already in `out` are kept.
void synthesize_labels(const LabelSelector& sel, Labels& out) {
  for (const LabelRequirement& r : sel.reqs) {
    if (out.count(r.key)) continue;
    if (r.op == LabelRequirement::Op::In && !r.values.empty()) {
      out[r.key] = r.values.front();
    } else if (r.op == LabelRequirement::Op::Exists) {
      auto forbidden = [&](const std::string& v) {
        for (const LabelRequirement& o : sel.reqs)
          if (o.key == r.key && o.op == LabelRequirement::Op::NotIn &&
              std::find(o.values.begin(), o.values.end(), v) != o.values.end())
            return true;
        return false;
      };
      std::string v = "x";
      for (int i = 1; forbidden(v); ++i) v = "x" + std::to_string(i);
      out[r.key] = v;
    }
  }
}

std::optional<Endpoint> workload_endpoint(LowerContext& cx, const ResolvedPeer& p, SourceRange range) {
  const EndpointSelector& sel = p.peer.endpoints;
  std::string ns;
  for (const LabelRequirement& r : sel.namespaces.reqs)
    if (r.key == kNamespaceNameLabel && r.op == LabelRequirement::Op::In && !r.values.empty()) ns = r.values.front();
  if (ns.empty()) ns = p.home_ns;
  if (ns.empty()) {
    cx.diags.report(Code::E106, range,
                    fmt::format("cannot tell which namespace '{}' is in; write ns/name or ns/{{...}}", p.display));
    return std::nullopt;
  }
  Endpoint ep;
  ep.kind = EndpointKind::Workload;
  ep.name = p.display;
  ep.ns = ns;
  if (auto it = cx.module.namespaces.find(ns); it != cx.module.namespaces.end()) ep.ns_labels = it->second;
  ep.ns_labels[kNamespaceNameLabel] = ns;
  synthesize_labels(sel.namespaces, ep.ns_labels);
  synthesize_labels(sel.pods, ep.labels);
  if (!endpoint_selector_matches(sel, ep)) {
    cx.diags.report(Code::E106, range,
                    fmt::format("no workload in namespace {} can match '{}' (its selector contradicts itself or "
                                "the namespace's labels)",
                                ns, p.display));
    return std::nullopt;
  }
  return ep;
}

IpAddr synthetic_address(std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return IpAddr::v4((198u << 24 | 18u << 16) + (h & 0x1ffff));
}

std::optional<Endpoint> lower_end(LowerContext& cx, MoatParser::EndpointExprContext* e, const Scope& scope) {
  SourceRange range = cx.range(e);
  if (auto* ip = e->ipLiteral()) {
    auto addr = IpAddr::parse(ip->getText());
    if (!addr) {
      cx.diags.report(Code::E309, range, fmt::format("'{}' is not a valid IP address", ip->getText()));
      return std::nullopt;
    }
    Endpoint ep;
    ep.kind = EndpointKind::External;
    ep.name = ip->getText();
    ep.ips = {*addr};
    return ep;
  }
  if (auto* str = e->STRING()) {
    std::string raw = unquote(str->getText());
    if (auto why = check_fqdn(raw, false)) {
      cx.diags.report(Code::E308, range, *why);
      return std::nullopt;
    }
    Endpoint ep;
    ep.kind = EndpointKind::External;
    ep.name = normalize_fqdn(raw);
    ep.dns_names = {ep.name};
    ep.ips = {synthetic_address(ep.name)};
    return ep;
  }
  auto p = lower_peer(cx, e->peerExpr(), scope);
  if (!p) return std::nullopt;
  if (p->peer.kind == Peer::Kind::Endpoints) return workload_endpoint(cx, *p, range);
  if (p->peer.kind == Peer::Kind::Entity) {
    Endpoint ep;
    ep.name = to_string(p->peer.entity);
    switch (p->peer.entity) {
    case Entity::Host: ep.kind = EndpointKind::Host; return ep;
    case Entity::RemoteNode: ep.kind = EndpointKind::RemoteNode; return ep;
    case Entity::KubeApiserver: ep.kind = EndpointKind::KubeApiserver; return ep;
    default: break;
    }
  }
  cx.diags.report(Code::E106, range,
                  fmt::format("'{}' is not one endpoint; an expectation end is a workload (ns/name), host, "
                              "remote-node, kube-apiserver, an IP address or a quoted DNS name",
                              p->display));
  return std::nullopt;
}

} // namespace

void lower_expect(LowerContext& cx, MoatParser::ExpectStmtContext* stmt, const Scope& scope) {
  Expect ex;
  ex.range = cx.range(stmt);
  ex.text = cx.text(stmt);
  ex.allow = stmt->verdict->getType() == MoatParser::ALLOW;
  auto from = lower_end(cx, stmt->from, scope);
  auto to = lower_end(cx, stmt->to, scope);
  std::optional<Protocol> previous;
  auto port = lower_port_item(cx, stmt->portItem(), previous);
  if (!from || !to || !port) return;
  SourceRange prange = cx.range(stmt->portItem());
  if (port->proto == Protocol::Any) {
    cx.diags.report(Code::E305, prange, "an expectation needs a concrete protocol: tcp, udp, sctp, icmp or icmpv6");
    return;
  }
  if (!port->name.empty() || port->lo != port->hi) {
    cx.diags.report(Code::E303, prange,
                    port->name.empty() ? "an expectation is about one port number, not a range"
                                       : "an expectation needs a port number (named ports depend on the pod)");
    return;
  }
  ex.from = std::move(*from);
  ex.to = std::move(*to);
  ex.proto = port->proto;
  ex.port = port->lo;
  cx.module.expects.push_back(std::move(ex));
}

} // namespace moat::moatlang
