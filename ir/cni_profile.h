// Which CNI's reading of Kubernetes NetworkPolicy moat applies (`--cni`, docs/CNI.md): the
// front end lowers NetworkPolicy under one profile, and every engine then judges the IR it made.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace moat {

/// The CNIs whose NetworkPolicy semantics moat models. Kubernetes: the upstream API and its
/// e2e conformance suite, read literally.
enum class CniProfile : uint8_t { Cilium, Calico, Kubernetes };

/// Cilium: moat's semantics before profiles existed (bundles and proofs keep their meaning),
/// the eBPF datapath moat's own resembles, and the CNI the platforms moat serves move to.
inline constexpr CniProfile kDefaultCniProfile = CniProfile::Cilium;

const char* to_string(CniProfile p);  // "cilium", "calico", "kubernetes"
std::optional<CniProfile> parse_cni_profile(std::string_view name);  // exact, lower-case

/// Does a NetworkPolicy ipBlock also match cluster addresses (pods, nodes)? Cilium: no, CIDR
/// identities are never given to cluster endpoints (cilium#9209); Calico and the upstream
/// e2e suite: yes (docs/CNI.md).
bool ip_block_matches_cluster(CniProfile p);

/// Does this CNI read CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy? Only Cilium
/// enforces them; under calico they are ignored (W240). The kubernetes profile is about
/// NetworkPolicy only and leaves Cilium policies their Cilium meaning.
bool reads_cilium_policies(CniProfile p);

} // namespace moat
