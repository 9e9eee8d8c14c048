// Live inspection: bpf_obj_get on the pins, no libbpf object (so it works beside a running
// agent, or after `--once` with no agent at all).
#include "runtime/agent/inspect.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "backend/bundle/manifest.h"
#include "ir/interp.h"
#include "ir/ir.h"
#include "runtime/agent/dispatch.h"
#include "runtime/agent/generation.h"
#include "runtime/agent/metrics.h"
#include "runtime/agent/state.h"
#include "runtime/maps.h"

namespace moat::runtime::agent {

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::optional<bundle::Manifest> manifest_copy(const std::string& state_dir) {
  auto text = read_file(state_dir + "/manifest.json");
  if (!text) return std::nullopt;
  std::string err;
  return bundle::manifest_from_json(*text, err);
}

uint64_t active_generation(const std::string& pin_dir, const std::string& state_dir) {
  if (auto text = read_file(state_dir + "/state.json"))
    if (auto st = persisted_from_json(*text); st && st->generation) return st->generation;
  auto gens = pinned_generations(pin_dir);
  return gens.empty() ? 0 : gens.back();
}

/// Explains counter slot / event rule `rule` with the manifest.
void describe_rule(const std::optional<bundle::Manifest>& m, uint32_t rule, std::string& name, std::string& action,
                   std::string& origin, std::string& location) {
  if (rule >= abi::kSpecialRuleBase) {
    name = special_name(rule - abi::kSpecialRuleBase);
    return;
  }
  name = "#" + std::to_string(rule);
  if (!m) return;
  if (rule >= m->policy.rules.size() && rule < bundle::datapath_rule_count(m->policy)) {
    // Admin and baseline rules follow the Policy tier's (plan.h datapath_rule).
    auto [tier, id] = bundle::tier_of_datapath_rule(m->policy, rule);
    const Rule& r = m->policy.tier_rules(tier)[id];
    name = std::string("#") + tier_prefix(tier) + std::to_string(id);
    action = to_string(r.action);
    origin = r.origin;
    return;
  }
  if (rule < m->policy.rules.size()) action = to_string(m->policy.rules[rule].action);
  for (const auto& o : m->origins)
    if (o.id == rule) {
      origin = o.origin;
      location = o.location;
    }
}

std::string endpoint_text(uint8_t family, const uint8_t* addr, uint16_t port) {
  char buf[INET6_ADDRSTRLEN] = "?";
  inet_ntop(family == abi::kFamilyV6 ? AF_INET6 : AF_INET, addr, buf, sizeof buf);
  return family == abi::kFamilyV6 ? "[" + std::string(buf) + "]:" + std::to_string(port)
                                  : std::string(buf) + ":" + std::to_string(port);
}

struct RingCtx {
  const std::optional<bundle::Manifest>* manifest;
  const std::function<void(const DropRecord&)>* fn;
  int seen = 0;
  int max = 0;        // 0: unlimited
  bool skip = false;  // draining the backlog: consume without reporting
};

int on_ring_event(void* ctx, void* data, size_t size) {
  auto* c = static_cast<RingCtx*>(ctx);
  if (size < sizeof(abi::DropEvent) || c->skip || (c->max && c->seen >= c->max)) return 0;
  DropRecord r;
  std::memcpy(&r.event, data, sizeof r.event);
  const abi::DropEvent& e = r.event;
  r.direction = e.dir == 0 ? "ingress" : "egress";
  r.src = endpoint_text(e.family, e.saddr, e.sport);
  r.dst = endpoint_text(e.family, e.daddr, e.dport);
  r.protocol = to_string(static_cast<Protocol>(e.proto));
  if (r.protocol == "any" || r.protocol == "?") r.protocol = "proto " + std::to_string(e.proto);
  std::string name, action;
  describe_rule(*c->manifest, e.rule, name, action, r.origin, r.location);
  if (e.rule >= abi::kSpecialRuleBase) {
    r.reason = name;
    if (e.rule == abi::kSpecialRuleBase + abi::kSpecialDefaultDeny && *c->manifest &&
        e.isolation < (*c->manifest)->policy.isolations.size())
      r.origin = "isolated by " + (*c->manifest)->policy.isolations[e.isolation].origin;
    if (e.reason == abi::kDropReasonSpoofed) r.origin = "the source address is not one of the sending pod's";
  } else {
    r.reason = "rule " + name + (action.empty() ? "" : " " + action);
  }
  // A conntrack entry judged again after a policy or inventory change and denied: say so,
  // or the reader wonders why an established connection met a deny.
  r.revoked = e.reason == abi::kDropReasonRevoked;
  if (r.revoked) r.reason = "revoked by a policy change: " + r.reason;
  ++c->seen;
  (*c->fn)(r);
  return 0;
}

} // namespace

