// Low-level map operations on file descriptors, shared by the loader and the agent:
// make a map hold exactly a set of entries (write new/changed first, delete stale after),
// clear a map, read a per-CPU array summed over CPUs. Keys and values are raw bytes in the
// layouts of backend/bundle/datapath_abi.h.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace moat::runtime {

/// A map entry as bytes.
struct RawEntry {
  std::string key, value;
};

template <class K, class V>
std::vector<RawEntry> raw_entries(const std::vector<std::pair<K, V>>& in) {
  std::vector<RawEntry> out;
  out.reserve(in.size());
  for (const auto& [k, v] : in)
    out.push_back({std::string(reinterpret_cast<const char*>(&k), sizeof(K)),
                   std::string(reinterpret_cast<const char*>(&v), sizeof(V))});
  return out;
}

/// Makes map `fd` hold exactly `entries`: every entry is written (BPF_ANY), then keys that
/// are not in `entries` are deleted. Readers see the old or the new verdict of each key,
/// never a missing one for a key present in both. Returns false with `error` on failure.
bool sync_map(int fd, const std::vector<RawEntry>& entries, std::string& error);

/// Deletes every entry of a hash / LRU / LPM map.
bool clear_map(int fd, uint32_t key_size, std::string& error);

/// Every key currently in the map (raw bytes).
std::vector<std::string> map_keys(int fd, uint32_t key_size);

/// Reads slot `index` of a per-CPU array whose values are `words` u64s, summed over CPUs.
bool read_percpu_u64s(int fd, uint32_t index, uint32_t words, std::vector<uint64_t>& sum, std::string& error);

} // namespace moat::runtime
