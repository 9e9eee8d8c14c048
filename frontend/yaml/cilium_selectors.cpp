// Cilium endpoint selectors and entities. Cilium keys carry a label source (`k8s:`,
// `any:`, `reserved:`) and encode the namespace as pod labels; moat's EndpointSelector
// keeps namespace and pod requirements apart, so the special keys are moved here.
#include <algorithm>

#include "frontend/yaml/cilium.h"
#include "frontend/yaml/label_selector.h"

namespace moat::yamlfe {

namespace {

/// Cilium's pod label that carries the pod's namespace name (pkg/k8s/apis/cilium.io).
constexpr std::string_view kPodNamespaceLabel = "io.kubernetes.pod.namespace";
/// Prefix of the pod labels that mirror the labels of the pod's namespace.
constexpr std::string_view kNamespaceLabelsPrefix = "io.cilium.k8s.namespace.labels.";

Peer cidr_peer(std::string_view text, SourceRange range) {
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.cidr = *IpPrefix::parse(text);
  p.range = range;
  return p;
}

} // namespace

std::optional<Peer> entity_peer(Ctx& ctx, const doc::Node& node, SourceRange fallback, const CiliumScope& scope) {
  SourceRange r = range_of(ctx, node, fallback);
  auto name = strict_string(ctx, node, "an entity", r);
  if (!name) return std::nullopt;
  // world-ipv4 / world-ipv6 (Cilium 1.15+) are the world restricted to one family, which
  // is exactly what a CIDR peer means (CIDR peers match only endpoints outside the cluster).
  if (*name == "world-ipv4") return cidr_peer("0.0.0.0/0", r);
  if (*name == "world-ipv6") return cidr_peer("::/0", r);
  if (*name == "namespace") {
    // Newer Cilium (cilium/cilium#43003): the endpoints of the subject's own namespace.
    if (scope.clusterwide) {
      ctx.diags.report(Code::W208, r,
                       "the 'namespace' entity of a clusterwide policy depends on each subject's namespace, "
                       "which moat does not model; this peer is ignored");
      return std::nullopt;
    }
    Peer p;
    p.kind = Peer::Kind::Endpoints;
    p.endpoints.namespaces.reqs.push_back(
        LabelRequirement{kNamespaceNameLabel, LabelRequirement::Op::In, {scope.ns}, r});
    p.endpoints.range = r;
    p.range = r;
    return p;
  }
  auto e = parse_entity(*name);
  if (!e) {
    ctx.diags.report(Code::E311, r,
                     "unknown entity '" + *name +
                         "' (expected world, cluster, host, remote-node, kube-apiserver, all, init, health, "
                         "unmanaged, ingress, world-ipv4 or world-ipv6)");
    return std::nullopt;
  }
  Peer p;
  p.kind = Peer::Kind::Entity;
  p.entity = *e;
  p.range = r;
  return p;
}

std::optional<CiliumSelector> parse_cilium_selector(Ctx& ctx, const doc::Node& node, std::string_view what,
                                                    SourceRange fallback) {
  auto raw = parse_label_selector(ctx, node, what, LabelFlavor::Cilium, fallback);
  if (!raw) return std::nullopt;
  CiliumSelector out;
  out.sel.range = raw->range;
  out.sel.pods.range = raw->range;
  out.sel.namespaces.range = raw->range;
  bool ok = true;
  for (LabelRequirement& req : raw->reqs) {
    auto [source, key] = split_label_source(req.key);
    if (source == "reserved") {
      using Op = LabelRequirement::Op;
      if (req.op == Op::NotIn || req.op == Op::DoesNotExist) continue;  // no workload carries reserved labels
      if (key == "world-ipv4" || key == "world-ipv6") {
        out.reserved_cidr = cidr_peer(key == "world-ipv4" ? "0.0.0.0/0" : "::/0", req.range);
        continue;
      }
      auto e = parse_entity(key);
      if (!e) {
        ctx.diags.report(Code::E311, req.range, "unknown reserved identity '" + req.key + "'");
        ok = false;
        continue;
      }
      out.reserved = *e;
      continue;
    }
    if (!source.empty() && source != "k8s" && source != "any") {
      ctx.diags.report(Code::W208, req.range,
                       "label source '" + source + ":' in " + std::string(what) +
                           " is not modeled by moat; the requirement matches no workload");
    }
    if (source.empty() || source == "k8s" || source == "any") {
      if (key == kPodNamespaceLabel) {
        req.key = kNamespaceNameLabel;
        out.has_namespace_name = true;
        out.sel.namespaces.reqs.push_back(std::move(req));
        continue;
      }
      if (key.size() > kNamespaceLabelsPrefix.size() && key.compare(0, kNamespaceLabelsPrefix.size(), kNamespaceLabelsPrefix) == 0) {
        req.key = key.substr(kNamespaceLabelsPrefix.size());
        out.sel.namespaces.reqs.push_back(std::move(req));
        continue;
      }
      req.key = key;
    }
    out.sel.pods.reqs.push_back(std::move(req));
  }
  if ((out.reserved || out.reserved_cidr) && (!out.sel.pods.reqs.empty() || !out.sel.namespaces.reqs.empty())) {
    ctx.diags.report(Code::W208, out.sel.range,
                     "a reserved identity combined with other labels in " + std::string(what) +
                         " is not modeled by moat; only the reserved identity is used");
  }
  if (!ok) return std::nullopt;
  return out;
}

} // namespace moat::yamlfe
