// Map operations through libbpf's low-level bpf_map_* syscall wrappers.
#include "runtime/maps.h"

#include <cerrno>
#include <unordered_set>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace moat::runtime {

std::vector<std::string> map_keys(int fd, uint32_t key_size) {
  std::vector<std::string> keys;
  std::string cur(key_size, '\0'), next(key_size, '\0');
  const void* prev = nullptr;  // NULL: the first key
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    keys.push_back(next);
    cur = next;
    prev = cur.data();
  }
  return keys;
}

bool sync_map(int fd, const std::vector<RawEntry>& entries, std::string& error) {
  std::unordered_set<std::string> wanted;
  uint32_t key_size = 0;
  for (const RawEntry& e : entries) {
    key_size = static_cast<uint32_t>(e.key.size());
    if (bpf_map_update_elem(fd, e.key.data(), e.value.data(), BPF_ANY) != 0) {
      error = std::string("map update failed: ") + strerror(errno);
      return false;
    }
    wanted.insert(e.key);
  }
  if (key_size == 0) {
    struct bpf_map_info info = {};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
      error = std::string("cannot read map info: ") + strerror(errno);
      return false;
    }
    key_size = info.key_size;
  }
  for (const std::string& k : map_keys(fd, key_size))
    if (!wanted.count(k) && bpf_map_delete_elem(fd, k.data()) != 0 && errno != ENOENT) {
      error = std::string("map delete failed: ") + strerror(errno);
      return false;
    }
  return true;
}

bool clear_map(int fd, uint32_t key_size, std::string& error) {
  // Deleting while iterating restarts from the first key; collect first.
  for (const std::string& k : map_keys(fd, key_size))
    if (bpf_map_delete_elem(fd, k.data()) != 0 && errno != ENOENT) {
      error = std::string("map delete failed: ") + strerror(errno);
      return false;
    }
  return true;
}

bool read_percpu_u64s(int fd, uint32_t index, uint32_t words, std::vector<uint64_t>& sum, std::string& error) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    error = "cannot count CPUs";
    return false;
  }
  std::vector<uint64_t> values(static_cast<size_t>(cpus) * words);
  if (bpf_map_lookup_elem(fd, &index, values.data()) != 0) {
    error = std::string("counter lookup failed: ") + strerror(errno);
    return false;
  }
  sum.assign(words, 0);
  for (int c = 0; c < cpus; ++c)
    for (uint32_t w = 0; w < words; ++w) sum[w] += values[static_cast<size_t>(c) * words + w];
  return true;
}

} // namespace moat::runtime
