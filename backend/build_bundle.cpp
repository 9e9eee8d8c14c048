// build_bundle: what `moat build` produces — refuse what the datapath cannot enforce, plan
// one object for every workload and one per node pool whose admitted workloads need fewer
// lookups, compile them, and describe everything in the manifest.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/bundle/datapath_abi.h"
#include "backend/bundle/sha256.h"

namespace moat::backend {

using bundle::DatapathPlan;

bool check_buildable(const Module& m, Diagnostics& diags) {
  bool ok = true;
  for (const Rule& r : m.rules) {
    if (r.http.empty()) continue;
    // Never fail open: an L7 rule allows only some requests of a connection, and the
    // datapath could only allow the whole connection.
    Diagnostic& d = diags.report(Code::E701, r.range,
                                 fmt::format("rule has L7 HTTP constraints ({} request rule(s)); the eBPF "
                                             "datapath enforces L3/L4 only and would allow every request, so "
                                             "`moat build` refuses it (remove the HTTP rules or enforce L7 in a proxy)",
                                             r.http.size()));
    if (r.http.front().range.known()) d.notes.push_back({r.http.front().range, "L7 rule here"});
    ok = false;
  }
  // The datapath resolves one tier (deny precedence) when it computes map entries; the
  // admin and baseline tiers are not resolved there yet, and dropping them would enforce
  // something other than what `moat check` proved.
  for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules}) {
    if (tier->empty()) continue;
    const Rule& first = tier->front();
    diags.report(Code::E228, first.range,
                 fmt::format("{} rule(s) of the {} tier ({}): the eBPF datapath does not enforce AdminNetworkPolicy "
                             "or BaselineAdminNetworkPolicy yet, so `moat build` refuses to compile a bundle that "
                             "would silently leave them out (check, test and query judge them)",
                             tier->size(), to_string(first.tier), first.origin));
    ok = false;
  }
  // An ipBlock that also matches pod and node addresses (--cni calico or kubernetes) needs
  // the datapath to classify cluster addresses by prefix too; it does not yet, and compiling
  // the rule would enforce Cilium's reading instead of the one `moat check` judged.
  auto matches_cluster = [](const Rule& r) { return r.peer.kind == Peer::Kind::Cidr && r.peer.cidr_any_address; };
  if (size_t any_address = std::count_if(m.rules.begin(), m.rules.end(), matches_cluster)) {
    const Rule& first = *std::find_if(m.rules.begin(), m.rules.end(), matches_cluster);
    diags.report(Code::E240, first.peer.range.known() ? first.peer.range : first.range,
                 fmt::format("{} rule(s) with an ipBlock that matches pod and node addresses too ({}): the eBPF "
                             "datapath matches CIDR peers against external addresses only, so `moat build` "
                             "refuses them (build with --cni cilium, or select pods with podSelector)",
                             any_address, first.origin));
    ok = false;
  }
  if (m.rules.size() >= abi::kSpecialRuleBase) {
    diags.report(Code::E702, SourceRange{},
                 fmt::format("{} rules; the datapath supports at most {}", m.rules.size(), abi::kSpecialRuleBase - 1));
    ok = false;
  }
  return ok;
}

