// Reads Node, Namespace and Pod objects with yaml-cpp. yaml-cpp exceptions stay inside this
// file: each becomes a diagnostic at the mark where the parser stopped.
#include "runtime/inventory.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "frontend/frontend.h"
#include "frontend/utf8.h"
#include "ir/validate.h"

namespace moat::runtime {

std::string KubeNode::pool() const {
  auto it = labels.find(kNodePoolLabel);
  return it == labels.end() ? std::string() : it->second;
}

const KubePod* Inventory::find_pod(const std::string& qualified) const {
  for (const KubePod& p : pods)
    if (p.ep.name == qualified) return &p;
  return nullptr;
}

namespace {

/// Kubernetes' IsExtendedResourceName: a domain-prefixed name outside *kubernetes.io/
/// (cpu, memory, hugepages-*, ephemeral-storage are native and not counted here).
bool extended_resource(const std::string& name) {
  size_t slash = name.find('/');
  if (slash == std::string::npos || name.rfind("requests.", 0) == 0) return false;
  std::string domain = name.substr(0, slash);
  return domain != "kubernetes.io" &&
         !(domain.size() > 14 && domain.compare(domain.size() - 14, 14, ".kubernetes.io") == 0);
}

/// Walks one file's documents, reporting against that file.
YAML::Node child(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return YAML::Node();
  return n[key];
}

class Reader {
public:
  Reader(FileId file, Diagnostics& diags) : file_(file), diags_(diags) {}

  SourceRange at(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    if (m.line < 0) return SourceRange::at(file_, 1, 1);
    return SourceRange::at(file_, static_cast<uint32_t>(m.line + 1),
                           static_cast<uint32_t>(m.column + 1));
  }

  bool error(const YAML::Node& n, std::string msg) {
    diags_.report(Code::E801, at(n), std::move(msg));
    return false;
  }

  /// A scalar field as a string; absent -> "", wrong type -> error.
  bool scalar(const YAML::Node& parent, const char* key, std::string& out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return true;
    if (!n.IsScalar()) return error(n, std::string("'") + key + "' must be a string");
    out = n.Scalar();
    return true;
  }

  bool map_of_strings(const YAML::Node& parent, const char* key, Labels& out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return true;
    if (!n.IsMap()) return error(n, std::string("'") + key + "' must be a map of strings");
    for (const auto& kv : n) {
      if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull()))
        return error(kv.first, std::string("'") + key + "' entries must be strings");
      out[kv.first.Scalar()] = kv.second.IsNull() ? std::string() : kv.second.Scalar();
    }
    return true;
  }

  bool labels(const YAML::Node& meta, Labels& out) {
    if (!map_of_strings(meta, "labels", out)) return false;
    for (const auto& [k, v] : out) {
      if (auto why = check_label_key(k)) return error(meta["labels"], "label key '" + k + "': " + *why);
      if (auto why = check_label_value(v)) return error(meta["labels"], "label '" + k + "': " + *why);
    }
    return true;
  }

