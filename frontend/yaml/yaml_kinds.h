// The kind parsers the YAML driver dispatches to. Each lowers one Kubernetes object into
// the Module in ctx, reporting every mistake where it is found.
#pragma once
#include <string>

#include "frontend/yaml/yaml_util.h"

namespace moat::yamlfe {

/// apiVersion, kind and metadata of one object, read by the driver.
struct ObjectMeta {
  std::string api_version, kind, name, ns;
  bool has_namespace = false;
  SourceRange range;       // the object (its first key)
  SourceRange name_range;  // metadata.name, or the object when absent
};

/// networking.k8s.io/v1 NetworkPolicy.
void parse_network_policy(Ctx& ctx, const Map& obj, const ObjectMeta& meta);
/// cilium.io/v2 CiliumNetworkPolicy (clusterwide = false) or CiliumClusterwideNetworkPolicy.
void parse_cilium_policy(Ctx& ctx, const Map& obj, const ObjectMeta& meta, bool clusterwide);
/// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy (baseline = false) or
/// BaselineAdminNetworkPolicy: rules appended to Module::admin_rules / baseline_rules.
void parse_admin_network_policy(Ctx& ctx, const Map& obj, const ObjectMeta& meta, bool baseline);
/// Puts Module::admin_rules in evaluation order (priority, then read order) and renumbers them.
void order_admin_rules(Module& m);
/// karpenter.sh/v1 (or v1beta1) NodePool.
void parse_nodepool(Ctx& ctx, const Map& obj, const ObjectMeta& meta);

/// "NetworkPolicy ns/name" style origin strings.
std::string origin_of(const ObjectMeta& meta, bool namespaced);

/// The namespace-name requirement `kubernetes.io/metadata.name In [ns]`.
LabelRequirement namespace_is(const std::string& ns, SourceRange range);

} // namespace moat::yamlfe
