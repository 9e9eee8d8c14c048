// Generations: open with carried-over maps, fill, update in place (three passes), activate.
#include "runtime/agent/generation.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <bpf/bpf.h>

namespace moat::runtime::agent {

namespace {

struct KeyLess {
  bool operator()(const abi::PolicyKey& a, const abi::PolicyKey& b) const {
    return std::memcmp(&a, &b, sizeof a) < 0;
  }
};

/// Old entries plus the new ones that are not there yet (old values win on a clash, so an
/// existing identity pair keeps its verdict until the last pass).
std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>> policy_union(
    const std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>>& old_entries,
    const std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>>& new_entries) {
  std::map<abi::PolicyKey, abi::PolicyValue, KeyLess> all;
  for (const auto& [k, v] : new_entries) all[k] = v;
  for (const auto& [k, v] : old_entries) all[k] = v;
  return {all.begin(), all.end()};
}

template <class K, class V>
bool same_entries(std::vector<std::pair<K, V>> a, std::vector<std::pair<K, V>> b) {
  if (a.size() != b.size()) return false;
  auto less = [](const std::pair<K, V>& x, const std::pair<K, V>& y) {
    int c = std::memcmp(&x.first, &y.first, sizeof(K));
    return c != 0 ? c < 0 : std::memcmp(&x.second, &y.second, sizeof(V)) < 0;
  };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i].first, &b[i].first, sizeof(K)) || std::memcmp(&a[i].second, &b[i].second, sizeof(V)))
      return false;
  return true;
}

bool same_contents(const bundle::MapContents& a, const bundle::MapContents& b) {
  return same_entries(a.policy, b.policy) && same_entries(a.policy_exact, b.policy_exact) &&
         same_entries(a.ipcache, b.ipcache) && same_entries(a.hosts, b.hosts) &&
         same_entries(a.endpoints, b.endpoints);
}

} // namespace

std::string generation_dir(const std::string& pin_dir, uint64_t number) {
  return pin_dir + "/gen/" + std::to_string(number);
}

std::unique_ptr<Generation> open_generation(const std::vector<uint8_t>& elf, const std::string& pin_dir,
                                            uint64_t number, const std::string& prev_dir, bool verbose,
                                            std::string& note, std::string& error) {
  auto g = std::make_unique<Generation>();
  g->number = number;
  g->dir = generation_dir(pin_dir, number);
  for (int attempt = 0; attempt < 2; ++attempt) {
    remove_tree(g->dir);  // leftovers of a build that crashed before activation
    if (!make_dirs(g->dir, error)) return nullptr;
    bool carry = attempt == 0 && !prev_dir.empty();
    g->carried = false;
    if (carry) {
      for (const char* name : kCarriedMaps) {
        int fd = bpf_obj_get((prev_dir + "/" + name).c_str());
        if (fd < 0) continue;
        if (bpf_obj_pin(fd, (g->dir + "/" + name).c_str()) == 0) g->carried = true;
        close(fd);
      }
    }
    std::string err;
    g->dp = Datapath::open(elf, OpenOptions{g->dir, verbose}, err);
    if (g->dp) return g;
    if (!g->carried) {
      error = err;
      remove_tree(g->dir);
      return nullptr;
    }
    // The new object's conntrack layout differs (a new moat version): start it empty.
    note = "conntrack not carried over to generation " + std::to_string(number) + ": " + err;
  }
  error = "cannot open generation " + std::to_string(number);
  return nullptr;
}

bool fill(Generation& g, const Module& policy, const Desired& d, std::string& error) {
  g.contents = bundle::compute_map_contents(policy, d.endpoints, d.locals, g.ids);
  return g.dp->apply(g.contents, error);
}

bool update_in_place(Generation& g, const Module& policy, const Desired& d, bool& changed, std::string& error) {
  bundle::MapContents next = bundle::compute_map_contents(policy, d.endpoints, d.locals, g.ids);
  changed = !same_contents(next, g.contents);
  if (!changed) {
    g.contents = std::move(next);  // identities' representatives may differ; entries do not
    return true;
  }
  // Pass 1: new policy entries appear; nothing refers to their new identities yet.
  bundle::MapContents step = g.contents;
  step.policy = policy_union(g.contents.policy, next.policy);
  step.policy_exact = policy_union(g.contents.policy_exact, next.policy_exact);
  if (!g.dp->apply(step, error)) return false;
  // Pass 2: addresses and local endpoints move to their (possibly new) identities.
  step.hosts = next.hosts;
  step.ipcache = next.ipcache;
  step.endpoints = next.endpoints;
  if (!g.dp->apply(step, error)) return false;
  // Pass 3: entries of identities nothing refers to any more go.
  if (!g.dp->apply(next, error)) return false;
  g.contents = std::move(next);
  return true;
}

bool activate(Dispatch& dispatch, const Generation& g, std::string& error) {
  for (Program p : kPrograms) {
    int fd = g.dp->program_fd(p);
    if (fd < 0) {
      error = std::string("the object has no ") + program_symbol(p) + " program";
      return false;
    }
    if (!dispatch.activate(p, fd, error)) return false;
  }
  return true;
}

std::vector<uint64_t> pinned_generations(const std::string& pin_dir) {
  std::vector<uint64_t> out;
  if (DIR* d = opendir((pin_dir + "/gen").c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (!n.empty() && std::all_of(n.begin(), n.end(), ::isdigit)) out.push_back(std::stoull(n));
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace moat::runtime::agent