  /// A sequence field; absent -> empty node (nothing to iterate), wrong type -> error.
  bool sequence(const YAML::Node& parent, const char* key, YAML::Node& out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) { out = YAML::Node(YAML::NodeType::Sequence); return true; }
    if (!n.IsSequence()) return error(n, std::string("'") + key + "' must be a list");
    out = n;
    return true;
  }

  bool metadata(const YAML::Node& obj, YAML::Node& meta, std::string& name) {
    YAML::Node m = child(obj, "metadata");
    if (!m || !m.IsMap()) return error(obj, "object has no metadata");
    meta = m;
    if (!scalar(meta, "name", name)) return false;
    if (name.empty()) return error(meta, "metadata.name is missing");
    return true;
  }

  bool requirement(const YAML::Node& e, NodeRequirement& out) {
    if (!e.IsMap()) return error(e, "matchExpressions entries must be maps");
    std::string op;
    if (!scalar(e, "key", out.key) || !scalar(e, "operator", op)) return false;
    static const std::pair<const char*, NodeRequirement::Op> kOps[] = {
        {"In", NodeRequirement::Op::In},         {"NotIn", NodeRequirement::Op::NotIn},
        {"Exists", NodeRequirement::Op::Exists}, {"DoesNotExist", NodeRequirement::Op::DoesNotExist},
        {"Gt", NodeRequirement::Op::Gt},         {"Lt", NodeRequirement::Op::Lt}};
    bool found = false;
    for (const auto& [n, o] : kOps)
      if (op == n) { out.op = o; found = true; }
    if (!found) return error(e, "unknown node selector operator '" + op + "'");
    YAML::Node vals;
    if (!sequence(e, "values", vals)) return false;
    for (const auto& v : vals) {
      if (!v.IsScalar()) return error(v, "values must be strings");
      out.values.push_back(v.Scalar());
    }
    return true;
  }

  bool scheduling(const YAML::Node& spec, Scheduling& out) {
    if (!map_of_strings(spec, "nodeSelector", out.node_selector)) return false;
    YAML::Node tols;
    if (!sequence(spec, "tolerations", tols)) return false;
    for (const auto& t : tols) {
      if (!t.IsMap()) return error(t, "tolerations entries must be maps");
      Toleration tol;
      std::string op;
      if (!scalar(t, "key", tol.key) || !scalar(t, "value", tol.value) ||
          !scalar(t, "effect", tol.effect) || !scalar(t, "operator", op))
        return false;
      if (op != "" && op != "Equal" && op != "Exists")
        return error(t, "toleration operator must be Equal or Exists");
      tol.exists = op == "Exists";
      out.tolerations.push_back(std::move(tol));
    }
    // Step one level at a time: indexing a missing key of a const node yields an invalid
    // node that throws on the next index, and assigning Nodes rebinds the data they share.
    YAML::Node affinity = child(spec, "affinity");
    YAML::Node node_affinity = child(affinity, "nodeAffinity");
    YAML::Node required = child(node_affinity, "requiredDuringSchedulingIgnoredDuringExecution");
    YAML::Node terms = child(required, "nodeSelectorTerms");
    if (!terms || terms.IsNull()) return true;
    if (!terms.IsSequence()) return error(terms, "nodeSelectorTerms must be a list");
    for (const auto& term : terms) {
      std::vector<NodeRequirement> reqs;
      for (const char* kind : {"matchExpressions", "matchFields"}) {
        YAML::Node exprs;
        if (!sequence(term, kind, exprs)) return false;
        for (const auto& e : exprs) {
          NodeRequirement r;
          if (!requirement(e, r)) return false;
          // matchFields only supports metadata.name; keep it as a pseudo-label the node
          // admission check understands.
          if (std::string(kind) == "matchFields") r.key = "metadata.name";
          reqs.push_back(std::move(r));
        }
      }
      out.required_terms.push_back(std::move(reqs));
    }
    return true;
  }

  bool ports(const YAML::Node& spec, std::vector<NamedPort>& out) {
    for (const char* list : {"containers", "initContainers"}) {
      YAML::Node containers;
      if (!sequence(spec, list, containers)) return false;
      for (const auto& c : containers) {
        if (!c.IsMap()) return error(c, "containers entries must be maps");
        YAML::Node ps;
        if (!sequence(c, "ports", ps)) return false;
        for (const auto& p : ps) {
          if (!p.IsMap()) return error(p, "ports entries must be maps");
          NamedPort np;
          std::string port, proto;
          if (!scalar(p, "name", np.name) || !scalar(p, "containerPort", port) ||
              !scalar(p, "protocol", proto))
            return false;
          char* end = nullptr;
          long v = std::strtol(port.c_str(), &end, 10);
          if (port.empty() || *end || v < 1 || v > 65535)
            return error(p, "containerPort must be 1-65535");
          np.port = static_cast<uint16_t>(v);
          auto pr = parse_protocol(proto.empty() ? "TCP" : proto);
          if (!pr || *pr == Protocol::Any || *pr == Protocol::ICMP || *pr == Protocol::ICMPv6)
            return error(p, "container port protocol must be TCP, UDP or SCTP");
          np.proto = *pr;
          if (!np.name.empty()) out.push_back(std::move(np));
        }
      }
    }
    return true;
  }

  /// One container's extended-resource request: `requests`, or `limits` where the request
  /// is absent (the API server defaults a missing request to the limit).
  bool container_request(const YAML::Node& c, std::map<std::string, long long>& out) {
    if (!c.IsMap()) return error(c, "containers entries must be maps");
    YAML::Node res = child(c, "resources");
    if (!res || res.IsNull()) return true;
    if (!res.IsMap()) return error(res, "resources must be a map");
    for (const char* kind : {"limits", "requests"}) {  // requests last: they win
      Labels q;
      if (!map_of_strings(res, kind, q)) return false;
      for (const auto& [name, value] : q) {
        if (!extended_resource(name)) continue;
        char* end = nullptr;
        long long v = std::strtoll(value.c_str(), &end, 10);
        if (value.empty() || *end || v < 0)
          return error(res[kind], "extended resource " + name + " must be a whole number, not '" + value + "'");
        out[name] = v;
      }
    }
    return true;
  }

  /// The pod's effective extended-resource request, as the Kubernetes scheduler computes it
  /// (k8s.io/component-helpers resource.PodRequests): the sum over containers; sidecars
  /// (init containers with restartPolicy Always) add to that sum; each other init container
  /// runs alone next to the sidecars started before it, so the pod needs the larger of the
  /// running total and the largest such init-time request. Pod overhead carries no
  /// extended resources and is left out.
  bool resources(const YAML::Node& spec, std::map<std::string, std::string>& out) {
    std::map<std::string, long long> total, sidecars, init_peak;
    auto add = [](std::map<std::string, long long>& to, const std::map<std::string, long long>& x) {
      for (const auto& [k, v] : x) to[k] += v;
    };
    YAML::Node containers, inits;
    if (!sequence(spec, "containers", containers) || !sequence(spec, "initContainers", inits)) return false;
    for (const auto& c : containers) {
      std::map<std::string, long long> r;
      if (!container_request(c, r)) return false;
      add(total, r);
    }
    for (const auto& c : inits) {
      std::map<std::string, long long> r;
      if (!container_request(c, r)) return false;
      std::string restart;
      if (!scalar(c, "restartPolicy", restart)) return false;
      if (restart == "Always") {
        add(total, r);
        add(sidecars, r);
        r = sidecars;
      } else {
        add(r, sidecars);
      }
      for (const auto& [k, v] : r) init_peak[k] = std::max(init_peak[k], v);
    }
    for (const auto& [k, v] : init_peak) total[k] = std::max(total[k], v);
    for (const auto& [k, v] : total)
      if (v > 0) out[k] = std::to_string(v);
    return true;
  }

  bool ip(const YAML::Node& n, std::vector<IpAddr>& out) {
    if (!n.IsScalar()) return error(n, "an IP address must be a string");
    auto a = IpAddr::parse(n.Scalar());
    if (!a) return error(n, "invalid IP address '" + n.Scalar() + "'");
    for (const IpAddr& have : out)
      if (have == *a) return true;
    out.push_back(*a);
    return true;
  }

  bool pod(const YAML::Node& obj, Inventory& inv) {
    YAML::Node meta;
    KubePod p;
    std::string name, ns;
    if (!metadata(obj, meta, name) || !scalar(meta, "namespace", ns)) return false;
    if (ns.empty()) ns = "default";
    p.ep.range = at(obj);
    p.ep.kind = EndpointKind::Workload;
    p.ep.name = ns + "/" + name;
    p.ep.ns = ns;
    if (!labels(meta, p.ep.labels)) return false;
    Labels annotations;
    if (!map_of_strings(meta, "annotations", annotations)) return false;
    if (auto it = annotations.find(kInterfaceAnnotation); it != annotations.end()) p.ep.iface = it->second;
    if (auto it = annotations.find(kCgroupAnnotation); it != annotations.end()) p.ep.cgroup = it->second;
    YAML::Node spec = obj["spec"];
    if (spec && !spec.IsNull()) {
      if (!spec.IsMap()) return error(spec, "spec must be a map");
      std::string host_net;
      if (!scalar(spec, "nodeName", p.ep.node) || !scalar(spec, "hostNetwork", host_net) ||
          !scheduling(spec, p.ep.sched) || !ports(spec, p.ep.ports) || !resources(spec, p.ep.resources))
        return false;
      p.host_network = host_net == "true";
    }
    YAML::Node status = obj["status"];
    if (status && status.IsMap()) {
      if (!scalar(status, "phase", p.phase)) return false;
      if (YAML::Node pip = status["podIP"]; pip && !pip.IsNull() && !ip(pip, p.ep.ips)) return false;
      YAML::Node pips;
      if (!sequence(status, "podIPs", pips)) return false;
      for (const auto& e : pips) {
        if (!e.IsMap() || !e["ip"]) return error(e, "podIPs entries must be maps with 'ip'");
        if (!ip(e["ip"], p.ep.ips)) return false;
      }
    }
    inv.pods.push_back(std::move(p));
    return true;
  }

  bool namespace_(const YAML::Node& obj, Inventory& inv) {
    YAML::Node meta;
    std::string name;
    if (!metadata(obj, meta, name)) return false;
    Labels l;
    if (!labels(meta, l)) return false;
    l[kNamespaceNameLabel] = name;
    inv.namespaces[name] = std::move(l);
    return true;
  }

  bool node(const YAML::Node& obj, KubeNode& out) {
    YAML::Node meta;
    if (!metadata(obj, meta, out.name) || !labels(meta, out.labels)) return false;
    out.range = at(obj);
    YAML::Node taints;
    if (YAML::Node spec = obj["spec"]; spec && spec.IsMap()) {
      if (!sequence(spec, "taints", taints)) return false;
      for (const auto& t : taints) {
        if (!t.IsMap()) return error(t, "taints entries must be maps");
        Taint taint;
        if (!scalar(t, "key", taint.key) || !scalar(t, "value", taint.value) ||
            !scalar(t, "effect", taint.effect))
          return false;
        if (taint.effect != "NoSchedule" && taint.effect != "PreferNoSchedule" &&
            taint.effect != "NoExecute")
          return error(t, "taint effect must be NoSchedule, PreferNoSchedule or NoExecute");
        taint.range = at(t);
        out.taints.push_back(std::move(taint));
      }
    }
    if (YAML::Node status = obj["status"]; status && status.IsMap()) {
      YAML::Node addrs;
      if (!sequence(status, "addresses", addrs)) return false;
      for (const auto& a : addrs) {
        std::string type;
        if (!a.IsMap() || !scalar(a, "type", type)) return error(a, "addresses entries must be maps");
        if ((type == "InternalIP" || type == "ExternalIP") && a["address"] && !ip(a["address"], out.addresses))
          return false;
      }
    }
    return true;
  }

  /// Visits one object (recursing into List kinds); `nodes` collects Node objects.
  bool object(const YAML::Node& obj, Inventory& inv, int depth = 0) {
    // Aliases share nodes, so Lists of aliased Lists can name millions of objects in a few
    // lines; without aliases an object takes at least 16 bytes (`{kind: Pod, ...}`).
    if (++visits_ > max_visits_) {
      if (visits_ == max_visits_ + 1)
        error(obj, "more than " + std::to_string(max_visits_) + " objects (aliases expanding?); not read");
      return false;
    }
    if (!obj.IsMap()) return error(obj, "expected a Kubernetes object (a map)");
    std::string kind;
    if (!scalar(obj, "kind", kind)) return false;
    if (kind == "List" || kind == "NamespaceList" || kind == "PodList" || kind == "NodeList") {
      if (depth > 2) return error(obj, "Lists nested too deeply");
      YAML::Node items;
      if (!sequence(obj, "items", items)) return false;
      bool ok = true;
      for (const auto& item : items) {
        YAML::Node it = item;
        // Typed lists may omit each item's kind (kubectl omits it).
        if (it.IsMap() && !it["kind"] && kind != "List") it["kind"] = kind.substr(0, kind.size() - 4);
        ok = object(it, inv, depth + 1) && ok;
      }
      return ok;
    }
    if (kind == "Namespace") return namespace_(obj, inv);
    if (kind == "Pod") return pod(obj, inv);
    if (kind == "Node") {
      KubeNode n;
      if (!node(obj, n)) return false;
      inv.nodes.push_back(std::move(n));
      return true;
    }
    if (kind.empty()) return error(obj, "object has no kind");
    diags_.report(Code::N005, at(obj), "kind '" + kind + "' is not used by the agent; skipped");
    return true;
  }

  bool file(const std::string& text, Inventory& inv) {
    max_visits_ = 1000 + text.size() / 16;
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      diags_.report(Code::E201, SourceRange::at(file_, e.mark.line + 1, e.mark.column + 1), e.msg);
      return false;
    }
    bool ok = true;
    for (const auto& d : docs) {
      if (d.IsNull()) continue;
      try {
        ok = object(d, inv) && ok;
      } catch (const YAML::Exception& e) {
        // Conversion errors from malformed scalars; keep going with the next document.
        diags_.report(Code::E801, SourceRange::at(file_, e.mark.line + 1, e.mark.column + 1), e.msg);
        ok = false;
      }
    }
    return ok;
  }

