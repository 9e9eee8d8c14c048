// The datapath model (see datapath_model.h).
#include "datapath_model.h"

#include <cstring>

#include "backend/bundle/datapath_abi.h"
#include "ir/interp.h"

namespace moat::test {

namespace {

/// Do the first `bits` bits of a and b agree?
bool prefix_equal(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  for (uint32_t i = 0; i < bits; ++i) {
    uint8_t m = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((a[i / 8] & m) != (b[i / 8] & m)) return false;
  }
  return true;
}

template <class K, class V>
const V* lpm(const std::vector<std::pair<K, V>>& entries, const K& key) {
  const V* best = nullptr;
  uint32_t best_len = 0;
  for (const auto& [k, v] : entries) {
    if (k.prefixlen > key.prefixlen || (best && k.prefixlen <= best_len)) continue;
    auto* kd = reinterpret_cast<const uint8_t*>(&k) + 4;
    auto* qd = reinterpret_cast<const uint8_t*>(&key) + 4;
    if (!prefix_equal(kd, qd, k.prefixlen)) continue;
    best = &v;
    best_len = k.prefixlen;
  }
  return best;
}

template <class K, class V>
const V* exact(const std::vector<std::pair<K, V>>& entries, const K& key) {
  for (const auto& [k, v] : entries)
    if (std::memcmp(&k, &key, sizeof(K)) == 0) return &v;
  return nullptr;
}

uint8_t proto_number(Protocol p) { return static_cast<uint8_t>(p); }

std::optional<IpAddr> address(const Endpoint& e, bool v6) {
  for (const IpAddr& ip : e.ips)
    if (ip.v6 == v6) return ip;
  return std::nullopt;
}

} // namespace

bool model_direction(const bundle::MapContents& c, const bundle::DatapathPlan& plan, const abi::EndpointValue& local,
                     Direction dir, const IpAddr& local_ip, const IpAddr& remote_ip, Protocol proto, uint16_t port) {
  // IPv6 neighbour discovery passes before any lookup (as the real packets do: hop limit 255).
  if (is_neighbour_discovery(proto, port)) return true;
  // The endpoint's own addresses (source_check.cpp): egress must send from one of them
  // (else spoofed: dropped); self traffic has one at the remote end.
  auto own = [&](const IpAddr& a) {
    abi::EndpointValue probe{};
    bundle::set_endpoint_addresses(probe, {a});
    for (uint8_t i = 0; i < local.addr_count && i < abi::kMaxEndpointAddrs; ++i)
      if (local.addr_family[i] == probe.addr_family[0] && std::memcmp(local.addrs[i], probe.addrs[0], 16) == 0)
        return true;
    return false;
  };
  if (dir == Direction::Egress && !own(local_ip)) return false;  // spoofed
  if (own(remote_ip)) return true;                               // self
  const bundle::DirectionPlan& dp = plan[dir];
  if (!dp.enabled) return true;
  uint32_t remote = abi::kIdentityWorld;
  if (dp.ipcache) {
    abi::IpcacheKey k = bundle::ipcache_key(IpPrefix{remote_ip, static_cast<uint8_t>(remote_ip.bits())});
    // A zombie FQDN address (kIdentityZombie) admits no new flow: its entry counts as absent.
    const uint32_t* id = exact(c.hosts, k);
    bool node_host = false;
    if (id && !(*id & abi::kIdentityZombie)) {
      remote = *id & abi::kIdentityMask;
      node_host = (*id & abi::kIdentityNodeHost) != 0;
    } else if (plan.ipcache_prefixes) {
      if (const uint32_t* id2 = lpm(c.ipcache, k)) remote = *id2;
    }
    if (dir == Direction::Ingress && (remote == abi::kIdentityHost || node_host)) return true;
  }
  abi::PolicyKey key = bundle::policy_key(local.identity, remote, dir, proto_number(proto), port, abi::kPolicyFullBits);
  auto level = [&]() -> const abi::PolicyValue* {
    const abi::PolicyValue* hit = dp.exact_ports ? exact(c.policy_exact, key) : nullptr;
    if (!hit && dp.port_prefixes) hit = lpm(c.policy, key);
    return hit;
  };
  const abi::PolicyValue* v = nullptr;
  if (dp.specific_lookup) v = level();
  if (!v && dp.any_lookup) {
    key.remote = abi::kIdentityAny;
    v = level();
  }
  if (v && v->action != abi::kActionIsolation) return v->action == abi::kActionAllow;
  uint32_t bit = dir == Direction::Egress ? abi::kFlagIsolatedEgress : abi::kFlagIsolatedIngress;
  return (local.flags & bit) == 0;
}

std::optional<bool> model_connection(const bundle::MapContents& c, const bundle::DatapathPlan& plan,
                                     const std::vector<Endpoint>& eps, size_t src, size_t dst, Protocol proto,
                                     uint16_t port) {
  const Endpoint& s = eps[src];
  const Endpoint& d = eps[dst];
  bool v6 = proto == Protocol::ICMPv6 || (proto != Protocol::ICMP && !(address(s, false) && address(d, false)));
  auto sa = address(s, v6), da = address(d, v6);
  if (!sa || !da) return std::nullopt;
  auto value_of = [&](size_t i) -> const abi::EndpointValue* {
    for (const auto& [k, v] : c.endpoints)
      if (k.kind == abi::kEndpointKindIfindex && k.id == i + 1) return &v;
    return nullptr;
  };
  bool ok = true;
  if (s.kind == EndpointKind::Workload) ok &= model_direction(c, plan, *value_of(src), Direction::Egress, *sa, *da, proto, port);
  if (d.kind == EndpointKind::Workload) ok &= model_direction(c, plan, *value_of(dst), Direction::Ingress, *da, *sa, proto, port);
  return ok;
}

} // namespace moat::test
