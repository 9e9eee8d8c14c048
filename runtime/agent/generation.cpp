// Generations: open with carried-over maps, fill, update in place (three passes), activate.
#include "runtime/agent/generation.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <set>

#include <bpf/bpf.h>

#include "runtime/maps.h"

namespace moat::runtime::agent {

namespace {

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

/// The pinned conntrack map of `dir` (fd, or -1) and its key and value sizes.
int open_conntrack(const std::string& dir, bpf_map_info& info) {
  int fd = bpf_obj_get((dir + "/" + abi::kMapConntrack).c_str());
  uint32_t len = sizeof info;
  if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/// The conntrack key of the layout before entries carried their local endpoint: FlowTuple
/// without `local`.
constexpr uint32_t kUnkeyedTupleSize = offsetof(abi::FlowTuple, local);

/// Copies the connections of an earlier conntrack map that the new object could not reuse
/// (another layout) into `dp`'s, each with epoch 0, so that every one is judged again by
/// the new policy on its next packet. Dropping them instead would cut allowed connections:
/// a reply without its entry is judged as a new flow, which an ingress-isolated client
/// denies. The rule id is kept when the old value has one. Keys of the current layout are
/// copied as they are; keys without the local endpoint only when `endpoints` is given: each
/// goes to every attachment of the endpoint that owns its local address (the source of an
/// egress entry, the destination of an ingress one), entries of no known endpoint are left
/// behind. Returns the number of entries written.
size_t migrate_conntrack(const std::string& prev_dir, Datapath& dp,
                         const std::vector<std::pair<abi::EndpointKey, abi::EndpointValue>>* endpoints) {
  bpf_map_info info{};
  int old_fd = open_conntrack(prev_dir, info);
  int new_fd = dp.map_fd(abi::kMapConntrack);
  size_t copied = 0;
  bool same_key = info.key_size == sizeof(abi::FlowTuple);
  bool unkeyed = info.key_size == kUnkeyedTupleSize && endpoints;
  if (old_fd >= 0 && new_fd >= 0 && (same_key || unkeyed) && info.value_size >= sizeof(uint32_t)) {
    std::vector<uint8_t> old_value(info.value_size);
    for (const std::string& key : map_keys(old_fd, info.key_size)) {
      if (bpf_map_lookup_elem(old_fd, key.data(), old_value.data()) != 0) continue;
      abi::ConntrackValue v{};
      std::memcpy(&v.rule, old_value.data(), sizeof v.rule);
      v.epoch = 0;  // older than every epoch the agent sets
      abi::FlowTuple t{};
      std::memcpy(&t, key.data(), key.size());
      if (same_key) {
        copied += bpf_map_update_elem(new_fd, &t, &v, BPF_NOEXIST) == 0;
        continue;
      }
      const uint8_t* local = t.dir == static_cast<uint8_t>(Direction::Egress) ? t.saddr : t.daddr;
      for (const auto& [ek, ev] : *endpoints)
        for (uint8_t i = 0; i < ev.addr_count && i < abi::kMaxEndpointAddrs; ++i)
          if (ev.addr_family[i] == t.family && std::memcmp(ev.addrs[i], local, 16) == 0) {
            t.local = ev.conntrack_id;
            copied += bpf_map_update_elem(new_fd, &t, &v, BPF_NOEXIST) == 0;
          }
    }
  }
  if (old_fd >= 0) close(old_fd);
  return copied;
}

} // namespace

std::string generation_dir(const std::string& pin_dir, uint64_t number) {
  return pin_dir + "/gen/" + std::to_string(number);
}

std::unique_ptr<Generation> open_generation(const std::vector<uint8_t>& elf, const std::string& pin_dir,
                                            uint64_t number, const std::string& prev_dir, bool verbose,
                                            std::string& note, std::string& error, uint32_t conntrack_entries) {
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
    g->dp = Datapath::open(elf, OpenOptions{g->dir, verbose, conntrack_entries}, err);
    if (g->dp && attempt == 1 && !prev_dir.empty()) {
      bpf_map_info info{};
      int fd = open_conntrack(prev_dir, info);
      if (fd >= 0) close(fd);
      if (fd >= 0 && info.key_size == kUnkeyedTupleSize) {
        g->migrate_unkeyed_from = prev_dir;
        note += "; tracked connections are copied to their endpoints once the maps are filled";
      } else {
        size_t n = migrate_conntrack(prev_dir, *g->dp, nullptr);
        note += "; " + std::to_string(n) + " tracked connections copied, to be judged again on their next packet";
      }
    }
    if (g->dp) return g;
    if (!g->carried) {
      error = err;
      remove_tree(g->dir);
      return nullptr;
    }
    // The new object's maps differ (a new moat version): open it with fresh maps, then copy
    // the connections over (migrate_conntrack).
    note = "conntrack not carried over to generation " + std::to_string(number) + ": " + err;
  }
  error = "cannot open generation " + std::to_string(number);
  return nullptr;
}

uint32_t next_epoch(uint32_t epoch) { return epoch + 1 == 0 ? 1 : epoch + 1; }

uint32_t latest_epoch(const std::string& pin_dir, uint32_t known) {
  uint32_t latest = known;
  for (uint64_t n : pinned_generations(pin_dir))
    if (auto e = read_pinned_epoch(generation_dir(pin_dir, n)); e && static_cast<int32_t>(*e - latest) > 0)
      latest = *e;
  return latest;
}

bool set_epoch(Generation& g, uint32_t epoch, std::string& error) {
  // An object built by a moat without revalidation has no epoch: it enforces as it always
  // did (conntrack entries outlive policy changes); refusing it would break upgrades.
  if (!g.dp->epoch()) {
    g.epoch = 0;
    return true;
  }
  if (!g.dp->set_epoch(epoch, error)) return false;
  g.epoch = epoch;
  return true;
}

namespace {

/// The allocator keeps only identities the maps use: an FQDN address is one identity whose
/// key includes its names, so every change of its name set is a new key; without this,
/// one pod resolving random names under a wildcard would grow the allocator forever.
void forget_unused_identities(bundle::IdentityAllocator& ids, const bundle::MapContents& c) {
  std::vector<std::string> keys;
  keys.reserve(c.identities.size());
  for (const bundle::IdentityInfo& i : c.identities) keys.push_back(i.key);
  ids.retain(keys);
}

std::string raw_key(const abi::IpcacheKey& k) { return std::string(reinterpret_cast<const char*>(&k), sizeof k); }

const bundle::IdentityInfo* identity_info(const bundle::MapContents& c, uint32_t id) {
  auto it = std::lower_bound(c.identities.begin(), c.identities.end(), id,
                             [](const bundle::IdentityInfo& i, uint32_t v) { return i.id < v; });
  return it != c.identities.end() && it->id == id ? &*it : nullptr;
}

} // namespace

void mark_zombies(bundle::MapContents& c, const std::vector<const Endpoint*>& endpoints,
                  const std::vector<IpAddr>& zombies) {
  if (zombies.empty()) return;
  std::set<IpAddr> z(zombies.begin(), zombies.end());
  // The identity each zombie's own learned endpoint got; an address some other endpoint
  // (a pod, an inventory entry) won in the hosts map is not marked: it is not a zombie's.
  std::map<std::string, uint32_t> mine;  // raw hosts key -> the zombie endpoint's identity
  for (size_t i = 0; i < endpoints.size() && i < c.endpoint_identity.size(); ++i) {
    const Endpoint& e = *endpoints[i];
    if (e.kind != EndpointKind::External || e.ips.size() != 1 || !z.count(e.ips[0]) ||
        e.name != dns::kLearnedEndpointPrefix + e.ips[0].str())
      continue;
    mine[raw_key(bundle::ipcache_key(IpPrefix{e.ips[0], static_cast<uint8_t>(e.ips[0].bits())}))] =
        c.endpoint_identity[i];
  }
  for (auto& [k, id] : c.hosts) {
    auto it = mine.find(raw_key(k));
    if (it != mine.end() && it->second == id) id |= abi::kIdentityZombie;
  }
}

bool fill(Generation& g, const Module& policy, const Desired& d, std::string& error) {
  g.contents = bundle::compute_map_contents(policy, d.endpoints, d.locals, g.ids);
  mark_zombies(g.contents, d.endpoints, d.zombies);
  if (!g.dp->apply(g.contents, error)) return false;
  if (!g.migrate_unkeyed_from.empty()) {
    migrate_conntrack(g.migrate_unkeyed_from, *g.dp, &g.contents.endpoints);
    g.migrate_unkeyed_from.clear();
  }
  return true;
}

namespace {

/// What changes in one map between two contents: keys to write (new or changed value) and
/// keys to delete. Only these entries are touched, so a DNS answer is held for the few
/// syscalls its addresses need, not for a rewrite of every map.
struct MapDiff {
  std::vector<RawEntry> added, changed;
  std::vector<std::string> removed;
};

MapDiff diff(const std::vector<RawEntry>& old_entries, const std::vector<RawEntry>& new_entries) {
  std::map<std::string, const std::string*> old_by_key;
  for (const RawEntry& e : old_entries) old_by_key[e.key] = &e.value;
  MapDiff d;
  std::set<std::string> kept;
  for (const RawEntry& e : new_entries) {
    kept.insert(e.key);
    auto it = old_by_key.find(e.key);
    if (it == old_by_key.end()) d.added.push_back(e);
    else if (*it->second != e.value) d.changed.push_back(e);
  }
  for (const RawEntry& e : old_entries)
    if (!kept.count(e.key)) d.removed.push_back(e.key);
  return d;
}

bool write_entries(int fd, const std::vector<RawEntry>& entries, const char* map, std::string& error) {
  for (const RawEntry& e : entries)
    if (bpf_map_update_elem(fd, e.key.data(), e.value.data(), BPF_ANY) != 0) {
      error = std::string(map) + ": update failed: " + std::strerror(errno);
      return false;
    }
  return true;
}

bool delete_keys(int fd, const std::vector<std::string>& keys, const char* map, std::string& error) {
  for (const std::string& k : keys)
    if (bpf_map_delete_elem(fd, k.data()) != 0 && errno != ENOENT) {
      error = std::string(map) + ": delete failed: " + std::strerror(errno);
      return false;
    }
  return true;
}

} // namespace

bool update_in_place(Generation& g, const Module& policy, const Desired& d, uint32_t epoch, bool& changed,
                     std::string& error) {
  bundle::MapContents next = bundle::compute_map_contents(policy, d.endpoints, d.locals, g.ids);
  mark_zombies(next, d.endpoints, d.zombies);
  forget_unused_identities(g.ids, next);
  changed = !same_contents(next, g.contents);
  if (!changed) {
    g.contents = std::move(next);  // identities' representatives may differ; entries do not
    return true;
  }
  struct Map {
    const char* name;
    MapDiff diff;
    int fd;
  };
  auto map = [&](const char* name, std::vector<RawEntry> old_e, std::vector<RawEntry> new_e) {
    return Map{name, diff(old_e, new_e), g.dp->map_fd(name)};
  };
  const bundle::MapContents& old = g.contents;
  Map policy_maps[] = {map(abi::kMapPolicyExact, raw_entries(old.policy_exact), raw_entries(next.policy_exact)),
                       map(abi::kMapPolicy, raw_entries(old.policy), raw_entries(next.policy))};
  Map address_maps[] = {map(abi::kMapHosts, raw_entries(old.hosts), raw_entries(next.hosts)),
                        map(abi::kMapIpcache, raw_entries(old.ipcache), raw_entries(next.ipcache)),
                        map(abi::kMapEndpoints, raw_entries(old.endpoints), raw_entries(next.endpoints))};
  for (Map* m : {&policy_maps[0], &policy_maps[1], &address_maps[0], &address_maps[1], &address_maps[2]})
    if (m->fd < 0) {
      error = std::string("object has no map ") + m->name;
      return false;
    }
  // Pass 1: new policy entries appear; nothing refers to their new identities yet.
  for (Map& m : policy_maps)
    if (!write_entries(m.fd, m.diff.added, m.name, error)) return false;
  // Pass 2: addresses and local endpoints move to their (possibly new) identities; each
  // update is atomic per key.
  for (Map& m : address_maps)
    if (!write_entries(m.fd, m.diff.added, m.name, error) || !write_entries(m.fd, m.diff.changed, m.name, error) ||
        !delete_keys(m.fd, m.diff.removed, m.name, error))
      return false;
  // Pass 3: entries of identities nothing refers to any more go. (Changed values of an
  // existing pair cannot happen with the same bundle; if they ever do, they switch here.)
  for (Map& m : policy_maps)
    if (!write_entries(m.fd, m.diff.changed, m.name, error) || !delete_keys(m.fd, m.diff.removed, m.name, error))
      return false;
  g.contents = std::move(next);
  // Last: the maps are complete, so every tracked connection may now be judged again by
  // them (an address whose identity changed, a relabelled pod, a vanished peer).
  return set_epoch(g, epoch, error);
}

bool write_learned(Generation& g, const Module& policy, const Desired& d, const std::vector<Endpoint>& learned,
                   uint32_t epoch, std::set<IpAddr>& in_maps, bool& wrote, std::string& error) {
  wrote = false;
  // The local endpoints (policy entries are per local identity) and the learned ones.
  std::vector<const Endpoint*> eps;
  std::vector<bundle::LocalAttachment> locals;
  for (bundle::LocalAttachment la : d.locals) {
    if (la.endpoint >= d.endpoints.size()) continue;
    eps.push_back(d.endpoints[la.endpoint]);
    la.endpoint = eps.size() - 1;
    locals.push_back(la);
  }
  size_t first = eps.size();
  for (const Endpoint& e : learned) eps.push_back(&e);
  bundle::MapContents part = bundle::compute_map_contents(policy, eps, locals, g.ids);

  // What the hosts map holds now for the learned addresses.
  std::map<std::string, std::pair<abi::IpcacheKey, uint32_t>> want;  // raw key -> (key, identity)
  std::map<std::string, IpAddr> addr_of;
  for (size_t i = first; i < eps.size(); ++i) {
    if (eps[i]->ips.size() != 1 || i >= part.endpoint_identity.size()) continue;
    const IpAddr& ip = eps[i]->ips[0];
    abi::IpcacheKey k = bundle::ipcache_key(IpPrefix{ip, static_cast<uint8_t>(ip.bits())});
    want[raw_key(k)] = {k, part.endpoint_identity[i]};
    addr_of[raw_key(k)] = ip;
  }
  std::map<std::string, size_t> held;  // raw key -> index in g.contents.hosts
  for (size_t i = 0; i < g.contents.hosts.size(); ++i)
    if (std::string k = raw_key(g.contents.hosts[i].first); want.count(k)) held[k] = i;
  std::vector<std::pair<abi::IpcacheKey, uint32_t>> hosts;
  std::set<uint32_t> fresh;  // identities the maps have no policy entries for yet
  for (const auto& [k, e] : want) {
    auto h = held.find(k);
    if (h != held.end()) {
      uint32_t now = g.contents.hosts[h->second].second;
      if (now == e.second) {
        in_maps.insert(addr_of[k]);
        continue;
      }
      // Another endpoint's address stays its own until the full update says otherwise.
      const bundle::IdentityInfo* owner = identity_info(g.contents, now & ~abi::kIdentityZombie);
      if (!owner || owner->name.rfind(dns::kLearnedEndpointPrefix, 0) != 0) continue;
    }
    hosts.push_back(e);
    if (!identity_info(g.contents, e.second)) fresh.insert(e.second);
  }
  if (hosts.empty()) return true;
  auto of_fresh = [&](const std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>>& all) {
    std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>> out;
    for (const auto& e : all)
      if (fresh.count(e.first.remote)) out.push_back(e);
    return out;
  };
  auto exact = of_fresh(part.policy_exact), prefixes = of_fresh(part.policy);
  int exact_fd = g.dp->map_fd(abi::kMapPolicyExact), prefix_fd = g.dp->map_fd(abi::kMapPolicy);
  int hosts_fd = g.dp->map_fd(abi::kMapHosts);
  if (exact_fd < 0 || prefix_fd < 0 || hosts_fd < 0) {
    error = "object lacks a policy or hosts map";
    return false;
  }
  // The contents take the entries in before they are written: whatever part of them a
  // failure leaves in the maps, the next full update knows of and removes when unwanted
  // (never a leftover that allows something nobody accounts for).
  g.contents.policy_exact.insert(g.contents.policy_exact.end(), exact.begin(), exact.end());
  g.contents.policy.insert(g.contents.policy.end(), prefixes.begin(), prefixes.end());
  for (uint32_t id : fresh)
    if (const bundle::IdentityInfo* info = identity_info(part, id)) {
      auto at = std::lower_bound(g.contents.identities.begin(), g.contents.identities.end(), id,
                                 [](const bundle::IdentityInfo& i, uint32_t v) { return i.id < v; });
      g.contents.identities.insert(at, *info);
    }
  for (const auto& e : hosts) {
    if (auto h = held.find(raw_key(e.first)); h != held.end()) g.contents.hosts[h->second].second = e.second;
    else g.contents.hosts.push_back(e);
  }
  // Make-before-break, as in update_in_place: the identities' policy entries, then the
  // addresses that refer to them.
  if (!write_entries(exact_fd, raw_entries(exact), abi::kMapPolicyExact, error) ||
      !write_entries(prefix_fd, raw_entries(prefixes), abi::kMapPolicy, error) ||
      !write_entries(hosts_fd, raw_entries(hosts), abi::kMapHosts, error))
    return false;
  for (const auto& e : hosts) in_maps.insert(addr_of[raw_key(e.first)]);
  wrote = true;
  return set_epoch(g, epoch, error);
}

bool activate(Dispatch& dispatch, const Generation& g, std::string& error) {
  // All four slots or none: on a failure the programs that were active are put back (by id,
  // so this also works for a generation adopted from an earlier agent).
  std::vector<std::pair<Program, uint32_t>> before;
  for (Program p : kPrograms) before.emplace_back(p, dispatch.active_id(p));
  auto restore = [&](size_t upto) {
    std::string ignored;
    for (size_t i = 0; i < upto; ++i) {
      int fd = before[i].second ? bpf_prog_get_fd_by_id(before[i].second) : -1;
      if (fd >= 0) {
        dispatch.activate(before[i].first, fd, ignored);
        close(fd);
      }
    }
  };
  for (size_t i = 0; i < before.size(); ++i) {
    Program p = before[i].first;
    int fd = g.dp->program_fd(p);
    if (fd < 0) error = std::string("the object has no ") + program_symbol(p) + " program";
    if (fd < 0 || !dispatch.activate(p, fd, error)) {
      restore(i);
      return false;
    }
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
