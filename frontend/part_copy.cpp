// copy_part_to_file (frontend/load_parts.h): a file's part made for another file with the
// same bytes. Parsing reads only the text (and the extension: JSON or YAML), so the only
// thing that differs is the FileId of every source range; the walk below visits each
// range a part can hold. tests/yaml/test_part_copy.cpp compares the copy with a second
// parse of the file under the other name, field by field (the IR's defaulted ==), so a
// range added to the IR and forgotten here fails there.
#include "frontend/load_parts.h"

namespace moat {

namespace {

struct MoveRanges {
  FileId from, to;

  void operator()(SourceRange& r) const {
    if (r.file == from) r.file = to;
  }
  template <class T>
  void operator()(std::vector<T>& items) const {
    for (T& item : items) (*this)(item);
  }
  void operator()(LabelRequirement& r) const { (*this)(r.range); }
  void operator()(LabelSelector& s) const {
    (*this)(s.reqs);
    (*this)(s.range);
  }
  void operator()(EndpointSelector& s) const {
    (*this)(s.namespaces);
    (*this)(s.pods);
    (*this)(s.range);
  }
  void operator()(FqdnMatch& f) const { (*this)(f.range); }
  void operator()(Peer& p) const {
    (*this)(p.endpoints);
    (*this)(p.nodes);
    (*this)(p.fqdn);
    (*this)(p.range);
  }
  void operator()(PortMatch& p) const { (*this)(p.range); }
  void operator()(HttpRule& h) const { (*this)(h.range); }
  void operator()(Rule& r) const {
    (*this)(r.subject);
    (*this)(r.peer);
    (*this)(r.ports);
    (*this)(r.http);
    (*this)(r.dns);
    (*this)(r.range);
  }
  void operator()(Isolation& i) const {
    (*this)(i.subject);
    (*this)(i.range);
  }
  void operator()(Taint& t) const { (*this)(t.range); }
  void operator()(NodePool& p) const {
    (*this)(p.requirements);
    (*this)(p.taints);
    (*this)(p.startup_taints);
    (*this)(p.admits);
    (*this)(p.range);
  }
  void operator()(NamedSelector& n) const {
    (*this)(n.selector);
    (*this)(n.range);
  }
  void operator()(NamedPeer& n) const {
    (*this)(n.peer);
    (*this)(n.range);
  }
  void operator()(Endpoint& e) const { (*this)(e.range); }
  void operator()(PeerPorts& p) const {
    (*this)(p.peer);
    (*this)(p.ports);
    (*this)(p.range);
  }
  void operator()(Prove& p) const {
    (*this)(p.subjects);
    (*this)(p.peers);
    (*this)(p.range);
  }
  void operator()(Expect& e) const {
    (*this)(e.from);
    (*this)(e.to);
    (*this)(e.range);
  }
  void operator()(Module& m) const {
    (*this)(m.rules);
    (*this)(m.isolations);
    (*this)(m.admin_rules);
    (*this)(m.baseline_rules);
    (*this)(m.pools);
    (*this)(m.workloads);
    (*this)(m.peers);
    (*this)(m.proofs);
    (*this)(m.expects);
    (*this)(m.cluster_workloads);
  }
  void operator()(KubeNode& n) const {
    (*this)(n.taints);
    (*this)(n.range);
  }
  void operator()(KubePod& p) const { (*this)(p.ep); }
  void operator()(KubeController& c) const { (*this)(c.ep); }
  void operator()(KubeObjects& k) const {
    (*this)(k.pods);
    (*this)(k.controllers);
    (*this)(k.nodes);
  }
  void operator()(SeenObjects& s) const {
    for (auto& [identity, range] : s.first) (*this)(range);
    for (auto& [priority, first] : s.anp_priorities) (*this)(first.second);
  }
};

} // namespace

FilePart copy_part_to_file(const FilePart& part, FileId from, FileId to) {
  FilePart copy;
  copy.module = part.module;
  copy.diags = part.diags.empty_like();
  copy.seen = part.seen;
  copy.kube = part.kube;
  MoveRanges move{from, to};
  move(copy.module);
  move(copy.seen);
  move(copy.kube);
  return copy;
}

} // namespace moat
