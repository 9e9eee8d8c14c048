// CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (cilium.io/v2) writer: the inverse
// of frontend/yaml/cilium_*.cpp. One policy per subject and source file: namespaced when
// the subject is one namespace's pods, clusterwide otherwise (the namespace requirements
// then become Cilium's namespace labels in the endpointSelector). Isolation is stated with
// enableDefaultDeny in every policy, so allow and deny rules never isolate by themselves.
#include <fmt/format.h>

#include "export/selector_logic.h"
#include "export/targets.h"
#include "export/yaml_emit.h"

namespace moat::exporter {

namespace {

/// Cilium carries a pod's namespace, and its namespace's labels, as pod labels.
std::string namespace_key(const std::string& key) {
  if (key == kNamespaceNameLabel) return "k8s:io.kubernetes.pod.namespace";
  return "k8s:io.cilium.k8s.namespace.labels." + key;
}

/// One endpoint selector: namespace requirements in Cilium's keys, then pod requirements.
/// `scoped`: a namespaced policy, whose selectors without a namespace-name requirement the
/// reader (and Cilium) confine to the policy's namespace; every namespace is then said
/// with an Exists requirement.
void emit_endpoint_selector(YAML::Emitter& out, const EndpointSelector& sel, bool with_namespaces, bool scoped) {
  std::vector<LabelRequirement> reqs;
  std::vector<bool> is_ns;
  if (with_namespaces) {
    bool names_ns = false;
    for (const LabelRequirement& r : sel.namespaces.reqs) {
      LabelRequirement c = r;
      c.key = namespace_key(r.key);
      names_ns = names_ns || r.key == kNamespaceNameLabel;
      reqs.push_back(std::move(c));
    }
    if (scoped && !names_ns)
      reqs.push_back(LabelRequirement{namespace_key(kNamespaceNameLabel), LabelRequirement::Op::Exists, {}, {}});
  }
  for (const LabelRequirement& r : sel.pods.reqs) reqs.push_back(r);
  emit_label_selector(out, reqs, [](const std::string& k) { return k; });
}

bool is_icmp(const PortMatch& pm) { return pm.proto == Protocol::ICMP || pm.proto == Protocol::ICMPv6; }

/// Refusals of one rule; true when it can be written.
bool check_rule(ExportContext& cx, const Rule& r) {
  bool ok = yaml_port_names_ok(cx, r);
  const Peer& p = r.peer;
  if (p.kind == Peer::Kind::Cidr && p.cidr_any_address) {
    refuse(cx, Code::E911, p.range, "a CIDR peer that matches cluster addresses",
           "Cilium's CIDR peers match addresses outside the cluster only");
    ok = false;
  }
  if (p.kind == Peer::Kind::Nodes) {
    refuse(cx, Code::E911, p.range, "a nodes peer with a label selector",
           "Cilium's remote-node and host entities match every node, not nodes by their labels");
    ok = false;
  }
  if (p.kind == Peer::Kind::Fqdn && (r.dir == Direction::Ingress || r.action == Action::Deny)) {
    refuse(cx, Code::E911, p.range, fmt::format("the FQDN peer '{}'", p.fqdn.value),
           "toFQDNs exists in allow egress rules only");
    ok = false;
  }
  bool l7 = !r.http.empty() || !r.dns.empty();
  bool icmp = std::any_of(r.ports.begin(), r.ports.end(), is_icmp);
  if (l7 && (r.ports.empty() || icmp)) {
    refuse(cx, Code::E912, r.range, "an L7 rule on every port or on ICMP",
           "Cilium's L7 rules sit on a toPorts entry of TCP, UDP or SCTP ports");
    ok = false;
  }
  if (!r.http.empty() && !r.dns.empty()) {
    refuse(cx, Code::E912, r.range, "HTTP and DNS rules on one port set",
           "a toPorts entry carries one kind of L7 rules");
    ok = false;
  }
  return ok;
}

void emit_port(YAML::Emitter& out, const PortMatch& pm) {
  out << YAML::BeginMap;
  if (!pm.name.empty()) out << YAML::Key << "port" << YAML::Value << pm.name;
  else if (is_icmp(pm) || (pm.lo == 0 && pm.hi == 65535)) out << YAML::Key << "port" << YAML::Value << YAML::DoubleQuoted << "0";
  else {
    out << YAML::Key << "port" << YAML::Value << YAML::DoubleQuoted << std::to_string(pm.lo);
    if (pm.hi != pm.lo) out << YAML::Key << "endPort" << YAML::Value << pm.hi;
  }
  static const std::map<Protocol, const char*> names = {{Protocol::Any, "ANY"},   {Protocol::TCP, "TCP"},
                                                        {Protocol::UDP, "UDP"},   {Protocol::SCTP, "SCTP"},
                                                        {Protocol::ICMP, "ICMP"}, {Protocol::ICMPv6, "ICMPv6"}};
  out << YAML::Key << "protocol" << YAML::Value << names.at(pm.proto) << YAML::EndMap;
}

void emit_fqdn(YAML::Emitter& out, const FqdnMatch& f) {
  out << YAML::BeginMap << YAML::Key << (f.pattern ? "matchPattern" : "matchName") << YAML::Value;
  emit_string(out, f.value);
  out << YAML::EndMap;
}

void emit_peer(YAML::Emitter& out, const Rule& r, bool scoped) {
  bool in = r.dir == Direction::Ingress;
  const Peer& p = r.peer;
  switch (p.kind) {
  case Peer::Kind::Any:
  case Peer::Kind::Entity:
    out << YAML::Key << (in ? "fromEntities" : "toEntities") << YAML::Value << YAML::Flow << YAML::BeginSeq
        << (p.kind == Peer::Kind::Any ? "all" : to_string(p.entity)) << YAML::EndSeq;
    break;
  case Peer::Kind::Endpoints:
    out << YAML::Key << (in ? "fromEndpoints" : "toEndpoints") << YAML::Value << YAML::BeginSeq;
    emit_endpoint_selector(out, p.endpoints, true, scoped);
    out << YAML::EndSeq;
    break;
  case Peer::Kind::Cidr:
    out << YAML::Key << (in ? "fromCIDRSet" : "toCIDRSet") << YAML::Value << YAML::BeginSeq << YAML::BeginMap
        << YAML::Key << "cidr" << YAML::Value;
    emit_prefix(out, p.cidr);
    if (!p.except.empty()) {
      out << YAML::Key << "except" << YAML::Value << YAML::BeginSeq;
      for (const IpPrefix& e : p.except) emit_prefix(out, e);
      out << YAML::EndSeq;
    }
    out << YAML::EndMap << YAML::EndSeq;
    break;
  case Peer::Kind::Fqdn:
    out << YAML::Key << "toFQDNs" << YAML::Value << YAML::BeginSeq;
    emit_fqdn(out, p.fqdn);
    out << YAML::EndSeq;
    break;
  case Peer::Kind::Nodes: break;  // refused by check_rule
  }
}

/// One rule as section items: the peer with its toPorts, and (when the rule also matches
/// some ICMP types) the peer again with icmps, since Cilium takes one or the other per item.
void emit_rule_items(YAML::Emitter& out, const Rule& r, bool scoped) {
  std::vector<PortMatch> plain, types;
  for (const PortMatch& pm : r.ports) {
    // Every ICMP type is port 0 of toPorts; single types go to icmps.
    if (is_icmp(pm) && !(pm.lo == 0 && pm.hi == 255)) types.push_back(pm);
    else plain.push_back(pm);
  }
  if (r.ports.empty() || !plain.empty()) {
    out << YAML::BeginMap;
    emit_peer(out, r, scoped);
    if (!plain.empty()) {
      out << YAML::Key << "toPorts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
      out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
      for (const PortMatch& pm : plain) emit_port(out, pm);
      out << YAML::EndSeq;
      if (!r.http.empty() || !r.dns.empty()) {
        out << YAML::Key << "rules" << YAML::Value << YAML::BeginMap;
        if (!r.dns.empty()) {
          out << YAML::Key << "dns" << YAML::Value << YAML::BeginSeq;
          for (const FqdnMatch& f : r.dns) emit_fqdn(out, f);
          out << YAML::EndSeq;
        } else {
          out << YAML::Key << "http" << YAML::Value << YAML::BeginSeq;
          for (const HttpRule& h : r.http) {
            out << YAML::BeginMap;
            if (!h.method.empty()) out << YAML::Key << "method" << YAML::Value << YAML::DoubleQuoted << h.method;
            if (!h.path.empty()) out << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << h.path;
            if (!h.host.empty()) out << YAML::Key << "host" << YAML::Value << YAML::DoubleQuoted << h.host;
            if (!h.headers.empty()) {
              out << YAML::Key << "headers" << YAML::Value << YAML::BeginSeq;
              for (const std::string& hd : h.headers) out << YAML::DoubleQuoted << hd;
              out << YAML::EndSeq;
            }
            out << YAML::EndMap;
          }
          out << YAML::EndSeq;
        }
        out << YAML::EndMap;
      }
      out << YAML::EndMap << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  if (!types.empty()) {
    out << YAML::BeginMap;
    emit_peer(out, r, scoped);
    out << YAML::Key << "icmps" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "fields"
        << YAML::Value << YAML::BeginSeq;
    for (const PortMatch& pm : types)
      for (unsigned t = pm.lo; t <= pm.hi; ++t)
        out << YAML::BeginMap << YAML::Key << "type" << YAML::Value << t << YAML::Key << "family" << YAML::Value
            << (pm.proto == Protocol::ICMP ? "IPv4" : "IPv6") << YAML::EndMap;
    out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq;
    out << YAML::EndMap;
  }
}

std::string policy_document(const std::string& name, const PolicyGroup& g) {
  std::optional<std::string> ns = single_namespace(g.subject.namespaces);
  bool scoped = ns.has_value();
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "cilium.io/v2";
  out << YAML::Key << "kind" << YAML::Value << (scoped ? "CiliumNetworkPolicy" : "CiliumClusterwideNetworkPolicy");
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
  if (scoped) {
    out << YAML::Key << "namespace" << YAML::Value;
    emit_string(out, *ns);
  }
  out << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "endpointSelector" << YAML::Value;
  emit_endpoint_selector(out, g.subject, !scoped, false);
  out << YAML::Key << "enableDefaultDeny" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "ingress"
      << YAML::Value << g.isolated[0] << YAML::Key << "egress" << YAML::Value << g.isolated[1] << YAML::EndMap;
  struct Section {
    const char* key;
    Direction dir;
    Action action;
  };
  for (Section s : {Section{"ingress", Direction::Ingress, Action::Allow},
                    Section{"ingressDeny", Direction::Ingress, Action::Deny},
                    Section{"egress", Direction::Egress, Action::Allow},
                    Section{"egressDeny", Direction::Egress, Action::Deny}}) {
    std::vector<const Rule*> rules;
    for (const Rule* r : g.rules)
      if (r->dir == s.dir && r->action == s.action) rules.push_back(r);
    bool anything_in_dir = std::any_of(g.rules.begin(), g.rules.end(), [&](const Rule* r) { return r->dir == s.dir; });
    // An isolated direction with no rule at all gets an item that selects nobody ({}), as
    // Cilium's own examples of default deny do.
    bool empty_item = s.action == Action::Allow && g.isolated[static_cast<int>(s.dir)] && !anything_in_dir;
    if (rules.empty() && !empty_item) continue;
    out << YAML::Key << s.key << YAML::Value << YAML::BeginSeq;
    if (empty_item) out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    for (const Rule* r : rules) emit_rule_items(out, *r, scoped);
    out << YAML::EndSeq;
  }
  return close_document(out);
}

} // namespace

std::vector<ExportedFile> export_cilium(ExportContext& cx) {
  FileSet files = yaml_files(cx.m);
  for (const PolicyGroup& g : group_by_subject(cx)) {
    bool ok = true;
    for (const Rule* r : g.rules) ok = check_rule(cx, *r) && ok;
    if (ok) files.text(g.stem) += policy_document(files.next_name(g.stem), g);
  }
  return files.take();
}

} // namespace moat::exporter