namespace {

/// Could one label set satisfy both requirement lists? Conservative: false only for plain
/// contradictions on one key (disjoint In lists, In vs DoesNotExist, Exists vs DoesNotExist,
/// In whose values are all excluded by NotIn).
bool may_overlap(const std::vector<LabelRequirement>& a, const std::vector<LabelRequirement>& b) {
  using Op = LabelRequirement::Op;
  for (const LabelRequirement& x : a)
    for (const LabelRequirement& y : b) {
      if (x.key != y.key) continue;
      auto in_all_excluded = [](const LabelRequirement& in, const LabelRequirement& notin) {
        return std::all_of(in.values.begin(), in.values.end(), [&](const std::string& v) {
          return std::find(notin.values.begin(), notin.values.end(), v) != notin.values.end();
        });
      };
      if (x.op == Op::In && y.op == Op::In &&
          std::none_of(x.values.begin(), x.values.end(), [&](const std::string& v) {
            return std::find(y.values.begin(), y.values.end(), v) != y.values.end();
          }))
        return false;
      bool x_present = x.op == Op::In || x.op == Op::Exists;
      bool y_present = y.op == Op::In || y.op == Op::Exists;
      if ((x_present && y.op == Op::DoesNotExist) || (y_present && x.op == Op::DoesNotExist)) return false;
      if (x.op == Op::In && y.op == Op::NotIn && in_all_excluded(x, y)) return false;
      if (y.op == Op::In && x.op == Op::NotIn && in_all_excluded(y, x)) return false;
    }
  return true;
}

bool may_overlap(const EndpointSelector& a, const EndpointSelector& b) {
  return may_overlap(a.namespaces.reqs, b.namespaces.reqs) && may_overlap(a.pods.reqs, b.pods.reqs);
}

/// The module restricted to rules and isolations that can apply to a workload `admits`
/// lets run (rule ids kept: counters and events stay comparable across objects).
DatapathPlan plan_for_pool(const Module& m, const std::vector<EndpointSelector>& admits) {
  auto admitted = [&](const EndpointSelector& subject) {
    return admits.empty() ||
           std::any_of(admits.begin(), admits.end(), [&](const EndpointSelector& a) { return may_overlap(a, subject); });
  };
  Module sub;
  for (const Rule& r : m.rules)
    if (admitted(r.subject)) sub.rules.push_back(r);
  for (const Isolation& iso : m.isolations)
    if (admitted(iso.subject)) sub.isolations.push_back(iso);
  DatapathPlan plan = bundle::plan_datapath(sub);
  plan.rule_count = static_cast<uint32_t>(m.rules.size());
  return plan;
}

bool same_plan(const DatapathPlan& a, const DatapathPlan& b) {
  for (int i = 0; i < 2; ++i) {
    const bundle::DirectionPlan &x = a.dir[i], &y = b.dir[i];
    if (x.enabled != y.enabled || x.specific_lookup != y.specific_lookup || x.any_lookup != y.any_lookup ||
        x.ipcache != y.ipcache || x.ct_write != y.ct_write || x.exact_ports != y.exact_ports ||
        x.port_prefixes != y.port_prefixes)
      return false;
  }
  return a.rule_count == b.rule_count && a.ipcache_prefixes == b.ipcache_prefixes;
}

} // namespace

bool build_bundle(Module m, const SourceManager& sm, BuildOutput& out, Diagnostics& diags, std::string& error) {
  if (!check_buildable(m, diags)) return false;
  bundle::Manifest& man = out.manifest;
  for (FileId f = 0; f < sm.size(); ++f) man.sources.push_back({sm.path(f), bundle::sha256_hex(sm.text(f))});

  std::vector<std::pair<std::string, DatapathPlan>> plans = {{"default", bundle::plan_datapath(m)}};
  for (const NodePool& pool : m.pools) {
    DatapathPlan plan = plan_for_pool(m, pool.admits);
    std::string object = "default";
    if (!same_plan(plan, plans.front().second)) {
      object = "pool-" + pool.name;
      plans.emplace_back(object, plan);
    }
    man.pools.push_back({pool.name, object, pool.requirements, pool.labels, pool.taints, pool.startup_taints,
                         pool.admits});
  }

  // The policy in selector form (moved, not copied: a cluster's policy is 10^5 rules);
  // source ranges become "file:line:col" strings.
  man.origins.reserve(m.rules.size());
  for (Rule& r : m.rules) {
    r.http.clear();  // none: check_buildable refused them
    man.origins.push_back({r.id, r.origin, r.range.known() ? sm.location(r.range) : ""});
  }
  man.policy.rules = std::move(m.rules);
  man.policy.isolations = std::move(m.isolations);

  for (const auto& [name, plan] : plans) {
    std::vector<uint8_t> elf;
    if (!compile_datapath(plan, name, elf, error)) return false;
    man.objects.push_back({name, name + ".bpf.o", bundle::sha256_hex(elf.data(), elf.size()), plan});
    out.objects.push_back(std::move(elf));
  }
  return true;
}

} // namespace moat::backend
