// The connectivity cases file (docs/CASES.md): namespaces, endpoints and expected verdicts,
// read through the frontend's document tree (frontend/yaml/doc.h). Every mistake is an E205 diagnostic at the offending key or value, so
// a typo in a 500-line truth table points at its line; nothing here throws past load_cases.
#include "frontend/cases.h"
#include "frontend/read_input.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "frontend/yaml/doc.h"

#include "frontend/cases_scheduling.h"
#include "frontend/k8s/kube_reader.h"
#include "frontend/utf8.h"
#include "ir/fqdn.h"
#include "ir/validate.h"

namespace moat {

const Endpoint* CasesFile::find(const std::string& name) const {
  for (const Endpoint& ep : endpoints)
    if (ep.name == name) return &ep;
  return nullptr;
}

namespace {

/// Where addresses come from when a cases file leaves them out: a pod CIDR for workloads,
/// a node range for host-like entities, and TEST-NET-2 (RFC 5737, never a real host) for
/// external endpoints.
IpPrefix pool_for(EndpointKind k) {
  const char* text = k == EndpointKind::Workload   ? "10.244.0.0/16"
                     : k == EndpointKind::External ? "198.51.100.0/24"
                                                   : "172.18.0.0/16";
  return *IpPrefix::parse(text);
}

/// The lowest host address of the kind's pool that nobody uses yet.
std::optional<IpAddr> allocate_ip(EndpointKind kind, const std::set<IpAddr>& used) {
  IpPrefix pool = pool_for(kind);
  uint32_t base = pool.addr.v4_host_order();
  uint32_t size = 1u << (32 - pool.len);
  for (uint32_t i = 1; i + 1 < size; ++i) {
    IpAddr a = IpAddr::v4(base + i);
    if (!used.count(a)) return a;
  }
  return std::nullopt;
}

bool same_endpoint(const Endpoint& a, const Endpoint& b) {
  return a.kind == b.kind && a.ns == b.ns && a.ns_labels == b.ns_labels && a.labels == b.labels &&
         a.dns_names == b.dns_names && a.node == b.node &&
         (a.ips.empty() || b.ips.empty() || a.ips == b.ips);
}

class CasesLoader {
public:
  CasesLoader(FileId file, Diagnostics& diags) : file_(file), diags_(diags) {}

  std::optional<CasesFile> load(const std::string& text);

private:
  FileId file_;
  Diagnostics& diags_;
  CasesFile out_;
  bool ok_ = true;

