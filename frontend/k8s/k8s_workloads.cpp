// Pods and workload controllers (Deployment, StatefulSet, DaemonSet, ReplicaSet,
// ReplicationController, Job, CronJob; see kube_reader.h). A controller's endpoint comes
// from its pod template (a CronJob's at spec.jobTemplate.spec.template).
#include "frontend/k8s/kube_reader.h"

namespace moat::k8s {

bool Reader::pod(const doc::Node& obj, KubeObjects& out) {
  doc::Node meta;
  KubePod p;
  std::string name, ns;
  if (!metadata(obj, meta, name) || !scalar(meta, "namespace", ns) || !scalar(meta, "uid", p.uid)) return false;
  if (ns.empty()) ns = "default";
  p.ep.range = at(obj);
  p.ep.kind = EndpointKind::Workload;
  p.ep.name = ns + "/" + name;
  p.ep.ns = ns;
  if (!labels(meta, p.ep.labels) || !owner(meta, p.owner)) return false;
  if (doc::Node d = child(meta, "deletionTimestamp"); d && !d.IsNull()) p.terminating = true;
  // Annotations are the pod owner's to write: nothing in them decides enforcement
  // (attach points are discovered by runtime/attach/). The mirror annotation is only read:
  // runtime/attach/ checks it against what the pod owner cannot forge.
  if (doc::Node ann = child(meta, "annotations"); ann && ann.IsMap() && !scalar(ann, "kubernetes.io/config.mirror", p.mirror_of))
    return false;
  if (!pod_spec(child(obj, "spec"), p.ep, p.host_network)) return false;
  doc::Node status = child(obj, "status");
  if (status && status.IsMap()) {
    if (!scalar(status, "phase", p.phase)) return false;
    if (doc::Node pip = status["podIP"]; pip && !pip.IsNull() && !ip(pip, p.ep.ips)) return false;
    doc::Node pips;
    if (!sequence(status, "podIPs", pips)) return false;
    for (const auto& e : pips) {
      if (!e.IsMap() || !e["ip"]) return error(e, "podIPs entries must be maps with 'ip'");
      if (!ip(e["ip"], p.ep.ips)) return false;
    }
  }
  out.pods.push_back(std::move(p));
  return true;
}

bool Reader::controller(const doc::Node& obj, const std::string& kind, KubeObjects& out) {
  doc::Node meta;
  KubeController c;
  c.kind = kind;
  if (!metadata(obj, meta, c.name) || !scalar(meta, "namespace", c.ns) || !owner(meta, c.owner)) return false;
  if (c.ns.empty()) c.ns = "default";
  doc::Node spec = child(obj, "spec");
  if (spec && !spec.IsNull() && !spec.IsMap()) return error(spec, "spec must be a map");
  if (kind == "CronJob") {
    doc::Node job = child(spec, "jobTemplate");
    if (job && !job.IsNull() && !job.IsMap()) return error(job, "jobTemplate must be a map");
    spec = child(job, "spec");
    if (spec && !spec.IsNull() && !spec.IsMap()) return error(spec, "jobTemplate.spec must be a map");
  }
  doc::Node tmpl = child(spec, "template");
  if (!tmpl || tmpl.IsNull()) return error(spec ? spec : obj, kind + " has no pod template (spec.template)");
  if (!tmpl.IsMap()) return error(tmpl, "template must be a map");
  c.ep.range = at(obj);
  c.ep.kind = EndpointKind::Workload;
  c.ep.name = workload_name(c.ns, c.name, kind);
  c.ep.ns = c.ns;
  doc::Node tmeta = child(tmpl, "metadata");
  if (tmeta && !tmeta.IsNull()) {
    if (!tmeta.IsMap()) return error(tmeta, "template metadata must be a map");
    if (!labels(tmeta, c.ep.labels)) return false;
  }
  if (!pod_spec(child(tmpl, "spec"), c.ep, c.host_network)) return false;
  out.controllers.push_back(std::move(c));
  return true;
}

} // namespace moat::k8s
