// moat query: one flow's verdict and the rules that decide it. The interpreter decides and
// explains; the Z3 encoding must agree (a disagreement is an internal error, exit 3).
// Without --port, the solver lists every protocol and port range the flow is allowed on.
// An external end with several addresses is several hosts, and a dual-stack workload sends
// IPv4 and IPv6: one answer per packet (per address pair).
// Exit 0 allowed (on some port, without --port; for every packet), 1 denied, 2 bad input,
// 3 internal error.
#include <algorithm>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/format_option.h"
#include "cli/load_options.h"
#include "cli/explain.h"
#include "cli/flow_packets.h"
#include "cli/inventory_input.h"
#include "cli/render.h"
#include "cli/verify_report.h"
#include "frontend/cases.h"
#include "frontend/frontend.h"
#include "ir/validate.h"

namespace moat::cli {

namespace {

constexpr const char* kEndpointHelp = R"(Endpoints (--from, --to):
  ns/name             the workload `name` of namespace ns, as kubectl names it: a
                      Deployment, StatefulSet, DaemonSet, Job, CronJob, ... or bare Pod
                      found among the sources or the --inventory (ns/name[Kind] when
                      two kinds share the name)
  ns/{k: v, k2: v2}   a workload of namespace ns with these pod labels ({} for none)
  ns/k=v,k2=v2        the same, shorter
  NAME                an endpoint of the --inventory cases file (e.g. x/a)
  10.0.0.7, 2001:db8::1   an external address (or the inventory endpoint with that address)
  api.example.com[@IP]    an external endpoint known by this DNS name (and address)
  host, remote-node, kube-apiserver, world   the node, another node, the API server, an
                      external address (203.0.113.1)
  host{k: v}, remote-node{k=v}   the node or another node with these Node labels (what
                      AdminNetworkPolicy `nodes` peers select)
  A workload's namespace labels are the ones the sources declare (namespace blocks) or the
  inventory's; kubernetes.io/metadata.name is always set.)";

struct QueryOptions {
  LoadOptions load;
  std::vector<std::string> paths;
  std::string from, to, port, format = "text";
  VerifyCliOptions verify;
};

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

/// "k: v, k2: v2" or "k=v,k2=v2" into labels; false on a malformed item.
bool parse_labels(std::string text, Labels& out, std::string& error) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    size_t sep = item.find_first_of(":=");
    std::string k = trim(item.substr(0, sep)), v = sep == std::string::npos ? "" : trim(item.substr(sep + 1));
    if (auto why = check_label_key(k)) return error = fmt::format("label key '{}': {}", k, *why), false;
    if (auto why = check_label_value(v)) return error = fmt::format("label value '{}': {}", v, *why), false;
    out[k] = v;
  }
  return true;
}

/// The workloads known by name: the --inventory's endpoints, then those of the sources.
std::vector<const Endpoint*> known_workloads(const Module& m, const CasesFile* inv) {
  std::vector<const Endpoint*> out;
  if (inv)
    for (const Endpoint& e : inv->endpoints)
      if (e.kind == EndpointKind::Workload) out.push_back(&e);
  for (const Endpoint& e : m.cluster_workloads) out.push_back(&e);
  return out;
}

