// moat observe: the flow log of drops, as Hubble users read flows — each dropped packet with
// its time, the pods on both ends (namespace/pod and labels), the rule (or default deny)
// that decided it, its origin and source location. Every observer gets every event: they
// read the running agent's drop log (runtime/agent/drop_log.h); without a running agent,
// one observer reads the kernel's ring directly. Exit 0 after a clean stop, 2 when there is
// nothing to observe or the options are wrong.
#include <signal.h>

#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format_option.h"
#include "runtime/agent/drop_log.h"

namespace moat::cli {

namespace {

using runtime::agent::ObservedDrop;

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

struct ObserveCli {
  std::string pin_dir = "/sys/fs/bpf/moat";
  std::string state_dir = "/run/moat";
  std::string format = "text";
  int count = 0;
  double timeout_s = 0;
  bool backlog = false;
  std::vector<std::string> namespaces, pods;
  std::string verdict;  // "" or "dropped": moat's datapath reports drops only
};

/// RFC 3339 with nanoseconds, UTC: 2026-12-07T05:40:01.123456789Z.
std::string rfc3339(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1'000'000'000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  return fmt::format("{}.{:09d}Z", buf, unix_ns % 1'000'000'000);
}

/// "addr:port" ("[v6]:port") split into its address and port.
std::pair<std::string, std::string> split_endpoint(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return {text, ""};
  std::string addr = text.substr(0, colon);
  if (addr.size() > 1 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
  return {addr, text.substr(colon + 1)};
}

nlohmann::json end_json(const std::string& endpoint, const std::string& pod, const std::string& labels) {
  auto [addr, port] = split_endpoint(endpoint);
  nlohmann::json j = {{"address", addr}};
  if (!port.empty()) j["port"] = std::stoi(port);
  if (!pod.empty()) {
    size_t slash = pod.find('/');
    j["namespace"] = pod.substr(0, slash);
    j["pod"] = pod.substr(slash + 1);
    nlohmann::json l = nlohmann::json::array();
    size_t i = 0;
    while (i < labels.size()) {
      size_t end = labels.find(',', i);
      if (end == std::string::npos) end = labels.size();
      l.push_back(labels.substr(i, end - i));
      i = end + 1;
    }
    j["labels"] = l;
  }
  return j;
}

/// The short drop reason: spoofed, revoked, default-deny or policy-deny.
std::string drop_reason(const ObservedDrop& d) {
  if (d.drop.event.reason == abi::kDropReasonSpoofed) return "spoofed";
  if (d.drop.revoked) return "revoked";
  if (d.drop.event.rule == abi::kSpecialRuleBase + abi::kSpecialDefaultDeny) return "default-deny";
  return "policy-deny";
}

bool in_namespace(const std::string& pod, const std::string& ns) {
  return pod.size() > ns.size() && pod.compare(0, ns.size(), ns) == 0 && pod[ns.size()] == '/';
}

bool wanted(const ObserveCli& c, const ObservedDrop& d) {
  auto any_of = [](const std::vector<std::string>& want, auto&& match) {
    if (want.empty()) return true;
    for (const std::string& w : want)
      if (match(w)) return true;
    return false;
  };
  bool ns_ok = any_of(c.namespaces, [&](const std::string& ns) {
    return in_namespace(d.src_pod, ns) || in_namespace(d.dst_pod, ns);
  });
  bool pod_ok = any_of(c.pods, [&](const std::string& p) {
    auto matches = [&](const std::string& pod) {
      return !pod.empty() && (pod == p || (p.find('/') == std::string::npos && pod.substr(pod.find('/') + 1) == p));
    };
    return matches(d.src_pod) || matches(d.dst_pod);
  });
  return ns_ok && pod_ok;
}

void print(const ObserveCli& c, const ObservedDrop& d) {
  const runtime::agent::DropRecord& r = d.drop;
  if (c.format == "json") {
    nlohmann::json j = {{"time", rfc3339(d.unix_ns)},
                        {"verdict", "DROPPED"},
                        {"drop_reason", drop_reason(d)},
                        {"direction", r.direction},
                        {"protocol", r.protocol},
                        {"source", end_json(r.src, d.src_pod, d.src_labels)},
                        {"destination", end_json(r.dst, d.dst_pod, d.dst_labels)},
                        {"reason", r.reason},
                        {"revoked", r.revoked},
                        {"origin", r.origin},
                        {"location", r.location},
                        // The flat fields of earlier versions, kept for scripts.
                        {"ts_ns", r.event.timestamp_ns},
                        {"src", r.src},
                        {"dst", r.dst}};
    std::puts(j.dump().c_str());
  } else {
    auto end = [](const std::string& addr, const std::string& pod) { return pod.empty() ? addr : pod + " (" + addr + ")"; };
    std::printf("%s DROP %-7s %s -> %s %s: %s%s%s%s%s\n", rfc3339(d.unix_ns).c_str(), r.direction.c_str(),
                end(r.src, d.src_pod).c_str(), end(r.dst, d.dst_pod).c_str(), r.protocol.c_str(), r.reason.c_str(),
                r.origin.empty() ? "" : " (", r.origin.c_str(), r.origin.empty() ? "" : ")",
                r.location.empty() ? "" : (" at " + r.location).c_str());
  }
  std::fflush(stdout);
}

int run(const ObserveCli& c) {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::string err;
  int shown = 0;
  auto stop = [&] { return g_interrupted != 0 || (c.count && shown >= c.count); };
  auto on_drop = [&](const ObservedDrop& d) {
    if (stop() || !wanted(c, d)) return;
    ++shown;
    print(c, d);
  };
  int timeout_ms = static_cast<int>(c.timeout_s * 1000);
  std::string log = runtime::agent::drop_log_path(c.state_dir);
  int n;
  if (runtime::agent::drop_log_live(log)) {
    uint64_t lost = 0;
    n = runtime::agent::follow_drop_log(log, 0, timeout_ms, c.backlog, stop, on_drop, lost, err);
    if (lost) std::fprintf(stderr, "moat observe: %llu event(s) lost (this reader fell behind the agent's drop log)\n",
                           static_cast<unsigned long long>(lost));
  } else {
    if (!c.namespaces.empty() || !c.pods.empty())
      std::fprintf(stderr, "moat observe: no running agent: events carry no pod names, so --namespace/--pod match nothing\n");
    std::fprintf(stderr, "moat observe: no running agent writes %s: reading the kernel's ring directly "
                         "(one observer at a time)\n", log.c_str());
    int64_t offset = runtime::agent::monotonic_to_unix_offset_ns();
    n = runtime::agent::observe_drops(c.pin_dir, c.state_dir, 0, timeout_ms, c.backlog, stop,
                                      [&](const runtime::agent::DropRecord& r) {
                                        ObservedDrop d;
                                        d.drop = r;
                                        d.unix_ns = static_cast<int64_t>(r.event.timestamp_ns) + offset;
                                        on_drop(d);
                                      },
                                      err);
  }
  if (n < 0) {
    std::fprintf(stderr, "moat observe: %s\n", err.c_str());
    return 2;
  }
  return 0;
}

} // namespace

void add_observe_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ObserveCli>();
  CLI::App* cmd = app.add_subcommand("observe", "Follow drop events with the pods, the rule and the source line that decided");
  cmd->add_option("--pin-dir", c->pin_dir, "bpffs directory of the agent")->capture_default_str();
  cmd->add_option("--state-dir", c->state_dir, "State directory of the agent")->capture_default_str();
  add_format_option(cmd, c->format, {"text", "json"});
  add_json_alias(cmd, c->format);
  cmd->add_option("--count", c->count, "Stop after this many events");
  cmd->add_option("--timeout", c->timeout_s, "Stop after this many seconds");
  cmd->add_flag("--backlog", c->backlog, "Also print the drops still buffered from before");
  cmd->add_option("--namespace", c->namespaces, "Only drops from or to pods of this namespace (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--pod", c->pods, "Only drops from or to this pod: ns/name, or name in any namespace (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--verdict", c->verdict, "Only flows with this verdict: moat reports drops only (DROPPED)")
      ->transform(CLI::IsMember({"dropped", "DROPPED"}, CLI::ignore_case));
  cmd->callback([c, &exit_code] { exit_code = run(*c); });
}

} // namespace moat::cli
