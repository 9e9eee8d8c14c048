// Kubernetes NetworkPolicy (networking.k8s.io/v1) writer: the inverse of
// frontend/yaml/k8s_network_policy.cpp on what a NetworkPolicy can say. One policy per
// subject and source file (per namespace when the subject lists several), policyTypes
// always written out. A NetworkPolicy isolates the pods it selects, so an allow rule is
// exported only where the module already isolates its whole subject; an allow rule whose
// subject no isolation touches changes nothing and is left out (W911).
#include <fmt/format.h>

#include "export/selector_logic.h"
#include "export/targets.h"
#include "export/yaml_emit.h"

namespace moat::exporter {

namespace {

std::string same_key(const std::string& k) { return k; }

/// The peer list of one rule item; nullopt after a refusal. An empty list: every peer
/// (the item has no from/to).
std::optional<std::vector<Peer>> np_peers(ExportContext& cx, const Rule& r) {
  const Peer& p = r.peer;
  switch (p.kind) {
  case Peer::Kind::Any: return std::vector<Peer>{};
  case Peer::Kind::Endpoints: return std::vector<Peer>{p};
  case Peer::Kind::Cidr:
    if (p.cidr_any_address) break;
    return std::vector<Peer>{p};
  case Peer::Kind::Entity:
    if (p.entity == Entity::All) return std::vector<Peer>{};
    if (p.entity == Entity::World) {
      // world is every external address; an ipBlock matches external addresses only.
      Peer v4 = p, v6 = p;
      v4.kind = v6.kind = Peer::Kind::Cidr;
      v4.cidr = *IpPrefix::parse("0.0.0.0/0");
      v6.cidr = *IpPrefix::parse("::/0");
      return std::vector<Peer>{v4, v6};
    }
    refuse(cx, Code::E911, p.range, fmt::format("the entity '{}'", to_string(p.entity)),
           "NetworkPolicy peers are pods, namespaces and ipBlocks, which never match nodes or the API server "
           "by identity");
    return std::nullopt;
  case Peer::Kind::Fqdn:
    refuse(cx, Code::E911, p.range, fmt::format("the FQDN peer '{}'", p.fqdn.value),
           "NetworkPolicy has no DNS names, only ipBlocks");
    return std::nullopt;
  case Peer::Kind::Nodes:
    refuse(cx, Code::E911, p.range, "a nodes peer with a label selector",
           "NetworkPolicy peers are pods, namespaces and ipBlocks, which never match nodes by their labels");
    return std::nullopt;
  }
  refuse(cx, Code::E911, p.range, "a CIDR peer that matches cluster addresses",
         "an ipBlock matches addresses outside the cluster only");
  return std::nullopt;
}

bool np_ports_ok(ExportContext& cx, const Rule& r) {
  bool ok = yaml_port_names_ok(cx, r);
  for (const PortMatch& pm : r.ports)
    if (pm.proto == Protocol::ICMP || pm.proto == Protocol::ICMPv6) {
      refuse(cx, Code::E912, pm.range.file == kNoFile ? r.range : pm.range, "an ICMP match",
             "NetworkPolicy ports are TCP, UDP and SCTP only");
      ok = false;
    }
  if (!r.http.empty()) {
    refuse(cx, Code::E912, r.http[0].range.file == kNoFile ? r.range : r.http[0].range, "an HTTP rule",
           "NetworkPolicy has no L7 rules");
    ok = false;
  }
  if (!r.dns.empty()) {
    refuse(cx, Code::E912, r.range, "a DNS rule", "NetworkPolicy has no L7 rules");
    ok = false;
  }
  return ok;
}

void emit_ports(YAML::Emitter& out, const std::vector<PortMatch>& ports) {
  out << YAML::BeginSeq;
  for (const PortMatch& pm : ports) {
    std::vector<Protocol> protos = {pm.proto};
    if (pm.proto == Protocol::Any) protos = {Protocol::TCP, Protocol::UDP, Protocol::SCTP};
    for (Protocol proto : protos) {
      out << YAML::BeginMap << YAML::Key << "protocol" << YAML::Value
          << (proto == Protocol::TCP ? "TCP" : proto == Protocol::UDP ? "UDP" : "SCTP");
      if (!pm.name.empty()) {
        out << YAML::Key << "port" << YAML::Value << pm.name;
      } else if (!(pm.lo == 0 && pm.hi == 65535)) {
        out << YAML::Key << "port" << YAML::Value << pm.lo;
        if (pm.hi != pm.lo) out << YAML::Key << "endPort" << YAML::Value << pm.hi;
      }
      out << YAML::EndMap;
    }
  }
  out << YAML::EndSeq;
}

void emit_peer(YAML::Emitter& out, const Peer& p, const std::string& ns) {
  out << YAML::BeginMap;
  if (p.kind == Peer::Kind::Cidr) {
    out << YAML::Key << "ipBlock" << YAML::Value << YAML::BeginMap << YAML::Key << "cidr" << YAML::Value;
    emit_prefix(out, p.cidr);
    if (!p.except.empty()) {
      out << YAML::Key << "except" << YAML::Value << YAML::BeginSeq;
      for (const IpPrefix& e : p.except) emit_prefix(out, e);
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  } else {
    // podSelector alone means the policy's own namespace, as the reader takes it.
    if (single_namespace(p.endpoints.namespaces) != ns) {
      out << YAML::Key << "namespaceSelector" << YAML::Value;
      emit_label_selector(out, p.endpoints.namespaces.reqs, same_key);
    }
    out << YAML::Key << "podSelector" << YAML::Value;
    emit_label_selector(out, p.endpoints.pods.reqs, same_key);
  }
  out << YAML::EndMap;
}

struct Item {
  const Rule* rule;
  std::vector<Peer> peers;
};

std::string policy_document(const std::string& name, const std::string& ns, const PolicyGroup& g,
                            const std::vector<Item> (&items)[2], const bool (&types)[2]) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "networking.k8s.io/v1";
  out << YAML::Key << "kind" << YAML::Value << "NetworkPolicy";
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name
      << YAML::Key << "namespace" << YAML::Value;
  emit_string(out, ns);
  out << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "podSelector" << YAML::Value;
  emit_label_selector(out, g.subject.pods.reqs, same_key);
  out << YAML::Key << "policyTypes" << YAML::Value << YAML::BeginSeq;
  if (types[0]) out << "Ingress";
  if (types[1]) out << "Egress";
  out << YAML::EndSeq;
  for (int d = 0; d < 2; ++d) {
    if (items[d].empty()) continue;
    out << YAML::Key << (d == 0 ? "ingress" : "egress") << YAML::Value << YAML::BeginSeq;
    for (const Item& it : items[d]) {
      out << YAML::BeginMap;
      if (!it.peers.empty()) {
        out << YAML::Key << (d == 0 ? "from" : "to") << YAML::Value << YAML::BeginSeq;
        for (const Peer& p : it.peers) emit_peer(out, p, ns);
        out << YAML::EndSeq;
      }
      if (!it.rule->ports.empty()) {
        out << YAML::Key << "ports" << YAML::Value;
        emit_ports(out, it.rule->ports);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  return close_document(out);
}

} // namespace

std::vector<ExportedFile> export_kubernetes(ExportContext& cx) {
  FileSet files = yaml_files(cx.m);
  for (const PolicyGroup& g : group_by_subject(cx)) {
    std::vector<Item> items[2];
    bool ok = true;
    for (const Rule* r : g.rules) {
      int d = static_cast<int>(r->dir);
      if (r->action != Action::Allow) {
        refuse(cx, Code::E910, r->range, "this deny rule",
               "NetworkPolicy only allows; what no policy allows is denied");
        ok = false;
        continue;
      }
      auto peers = np_peers(cx, *r);
      bool ports_ok = np_ports_ok(cx, *r);
      if (!peers || !ports_ok) {
        ok = false;
        continue;
      }
      if (!covered_by_isolation(cx.m, r->subject, r->dir)) {
        if (outside_isolations(cx.m, r->subject, r->dir)) {
          cx.diags.report(Code::W911, r->range,
                          fmt::format("this allow rule is not exported: no policy isolates its subject for {}, so it "
                                      "changes nothing, and a NetworkPolicy would isolate it",
                                      to_string(r->dir)));
          continue;
        }
        refuse(cx, Code::E914, r->range, "this allow rule",
               fmt::format("a NetworkPolicy isolates every pod it selects, but only part of this rule's subject is "
                           "isolated for {} here",
                           to_string(r->dir)));
        ok = false;
        continue;
      }
      items[d].push_back(Item{r, std::move(*peers)});
    }
    bool types[2] = {g.isolated[0] || !items[0].empty(), g.isolated[1] || !items[1].empty()};
    if (ok && !types[0] && !types[1]) continue;  // only rules that change nothing
    auto namespaces = namespace_list(g.subject.namespaces);
    if (!namespaces) {
      refuse(cx, Code::E913, g.subject.range.file == kNoFile ? g.range : g.subject.range,
             "a subject that is not confined to listed namespaces",
             "a NetworkPolicy selects pods of its own namespace only");
      ok = false;
    }
    if (!ok) continue;
    std::string name = files.next_name(g.stem);
    for (const std::string& ns : *namespaces) files.text(g.stem) += policy_document(name, ns, g, items, types);
  }
  return files.take();
}

} // namespace moat::exporter
