// Lowers the building blocks every statement uses: label selectors and peer expressions
// (selectors, cidr, entities, dns, fqdn, references), validating them with the checks
// shared by all front ends (ir/validate.h). Ports are in lower_ports.cpp.
#include <algorithm>

#include <fmt/format.h>

#include "frontend/moat/lower.h"
#include "ir/validate.h"

namespace moat::moatlang {

LabelRequirement namespace_requirement(const std::string& ns, SourceRange range) {
  return LabelRequirement{kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, range};
}

std::string unquote(std::string_view lit) {
  if (lit.size() >= 2 && lit.front() == '"') lit = lit.substr(1, lit.size() - (lit.back() == '"' ? 2 : 1));
  std::string out;
  out.reserve(lit.size());
  for (size_t i = 0; i < lit.size(); ++i) {
    if (lit[i] == '\\' && i + 1 < lit.size()) ++i;
    out += lit[i];
  }
  return out;
}

std::optional<std::string> lower_label_key(LowerContext& cx, MoatParser::LabelKeyContext* key) {
  std::string text;
  if (key->STRING()) {
    text = unquote(key->STRING()->getText());
  } else {
    // word ('/' word)?: spaces around the slash are not part of the key.
    for (auto* w : key->word()) text += (text.empty() ? "" : "/") + w->getText();
  }
  if (auto why = check_label_key(text)) {
    cx.diags.report(Code::E306, cx.range(key), *why);
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> lower_label_value(LowerContext& cx, MoatParser::LabelValueContext* value) {
  std::string text = value->STRING() ? unquote(value->STRING()->getText()) : value->getText();
  if (auto why = check_label_value(text)) {
    cx.diags.report(Code::E306, cx.range(value), *why);
    return std::nullopt;
  }
  return text;
}

std::optional<LabelRequirement> lower_selector_term(LowerContext& cx, MoatParser::SelectorTermContext* term) {
  LabelRequirement req;
  req.range = cx.range(term);
  MoatParser::LabelKeyContext* key = nullptr;
  if (auto* eq = dynamic_cast<MoatParser::EqualsTermContext*>(term)) {
    key = eq->labelKey();
    auto v = lower_label_value(cx, eq->labelValue());
    if (!v) return std::nullopt;
    req.op = LabelRequirement::Op::In;
    req.values = {*v};
  } else if (auto* set = dynamic_cast<MoatParser::SetTermContext*>(term)) {
    key = set->labelKey();
    req.op = set->op->getType() == MoatParser::IN ? LabelRequirement::Op::In : LabelRequirement::Op::NotIn;
    if (!set->valueList()) {
      cx.diags.report(Code::E310, req.range,
                      fmt::format("'{}' needs at least one value", set->op->getText()));
      return std::nullopt;
    }
    bool ok = true;
    for (auto* v : set->valueList()->labelValue()) {
      auto text = lower_label_value(cx, v);
      if (text) req.values.push_back(*text);
      ok = ok && text;
    }
    if (!ok) return std::nullopt;
    std::sort(req.values.begin(), req.values.end());
    req.values.erase(std::unique(req.values.begin(), req.values.end()), req.values.end());
  } else if (auto* ex = dynamic_cast<MoatParser::ExistsTermContext*>(term)) {
    key = ex->labelKey();
    req.op = LabelRequirement::Op::Exists;
  } else if (auto* nx = dynamic_cast<MoatParser::NotExistsTermContext*>(term)) {
    key = nx->labelKey();
    req.op = LabelRequirement::Op::DoesNotExist;
  }
  if (!key) return std::nullopt;
  auto k = lower_label_key(cx, key);
  if (!k) return std::nullopt;
  req.key = *k;
  return req;
}

std::optional<LabelSelector> lower_selector(LowerContext& cx, MoatParser::SelectorContext* sel) {
  LabelSelector out;
  out.range = cx.range(sel);
  bool ok = true;
  for (auto* term : sel->selectorTerm()) {
    auto req = lower_selector_term(cx, term);
    if (req) out.reqs.push_back(std::move(*req));
    ok = ok && req;
  }
  if (!ok) return std::nullopt;
  return out;
}

bool is_namespace_name(std::string_view ns) {
  // A namespace name is an RFC 1123 DNS label: lower-case letters, digits and '-'.
  bool ok = !ns.empty() && ns.size() <= 63 && ns.front() != '-' && ns.back() != '-';
  for (char c : ns) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  return ok;
}

bool check_namespace_name(LowerContext& cx, const std::string& ns, SourceRange range) {
  bool ok = is_namespace_name(ns);
  if (!ok)
    cx.diags.report(Code::E306, range,
                    fmt::format("namespace name '{}' must be at most 63 lower-case letters, digits and '-', "
                                "starting and ending with a letter or digit",
                                ns));
  return ok;
}

EndpointSelector kube_dns_selector(SourceRange range) {
  EndpointSelector sel;
  sel.namespaces.reqs.push_back(namespace_requirement("kube-system", range));
  sel.namespaces.range = range;
  sel.pods.reqs.push_back(LabelRequirement{"k8s-app", LabelRequirement::Op::In, {"kube-dns"}, range});
  sel.pods.range = range;
  sel.range = range;
  return sel;
}

namespace {

ResolvedPeer workloads(EndpointSelector sel, SourceRange range, std::string display) {
  ResolvedPeer r;
  r.kind = ResolvedPeer::Kind::Workloads;
  r.peer.kind = Peer::Kind::Endpoints;
  sel.range = range;
  r.peer.endpoints = std::move(sel);
  r.peer.range = range;
  r.display = std::move(display);
  return r;
}

/// Selector in the scope's namespace (or every namespace at cluster scope).
EndpointSelector scoped(const Scope& scope, LabelSelector pods, SourceRange range) {
  EndpointSelector sel;
  if (scope.kind == Scope::Kind::Namespace) {
    sel.namespaces.reqs.push_back(namespace_requirement(scope.ns, range));
    sel.namespaces.range = range;
  }
  sel.pods = std::move(pods);
  return sel;
}

std::optional<IpPrefix> lower_prefix(LowerContext& cx, MoatParser::PrefixContext* p) {
  std::string addr = p->ipLiteral()->getText();
  if (!IpAddr::parse(addr)) {
    cx.diags.report(Code::E309, cx.range(p->ipLiteral()), fmt::format("'{}' is not a valid IP address", addr));
    return std::nullopt;
  }
  std::string text = p->NUMBER() ? addr + "/" + p->NUMBER()->getText() : addr;
  auto prefix = IpPrefix::parse(text);
  if (!prefix) {
    cx.diags.report(Code::E304, cx.range(p),
                    fmt::format("'{}' has an invalid prefix length (IPv4: 0-32, IPv6: 0-128)", text));
    return std::nullopt;
  }
  warn_host_bits(text, *prefix, cx.range(p), cx.diags);
  return prefix;
}

std::optional<ResolvedPeer> lower_cidr(LowerContext& cx, MoatParser::CidrPeerContext* c) {
  ResolvedPeer r;
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.range = cx.range(c);
  r.display = cx.text(c);
  auto prefixes = c->prefix();
  auto cidr = lower_prefix(cx, prefixes[0]);
  bool ok = cidr.has_value();
  if (cidr) r.peer.cidr = *cidr;
  for (size_t i = 1; i < prefixes.size(); ++i) {
    auto p = lower_prefix(cx, prefixes[i]);
    if (!p) {
      ok = false;
      continue;
    }
    r.peer.except.push_back(*p);
    // The shared check reports at the peer's range; give it a one-prefix peer whose
    // range is the offending except prefix, so the caret lands on it.
    if (cidr) {
      Peer one = r.peer;
      one.except = {*p};
      one.range = cx.range(prefixes[i]);
      ok = validate_cidr_except(one, cx.diags) && ok;
    }
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<ResolvedPeer> lower_fqdn(LowerContext& cx, MoatParser::FqdnPeerContext* f) {
  std::string raw = unquote(f->STRING()->getText());
  bool pattern = raw.find('*') != std::string::npos;
  if (auto why = check_fqdn(raw, pattern)) {
    cx.diags.report(Code::E308, cx.range(f->STRING()), *why);
    return std::nullopt;
  }
  ResolvedPeer r;
  r.peer.kind = Peer::Kind::Fqdn;
  r.peer.fqdn = FqdnMatch{pattern, normalize_fqdn(raw), cx.range(f->STRING())};
  r.peer.range = cx.range(f);
  r.display = cx.text(f);
  return r;
}

} // namespace

std::optional<ResolvedPeer> lower_peer(LowerContext& cx, MoatParser::PeerExprContext* expr, const Scope& scope) {
  SourceRange range = cx.range(expr);
  std::string display = cx.text(expr);
  if (dynamic_cast<MoatParser::AllWorkloadsPeerContext*>(expr)) {
    LabelSelector none;
    none.range = range;
    return workloads(scoped(scope, none, range), range, scope.kind == Scope::Kind::Namespace ? scope.ns + "/*" : "*");
  }
  if (auto* local = dynamic_cast<MoatParser::LocalSelectorPeerContext*>(expr)) {
    auto pods = lower_selector(cx, local->selector());
    if (!pods) return std::nullopt;
    ResolvedPeer r = workloads(scoped(scope, *pods, range), range, display);
    r.home_ns = scope.ns;
    return r;
  }
  if (auto* nss = dynamic_cast<MoatParser::NsSelectorPeerContext*>(expr)) {
    std::string ns = nss->nsName()->getText();
    auto pods = lower_selector(cx, nss->selector());
    if (!check_namespace_name(cx, ns, cx.range(nss->nsName())) || !pods) return std::nullopt;
    Scope in_ns = Scope::of_namespace(ns);
    ResolvedPeer r = workloads(scoped(in_ns, *pods, range), range, display);
    r.home_ns = ns;
    return r;
  }
  if (auto* nsl = dynamic_cast<MoatParser::NsLabelsPeerContext*>(expr)) {
    auto sels = nsl->selector();
    auto nss = lower_selector(cx, sels[0]);
    std::optional<LabelSelector> pods = LabelSelector{};
    if (sels.size() > 1) pods = lower_selector(cx, sels[1]);
    if (!nss || !pods) return std::nullopt;
    EndpointSelector sel;
    sel.namespaces = *nss;
    sel.pods = *pods;
    return workloads(std::move(sel), range, display);
  }
  if (auto* whole = dynamic_cast<MoatParser::WholeNamespacePeerContext*>(expr)) {
    std::string ns = whole->nsName()->getText();
    if (!check_namespace_name(cx, ns, cx.range(whole->nsName()))) return std::nullopt;
    LabelSelector none;
    none.range = range;
    ResolvedPeer r = workloads(scoped(Scope::of_namespace(ns), none, range), range, display);
    r.home_ns = ns;
    return r;
  }
  if (auto* c = dynamic_cast<MoatParser::CidrPeerContext*>(expr)) return lower_cidr(cx, c);
  if (auto* e = dynamic_cast<MoatParser::EntityPeerContext*>(expr)) {
    auto entity = parse_entity(e->getText());
    if (!entity) {  // the grammar only admits known entities; kept for safety
      cx.diags.report(Code::E311, range, fmt::format("unknown entity '{}'", e->getText()));
      return std::nullopt;
    }
    ResolvedPeer r;
    r.peer.kind = Peer::Kind::Entity;
    r.peer.entity = *entity;
    r.peer.range = range;
    r.display = display;
    return r;
  }
  if (dynamic_cast<MoatParser::DnsPeerContext*>(expr)) {
    ResolvedPeer r = workloads(kube_dns_selector(range), range, "dns");
    r.kind = ResolvedPeer::Kind::Dns;
    r.home_ns = "kube-system";
    return r;
  }
  if (auto* f = dynamic_cast<MoatParser::FqdnPeerContext*>(expr)) return lower_fqdn(cx, f);
  if (auto* ref = dynamic_cast<MoatParser::RefPeerContext*>(expr)) return resolve_reference(cx, ref, scope);
  cx.diags.report(Code::E101, range, "unsupported peer expression");
  return std::nullopt;
}

} // namespace moat::moatlang