/// `ns/name` as kubectl reads it: the workload of that name in any kind (or `ns/name[Kind]`
/// exactly). An unknown name is an error with the closest known names, never a label key.
std::optional<Endpoint> workload_by_name(const std::string& spec, const Module& m, const CasesFile* inv,
                                         std::string& error) {
  std::vector<const Endpoint*> known = known_workloads(m, inv);
  // A ReplicaSet whose object is absent is named `ns/web-5d8f[ReplicaSet]`; its pods'
  // pod-template-hash says it is Deployment web's, so `ns/web` finds it too (kubectl's view).
  auto deployment_of = [](const Endpoint& e) -> std::string {
    auto hash = e.labels.find("pod-template-hash");
    std::string suffix = hash == e.labels.end() ? "" : "-" + hash->second + "[ReplicaSet]";
    if (suffix.empty() || e.name.size() <= suffix.size() ||
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return "";
    return e.name.substr(0, e.name.size() - suffix.size());
  };
  std::vector<const Endpoint*> found;
  for (const Endpoint* e : known)
    if (e->name == spec || (e->name.rfind(spec + "[", 0) == 0 && e->name.back() == ']') || deployment_of(*e) == spec)
      if (std::none_of(found.begin(), found.end(), [&](const Endpoint* f) { return f->name == e->name; }))
        found.push_back(e);
  if (found.size() == 1) return *found[0];
  if (found.size() > 1) {
    error = fmt::format("'{}' names {} workloads:", spec, found.size());
    for (const Endpoint* e : found) error += " " + e->name;
    error += "; write one of them";
    return std::nullopt;
  }
  // The closest names, kind suffix ignored: a typo of a workload name, or of its namespace.
  std::vector<std::pair<size_t, std::string>> near;
  for (const Endpoint* e : known) {
    std::string bare = e->name.substr(0, e->name.find('['));
    size_t d = yamlfe::edit_distance(bare, spec);
    if (d <= std::max<size_t>(2, spec.size() / 3)) near.push_back({d, e->name});
  }
  std::sort(near.begin(), near.end());
  near.erase(std::unique(near.begin(), near.end()), near.end());
  error = fmt::format("no workload named '{}' among the {} known ({})", spec, known.size(),
                      known.empty() ? "no Deployment, Pod or other workload in the sources or --inventory"
                                    : "from the sources and --inventory");
  if (!near.empty()) {
    error += "; did you mean";
    for (size_t i = 0; i < near.size() && i < 3; ++i) error += (i ? ", '" : " '") + near[i].second + "'";
    error += "?";
  }
  error += "\n(labels are written ns/{key: value} or ns/key=value)";
  return std::nullopt;
}

/// A bare name after the namespace: no selector braces, no `key=value`, no `key: value`.
bool is_workload_name(const std::string& rest) {
  return !rest.empty() && rest.find_first_of("{}=:, ") == std::string::npos;
}

std::optional<Endpoint> parse_endpoint(const std::string& spec, const Module& m, const CasesFile* inv,
                                       std::string& error) {
  if (inv)
    if (const Endpoint* e = inv->find(spec)) return *e;
  for (const Endpoint& e : m.cluster_workloads)
    if (e.name == spec) return e;
  Endpoint e;
  e.name = spec;
  for (const char* node : {"host", "remote-node"}) {
    std::string open = std::string(node) + "{";
    if (spec.rfind(open, 0) != 0) continue;
    if (spec.back() != '}') return error = fmt::format("'{}': missing '}}'", spec), std::nullopt;
    e.kind = open == "host{" ? EndpointKind::Host : EndpointKind::RemoteNode;
    if (!parse_labels(spec.substr(open.size(), spec.size() - open.size() - 1), e.labels, error)) return std::nullopt;
    return e;
  }
  if (spec == "host" || spec == "remote-node" || spec == "kube-apiserver") {
    e.kind = spec == "host" ? EndpointKind::Host : spec == "remote-node" ? EndpointKind::RemoteNode : EndpointKind::KubeApiserver;
    return e;
  }
  if (spec == "world") {
    e.kind = EndpointKind::External;
    e.ips.push_back(*IpAddr::parse("203.0.113.1"));
    return e;
  }
  if (auto ip = IpAddr::parse(spec)) {
    if (inv)
      for (const Endpoint& c : inv->endpoints)
        if (std::find(c.ips.begin(), c.ips.end(), *ip) != c.ips.end()) {
          Endpoint found = c;
          // One of several hosts (ir.h Flow): the query is about this address.
          if (found.kind == EndpointKind::External) found.ips = {*ip};
          return found;
        }
    e.kind = EndpointKind::External;
    e.ips.push_back(*ip);
    return e;
  }
  size_t slash = spec.find('/');
  if (slash == std::string::npos) {
    // A DNS name, optionally with the address it resolved to.
    size_t at = spec.find('@');
    std::string name = spec.substr(0, at);
    if (name.find('.') == std::string::npos) {
      // No dot: not a DNS name anyone resolves from a pod, but likely a workload written
      // without its namespace. Say so rather than invent an external endpoint.
      std::vector<std::string> same;
      for (const Endpoint* w : known_workloads(m, inv)) {
        std::string bare = w->name.substr(w->name.find('/') + 1);
        if (bare.substr(0, bare.find('[')) == name) same.push_back(w->name);
      }
      error = fmt::format("'{}' is neither a workload (write ns/name) nor a DNS name (names have a dot)", spec);
      if (!same.empty()) error += "; did you mean '" + same[0] + "'?";
      return std::nullopt;
    }
    if (auto why = check_fqdn(name, false)) return error = fmt::format("'{}' is not an endpoint: {}", spec, *why), std::nullopt;
    e.kind = EndpointKind::External;
    e.dns_names.push_back(normalize_fqdn(name));
    if (at != std::string::npos) {
      auto ip = IpAddr::parse(spec.substr(at + 1));
      if (!ip) return error = fmt::format("'{}' is not an IP address", spec.substr(at + 1)), std::nullopt;
      e.ips.push_back(*ip);
    }
    return e;
  }
  e.kind = EndpointKind::Workload;
  e.ns = trim(spec.substr(0, slash));
  if (auto why = check_label_value(e.ns); why || e.ns.empty())
    return error = fmt::format("'{}' is not a namespace name", e.ns), std::nullopt;
  std::string rest = trim(spec.substr(slash + 1));
  if (is_workload_name(rest)) return workload_by_name(e.ns + "/" + rest, m, inv, error);
  if (!rest.empty() && rest.front() == '{') {
    if (rest.back() != '}') return error = fmt::format("'{}': missing '}}'", spec), std::nullopt;
    rest = rest.substr(1, rest.size() - 2);
  }
  if (!parse_labels(rest, e.labels, error)) return std::nullopt;
  auto ns = m.namespaces.find(e.ns);
  if (ns != m.namespaces.end()) e.ns_labels = ns->second;
  if (inv && inv->namespaces.count(e.ns)) e.ns_labels = inv->namespaces.at(e.ns);
  e.ns_labels[kNamespaceNameLabel] = e.ns;
  return e;
}

/// N/PROTO (443/tcp), or PROTO/N (tcp/443) as moat prints flows; N alone is TCP.
std::optional<std::pair<Protocol, uint16_t>> parse_port(const std::string& text, std::string& error) {
  size_t slash = text.find('/');
  std::string num = text.substr(0, slash), name = slash == std::string::npos ? "" : text.substr(slash + 1);
  if (slash != std::string::npos && parse_protocol(num) && !parse_protocol(name)) std::swap(num, name);
  Protocol proto = Protocol::TCP;
  if (slash != std::string::npos) {
    auto p = parse_protocol(name);
    if (!p || *p == Protocol::Any) return error = fmt::format("unknown protocol in '{}'", text), std::nullopt;
    proto = *p;
  }
  char* end = nullptr;
  long n = std::strtol(num.c_str(), &end, 10);
  bool icmp = proto == Protocol::ICMP || proto == Protocol::ICMPv6;
  if (num.empty() || *end || n < (icmp ? 0 : 1) || n > (icmp ? 255 : 65535))
    return error = fmt::format("'{}' is not a port (N/PROTO, e.g. 443/tcp)", text), std::nullopt;
  return std::make_pair(proto, static_cast<uint16_t>(n));
}

/// One query at one address pair: the interpreter explains, the solver must agree. `s` and
/// `d` are the ends as this pair sees them (when the query stands for several packets, an
/// end with several addresses shows only the one of this packet).
struct QueryRun {
  const Module& module;
  const SourceManager& sm;
  SmtEngine& smt;
  Endpoint s, d;
  bool same;
  size_t a, b;
  int exit_code = 1;

  QueryRun(const Module& m, const SourceManager& sm_, SmtEngine& z, const Endpoint& src, const Endpoint& dst,
           bool self, size_t sa, size_t db, bool one_of_several)
      : module(m), sm(sm_), smt(z), s(at_address(src, sa, one_of_several)), d(at_address(dst, db, one_of_several)),
        same(self), a(sa), b(db), src_full(src), dst_full(dst), one_of_several_(one_of_several) {}

  static Endpoint at_address(const Endpoint& e, size_t i, bool one_of_several) {
    Endpoint out = e;
    if (one_of_several && i < e.ips.size()) out.ips = {e.ips[i]};
    return out;
  }

  /// An end as the text output names it; when the query stands for several packets, a
  /// cluster end also says which of its addresses this packet uses (external ends always
  /// show their address).
  std::string end_text(const Endpoint& e) const {
    std::string text = describe_endpoint(e);
    if (one_of_several_ && e.kind != EndpointKind::External && e.ips.size() == 1) text += " at " + e.ips[0].str();
    return text;
  }
  std::string src_text() const { return end_text(s); }
  std::string dst_text() const { return same ? "itself" : end_text(d); }

  Flow flow(Protocol proto, uint16_t port) const {
    return Flow{&src_full, same ? &src_full : &dst_full, proto, port, a, same ? a : b};
  }

  /// --port: the verdict, printed (text) or returned (json); nullopt on a solver failure
  /// or a disagreement (exit_code says which).
  std::optional<nlohmann::json> verdict(std::pair<Protocol, uint16_t> port, const std::string& format) {
    std::string error;
    Verdict v = evaluate(module, flow(port.first, port.second));
    auto z = smt.verdict({0, a}, {same ? 0u : 1u, same ? a : b}, port.first, port.second, &error);
    if (!z) {
      std::fprintf(stderr, "moat query: solver: %s\n", error.c_str());
      exit_code = error.find("timeout") != std::string::npos ? 1 : 3;
      return std::nullopt;
    }
    if (*z != v.allowed) {
      std::fprintf(stderr, "moat query: internal error: the interpreter says %s, the Z3 encoding says %s\n",
                   v.allowed ? "allow" : "deny", *z ? "allow" : "deny");
      exit_code = 3;
      return std::nullopt;
    }
    exit_code = v.allowed ? 0 : 1;
    std::string l7 = l7_condition(module, v);
    if (format == "json") {
      nlohmann::json j = {{"flow", witness_json(module, sm, Witness{s, d, same, port.first, port.second, v})}};
      if (!l7.empty()) j["l7"] = l7;
      return j;
    }
    std::printf("%s -> %s on %s: %s%s\n", src_text().c_str(), dst_text().c_str(),
                flow_text(port.first, port.second).c_str(), v.allowed ? "allow" : "deny",
                l7.empty() ? "" : (", " + l7).c_str());
    std::fputs(explain_verdict(module, sm, v, s, d, "  ").c_str(), stdout);
    return nlohmann::json::object();
  }

  /// No --port: every allowed protocol and port range, each explained at its first port.
  std::optional<nlohmann::json> ports(const std::string& format) {
    std::string error;
    auto ranges = smt.allowed_ports({0, a}, {same ? 0u : 1u, same ? a : b}, &error);
    if (!ranges) {
      std::fprintf(stderr, "moat query: solver: %s\n", error.c_str());
      exit_code = error.find("timeout") != std::string::npos ? 1 : 3;
      return std::nullopt;
    }
    nlohmann::json allowed = nlohmann::json::array();
    if (format != "json")
      std::printf("%s -> %s:\n", src_text().c_str(), dst_text().c_str());
    for (const SmtEngine::PortRange& r : *ranges) {
      // Each range is explained by the interpreter at its first port, and must agree.
      Verdict v = evaluate(module, flow(r.proto, r.lo));
      if (!v.allowed) {
        std::fprintf(stderr, "moat query: internal error: Z3 allows %s, the interpreter denies it\n",
                     flow_text(r.proto, r.lo).c_str());
        exit_code = 3;
        return std::nullopt;
      }
      exit_code = 0;
      std::string range = r.lo == r.hi ? std::to_string(r.lo) : fmt::format("{}..{}", r.lo, r.hi);
      std::string l7 = l7_condition(module, v);
      if (format == "json") {
        allowed.push_back({{"protocol", to_string(r.proto)}, {"from", r.lo}, {"to", r.hi},
                           {"example", witness_json(module, sm, Witness{s, d, same, r.proto, r.lo, v})}});
        if (!l7.empty()) allowed.back()["l7"] = l7;
      } else {
        std::printf("  allow %s %s%s\n", to_string(r.proto), range.c_str(), l7.empty() ? "" : (", " + l7).c_str());
        std::fputs(explain_verdict(module, sm, v, s, d, "    ").c_str(), stdout);
      }
    }
    if (format == "json") return nlohmann::json{{"allowed", allowed}};
    std::printf("  %s\n", ranges->empty() ? "deny on every protocol and port" : "deny on everything else");
    if (ranges->empty()) {
      Verdict v = evaluate(module, flow(Protocol::TCP, 80));
      std::printf("  e.g. tcp/80:\n");
      std::fputs(explain_verdict(module, sm, v, s, d, "    ").c_str(), stdout);
    }
    return nlohmann::json::object();
  }

private:
  const Endpoint& src_full;
  const Endpoint& dst_full;
  bool one_of_several_ = false;
};

int run_query(const QueryOptions& o) {
  std::string error;
  // A mistyped --port is reported before the inputs are read (seconds on a large cluster).
  std::optional<std::pair<Protocol, uint16_t>> port;
  if (!o.port.empty() && !(port = parse_port(o.port, error))) {
    std::fprintf(stderr, "moat query: %s\n", error.c_str());
    return 2;
  }
  SourceManager sm;
  Module module;
  Diagnostics diags;
  load_paths(o.paths, sm, module, diags, o.load);
  std::optional<CasesFile> inv;
  if (!o.verify.inventory.empty()) inv = load_inventory_file(o.verify.inventory, sm, diags);
  print_diagnostics(diags, sm, stderr);
  if (diags.has_errors()) return 2;
  auto src = parse_endpoint(o.from, module, inv ? &*inv : nullptr, error);
  auto dst = src ? parse_endpoint(o.to, module, inv ? &*inv : nullptr, error) : std::nullopt;
  if (!src || !dst) {
    std::fprintf(stderr, "moat query: %s\n%s\n", error.c_str(), kEndpointHelp);
    return 2;
  }
  // Endpoints written on the command line are "src" and "dst" in explanations (inventory
  // endpoints keep their names); the same text twice is one endpoint: self traffic.
  bool same = o.from == o.to;
  if (src->name == o.from) src->name = "src";
  if (dst->name == o.to) dst->name = "dst";
  if (same) dst->name = src->name;
  VerifyOptions vo;
  vo.timeout_ms = o.verify.timeout_ms;
  SmtEngine smt(module, {*src, *dst}, vo);
  // An external endpoint with several addresses is several hosts (ir.h Flow), and a
  // dual-stack workload sends IPv4 and IPv6: one answer per packet, and the flow counts as
  // allowed only when it is for every one.
  std::vector<std::pair<size_t, size_t>> pairs;
  for (auto [a, b] : packet_addresses(&*src, same ? &*src : &*dst,
                                      port ? std::optional<Protocol>(port->first) : std::nullopt))
    if (!same || a == b) pairs.push_back({a, b});
  if (pairs.empty()) pairs.push_back({0, 0});
  if (pairs.size() == 1) {
    auto [a, b] = pairs.front();
    QueryRun q{module, sm, smt, *src, same ? *src : *dst, same, a, b, false};
    auto r = port ? q.verdict(*port, o.format) : q.ports(o.format);
    if (!r) return q.exit_code;
    if (o.format == "json") {
      nlohmann::json out = {{"from", endpoint_json(q.s)}, {"to", endpoint_json(q.d)}};
      out.update(*r);
      std::puts(out.dump(2).c_str());
    }
    return q.exit_code;
  }
  nlohmann::json per_address = nlohmann::json::array();
  int code = 0;
  for (auto [a, b] : pairs) {
    QueryRun q{module, sm, smt, *src, same ? *src : *dst, same, a, b, true};
    auto r = port ? q.verdict(*port, o.format) : q.ports(o.format);
    if (!r) return q.exit_code;
    code = std::max(code, q.exit_code);
    nlohmann::json one = {{"from", endpoint_json(q.s)}, {"to", endpoint_json(q.d)}};
    one.update(*r);
    per_address.push_back(std::move(one));
  }
  if (o.format == "json")
    std::puts(nlohmann::json({{"from", endpoint_json(*src)}, {"to", endpoint_json(same ? *src : *dst)},
                              {"addresses", per_address}})
                  .dump(2)
                  .c_str());
  return code;
}

} // namespace

void add_query_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<QueryOptions>();
  CLI::App* cmd = app.add_subcommand("query", "One flow's verdict and the rules that decide it");
  cmd->footer(kEndpointHelp);
  cmd->add_option("paths", opts->paths, "Policy files or directories; - reads YAML from standard input")->required();
  add_load_options(cmd, opts->load);
  cmd->add_option("--from", opts->from, "Source endpoint (see below)")->required();
  cmd->add_option("--to", opts->to, "Destination endpoint (see below)")->required();
  cmd->add_option("--port", opts->port, "N/PROTO, e.g. 443/tcp, 53/udp, 8/icmp, or PROTO/N (default: list every allowed port)");
  add_format_option(cmd, opts->format, {"text", "json"});
  cmd->add_option("--inventory", opts->verify.inventory, "Cases file or Kubernetes Pods and Namespaces: endpoints usable by name");
  cmd->add_option("--timeout", opts->verify.timeout_ms, "Solver time limit per query in ms (0: none)")
      ->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_query(*opts); });
}

} // namespace moat::cli