  /// Marks are 0-based; moat ranges are 1-based. A scalar's range covers its text.
  SourceRange range(const doc::Node& n) const {
    doc::Mark m = n.Mark();
    if (m.is_null() || m.line < 0) return SourceRange::at(file_, 1, 1);
    uint32_t len = n.IsScalar() ? static_cast<uint32_t>(std::max<size_t>(1, n.Scalar().size())) : 1;
    return SourceRange::at(file_, static_cast<uint32_t>(m.line) + 1, static_cast<uint32_t>(m.column) + 1, len);
  }
  void error(const doc::Node& at, std::string msg) {
    ok_ = false;
    diags_.report(Code::E205, range(at), std::move(msg));
  }
  std::optional<std::string> scalar(const doc::Node& n, std::string_view what) {
    if (n.IsScalar()) return std::string(n.Scalar());
    error(n, std::string(what) + " must be a single value");
    return std::nullopt;
  }
  std::optional<Labels> labels(const doc::Node& n, std::string_view what);
  std::optional<IpAddr> ip(const doc::Node& n);
  std::optional<NamedPort> named_port(const doc::Node& key, const doc::Node& value);
  void namespaces(const doc::Node& n);
  void endpoint(const doc::Node& n);
  bool scheduling(Endpoint& ep, const std::optional<doc::Node>& resources,
                  const std::optional<doc::Node>& tolerations, const std::optional<doc::Node>& selector);
  void expectation(const doc::Node& n);
  void assign_ips();
};

std::optional<Labels> CasesLoader::labels(const doc::Node& n, std::string_view what) {
  Labels out;
  if (n.IsNull()) return out;
  if (!n.IsMap()) {
    error(n, std::string(what) + " must be a map of label key to value");
    return std::nullopt;
  }
  bool good = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto key = scalar(it->first, "a label key");
    auto value = it->second.IsNull() ? std::optional<std::string>("") : scalar(it->second, "a label value");
    if (!key || !value) {
      good = false;
      continue;
    }
    if (auto why = check_label_key(*key)) {
      error(it->first, *why);
      good = false;
    } else if (auto why = check_label_value(*value)) {
      error(it->second, *why);
      good = false;
    }
    out[*key] = *value;
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<IpAddr> CasesLoader::ip(const doc::Node& n) {
  auto text = scalar(n, "an IP address");
  if (!text) return std::nullopt;
  auto a = IpAddr::parse(*text);
  if (!a) error(n, "'" + *text + "' is not an IPv4 or IPv6 address");
  return a;
}

/// `name: 80/TCP` (protocol defaults to TCP, as in a Kubernetes containerPort).
std::optional<NamedPort> CasesLoader::named_port(const doc::Node& key, const doc::Node& value) {
  auto name = scalar(key, "a port name");
  auto spec = scalar(value, "a port");
  if (!name || !spec) return std::nullopt;
  NamedPort np;
  np.name = *name;
  std::string_view s = *spec;
  size_t slash = s.find('/');
  std::string_view num = s.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto proto = parse_protocol(s.substr(slash + 1));
    if (!proto || *proto == Protocol::Any) {
      error(value, "unknown protocol '" + std::string(s.substr(slash + 1)) + "' (TCP, UDP or SCTP)");
      return std::nullopt;
    }
    np.proto = *proto;
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size() || v < 1 || v > 65535) {
    error(value, "port '" + std::string(s) + "' must be a number 1-65535, optionally followed by /PROTOCOL");
    return std::nullopt;
  }
  np.port = static_cast<uint16_t>(v);
  return np;
}

void CasesLoader::namespaces(const doc::Node& n) {
  if (!n.IsMap()) {
    error(n, "'namespaces' must be a map of namespace name to labels");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto name = scalar(it->first, "a namespace name");
    if (!name) continue;
    if (auto why = check_label_value(*name); why || name->empty()) {
      error(it->first, "'" + *name + "' is not a valid namespace name");
      continue;
    }
    auto l = labels(it->second, "namespace labels");
    if (!l) continue;
    (*l)[kNamespaceNameLabel] = *name;  // always present, and never something else
    out_.namespaces[*name] = std::move(*l);
  }
}

void CasesLoader::endpoint(const doc::Node& n) {
  if (!n.IsMap()) {
    error(n, "an endpoint must be a map such as {name: x/a, namespace: x, labels: {pod: a}}");
    return;
  }
  Endpoint ep;
  ep.range = range(n);
  std::optional<doc::Node> name_node, entity_node, ns_node, labels_node, ports_node, dns_node;
  std::optional<doc::Node> resources_node, tolerations_node, selector_node;  // workloads only
  bool good = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto key = scalar(it->first, "a field name");
    if (!key) {
      good = false;
      continue;
    }
    const doc::Node v = it->second;  // a copy: `it->` yields a temporary proxy
    if (*key == "name") {
      name_node.emplace(v);
    } else if (*key == "namespace") {
      ns_node.emplace(v);
    } else if (*key == "entity") {
      entity_node.emplace(v);
    } else if (*key == "labels") {
      labels_node.emplace(v);
    } else if (*key == "ports") {
      ports_node.emplace(v);
    } else if (*key == "dns") {
      dns_node.emplace(v);
    } else if (*key == "resources") {
      resources_node.emplace(v);
    } else if (*key == "tolerations") {
      tolerations_node.emplace(v);
    } else if (*key == "nodeSelector") {
      selector_node.emplace(v);
    } else if (*key == "ip") {
      if (auto a = ip(v)) ep.ips.push_back(*a); else good = false;
    } else if (*key == "ips") {
      if (!v.IsSequence()) {
        error(v, "'ips' must be a list of addresses");
        good = false;
        continue;
      }
      for (const doc::Node& item : v)
        if (auto a = ip(item)) ep.ips.push_back(*a); else good = false;
    } else if (*key == "node" || *key == "iface" || *key == "cgroup") {
      auto s = scalar(v, "'" + *key + "'");
      if (!s) good = false;
      else (*key == "node" ? ep.node : *key == "iface" ? ep.iface : ep.cgroup) = *s;
    } else {
      error(it->first, "unknown endpoint field '" + *key +
                           "' (name, namespace, labels, ip, ips, ports, dns, entity, node, iface, cgroup, "
                           "resources, tolerations, nodeSelector)");
      good = false;
    }
  }
  if (!name_node) {
    error(n, "endpoint has no 'name'");
    return;
  }
  auto name = scalar(*name_node, "'name'");
  if (!name) return;
  if (name->empty()) {
    error(*name_node, "endpoint name must not be empty");
    return;
  }
  ep.name = *name;
  if (out_.find(ep.name)) {
    error(*name_node, "duplicate endpoint name '" + ep.name + "'");
    return;
  }

