// compute_map_contents: identities, ipcache, local endpoints and resolved policy entries.
#include "backend/bundle/map_contents.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>

#include "backend/bundle/longest_prefix.h"
#include "backend/bundle/plan.h"
#include "backend/bundle/port_cells.h"
#include "backend/bundle/selector_index.h"
#include "ir/interp.h"

namespace moat::bundle {

uint32_t IdentityAllocator::get(const std::string& key, bool external) {
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  uint32_t id = external ? next_external_++ : next_workload_++;
  ids_.emplace(key, id);
  return id;
}

void IdentityAllocator::retain(const std::vector<std::string>& keep) {
  std::unordered_map<std::string, uint32_t> kept;
  for (const std::string& k : keep)
    if (auto it = ids_.find(k); it != ids_.end()) kept.insert(*it);
  ids_ = std::move(kept);
}

abi::IpcacheKey ipcache_key(const IpPrefix& prefix) {
  abi::IpcacheKey k{};
  k.prefixlen = abi::kIpcacheFamilyBits + prefix.len;
  k.family = prefix.addr.v6 ? abi::kFamilyV6 : abi::kFamilyV4;
  std::memcpy(k.addr, prefix.addr.bytes.data(), prefix.addr.v6 ? 16 : 4);
  return k;
}

abi::PolicyKey policy_key(uint32_t local, uint32_t remote, Direction dir, uint8_t proto, uint16_t port,
                          uint32_t prefixlen) {
  abi::PolicyKey k{};
  k.prefixlen = prefixlen;
  k.local = local;
  k.remote = remote;
  k.dir = static_cast<uint8_t>(dir);
  k.proto = proto;
  k.port[0] = static_cast<uint8_t>(port >> 8);
  k.port[1] = static_cast<uint8_t>(port);
  return k;
}

abi::EndpointKey endpoint_key(uint32_t kind, uint64_t id) {
  abi::EndpointKey k{};
  k.kind = kind;
  k.id = id;
  return k;
}

uint64_t endpoint_conntrack_id(const abi::EndpointKey& key) { return uint64_t{key.kind} << 56 | key.id; }

void set_endpoint_addresses(abi::EndpointValue& v, const std::vector<IpAddr>& ips) {
  v.addr_count = 0;
  for (const IpAddr& ip : ips) {
    if (v.addr_count == abi::kMaxEndpointAddrs) break;
    uint8_t slot = v.addr_count++;
    v.addr_family[slot] = ip.v6 ? abi::kFamilyV6 : abi::kFamilyV4;
    std::memset(v.addrs[slot], 0, sizeof v.addrs[slot]);
    std::memcpy(v.addrs[slot], ip.bytes.data(), ip.v6 ? 16 : 4);
  }
}

namespace {

void append_labels(std::string& s, const Labels& l) {
  for (const auto& [k, v] : l) {
    s += k;
    s += '=';
    s += v;
    s += ',';
  }
}

/// What the policy can see of an endpoint; equal keys share an identity. (Built in place:
/// the agent describes every workload of the cluster on each recomputation.)
std::string identity_key(const Endpoint& e) {
  if (e.kind == EndpointKind::Workload) {
    std::string k = "w|";
    k += e.ns;
    k += '|';
    if (!e.ns.empty() && !e.ns_labels.count(kNamespaceNameLabel)) {
      Labels ns = e.ns_labels;
      ns.emplace(kNamespaceNameLabel, e.ns);
      append_labels(k, ns);
    } else {
      append_labels(k, e.ns_labels);
    }
    k += '|';
    append_labels(k, e.labels);
    k += '|';
    std::vector<std::string> ports;
    for (const NamedPort& p : e.ports)
      ports.push_back(p.name + "/" + to_string(p.proto) + "/" + std::to_string(p.port));
    std::sort(ports.begin(), ports.end());
    for (const std::string& p : ports) {
      k += p;
      k += ',';
    }
    return k;
  }
  std::vector<std::string> ips, names;
  for (const IpAddr& ip : e.ips) ips.push_back(ip.str());
  for (const std::string& n : e.dns_names) names.push_back(n);
  std::sort(ips.begin(), ips.end());
  std::sort(names.begin(), names.end());
  std::string k = "x|";
  for (const std::string& s : ips) k += s + ",";
  k += "|";
  for (const std::string& s : names) k += s + ",";
  return k;
}

/// The node label keys some `nodes` peer reads (sorted, unique).
std::vector<std::string> node_selector_keys(const std::vector<const Rule*>& rules) {
  std::vector<std::string> keys;
  for (const Rule* r : rules)
    if (r->peer.kind == Peer::Kind::Nodes)
      for (const LabelRequirement& q : r->peer.nodes.reqs) keys.push_back(q.key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

/// A node's description: its kind and its labels under `keys`, which decide every `nodes`
/// peer alike; "" for other endpoints and for nodes with none of the keys (they keep HOST or
/// REMOTE_NODE).
std::string node_key(const Endpoint& e, const std::vector<std::string>& keys) {
  if (e.kind != EndpointKind::Host && e.kind != EndpointKind::RemoteNode) return {};
  Labels seen;
  for (const std::string& k : keys)
    if (auto it = e.labels.find(k); it != e.labels.end()) seen.insert(*it);
  if (seen.empty()) return {};
  std::string k = std::string("n|") + to_string(e.kind) + '|';
  append_labels(k, seen);
  return k;
}

uint32_t reserved_identity(EndpointKind k) {
  switch (k) {
  case EndpointKind::Host: return abi::kIdentityHost;
  case EndpointKind::RemoteNode: return abi::kIdentityRemoteNode;
  case EndpointKind::KubeApiserver: return abi::kIdentityKubeApiserver;
  default: return 0;
  }
}

/// An address inside `p` that no listed prefix strictly inside `p` covers, if any (the
/// address whose longest policy prefix is `p`). `inner` are the listed prefixes inside p.
std::optional<IpAddr> uncovered_address(const IpPrefix& p, const std::vector<IpPrefix>& inner) {
  if (std::any_of(inner.begin(), inner.end(), [&](const IpPrefix& q) { return q.len == p.len; }))
    return std::nullopt;  // p itself is listed again (cannot happen for distinct prefixes)
  if (inner.empty()) return p.addr;
  if (p.len == p.addr.bits()) return std::nullopt;
  for (int half = 0; half < 2; ++half) {
    IpPrefix h = p;
    h.len = static_cast<uint8_t>(p.len + 1);
    if (half) h.addr.bytes[p.len / 8] |= static_cast<uint8_t>(0x80 >> (p.len % 8));
    std::vector<IpPrefix> sub;
    for (const IpPrefix& q : inner)
      if (h.contains(q)) sub.push_back(q);
    if (std::any_of(sub.begin(), sub.end(), [&](const IpPrefix& q) { return q.len == h.len; })) continue;
    if (auto a = uncovered_address(h, sub)) return a;
  }
  return std::nullopt;
}

/// Every identity the node knows, with the endpoint that represents it: one of the
/// endpoints given, or one made here (kept in `made`, whose elements never move), so a
/// cluster's endpoints are not copied.
struct Table {
  struct Entry {
    uint32_t id;
    std::string key;
    const Endpoint* representative;
  };
  std::vector<Entry> ids;
  std::unordered_map<uint32_t, size_t> at;  // id -> index in ids
  std::deque<Endpoint> made;
  void add(uint32_t id, std::string key, const Endpoint& rep) {
    if (at.emplace(id, ids.size()).second) ids.push_back({id, std::move(key), &rep});
  }
  const Endpoint& made_endpoint(Endpoint e) { return made.emplace_back(std::move(e)); }
};

/// An address as a sort key: family byte + 16 address bytes.
using AddressKey = std::array<uint8_t, 17>;
AddressKey address_key(const IpAddr& ip) {
  AddressKey k{};
  k[0] = ip.v6;
  std::copy(ip.bytes.begin(), ip.bytes.end(), k.begin() + 1);
  return k;
}

/// Equal keys for equal selectors (requirements as stored, every string length-prefixed).
std::string selector_key(const EndpointSelector& s) {
  std::string k;
  auto add = [&k](const std::string& v) {
    k += std::to_string(v.size());
    k += ':';
    k += v;
  };
  for (const LabelSelector* ls : {&s.namespaces, &s.pods}) {
    k += '{';
    for (const LabelRequirement& r : ls->reqs) {
      k += static_cast<char>('0' + static_cast<int>(r.op));
      add(r.key);
      k += std::to_string(r.values.size());
      for (const std::string& v : r.values) add(v);
    }
    k += '}';
  }
  return k;
}

Endpoint external_rep(std::vector<IpAddr> ips) {
  Endpoint e;
  e.kind = EndpointKind::External;
  e.ips = std::move(ips);
  return e;
}

} // namespace

MapContents compute_map_contents(const Module& policy, const std::vector<Endpoint>& endpoints,
                                 const std::vector<LocalAttachment>& locals, IdentityAllocator& alloc) {
  std::vector<const Endpoint*> refs;
  refs.reserve(endpoints.size());
  for (const Endpoint& e : endpoints) refs.push_back(&e);
  return compute_map_contents(policy, refs, locals, alloc);
}

MapContents compute_map_contents(const Module& policy, const std::vector<const Endpoint*>& endpoints,
                                 const std::vector<LocalAttachment>& locals, IdentityAllocator& alloc) {
  MapContents out;
  Table table;

  // The rules of every tier, indexed by their datapath rule id (plan.h datapath_rule).
  std::vector<const Rule*> rules;
  rules.reserve(datapath_rule_count(policy));
  for (Tier t : {Tier::Policy, Tier::Admin, Tier::Baseline})
    for (const Rule& r : policy.tier_rules(t)) rules.push_back(&r);
  CellTiers tier_base;
  tier_base.admin_base = datapath_rule(policy, Tier::Admin, 0);
  tier_base.baseline_base = datapath_rule(policy, Tier::Baseline, 0);

  // Address classes of cluster endpoints: `networks` peers (Peer::cidr_any_address) match
  // workloads and nodes by address, while identities name label sets. An address under some
  // such prefix gets an identity of its own — the endpoint's description plus the longest
  // such prefix covering it, which decides every such peer alike — so the (local, remote)
  // entries can tell it from its neighbours with the same labels.
  // (Every cluster address is looked up: by distinct prefix length, not against every rule.)
  std::vector<IpPrefix> any_prefixes;
  for (const Rule* r : rules)
    if (r->peer.kind == Peer::Kind::Cidr && r->peer.cidr_any_address) {
      any_prefixes.push_back(r->peer.cidr);
      any_prefixes.insert(any_prefixes.end(), r->peer.except.begin(), r->peer.except.end());
    }
  const LongestPrefix any_classes(std::move(any_prefixes));
  auto address_class = [&](const IpAddr& ip) { return any_classes.longest(ip); };
  // Such identities: their prefix and their index into table.ids (sorted after the loop).
  std::vector<std::pair<IpPrefix, size_t>> address_classes;

  // WORLD: an address under no policy prefix; its representative has no address at all, so
  // only peers that match every external endpoint (world, all, any) select it.
  table.add(abi::kIdentityWorld, "world", table.made_endpoint(external_rep({})));

  // Known endpoints: one identity per description, one ipcache entry per address. An
  // external endpoint with several addresses is several hosts (ir.h Flow: CIDR peers see
  // one address at a time), so each of its addresses is described, and identified, alone.
  // Every address with its entry in out.hosts; duplicates are dropped after the loop (the
  // first endpoint with an address wins) by sorting, not by a node-per-address set.
  std::vector<std::pair<AddressKey, size_t>> addresses;
  addresses.reserve(endpoints.size());
  table.ids.reserve(endpoints.size() + 1);
  table.at.reserve(endpoints.size() + 1);
  out.endpoint_identity.reserve(endpoints.size());
  out.hosts.reserve(endpoints.size());
  // Nodes that `nodes` peers tell apart by their labels get identities of their own (the
  // host's addresses keep kIdentityNodeHost below, so it still reaches its pods).
  std::vector<std::string> node_keys = node_selector_keys(rules);
  auto describe = [&](const Endpoint& h) {  // h outlives the table
    uint32_t id = reserved_identity(h.kind);
    std::string key = identity_key(h);
    std::string labelled = node_keys.empty() ? std::string() : node_key(h, node_keys);
    if (!labelled.empty()) id = alloc.get(key = std::move(labelled), true);
    else if (id == 0) id = alloc.get(key, h.kind != EndpointKind::Workload);
    else key = to_string(h.kind);
    // The node's own addresses carry kIdentityNodeHost: ingress from them passes even when
    // an address class gives them an identity other than HOST.
    uint32_t flags = h.kind == EndpointKind::Host ? abi::kIdentityNodeHost : 0;
    for (const IpAddr& ip : h.ips) {
      uint32_t addr_id = id;
      const IpPrefix* cls = h.kind == EndpointKind::External ? nullptr : address_class(ip);
      if (cls) {
        std::string k = key + "|@" + cls->str();
        addr_id = alloc.get(k, h.kind != EndpointKind::Workload);
        if (!table.at.count(addr_id)) {
          Endpoint one = h;
          one.ips = {ip};
          address_classes.emplace_back(*cls, table.ids.size());
          table.add(addr_id, std::move(k), table.made_endpoint(std::move(one)));
        }
      }
      addresses.emplace_back(address_key(ip), out.hosts.size());
      out.hosts.emplace_back(ipcache_key(IpPrefix{ip, static_cast<uint8_t>(ip.bits())}), addr_id | flags);
    }
    table.add(id, std::move(key), h);
    return id;
  };
  for (const Endpoint* ep : endpoints) {
    const Endpoint& e = *ep;
    if (e.kind != EndpointKind::External || e.ips.size() <= 1) {
      out.endpoint_identity.push_back(describe(e));
      continue;
    }
    for (size_t i = 0; i < e.ips.size(); ++i) {
      Endpoint h = e;
      h.ips = {e.ips[i]};
      uint32_t id = describe(table.made_endpoint(std::move(h)));
      if (i == 0) out.endpoint_identity.push_back(id);
    }
  }

  std::sort(addresses.begin(), addresses.end());
  std::sort(address_classes.begin(), address_classes.end());
  std::vector<bool> repeated(out.hosts.size(), false);
  for (size_t i = 1; i < addresses.size(); ++i)
    if (addresses[i].first == addresses[i - 1].first) repeated[addresses[i].second] = true;
  size_t kept = 0;
  for (size_t i = 0; i < out.hosts.size(); ++i)
    if (!repeated[i]) out.hosts[kept++] = out.hosts[i];
  out.hosts.resize(kept);
  auto taken = [&](const IpAddr& ip) {
    AddressKey k = address_key(ip);
    auto it = std::lower_bound(addresses.begin(), addresses.end(), std::make_pair(k, size_t{0}));
    return it != addresses.end() && it->first == k;
  };

  // CIDR classes: every CIDR and except prefix of the policy (all tiers).
  std::vector<IpPrefix> prefixes;
  for (const Rule* r : rules)
    if (r->peer.kind == Peer::Kind::Cidr) {
      prefixes.push_back(r->peer.cidr);
      prefixes.insert(prefixes.end(), r->peer.except.begin(), r->peer.except.end());
    }
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  // Sorted by (family, address, length): the prefixes inside p follow p contiguously.
  std::vector<size_t> cidr_classes;   // indexes into table.ids, sorted like `prefixes`
  std::vector<IpPrefix> class_prefix;  // parallel to cidr_classes
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const IpPrefix& p = prefixes[i];
    std::vector<IpPrefix> inner;
    for (size_t j = i + 1; j < prefixes.size() && p.contains(prefixes[j]); ++j) inner.push_back(prefixes[j]);
    // A known endpoint's own address outranks a class with the same (full-length) prefix.
    if (p.len == p.addr.bits() && taken(p.addr)) continue;
    std::optional<IpAddr> rep = uncovered_address(p, inner);
    if (!rep) continue;  // every address under p has a longer prefix
    std::string key = "cidr|" + p.str();
    uint32_t id = alloc.get(key, true);
    if (table.at.count(id)) continue;
    cidr_classes.push_back(table.ids.size());
    class_prefix.push_back(p);
    table.add(id, key, table.made_endpoint(external_rep({*rep})));
    (p.len == p.addr.bits() ? out.hosts : out.ipcache).emplace_back(ipcache_key(p), id);
  }

  // Local endpoints: identity and isolation flags per attachment.
  std::vector<const Endpoint*> local_workloads;
  for (const LocalAttachment& la : locals)
    if (la.endpoint < endpoints.size() && endpoints[la.endpoint]->kind == EndpointKind::Workload)
      local_workloads.push_back(endpoints[la.endpoint]);
  SubjectIndex isolation_subjects(local_workloads);
  for (size_t i = 0; i < policy.isolations.size(); ++i) isolation_subjects.add(i, policy.isolations[i].subject);
  std::vector<uint32_t> local_ids;
  std::unordered_map<uint32_t, uint32_t> local_flags;  // identity -> kFlagIsolated* (labels decide them)
  for (const LocalAttachment& la : locals) {
    if (la.endpoint >= endpoints.size()) continue;
    const Endpoint& e = *endpoints[la.endpoint];
    if (e.kind != EndpointKind::Workload) continue;
    abi::EndpointValue v{};
    v.identity = out.endpoint_identity[la.endpoint];
    bool seen[2] = {false, false};
    for (size_t candidate : isolation_subjects.candidates(e)) {
      auto i = static_cast<uint32_t>(candidate);
      const Isolation& iso = policy.isolations[i];
      int d = static_cast<int>(iso.dir);
      if (seen[d] || !endpoint_selector_matches(iso.subject, e)) continue;
      seen[d] = true;
      v.flags |= iso.dir == Direction::Ingress ? abi::kFlagIsolatedIngress : abi::kFlagIsolatedEgress;
      v.isolation[d] = i;
    }
    set_endpoint_addresses(v, e.ips);
    auto add = [&](uint32_t kind, uint64_t id) {
      abi::EndpointKey k = endpoint_key(kind, id);
      v.conntrack_id = endpoint_conntrack_id(k);
      out.endpoints.emplace_back(k, v);
    };
    if (la.ifindex) add(abi::kEndpointKindIfindex, la.ifindex);
    if (la.cgroup_id) add(abi::kEndpointKindCgroup, la.cgroup_id);
    local_ids.push_back(v.identity);
    local_flags[v.identity] = v.flags;
  }
  std::sort(local_ids.begin(), local_ids.end());
  local_ids.erase(std::unique(local_ids.begin(), local_ids.end()), local_ids.end());

  // Which remote identities each rule's peer selects, looking only at the identities of
  // the kinds (and, for workloads, the namespaces) the peer can match; peer_matches() of
  // the interpreter has the last word.
  std::vector<size_t> known_external;
  for (size_t i = 0; i < table.ids.size(); ++i)
    if (table.ids[i].representative->kind == EndpointKind::External &&
        !std::binary_search(cidr_classes.begin(), cidr_classes.end(), i))
      known_external.push_back(i);
  std::optional<WorkloadIndex> workloads;  // built when a rule that applies here needs it
  auto workload_index = [&]() -> const WorkloadIndex& {
    if (!workloads) {
      workloads.emplace();
      for (size_t i = 0; i < table.ids.size(); ++i) workloads->add(i, *table.ids[i].representative);
    }
    return *workloads;
  };
  auto remotes_of = [&](const Rule& r) {  // indexes into table.ids
    std::vector<uint32_t> ids;
    const Peer& peer = r.peer;
    auto check = [&](size_t idx) {
      if (peer_matches(peer, *table.ids[idx].representative)) ids.push_back(static_cast<uint32_t>(idx));
    };
    switch (peer.kind) {
    case Peer::Kind::Endpoints:
      for (size_t idx : workload_index().candidates(peer.endpoints)) check(idx);
      break;
    case Peer::Kind::Cidr: {
      // Only classes under the CIDR can match: an enclosing class's representative lies
      // outside every longer prefix, this CIDR included.
      auto it = std::lower_bound(class_prefix.begin(), class_prefix.end(), peer.cidr);
      for (; it != class_prefix.end() && peer.cidr.contains(*it); ++it)
        check(cidr_classes[static_cast<size_t>(it - class_prefix.begin())]);
      for (size_t idx : known_external) check(idx);
      // Cluster addresses under the CIDR all have an address class of their own (the other
      // identities of cluster endpoints hold only addresses no such peer can match), whose
      // prefix — the longest covering the address — lies inside the CIDR.
      if (peer.cidr_any_address) {
        auto at = std::lower_bound(address_classes.begin(), address_classes.end(), std::pair{peer.cidr, size_t{0}});
        for (; at != address_classes.end() && peer.cidr.contains(at->first); ++at) check(at->second);
      }
      break;
    }
    case Peer::Kind::Fqdn:
      for (size_t idx : known_external) check(idx);
      break;
    default:
      for (size_t idx = 0; idx < table.ids.size(); ++idx) check(idx);
    }
    return ids;
  };
  // Computed on first use: only rules that apply to a local identity need their remotes;
  // rules with equal selector peers (one AdminNetworkPolicy per namespace passing every
  // pod) share one computation.
  std::vector<const std::vector<uint32_t>*> rule_remotes(rules.size(), nullptr);
  std::unordered_map<std::string, std::vector<uint32_t>> remotes_by_selector;
  std::deque<std::vector<uint32_t>> other_remotes;
  auto remotes = [&](size_t i) -> const std::vector<uint32_t>& {
    if (!rule_remotes[i]) {
      const Rule& r = *rules[i];
      if (r.peer.kind == Peer::Kind::Endpoints) {
        auto [it, fresh] = remotes_by_selector.try_emplace(selector_key(r.peer.endpoints));
        if (fresh) it->second = remotes_of(r);
        rule_remotes[i] = &it->second;
      } else {
        rule_remotes[i] = &other_remotes.emplace_back(remotes_of(r));
      }
    }
    return *rule_remotes[i];
  };
  auto any_named_port = [](const std::vector<const Rule*>& rs) {
    return std::any_of(rs.begin(), rs.end(), [](const Rule* r) { return has_named_port(*r); });
  };
  auto per_remote = [](const Rule& r) {
    return !peer_is_universal(r.peer) || (r.dir == Direction::Egress && has_named_port(r));
  };
  std::vector<const Endpoint*> local_reps;
  for (uint32_t local : local_ids) local_reps.push_back(table.ids[table.at.at(local)].representative);
  SubjectIndex rule_subjects(local_reps);
  for (size_t i = 0; i < rules.size(); ++i) rule_subjects.add(i, rules[i]->subject);

  // Policy entries per local identity and direction.
  auto emit = [&](uint32_t local, uint32_t remote, Direction dir, const std::vector<PortEntry>& entries) {
    for (const PortEntry& pe : entries) {
      uint32_t bits = pe.all_protocols ? abi::kPolicyFixedBits : abi::kPolicyFixedBits + 8 + pe.port_bits;
      abi::PolicyValue v{};
      v.rule = pe.rule;
      v.action = pe.action;
      (bits == abi::kPolicyFullBits ? out.policy_exact : out.policy)
          .emplace_back(policy_key(local, remote, dir, pe.proto, pe.port, bits), v);
    }
  };
  // The remotes of one (local, direction), classed by the rules matching them: each rule
  // moves its remotes from their class to the class with the rule added (partition
  // refinement), so remotes matched by the same rules share a class, and its cells are
  // computed once unless a named port resolves against the remote.
  struct RemoteClass {
    std::vector<const Rule*> rules;
    std::optional<std::vector<PortEntry>> cells;
  };
  std::vector<uint32_t> class_of(table.ids.size(), 0);  // 0: matched by no rule yet
  std::vector<uint32_t> touched;                          // remotes whose class is not 0
  auto decides = [](const std::vector<PortEntry>& entries) {
    return std::any_of(entries.begin(), entries.end(), [](const PortEntry& pe) { return pe.action != abi::kActionIsolation; });
  };
  for (uint32_t local : local_ids) {
    const Endpoint& lrep = *table.ids[table.at.at(local)].representative;
    std::vector<size_t> candidates = rule_subjects.candidates(lrep);
    for (Direction dir : {Direction::Ingress, Direction::Egress}) {
      std::vector<const Rule*> universal;
      std::vector<RemoteClass> classes(1);
      CellTiers tiers = tier_base;
      uint32_t iso_bit = dir == Direction::Ingress ? abi::kFlagIsolatedIngress : abi::kFlagIsolatedEgress;
      tiers.isolated = (local_flags[local] & iso_bit) != 0;
      for (size_t i : candidates) {
        const Rule& r = *rules[i];
        if (r.dir != dir || !endpoint_selector_matches(r.subject, lrep)) continue;
        if (!per_remote(r)) {
          universal.push_back(&r);
          continue;
        }
        std::unordered_map<uint32_t, uint32_t> with_r;  // class -> that class with r added
        for (uint32_t idx : remotes(i)) {
          uint32_t& c = class_of[idx];
          if (c == 0) touched.push_back(idx);
          auto [it, fresh] = with_r.try_emplace(c, static_cast<uint32_t>(classes.size()));
          if (fresh) {
            RemoteClass next{classes[c].rules, std::nullopt};
            next.rules.push_back(&r);
            classes.push_back(std::move(next));
          }
          c = it->second;
        }
      }
      const Endpoint* ingress_owner = dir == Direction::Ingress ? &lrep : nullptr;
      std::vector<PortEntry> any_entries;
      if (!universal.empty()) any_entries = port_entries(universal, {}, ingress_owner, tiers);
      emit(local, abi::kIdentityAny, dir, any_entries);
      // An (L, R) set of entries that all say "no rule decided" (kActionIsolation: an admin
      // Pass of every pod, a baseline rule where L is isolated) sends the packet to the
      // isolation flag — where it goes without them too when no (L, ANY) entry decides. Such
      // sets are left out: 1,000 AdminNetworkPolicies passing every pod would otherwise give
      // each local identity an entry for every identity of the cluster.
      bool any_decides = decides(any_entries);
      bool owner_free = dir == Direction::Ingress || !any_named_port(universal);
      for (uint32_t idx : touched) {
        RemoteClass& k = classes[class_of[idx]];
        class_of[idx] = 0;  // ready for the next (local, direction)
        const Endpoint* owner = dir == Direction::Ingress ? &lrep : table.ids[idx].representative;
        std::optional<std::vector<PortEntry>> own;
        std::optional<std::vector<PortEntry>>& entries = owner_free && !any_named_port(k.rules) ? k.cells : own;
        if (!entries) {
          entries = port_entries(k.rules, universal, owner, tiers);
          if (!any_decides && !decides(*entries)) entries->clear();
        }
        emit(local, table.ids[idx].id, dir, *entries);
      }
      touched.clear();
    }
  }

  std::sort(table.ids.begin(), table.ids.end(), [](const Table::Entry& a, const Table::Entry& b) { return a.id < b.id; });
  out.identities.reserve(table.ids.size());
  for (Table::Entry& e : table.ids) out.identities.push_back({e.id, std::move(e.key), e.representative->name});
  return out;
}

} // namespace moat::bundle
