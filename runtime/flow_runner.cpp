// KernelFlowRunner: policy verdicts from the kernel, packet by packet.
#include "runtime/flow_runner.h"

#include <set>

#include <fmt/format.h>

#include "backend/bundle/datapath_abi.h"
#include "backend/bundle/plan.h"

namespace moat::runtime {

uint8_t ip_proto(Protocol p) {
  switch (p) {
  case Protocol::TCP: return 6;
  case Protocol::UDP: return 17;
  case Protocol::SCTP: return 132;
  case Protocol::ICMP: return 1;
  case Protocol::ICMPv6: return 58;
  case Protocol::Any: return 0;
  }
  return 0;
}

namespace {
// The test run's skb is on the loopback device; tc programs see ifindex 1.
constexpr uint32_t kTestIfindex = 1;
// Endpoints get placeholder ifindexes in the computed maps; runs copy their entry to the
// test keys (loopback ifindex, this process's cgroup).
constexpr uint32_t kPlaceholderIfindex = 1u << 20;

const char* special_name(uint32_t s) {
  switch (s) {
  case abi::kSpecialDefaultDeny: return "isolated, no allow rule matched";
  case abi::kSpecialDefaultAllow: return "not isolated, no rule matched";
  case abi::kSpecialImplicit: return "implicitly allowed (self / host / IPv6 neighbour discovery)";
  case abi::kSpecialEstablished: return "conntrack: established flow or reply";
  case abi::kSpecialUnknownLocal: return "unknown local endpoint";
  case abi::kSpecialMalformed: return "malformed packet";
  case abi::kSpecialFragment: return "fragment without its first fragment";
  case abi::kSpecialNonIp: return "not IP";
  case abi::kSpecialSpoofed: return "spoofed source address";
  }
  return "?";
}

bool is_tc(Program p) { return p == Program::TcIngress || p == Program::TcEgress; }

/// An external endpoint with several addresses stands for several hosts (ir.h Flow).
bool several_hosts(const Endpoint& e) { return e.kind == EndpointKind::External && e.ips.size() > 1; }

/// The address of `e` in family `v6` the packet uses: for several hosts ips[addr] (if of
/// that family), else ips[addr] when it is of that family, else the endpoint's first of
/// the family.
std::optional<IpAddr> address(const Endpoint& e, bool v6, size_t addr) {
  if (several_hosts(e)) {
    if (addr < e.ips.size() && e.ips[addr].v6 == v6) return e.ips[addr];
    return std::nullopt;
  }
  if (addr < e.ips.size() && e.ips[addr].v6 == v6) return e.ips[addr];
  for (const IpAddr& ip : e.ips)
    if (ip.v6 == v6) return ip;
  return std::nullopt;
}

/// An IP datapath cannot tell apart two endpoints with one address, yet cases files may
/// reuse addresses (cyclonus' probe model puts the pods of two namespaces on the same IPs).
/// Workload addresses never meet CIDR rules (those match external endpoints only), so a
/// workload whose address an earlier endpoint already has gets a private test address
/// (198.18.0.0/15 or 2001:2::/48, benchmarking ranges) that no other endpoint uses.
void give_unique_addresses(std::vector<Endpoint>& eps) {
  std::set<IpAddr> used;
  for (const Endpoint& e : eps)
    for (const IpAddr& ip : e.ips) used.insert(ip);
  std::set<IpAddr> seen;
  uint32_t next4 = (198u << 24) | (18u << 16) | 1;
  uint32_t next6 = 1;
  // Externals keep their addresses (CIDR rules read them); workloads yield.
  for (int pass = 0; pass < 2; ++pass)
    for (Endpoint& e : eps) {
      if ((e.kind == EndpointKind::Workload) != (pass == 1)) continue;
      for (IpAddr& ip : e.ips) {
        if (seen.insert(ip).second || e.kind != EndpointKind::Workload) continue;
        IpAddr fresh;
        do {
          if (!ip.v6) {
            fresh = IpAddr::v4(next4++);
          } else {
            fresh = *IpAddr::parse("2001:2::");
            fresh.bytes[12] = static_cast<uint8_t>(next6 >> 24), fresh.bytes[13] = static_cast<uint8_t>(next6 >> 16);
            fresh.bytes[14] = static_cast<uint8_t>(next6 >> 8), fresh.bytes[15] = static_cast<uint8_t>(next6);
            ++next6;
          }
        } while (used.count(fresh));
        used.insert(fresh);
        seen.insert(fresh);
        ip = fresh;
      }
    }
}

} // namespace

std::unique_ptr<KernelFlowRunner> KernelFlowRunner::create(const std::vector<uint8_t>& elf, const Module& policy,
                                                           std::vector<Endpoint> endpoints,
                                                           std::vector<std::string> rule_names, std::string& error) {
  std::unique_ptr<KernelFlowRunner> r(new KernelFlowRunner());
  r->dp_ = Datapath::open(elf, {}, error);
  if (!r->dp_) return nullptr;
  r->endpoints_ = std::move(endpoints);
  give_unique_addresses(r->endpoints_);
  r->rule_names_ = std::move(rule_names);
  r->rule_count_ = bundle::datapath_rule_count(policy);
  for (size_t i = 0; i < r->endpoints_.size(); ++i)
    if (r->endpoints_[i].kind == EndpointKind::Workload)
      r->locals_.push_back({i, kPlaceholderIfindex + static_cast<uint32_t>(i), 0});
  r->contents_ = bundle::compute_map_contents(policy, r->endpoints_, r->locals_, r->ids_);
  for (const auto& [key, value] : r->contents_.endpoints)
    r->local_values_[key.id - kPlaceholderIfindex] = value;
  if (!r->dp_->apply(r->contents_, error)) return nullptr;
  r->own_cgroup_ = cgroup_id_of(own_cgroup_path());
  if (r->own_cgroup_ == 0) {
    error = "cannot find this process's cgroup v2 id (is /sys/fs/cgroup a cgroup2 mount?)";
    return nullptr;
  }
  return r;
}

bool KernelFlowRunner::reload(const Module& policy, std::string& error) {
  rule_count_ = bundle::datapath_rule_count(policy);
  contents_ = bundle::compute_map_contents(policy, endpoints_, locals_, ids_);
  for (const auto& [key, value] : contents_.endpoints) local_values_[key.id - kPlaceholderIfindex] = value;
  if (!dp_->apply(contents_, error)) return false;
  auto epoch = dp_->epoch();
  if (!epoch) {
    error = "cannot read the policy epoch";
    return false;
  }
  return dp_->set_epoch(*epoch + 1, error);
}

const Endpoint* KernelFlowRunner::find(const Endpoint& e) const {
  for (const Endpoint& x : endpoints_)
    if (&x == &e) return &x;
  for (const Endpoint& x : endpoints_)
    if (x.name == e.name && x.kind == e.kind) return &x;
  return nullptr;
}

std::string KernelFlowRunner::describe_slot(uint32_t slot) const {
  if (slot >= rule_count_) return special_name(slot - rule_count_);
  std::string s = fmt::format("rule {}", slot);
  if (slot < rule_names_.size() && !rule_names_[slot].empty()) s += " (" + rule_names_[slot] + ")";
  return s;
}

std::optional<bool> KernelFlowRunner::run_one(Program p, const Endpoint& local, const std::vector<uint8_t>& pkt,
                                              std::string& where, std::string& detail, std::string& error) {
  size_t index = static_cast<size_t>(&local - endpoints_.data());
  auto it = local_values_.find(index);
  if (it == local_values_.end()) {
    error = "endpoint " + local.name + " is not a local workload";
    return std::nullopt;
  }
  abi::EndpointKey key = is_tc(p) ? bundle::endpoint_key(abi::kEndpointKindIfindex, kTestIfindex)
                                  : bundle::endpoint_key(abi::kEndpointKindCgroup, own_cgroup_);
  if (!dp_->set_endpoint(key, it->second, error)) return std::nullopt;
  Counters before, after;
  if (explain) before = dp_->read_counters(error);
  auto r = dp_->test_run(p, pkt, 1, error);
  if (!r) return std::nullopt;
  std::string why;
  if (explain) {
    after = dp_->read_counters(error);
    for (uint32_t s = 0; s < after.slots.size() && s < before.slots.size(); ++s)
      if (after.slots[s].packets != before.slots[s].packets) why = describe_slot(s);
  }
  detail += fmt::format("    kernel {}: {}{}\n", where, r->passed ? "pass" : "drop", why.empty() ? "" : " — " + why);
  return r->passed;
}

std::optional<RunResult> KernelFlowRunner::run(Program p, const Endpoint& local, const PacketSpec& spec,
                                               std::string& error) {
  const Endpoint* l = find(local);
  if (!l) {
    error = "unknown endpoint " + local.name;
    return std::nullopt;
  }
  size_t index = static_cast<size_t>(l - endpoints_.data());
  auto it = local_values_.find(index);
  if (it == local_values_.end()) {
    error = "endpoint " + local.name + " is not a local workload";
    return std::nullopt;
  }
  abi::EndpointKey key = is_tc(p) ? bundle::endpoint_key(abi::kEndpointKindIfindex, kTestIfindex)
                                  : bundle::endpoint_key(abi::kEndpointKindCgroup, own_cgroup_);
  if (!dp_->set_endpoint(key, it->second, error)) return std::nullopt;
  return dp_->test_run(p, build_packet(spec), 1, error);
}

std::optional<FlowCheck> KernelFlowRunner::check(const Endpoint& src_in, const Endpoint& dst_in, Protocol proto,
                                                 uint16_t port, std::string& error, size_t src_addr, size_t dst_addr) {
  const Endpoint* src = find(src_in);
  const Endpoint* dst = find(dst_in);
  if (!src || !dst) {
    error = "unknown endpoint " + (src ? dst_in.name : src_in.name);
    return std::nullopt;
  }
  uint8_t ipp = ip_proto(proto);
  if (ipp == 0) {
    error = "protocol any is not a packet";
    return std::nullopt;
  }
  // An external end with several addresses is several hosts: the flow names the one it
  // uses (ir.h Flow), and that address fixes the family. So do the addresses the flow names
  // at both ends when they are of one family (a dual-stack pod's IPv6 packet: the
  // interpreter judges the addresses the flow names). Otherwise the family is IPv4 when
  // both ends have one (ICMPv6 needs IPv6, ICMP IPv4).
  std::optional<IpAddr> pinned;
  for (auto [e, i] : {std::pair{src, src_addr}, std::pair{dst, dst_addr}})
    if (!pinned && several_hosts(*e) && i < e->ips.size()) pinned = e->ips[i];
  if (!pinned && src_addr < src->ips.size() && dst_addr < dst->ips.size() &&
      src->ips[src_addr].v6 == dst->ips[dst_addr].v6)
    pinned = src->ips[src_addr];
  std::optional<IpAddr> s4 = address(*src, false, src_addr), d4 = address(*dst, false, dst_addr);
  std::optional<IpAddr> s6 = address(*src, true, src_addr), d6 = address(*dst, true, dst_addr);
  bool v6;
  if (proto == Protocol::ICMP) v6 = false;
  else if (proto == Protocol::ICMPv6) v6 = true;
  else if (pinned) v6 = pinned->v6;
  else v6 = !(s4 && d4);
  std::optional<IpAddr> sa = v6 ? s6 : s4, da = v6 ? d6 : d4;
  if (!sa || !da) {
    error = fmt::format("{} and {} have no {} addresses to build a packet from", src->name, dst->name,
                        v6 ? "IPv6" : "IPv4");
    return std::nullopt;
  }
  // A workload to itself goes to another of its addresses when it has one: self traffic is
  // the workload reaching any of its own addresses (backend/DATAPATH.md).
  if (src == dst && src->kind == EndpointKind::Workload)
    for (const IpAddr& ip : src->ips)
      if (ip.v6 == v6 && ip != *sa) {
        da = ip;
        break;
      }
  PacketSpec spec;
  spec.src = *sa;
  spec.dst = *da;
  spec.proto = ipp;
  spec.sport = next_port_;
  next_port_ = next_port_ >= 60999 ? 32768 : next_port_ + 1;
  spec.dport = port;
  bool has_reply = !(ipp == 1 || ipp == 58) || (ipp == 1 ? port == 8 : port == 128);
  std::vector<uint8_t> pkt = build_packet(spec);
  std::vector<uint8_t> reply = build_packet(reply_of(spec));
  bool src_wl = src->kind == EndpointKind::Workload, dst_wl = dst->kind == EndpointKind::Workload;

  FlowCheck out;
  std::optional<bool> first_verdict, first_reply;
  for (bool tc : {true, false}) {
    if (!dp_->flush_conntrack(error)) return std::nullopt;
    const char* kind = tc ? "tc" : "cgroup_skb";
    Program eg = tc ? Program::TcEgress : Program::CgroupEgress;
    Program in = tc ? Program::TcIngress : Program::CgroupIngress;
    bool allowed = true, reply_ok = true;
    // One program run at one workload; false only when the run itself failed.
    auto leg = [&](Program p, const Endpoint& at, const std::vector<uint8_t>& bytes, const char* hook,
                   const char* suffix, bool& verdict) {
      std::string where = fmt::format("{} {} at {}{}", kind, hook, at.name, suffix);
      auto v = run_one(p, at, bytes, where, out.detail, error);
      if (v) verdict &= *v;
      return v.has_value();
    };
    if (src_wl && !leg(eg, *src, pkt, "egress", "", allowed)) return std::nullopt;
    if (dst_wl && !leg(in, *dst, pkt, "ingress", "", allowed)) return std::nullopt;
    if (allowed && has_reply) {
      if (dst_wl && !leg(eg, *dst, reply, "egress", " (reply)", reply_ok)) return std::nullopt;
      if (src_wl && !leg(in, *src, reply, "ingress", " (reply)", reply_ok)) return std::nullopt;
    }
    if (!first_verdict) {
      first_verdict = allowed;
      first_reply = reply_ok;
    } else if (*first_verdict != allowed || *first_reply != reply_ok) {
      out.attach_kinds_agree = false;
    }
  }
  out.allowed = *first_verdict;
  out.reply_passed = *first_reply;
  return out;
}

} // namespace moat::runtime