  ep.kind = EndpointKind::External;
  if (entity_node) {
    auto e = scalar(*entity_node, "'entity'");
    if (!e) return;
    if (*e == "host") ep.kind = EndpointKind::Host;
    else if (*e == "remote-node") ep.kind = EndpointKind::RemoteNode;
    else if (*e == "kube-apiserver") ep.kind = EndpointKind::KubeApiserver;
    else if (*e == "world") ep.kind = EndpointKind::External;
    else {
      error(*entity_node, "unknown entity '" + *e + "' (host, remote-node, kube-apiserver or world)");
      return;
    }
    if (ns_node) {
      error(*ns_node, "an endpoint is either a workload (namespace) or an entity, not both");
      return;
    }
  }
  if (ns_node) {
    auto ns = scalar(*ns_node, "'namespace'");
    if (!ns) return;
    if (auto why = check_label_value(*ns); why || ns->empty()) {
      error(*ns_node, "'" + *ns + "' is not a valid namespace name");
      return;
    }
    ep.kind = EndpointKind::Workload;
    ep.ns = *ns;
  }
  if (labels_node) {
    // Workloads carry pod labels, nodes (host, remote-node) their Node's labels.
    if (ep.kind != EndpointKind::Workload && ep.kind != EndpointKind::Host && ep.kind != EndpointKind::RemoteNode) {
      error(*labels_node, "only workloads (endpoints with a 'namespace') and nodes (entity host or remote-node) have labels");
      good = false;
    } else if (auto l = labels(*labels_node, "'labels'")) {
      ep.labels = std::move(*l);
    } else {
      good = false;
    }
  }
  if (ports_node) {
    if (ep.kind != EndpointKind::Workload) {
      error(*ports_node, "only workloads (endpoints with a 'namespace') have named ports");
      good = false;
    } else if (!ports_node->IsMap()) {
      error(*ports_node, "'ports' must be a map of port name to PORT/PROTOCOL, e.g. {http: 80/TCP}");
      good = false;
    } else {
      for (auto it = ports_node->begin(); it != ports_node->end(); ++it)
        if (auto np = named_port(it->first, it->second)) ep.ports.push_back(*np); else good = false;
    }
  }
  good = scheduling(ep, resources_node, tolerations_node, selector_node) && good;
  if (dns_node) {
    if (ep.kind != EndpointKind::External) {
      error(*dns_node, "only external endpoints carry DNS names");
      good = false;
    } else {
      std::vector<doc::Node> names;
      if (dns_node->IsSequence()) for (const doc::Node& item : *dns_node) names.push_back(item);
      else names.push_back(*dns_node);
      for (const doc::Node& item : names) {
        auto s = scalar(item, "a DNS name");
        if (!s) {
          good = false;
          continue;
        }
        if (auto why = check_fqdn(*s, false)) {
          error(item, *why);
          good = false;
          continue;
        }
        ep.dns_names.push_back(canonical_fqdn(*s));
      }
    }
  }
  if (ep.kind == EndpointKind::External && !entity_node && ep.ips.empty() && ep.dns_names.empty()) {
    // Without a namespace, an entity, an IP or a DNS name this is most likely a workload
    // whose namespace was forgotten; guessing "external" would test the wrong thing.
    error(*name_node, "endpoint '" + ep.name +
                          "' needs a 'namespace' (workload), an 'entity', or an 'ip'/'dns' (external)");
    good = false;
  }
  if (good) out_.endpoints.push_back(std::move(ep));
  else ok_ = false;
}

/// `resources`, `tolerations` and `nodeSelector` of a workload (cases_scheduling.h).
bool CasesLoader::scheduling(Endpoint& ep, const std::optional<doc::Node>& resources,
                             const std::optional<doc::Node>& tolerations, const std::optional<doc::Node>& selector) {
  cases::ErrorAt report = [this](const doc::Node& at, std::string msg) { error(at, std::move(msg)); };
  bool good = true;
  for (const auto* field : {&resources, &tolerations, &selector}) {
    if (!*field || ep.kind == EndpointKind::Workload) continue;
    error(**field, "only workloads (endpoints with a 'namespace') are scheduled: resources, tolerations "
                   "and nodeSelector need a 'namespace'");
    good = false;
  }
  if (!good) return false;
  if (resources && !resources->IsNull()) good = cases::read_resources(*resources, ep.resources, report) && good;
  if (tolerations && !tolerations->IsNull())
    good = cases::read_tolerations(*tolerations, ep.sched.tolerations, report) && good;
  if (selector) {
    if (auto l = labels(*selector, "'nodeSelector'")) ep.sched.node_selector = std::move(*l);
    else good = false;
  }
  return good;
}

void CasesLoader::expectation(const doc::Node& n) {
  if (!n.IsMap()) {
    error(n, "an expectation must be a map such as {from: x/a, to: y/b, port: 80, verdict: allow}");
    return;
  }
  Case c;
  c.range = range(n);
  std::optional<doc::Node> from, to, port, verdict, proto;
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto key = scalar(it->first, "a field name");
    if (!key) return;
    if (*key == "from") from.emplace(it->second);
    else if (*key == "to") to.emplace(it->second);
    else if (*key == "port") port.emplace(it->second);
    else if (*key == "protocol") proto.emplace(it->second);
    else if (*key == "verdict") verdict.emplace(it->second);
    else {
      error(it->first, "unknown expectation field '" + *key + "' (from, to, port, protocol, verdict)");
      return;
    }
  }
  bool good = true;
  for (auto [node, field] : {std::pair{&from, "from"}, {&to, "to"}, {&port, "port"}, {&verdict, "verdict"}})
    if (!*node) {
      error(n, std::string("expectation has no '") + field + "'");
      good = false;
    }
  if (!good) return;
  auto end = [&](const doc::Node& node, std::string& out) {
    auto s = scalar(node, "an endpoint name");
    if (!s) return false;
    if (!out_.find(*s)) {
      error(node, "unknown endpoint '" + *s + "' (not listed under 'endpoints')");
      return false;
    }
    out = *s;
    return true;
  };
  good = end(*from, c.from) & end(*to, c.to);
  if (proto) {
    auto s = scalar(*proto, "'protocol'");
    auto p = s ? parse_protocol(*s) : std::nullopt;
    if (!p || *p == Protocol::Any) {
      if (s) error(*proto, "unknown protocol '" + *s + "' (TCP, UDP, SCTP, ICMP or ICMPv6)");
      good = false;
    } else {
      c.proto = *p;
    }
  }
  if (auto s = scalar(*port, "'port'")) {
    bool icmp = c.proto == Protocol::ICMP || c.proto == Protocol::ICMPv6;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || v > (icmp ? 255u : 65535u) || (!icmp && v == 0)) {
      error(*port, icmp ? "an ICMP 'port' is the message type, 0-255" : "'port' must be a number 1-65535");
      good = false;
    } else {
      c.port = static_cast<uint16_t>(v);
    }
  } else {
    good = false;
  }
  if (auto s = scalar(*verdict, "'verdict'")) {
    if (*s == "allow") c.allow = true;
    else if (*s == "deny") c.allow = false;
    else {
      error(*verdict, "verdict must be 'allow' or 'deny', not '" + *s + "'");
      good = false;
    }
  } else {
    good = false;
  }
  if (good) out_.cases.push_back(std::move(c));
}