std::optional<LiveView> inspect_live(const std::string& pin_dir, const std::string& state_dir, std::string& error) {
  LiveView v;
  v.generation = active_generation(pin_dir, state_dir);
  if (!v.generation) {
    error = "nothing is pinned under " + pin_dir;
    return std::nullopt;
  }
  v.generation_dir = generation_dir(pin_dir, v.generation);
  v.epoch = read_pinned_epoch(v.generation_dir);
  struct MapInfo {
    const char* name;
    uint32_t key_size;
  };
  const MapInfo maps[] = {{abi::kMapHosts, sizeof(abi::IpcacheKey)},
                          {abi::kMapIpcache, sizeof(abi::IpcacheKey)},
                          {abi::kMapPolicyExact, sizeof(abi::PolicyKey)},
                          {abi::kMapPolicy, sizeof(abi::PolicyKey)},
                          {abi::kMapEndpoints, sizeof(abi::EndpointKey)},
                          {abi::kMapConntrack, sizeof(abi::FlowTuple)},
                          {abi::kMapFragments, sizeof(abi::FragmentKey)}};
  for (const MapInfo& mi : maps) {
    Fd fd(bpf_obj_get((v.generation_dir + "/" + mi.name).c_str()));
    if (fd.fd >= 0) v.maps.emplace_back(mi.name, map_keys(fd.fd, mi.key_size).size());
  }
  for (Program p : kPrograms) {
    Fd fd(bpf_obj_get((pin_dir + "/dispatch/slot_" + slot_name(p)).c_str()));
    uint32_t key = 0, id = 0;
    if (fd.fd >= 0) bpf_map_lookup_elem(fd.fd, &key, &id);
    v.slots.emplace_back(slot_name(p), id);
  }
  bool adopted;
  std::string err;
  if (auto d = Dispatch::open(pin_dir, adopted, err, /*create=*/false)) {
    v.interfaces = d->attached_interfaces();
    v.cgroups = d->attached_cgroups();
  }
  auto manifest = manifest_copy(state_dir);
  Fd counters(bpf_obj_get((v.generation_dir + "/" + abi::kMapCounters).c_str()));
  if (counters.fd >= 0) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(counters.fd, &info, &len) == 0) {
      uint32_t rules = info.max_entries >= abi::kSpecialCount ? info.max_entries - abi::kSpecialCount : 0;
      std::vector<uint64_t> sum;
      for (uint32_t i = 0; i < info.max_entries; ++i) {
        if (!read_percpu_u64s(counters.fd, i, 2, sum, err) || sum[0] == 0) continue;
        LiveCounter c;
        uint32_t rule = i < rules ? i : abi::kSpecialRuleBase + (i - rules);
        describe_rule(manifest, rule, c.rule, c.action, c.origin, c.location);
        c.packets = sum[0];
        c.bytes = sum[1];
        v.counters.push_back(std::move(c));
      }
    }
  }
  return v;
}

int observe_drops(const std::string& pin_dir, const std::string& state_dir, int max_events, int timeout_ms,
                  bool backlog, const std::function<bool()>& stop,
                  const std::function<void(const DropRecord&)>& fn, std::string& error) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  RingCtx ctx;
  std::optional<bundle::Manifest> manifest;
  ctx.manifest = &manifest;
  ctx.fn = &fn;
  ctx.max = max_events;
  uint64_t gen = 0;
  int gen_opened = 0;
  ring_buffer* ring = nullptr;
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };
  while (!(stop && stop()) && (max_events == 0 || ctx.seen < max_events) &&
         (timeout_ms == 0 || elapsed_ms() < timeout_ms)) {
    uint64_t now_gen = active_generation(pin_dir, state_dir);
    if (now_gen != gen || !ring) {
      // A new generation (new bundle): reopen, and explain rules with its manifest.
      if (ring) ring_buffer__free(ring);
      ring = nullptr;
      gen = now_gen;
      manifest = manifest_copy(state_dir);
      Fd fd(bpf_obj_get((generation_dir(pin_dir, gen) + "/" + abi::kMapEvents).c_str()));
      if (fd.fd >= 0) ring = ring_buffer__new(fd.fd, on_ring_event, &ctx, nullptr);
      if (ring && !backlog && gen_opened == 0) {
        // Start from now: events already in the ring happened before we were asked.
        ctx.skip = true;
        ring_buffer__consume(ring);
        ctx.skip = false;
      }
      ++gen_opened;
      if (!ring && gen == 0) {
        error = "nothing is pinned under " + pin_dir;
        return -1;
      }
      if (!ring) {
        error = "cannot open the drop-event ring of generation " + std::to_string(gen);
        return -1;
      }
    }
    int r = ring_buffer__poll(ring, 200);
    if (r < 0 && r != -EINTR) {
      error = std::string("ring buffer poll failed: ") + std::strerror(-r);
      ring_buffer__free(ring);
      return -1;
    }
  }
  if (ring) ring_buffer__free(ring);
  return ctx.seen;
}

} // namespace moat::runtime::agent
