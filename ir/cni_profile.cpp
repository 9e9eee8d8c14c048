// The CNI profiles' names and the axes on which they differ (see cni_profile.h).
#include "ir/cni_profile.h"

namespace moat {

const char* to_string(CniProfile p) {
  switch (p) {
  case CniProfile::Cilium: return "cilium";
  case CniProfile::Calico: return "calico";
  case CniProfile::Kubernetes: return "kubernetes";
  }
  return "cilium";
}

std::optional<CniProfile> parse_cni_profile(std::string_view name) {
  for (CniProfile p : {CniProfile::Cilium, CniProfile::Calico, CniProfile::Kubernetes})
    if (name == to_string(p)) return p;
  return std::nullopt;
}

bool ip_block_matches_cluster(CniProfile p) { return p != CniProfile::Cilium; }

bool reads_cilium_policies(CniProfile p) { return p != CniProfile::Calico; }

} // namespace moat