void CasesLoader::assign_ips() {
  std::set<IpAddr> used;
  for (const Endpoint& ep : out_.endpoints) used.insert(ep.ips.begin(), ep.ips.end());
  for (Endpoint& ep : out_.endpoints) {
    if (ep.kind == EndpointKind::Workload) {
      auto it = out_.namespaces.find(ep.ns);
      ep.ns_labels = it != out_.namespaces.end() ? it->second : Labels{{kNamespaceNameLabel, ep.ns}};
    }
    if (!ep.ips.empty()) continue;
    auto a = allocate_ip(ep.kind, used);
    if (!a) continue;  // a pool of 65k addresses ran dry: leave it without an address
    ep.ips.push_back(*a);
    used.insert(*a);
  }
}

std::optional<CasesFile> CasesLoader::load(const std::string& text) {
  doc::Tree tree;
  size_t errors_before = diags_.error_count();
  if (!doc::build_yaml(text, 0, file_, diags_, tree, Code::E205)) return std::nullopt;
  if (diags_.error_count() > errors_before) ok_ = false;  // repeated keys
  // The first document is the cases file (as yaml-cpp's Load read it); an empty file has none.
  const doc::Node root = tree.documents.empty() ? doc::Node() : tree.documents.front().node;
  {
    if (!root.IsMap()) {
      error(root, root.IsNull() || !root.IsDefined() ? "the cases file is empty" : "a cases file is a map with 'namespaces', 'endpoints' and 'expect'");
      return std::nullopt;
    }
    std::optional<doc::Node> ns, eps, exp;
    for (const auto& kv : root) {
      auto key = scalar(kv.first, "a field name");
      if (!key) continue;
      if (*key == "namespaces") ns.emplace(kv.second);
      else if (*key == "endpoints") eps.emplace(kv.second);
      else if (*key == "expect") exp.emplace(kv.second);
      else error(kv.first, "unknown field '" + *key + "' (namespaces, endpoints, expect)");
    }
    if (ns && !ns->IsNull()) namespaces(*ns);
    if (eps && !eps->IsNull()) {
      if (!eps->IsSequence()) error(*eps, "'endpoints' must be a list");
      else for (const doc::Node& e : *eps) endpoint(e);
    }
    assign_ips();
    if (exp && !exp->IsNull()) {
      if (!exp->IsSequence()) error(*exp, "'expect' must be a list");
      else for (const doc::Node& e : *exp) {
        expectation(e);
        if (diags_.saturated()) break;
      }
    }
  }
  if (!ok_) return std::nullopt;
  return std::move(out_);
}

} // namespace

