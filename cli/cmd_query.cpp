// moat query: one flow's verdict and the rules that decide it. The interpreter decides and
// explains; the Z3 encoding must agree (a disagreement is an internal error, exit 3).
// Without --port, the solver lists every protocol and port range the flow is allowed on.
// Exit 0 allowed (on some port, without --port), 1 denied, 2 bad input, 3 internal error.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/explain.h"
#include "cli/render.h"
#include "cli/verify_report.h"
#include "frontend/cases.h"
#include "frontend/frontend.h"
#include "ir/validate.h"

namespace moat::cli {

namespace {

constexpr const char* kEndpointHelp = R"(Endpoints (--from, --to):
  ns/{k: v, k2: v2}   a workload of namespace ns with these pod labels ({} for none)
  ns/k=v,k2=v2        the same, shorter
  NAME                an endpoint of the --inventory cases file (e.g. x/a)
  10.0.0.7, 2001:db8::1   an external address (or the inventory endpoint with that address)
  api.example.com[@IP]    an external endpoint known by this DNS name (and address)
  host, remote-node, kube-apiserver, world   the node, another node, the API server, an
                      external address (203.0.113.1)
  A workload's namespace labels are the ones the sources declare (namespace blocks) or the
  inventory's; kubernetes.io/metadata.name is always set.)";

struct QueryOptions {
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

std::optional<Endpoint> parse_endpoint(const std::string& spec, const Module& m, const CasesFile* inv,
                                       std::string& error) {
  if (inv)
    if (const Endpoint* e = inv->find(spec)) return *e;
  Endpoint e;
  e.name = spec;
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
        if (std::find(c.ips.begin(), c.ips.end(), *ip) != c.ips.end()) return c;
    e.kind = EndpointKind::External;
    e.ips.push_back(*ip);
    return e;
  }
  size_t slash = spec.find('/');
  if (slash == std::string::npos) {
    // A DNS name, optionally with the address it resolved to.
    size_t at = spec.find('@');
    std::string name = spec.substr(0, at);
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

std::optional<std::pair<Protocol, uint16_t>> parse_port(const std::string& text, std::string& error) {
  size_t slash = text.find('/');
  std::string num = text.substr(0, slash);
  Protocol proto = Protocol::TCP;
  if (slash != std::string::npos) {
    auto p = parse_protocol(text.substr(slash + 1));
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

int run_query(const QueryOptions& o) {
  SourceManager sm;
  Module module;
  Diagnostics diags;
  load_paths(o.paths, sm, module, diags);
  std::optional<CasesFile> inv;
  if (!o.verify.inventory.empty()) inv = load_cases(o.verify.inventory, sm, diags);
  print_diagnostics(diags, sm, stderr);
  if (diags.has_errors()) return 2;
  std::string error;
  auto src = parse_endpoint(o.from, module, inv ? &*inv : nullptr, error);
  auto dst = src ? parse_endpoint(o.to, module, inv ? &*inv : nullptr, error) : std::nullopt;
  std::optional<std::pair<Protocol, uint16_t>> port;
  if (src && dst && !o.port.empty()) port = parse_port(o.port, error);
  if (!src || !dst || (!o.port.empty() && !port)) {
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
  const Endpoint& s = *src;
  const Endpoint& d = same ? *src : *dst;
  nlohmann::json out = {{"from", endpoint_json(s)}, {"to", endpoint_json(d)}};
  int code = 1;
  if (port) {
    Verdict v = evaluate(module, Flow{&s, &d, port->first, port->second});
    auto z = smt.verdict(0, same ? 0 : 1, port->first, port->second, &error);
    if (!z) {
      std::fprintf(stderr, "moat query: solver: %s\n", error.c_str());
      return error.find("timeout") != std::string::npos ? 1 : 3;
    }
    if (*z != v.allowed) {
      std::fprintf(stderr, "moat query: internal error: the interpreter says %s, the Z3 encoding says %s\n",
                   v.allowed ? "allow" : "deny", *z ? "allow" : "deny");
      return 3;
    }
    code = v.allowed ? 0 : 1;
    if (o.format == "json") {
      Witness w{s, d, same, port->first, port->second, v};
      out["flow"] = witness_json(module, sm, w);
      std::puts(out.dump(2).c_str());
    } else {
      std::printf("%s -> %s on %s: %s\n", describe_endpoint(s).c_str(), same ? "itself" : describe_endpoint(d).c_str(),
                  flow_text(port->first, port->second).c_str(), v.allowed ? "allow" : "deny");
      std::fputs(explain_verdict(module, sm, v, s, d, "  ").c_str(), stdout);
    }
    return code;
  }
  auto ranges = smt.allowed_ports(0, same ? 0 : 1, &error);
  if (!ranges) {
    std::fprintf(stderr, "moat query: solver: %s\n", error.c_str());
    return error.find("timeout") != std::string::npos ? 1 : 3;
  }
  nlohmann::json allowed = nlohmann::json::array();
  if (o.format != "json")
    std::printf("%s -> %s:\n", describe_endpoint(s).c_str(), same ? "itself" : describe_endpoint(d).c_str());
  for (const SmtEngine::PortRange& r : *ranges) {
    // Each range is explained by the interpreter at its first port, and must agree.
    Verdict v = evaluate(module, Flow{&s, &d, r.proto, r.lo});
    if (!v.allowed) {
      std::fprintf(stderr, "moat query: internal error: Z3 allows %s, the interpreter denies it\n",
                   flow_text(r.proto, r.lo).c_str());
      return 3;
    }
    code = 0;
    std::string range = r.lo == r.hi ? std::to_string(r.lo) : fmt::format("{}..{}", r.lo, r.hi);
    if (o.format == "json") {
      allowed.push_back({{"protocol", to_string(r.proto)}, {"from", r.lo}, {"to", r.hi},
                         {"example", witness_json(module, sm, Witness{s, d, same, r.proto, r.lo, v})}});
    } else {
      std::printf("  allow %s %s\n", to_string(r.proto), range.c_str());
      std::fputs(explain_verdict(module, sm, v, s, d, "    ").c_str(), stdout);
    }
  }
  if (o.format == "json") {
    out["allowed"] = allowed;
    std::puts(out.dump(2).c_str());
  } else {
    std::printf("  %s\n", ranges->empty() ? "deny on every protocol and port" : "deny on everything else");
    if (ranges->empty()) {
      Verdict v = evaluate(module, Flow{&s, &d, Protocol::TCP, 80});
      std::printf("  e.g. tcp/80:\n");
      std::fputs(explain_verdict(module, sm, v, s, d, "    ").c_str(), stdout);
    }
  }
  return code;
}

} // namespace

void add_query_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<QueryOptions>();
  CLI::App* cmd = app.add_subcommand("query", "One flow's verdict and the rules that decide it");
  cmd->footer(kEndpointHelp);
  cmd->add_option("paths", opts->paths, "Policy files or directories")->required();
  cmd->add_option("--from", opts->from, "Source endpoint (see below)")->required();
  cmd->add_option("--to", opts->to, "Destination endpoint (see below)")->required();
  cmd->add_option("--port", opts->port, "N/PROTO, e.g. 443/tcp, 53/udp, 8/icmp (default: list every allowed port)");
  cmd->add_option("--format", opts->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--inventory", opts->verify.inventory, "Cases file: endpoints usable by name");
  cmd->add_option("--timeout", opts->verify.timeout_ms, "Solver time limit per query in ms (0: none)")
      ->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_query(*opts); });
}

} // namespace moat::cli
