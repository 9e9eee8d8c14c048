// moat status: what the agent enforces on this node — its status report plus the live
// pinned objects (dispatch slots, attach points, map fill, per-rule counters).
// Exit 0 when enforcing and ready, 1 when not ready, 2 when nothing is there to report.
#include <ctime>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "backend/bundle/replay_guard.h"
#include "cli/commands.h"
#include "cli/format_option.h"
#include "runtime/agent/agent.h"
#include "runtime/agent/inspect.h"
#include "runtime/agent/state.h"

namespace moat::cli {

namespace {

struct StatusCli {
  std::string pin_dir = "/sys/fs/bpf/moat";
  std::string state_dir = "/run/moat";
  std::string status_file;
  std::string format = "text";
  bool ready_only = false;
};

nlohmann::json live_json(const runtime::agent::LiveView& v) {
  nlohmann::json j = {{"generation", v.generation}, {"dir", v.generation_dir}};
  if (v.epoch) j["epoch"] = *v.epoch;
  for (const auto& [n, c] : v.maps) j["maps"][n] = c;
  for (const auto& [n, id] : v.slots) j["slots"][n] = id;
  j["interfaces"] = v.interfaces;
  j["cgroups"] = v.cgroups;
  j["counters"] = nlohmann::json::array();
  for (const auto& c : v.counters)
    j["counters"].push_back({{"rule", c.rule}, {"action", c.action}, {"origin", c.origin},
                             {"location", c.location}, {"packets", c.packets}, {"bytes", c.bytes}});
  return j;
}

void print_text(const std::optional<runtime::agent::Status>& s, const std::optional<runtime::agent::LiveView>& v,
                const std::string& live_error) {
  if (s) {
    std::printf("node %s, pool %s: %s, generation %llu, policy epoch %u%s%s\n", s->node.c_str(),
                s->pool.empty() ? "(none)" : s->pool.c_str(), s->ready ? "READY" : "NOT READY",
                static_cast<unsigned long long>(s->generation), s->epoch, s->adopted ? " (adopted)" : "",
                s->running ? fmt::format(", agent pid {}", s->pid).c_str() : ", agent not running (pinned)");
    std::printf("bundle %s (manifest sha256 %s, %s), object %s\n", s->bundle_dir.c_str(),
                s->bundle_sha.substr(0, 16).c_str(),
                s->bundle_signer.empty() ? "not authenticated" : ("signed by key " + s->bundle_signer).c_str(),
                s->object.c_str());
    if (s->bundle_serial || s->highest_serial || s->refused_bundles) {
      std::string expiry;
      if (s->bundle_not_after)
        expiry = fmt::format(", valid until {}{}", bundle::utc_time_text(s->bundle_not_after),
                             s->bundle_not_after < std::time(nullptr) ? " (EXPIRED: still enforced until a newer bundle)" : "");
      std::printf("bundle serial %llu%s; highest serial activated %llu; refused bundles: %llu (older serial, reused "
                  "serial or expired)\n",
                  static_cast<unsigned long long>(s->bundle_serial), expiry.c_str(),
                  static_cast<unsigned long long>(s->highest_serial), static_cast<unsigned long long>(s->refused_bundles));
    }
    if (!s->startup_taint.empty())
      std::printf("startup taint %s: %s\n", s->startup_taint.c_str(),
                  s->ready ? (s->node_has_startup_taint ? "ready to lift (the node still carries it)" : "lifted")
                           : "kept until ready");
    std::printf("pods: %zu local, %zu in the cluster, %zu the pool admits\n", s->local_pods, s->cluster_pods,
                s->runnable_pods);
    for (const auto& a : s->attach) {
      std::string where = !a.iface.empty() ? fmt::format("tc {} (ifindex {})", a.iface, a.ifindex) : std::string();
      if (!a.cgroup.empty())
        where += (where.empty() ? "" : ", ") + fmt::format("cgroup {} (id {})", a.cgroup, a.cgroup_id);
      std::printf("  %-32s %s: %s\n", a.pod.c_str(), where.c_str(), a.attached ? "attached" : a.problem.c_str());
    }
    for (const auto& m : s->misfits) {
      std::printf("  misfit %s (%s):", m.pod.c_str(), m.enforced ? "policy enforced" : "dropped");
      for (const auto& r : m.reasons) std::printf(" %s;", r.c_str());
      std::printf("\n");
    }
    for (const auto& u : s->unattached) std::printf("  not enforced: %s\n", u.c_str());
    if (s->apply_failed) std::printf("  the last map update failed; retrying (new pods drop until it succeeds)\n");
    if (!s->inventory_stale.empty())
      std::printf("  inventory stale, enforcing its last good state: %s\n", s->inventory_stale.c_str());
    std::printf("written: %zu identities, %zu ipcache, %zu policy, %zu endpoint entries\n", s->identities, s->ipcache,
                s->policy, s->endpoints);
    if (s->fqdn_addresses || s->dns_queries)
      std::printf("fqdn: %zu addresses, %zu names learned; dns proxy %llu queries, %llu answers, %llu timeouts, "
                  "answers held %.3f ms on average\n",
                  s->fqdn_addresses, s->fqdn_names, static_cast<unsigned long long>(s->dns_queries),
                  static_cast<unsigned long long>(s->dns_answers), static_cast<unsigned long long>(s->dns_timeouts),
                  s->dns_hold_ms_avg);
    for (const auto& e : s->errors) std::printf("error: %s\n", e.c_str());
  }
  if (!v) {
    std::printf("live: %s\n", live_error.c_str());
    return;
  }
  std::printf("live generation %llu (%s), policy epoch %s\n  maps:", static_cast<unsigned long long>(v->generation),
              v->generation_dir.c_str(), v->epoch ? std::to_string(*v->epoch).c_str() : "none (object predates revalidation)");
  for (const auto& [n, c] : v->maps) std::printf(" %s=%zu", n.c_str(), c);
  std::printf("\n  slots:");
  for (const auto& [n, id] : v->slots) std::printf(" %s=%s", n.c_str(), id ? fmt::format("prog {}", id).c_str() : "EMPTY");
  std::printf("\n  attached: %zu interface(s) in this network namespace, %zu cgroup(s)\n", v->interfaces.size(),
              v->cgroups.size());
  if (!v->counters.empty()) std::printf("  counters:\n");
  for (const auto& c : v->counters)
    std::printf("    %-22s %-5s %10llu pkts %12llu bytes  %s%s%s\n", c.rule.c_str(), c.action.c_str(),
                static_cast<unsigned long long>(c.packets), static_cast<unsigned long long>(c.bytes), c.origin.c_str(),
                c.location.empty() ? "" : "  ", c.location.c_str());
}

int run(const StatusCli& c) {
  runtime::agent::AgentOptions ao;
  ao.state_dir = c.state_dir;
  ao.status_file = c.status_file;
  std::optional<runtime::agent::Status> s;
  if (auto text = runtime::agent::read_file(runtime::agent::status_path(ao))) s = runtime::agent::status_from_json(*text);
  std::string err;
  auto v = runtime::agent::inspect_live(c.pin_dir, c.state_dir, err);
  if (c.ready_only) {
    bool ready = s && s->ready && v && std::all_of(v->slots.begin(), v->slots.end(), [](const auto& p) { return p.second != 0; });
    std::printf("%s\n", ready ? "ready" : "not ready");
    return ready ? 0 : 1;
  }
  if (!s && !v) {
    std::fprintf(stderr, "moat status: no agent status at %s and %s\n", runtime::agent::status_path(ao).c_str(), err.c_str());
    return 2;
  }
  if (c.format == "json") {
    nlohmann::json j;
    j["status"] = s ? nlohmann::json::parse(runtime::agent::to_json(*s)) : nlohmann::json();
    j["live"] = v ? live_json(*v) : nlohmann::json({{"error", err}});
    std::puts(j.dump(2).c_str());
  } else {
    print_text(s, v, err);
  }
  return s && s->ready ? 0 : 1;
}

} // namespace

void add_status_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<StatusCli>();
  CLI::App* cmd = app.add_subcommand("status", "Show what the agent enforces on this node");
  cmd->add_option("--pin-dir", c->pin_dir, "bpffs directory of the agent")->capture_default_str();
  cmd->add_option("--state-dir", c->state_dir, "State directory of the agent")->capture_default_str();
  cmd->add_option("--status-file", c->status_file, "Status file (default STATE_DIR/status.json)");
  add_format_option(cmd, c->format, {"text", "json"});
  add_json_alias(cmd, c->format);
  cmd->add_flag("--ready", c->ready_only, "Only answer ready / not ready (exit 0 / 1), for probes");
  cmd->callback([c, &exit_code] { exit_code = run(*c); });
}

} // namespace moat::cli