private:
  FileId file_;
  Diagnostics& diags_;
  size_t visits_ = 0, max_visits_ = 0;
};

/// Far above `kubectl get ns,pods -A -o yaml` of a large cluster, far below what would
/// take the agent minutes to parse.
constexpr uintmax_t kMaxInventoryBytes = uintmax_t(512) << 20;

/// The file's text, registered in `sm`: readable (E001) and not oversize (E003).
std::optional<FileId> read_file(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  std::error_code ec;
  if (uintmax_t size = std::filesystem::file_size(path, ec); !ec && size > kMaxInventoryBytes) {
    FileId f = sm.add(path, "");
    diags.report(Code::E003, SourceRange::at(f, 1, 1),
                 "'" + path + "' is " + std::to_string(size) + " bytes; inventory files are limited to " +
                     std::to_string(kMaxInventoryBytes) + " bytes");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.report(Code::E001, {}, "cannot read '" + path + "'");
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return sm.add(path, std::move(text));
}

/// The gates every moat input passes before it is parsed: UTF-8 (E002) and YAML that
/// yaml-cpp can finish reading (E201; the YAML front end's guards).
bool parsable(FileId file, const SourceManager& sm, Diagnostics& diags) {
  return check_utf8(file, sm, diags) && yaml_loadable(file, sm, diags);
}

} // namespace

