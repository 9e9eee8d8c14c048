// Pod specs, as a Pod carries one and a controller's pod template does: node, host network,
// tolerations / nodeSelector / required node affinity, named container ports, and the
// extended-resource request the scheduler computes (see kube_reader.h).
#include <algorithm>
#include <cstdlib>

#include "frontend/k8s/kube_reader.h"
#include "frontend/k8s/quantity.h"

namespace moat::k8s {

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

} // namespace

bool Reader::pod_spec(const doc::Node& spec, Endpoint& ep, bool& host_network) {
  if (!spec || spec.IsNull()) return true;
  if (!spec.IsMap()) return error(spec, "spec must be a map");
  std::string host_net;
  if (!scalar(spec, "nodeName", ep.node) || !scalar(spec, "hostNetwork", host_net) || !scheduling(spec, ep.sched) ||
      !ports(spec, ep.ports) || !resources(spec, ep.resources))
    return false;
  host_network = host_net == "true";
  return true;
}

bool Reader::requirement(const doc::Node& e, NodeRequirement& out) {
  if (!e.IsMap()) return error(e, "matchExpressions entries must be maps");
  std::string op;
  if (!scalar(e, "key", out.key) || !scalar(e, "operator", op)) return false;
  static const std::pair<const char*, NodeRequirement::Op> kOps[] = {
      {"In", NodeRequirement::Op::In},         {"NotIn", NodeRequirement::Op::NotIn},
      {"Exists", NodeRequirement::Op::Exists}, {"DoesNotExist", NodeRequirement::Op::DoesNotExist},
      {"Gt", NodeRequirement::Op::Gt},         {"Lt", NodeRequirement::Op::Lt}};
  bool found = false;
  for (const auto& [n, o] : kOps)
    if (op == n) out.op = o, found = true;
  if (!found) return error(e, "unknown node selector operator '" + op + "'");
  doc::Node vals;
  if (!sequence(e, "values", vals)) return false;
  for (const auto& v : vals) {
    if (!v.IsScalar()) return error(v, "values must be strings");
    out.values.push_back(std::string(v.Scalar()));
  }
  return true;
}

bool Reader::scheduling(const doc::Node& spec, Scheduling& out) {
  if (!map_of_strings(spec, "nodeSelector", out.node_selector)) return false;
  doc::Node tols;
  if (!sequence(spec, "tolerations", tols)) return false;
  for (const auto& t : tols) {
    if (!t.IsMap()) return error(t, "tolerations entries must be maps");
    Toleration tol;
    std::string op;
    if (!scalar(t, "key", tol.key) || !scalar(t, "value", tol.value) || !scalar(t, "effect", tol.effect) ||
        !scalar(t, "operator", op))
      return false;
    if (op != "" && op != "Equal" && op != "Exists") return error(t, "toleration operator must be Equal or Exists");
    tol.exists = op == "Exists";
    out.tolerations.push_back(std::move(tol));
  }
  // Step one level at a time: indexing a missing key of a const node yields an invalid
  // node that throws on the next index, and assigning Nodes rebinds the data they share.
  doc::Node affinity = child(spec, "affinity");
  doc::Node node_affinity = child(affinity, "nodeAffinity");
  doc::Node required = child(node_affinity, "requiredDuringSchedulingIgnoredDuringExecution");
  doc::Node terms = child(required, "nodeSelectorTerms");
  if (!terms || terms.IsNull()) return true;
  if (!terms.IsSequence()) return error(terms, "nodeSelectorTerms must be a list");
  if (!spend(terms, terms.size())) return false;
  for (const auto& term : terms) {
    std::vector<NodeRequirement> reqs;
    for (const char* kind : {"matchExpressions", "matchFields"}) {
      doc::Node exprs;
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

bool Reader::ports(const doc::Node& spec, std::vector<NamedPort>& out) {
  for (const char* list : {"containers", "initContainers"}) {
    doc::Node containers;
    if (!sequence(spec, list, containers)) return false;
    for (const auto& c : containers) {
      if (!c.IsMap()) return error(c, "containers entries must be maps");
      doc::Node ps;
      if (!sequence(c, "ports", ps)) return false;
      for (const auto& p : ps) {
        if (!p.IsMap()) return error(p, "ports entries must be maps");
        NamedPort np;
        std::string port, proto;
        if (!scalar(p, "name", np.name) || !scalar(p, "containerPort", port) || !scalar(p, "protocol", proto))
          return false;
        // A port entry the API server would reject is left out, not the whole workload: a
        // rule naming that port then finds no port (allows nothing), while the workload's
        // labels keep deciding every other rule.
        char* end = nullptr;
        long v = std::strtol(port.c_str(), &end, 10);
        auto pr = parse_protocol(proto.empty() ? "TCP" : proto);
        std::string why = port.empty() || *end || v < 1 || v > 65535 ? "containerPort must be 1-65535"
                          : !pr || *pr == Protocol::Any || *pr == Protocol::ICMP || *pr == Protocol::ICMPv6
                              ? "container port protocol must be TCP, UDP or SCTP"
                              : "";
        if (!why.empty()) {
          diags_.report(Code::W807, at(p), why + "; this port entry is ignored");
          continue;
        }
        np.port = static_cast<uint16_t>(v);
        np.proto = *pr;
        if (!np.name.empty()) out.push_back(std::move(np));
      }
    }
  }
  return true;
}

/// One container's extended-resource request: `requests`, or `limits` where the request is
/// absent (the API server defaults a missing request to the limit). Quantities are read as
/// Kubernetes reads them (`1k`, `2`, `1e3`); extended resources must be whole numbers.
bool Reader::container_request(const doc::Node& c, std::map<std::string, long long>& out) {
  if (!c.IsMap()) return error(c, "containers entries must be maps");
  doc::Node res = child(c, "resources");
  if (!res || res.IsNull()) return true;
  if (!res.IsMap()) return error(res, "resources must be a map");
  for (const char* kind : {"limits", "requests"}) {  // requests last: they win
    Labels q;
    if (!map_of_strings(res, kind, q)) return false;
    for (const auto& [name, value] : q) {
      if (!extended_resource(name)) continue;
      std::string why;
      auto quantity = parse_quantity(value, &why);
      if (!quantity) return error(res[kind], "resource " + name + ": '" + value + "' is not a quantity (" + why + ")");
      // Sums of requests stay far inside 64 bits: no real pod asks for 10^15 devices.
      if (quantity->milli > static_cast<__int128>(1'000'000'000'000'000'000))
        return error(res[kind], "resource " + name + ": '" + value + "' is too large");
      if (!quantity->whole() || quantity->milli < 0)
        return error(res[kind], "extended resource " + name + " must be a whole number, not '" + value + "'");
      out[name] = quantity->units();
    }
  }
  return true;
}

/// The pod's effective extended-resource request, as the Kubernetes scheduler computes it
/// (k8s.io/component-helpers resource.PodRequests): the sum over containers; sidecars (init
/// containers with restartPolicy Always) add to that sum; each other init container runs
/// alone next to the sidecars started before it, so the pod needs the larger of the running
/// total and the largest such init-time request. Pod overhead carries no extended resources.
bool Reader::resources(const doc::Node& spec, std::map<std::string, std::string>& out) {
  std::map<std::string, long long> total, sidecars, init_peak;
  auto add = [](std::map<std::string, long long>& to, const std::map<std::string, long long>& x) {
    for (const auto& [k, v] : x) to[k] += v;
  };
  doc::Node containers, inits;
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

} // namespace moat::k8s
