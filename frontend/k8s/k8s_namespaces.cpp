// Namespace and Node objects (see kube_reader.h): a Namespace's labels are what namespace
// selectors match; a Node gives the agent its labels, pool, taints and addresses.
#include "frontend/k8s/kube_reader.h"

namespace moat::k8s {

bool Reader::namespace_(const doc::Node& obj, KubeObjects& out) {
  doc::Node meta;
  std::string name;
  if (!metadata(obj, meta, name)) return false;
  Labels l;
  if (!labels(meta, l)) return false;
  l[kNamespaceNameLabel] = name;
  out.namespaces[name] = std::move(l);
  return true;
}

bool Reader::node(const doc::Node& obj, KubeNode& out) {
  doc::Node meta;
  if (!metadata(obj, meta, out.name) || !labels(meta, out.labels) || !scalar(meta, "uid", out.uid)) return false;
  out.range = at(obj);
  if (doc::Node spec = child(obj, "spec"); spec && spec.IsMap()) {
    doc::Node taints;
    if (!sequence(spec, "taints", taints)) return false;
    for (const auto& t : taints) {
      if (!t.IsMap()) return error(t, "taints entries must be maps");
      Taint taint;
      if (!scalar(t, "key", taint.key) || !scalar(t, "value", taint.value) || !scalar(t, "effect", taint.effect))
        return false;
      if (taint.effect != "NoSchedule" && taint.effect != "PreferNoSchedule" && taint.effect != "NoExecute")
        return error(t, "taint effect must be NoSchedule, PreferNoSchedule or NoExecute");
      taint.range = at(t);
      out.taints.push_back(std::move(taint));
    }
  }
  if (doc::Node status = child(obj, "status"); status && status.IsMap()) {
    doc::Node addrs;
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

} // namespace moat::k8s