std::optional<KubeNode> parse_node(FileId file, const SourceManager& sm, Diagnostics& diags) {
  if (!parsable(file, sm, diags)) return std::nullopt;
  Inventory inv;
  Reader r(file, diags);
  if (!r.file(sm.text(file), inv)) return std::nullopt;
  if (inv.nodes.size() != 1) {
    diags.report(Code::E802, SourceRange::at(file, 1, 1),
                 "expected exactly one Node object, found " + std::to_string(inv.nodes.size()));
    return std::nullopt;
  }
  return inv.nodes.front();
}

bool parse_inventory(FileId file, const SourceManager& sm, Inventory& out, Diagnostics& diags) {
  return parsable(file, sm, diags) && Reader(file, diags).file(sm.text(file), out);
}

void resolve_namespaces(Inventory& inv, Diagnostics& diags) {
  for (KubePod& p : inv.pods) {
    auto it = inv.namespaces.find(p.ep.ns);
    if (it == inv.namespaces.end()) {
      diags.report(Code::W804, p.ep.range,
                   "namespace '" + p.ep.ns + "' of pod " + p.ep.name +
                       " is not in the inventory; assuming only its name label");
      it = inv.namespaces.emplace(p.ep.ns, Labels{{kNamespaceNameLabel, p.ep.ns}}).first;
    }
    p.ep.ns_labels = it->second;
  }
}

std::vector<Endpoint> workload_endpoints(const Inventory& inv) {
  std::vector<Endpoint> out;
  for (const KubePod& p : inv.pods)
    if (p.is_workload()) out.push_back(p.ep);
  return out;
}

std::optional<KubeNode> load_node(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  auto file = read_file(path, sm, diags);
  if (!file) return std::nullopt;
  return parse_node(*file, sm, diags);
}

std::optional<Inventory> load_inventory(const std::vector<std::string>& paths, SourceManager& sm,
                                        Diagnostics& diags) {
  Inventory inv;
  bool ok = true;
  for (const std::string& path : paths) {
    auto file = read_file(path, sm, diags);
    ok = file && parse_inventory(*file, sm, inv, diags) && ok;
  }
  if (!ok) return std::nullopt;
  resolve_namespaces(inv, diags);
  return inv;
}

} // namespace moat::runtime