bool is_kubernetes_objects(const std::string& text) {
  // Only a look at the first document: its problems are reported when it is read for real.
  Diagnostics quiet;
  doc::Tree tree;
  doc::build_yaml(text, 0, kNoFile, quiet, tree);
  for (const doc::Document& d : tree.documents) {
    if (d.node.IsNull()) continue;
    return k8s::is_object_root(d.node);
  }
  return false;
}

/// Same limit as policy files (frontend/load.cpp).
constexpr uintmax_t kMaxCasesBytes = 16u << 20;

std::optional<CasesFile> load_cases(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  auto f = read_input_file(path, kMaxCasesBytes, "cases file", sm, diags);
  if (!f) return std::nullopt;
  return parse_cases(*f, sm, diags);
}

std::optional<CasesFile> parse_cases(FileId file, const SourceManager& sm, Diagnostics& diags) {
  return CasesLoader(file, diags).load(sm.text(file));
}

std::string add_endpoint(CasesFile& cf, Endpoint ep) {
  if (ep.kind == EndpointKind::Workload && !ep.ns.empty() && !ep.ns_labels.count(kNamespaceNameLabel))
    ep.ns_labels[kNamespaceNameLabel] = ep.ns;
  std::string name = ep.name;
  for (int n = 2;; ++n) {
    const Endpoint* existing = cf.find(name);
    if (!existing) break;
    if (same_endpoint(*existing, ep)) return name;
    name = ep.name + "#" + std::to_string(n);
  }
  ep.name = name;
  if (ep.ips.empty()) {
    std::set<IpAddr> used;
    for (const Endpoint& e : cf.endpoints) used.insert(e.ips.begin(), e.ips.end());
    if (auto a = allocate_ip(ep.kind, used)) ep.ips.push_back(*a);
  }
  cf.endpoints.push_back(std::move(ep));
  return name;
}

} // namespace moat
