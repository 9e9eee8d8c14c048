// Conntrack scans for zombie FQDN addresses (libbpf syscall wrappers on the pinned map).
#include "runtime/agent/fqdn_conntrack.h"

#include <algorithm>
#include <cstring>

#include <bpf/bpf.h>

#include "backend/bundle/datapath_abi.h"
#include "runtime/maps.h"

namespace moat::runtime::agent {

namespace {

/// The two addresses of a tuple, as IpAddr (IPv4 in the first four bytes).
std::pair<IpAddr, IpAddr> tuple_addrs(const abi::FlowTuple& t) {
  IpAddr s, d;
  s.v6 = d.v6 = t.family == abi::kFamilyV6;
  size_t n = s.v6 ? 16 : 4;
  std::memcpy(s.bytes.data(), t.saddr, n);
  std::memcpy(d.bytes.data(), t.daddr, n);
  return {s, d};
}

} // namespace

std::map<IpAddr, std::vector<uint32_t>> conntrack_epochs(int fd) {
  std::map<IpAddr, std::vector<uint32_t>> out;
  if (fd < 0) return out;
  for (const std::string& raw : map_keys(fd, sizeof(abi::FlowTuple))) {
    abi::FlowTuple key;
    std::memcpy(&key, raw.data(), sizeof key);
    abi::ConntrackValue v;
    if (bpf_map_lookup_elem(fd, &key, &v) != 0) continue;  // gone meanwhile (LRU, revoked)
    auto [s, d] = tuple_addrs(key);
    out[s].push_back(v.epoch);
    if (d != s) out[d].push_back(v.epoch);
  }
  return out;
}

void mark_conntrack(int fd, const std::vector<IpAddr>& addrs, uint32_t mark) {
  if (fd < 0 || addrs.empty()) return;
  for (const std::string& raw : map_keys(fd, sizeof(abi::FlowTuple))) {
    abi::FlowTuple key;
    std::memcpy(&key, raw.data(), sizeof key);
    auto [s, d] = tuple_addrs(key);
    if (std::find(addrs.begin(), addrs.end(), s) == addrs.end() && std::find(addrs.begin(), addrs.end(), d) == addrs.end())
      continue;
    abi::ConntrackValue v;
    if (bpf_map_lookup_elem(fd, &key, &v) != 0) continue;
    v.epoch = mark;
    // BPF_EXIST: an entry deleted meanwhile (revoked, evicted) stays deleted.
    bpf_map_update_elem(fd, &key, &v, BPF_EXIST);
  }
}

} // namespace moat::runtime::agent
