// The reader behind frontend/kube_objects.h, shared by its files: typed field access over
// yaml-cpp nodes that records the first mistake of the object being read, and one method
// per object kind (kube_reader.cpp: fields, lists and dispatch; k8s_pod_spec.cpp: pod specs;
// k8s_workloads.cpp: Pods and controllers; k8s_namespaces.cpp: Namespaces and Nodes).
// Internal to frontend/; parse_yaml.cpp uses read_kube_object for objects in policy paths.
#pragma once
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

#include "frontend/kube_objects.h"
#include "frontend/yaml/yaml_util.h"

namespace moat::k8s {

class Reader {
public:
  /// `line_offset`: yaml-cpp marks count from the start of the parsed chunk (documents()
  /// moves it to each document's).
  Reader(FileId file, uint32_t line_offset, Diagnostics& diags, size_t max_visits)
      : file_(file), line_offset_(line_offset), diags_(diags), max_visits_(max_visits) {}

  /// Visits one object (recursing into List kinds). A malformed object is reported (W807,
  /// or E801 for a Node) and skipped; returns false only when it was.
  bool object(const YAML::Node& obj, KubeObjects& out, int depth = 0);
  /// Every document of a file (yamlfe::load_documents); false when the file's work budget
  /// ran out (E801).
  bool documents(const std::vector<yamlfe::Document>& docs, KubeObjects& out);
  /// The file's work budget is spent (aliases naming a huge tree): reading stops.
  bool exhausted() const { return visits_ > max_visits_; }

  // Field access: each returns false after recording the first mistake (error()).
  SourceRange at(const YAML::Node& n) const;
  SourceRange at_mark(const YAML::Mark& m) const;
  bool error(const YAML::Node& n, std::string msg);
  bool spend(const YAML::Node& at, size_t n = 1);
  bool scalar(const YAML::Node& parent, const char* key, std::string& out);
  bool map_of_strings(const YAML::Node& parent, const char* key, Labels& out);
  bool labels(const YAML::Node& meta, Labels& out);
  bool sequence(const YAML::Node& parent, const char* key, YAML::Node& out);
  bool metadata(const YAML::Node& obj, YAML::Node& meta, std::string& name);
  bool owner(const YAML::Node& meta, KubeOwner& out);
  bool ip(const YAML::Node& n, std::vector<IpAddr>& out);

  // k8s_pod_spec.cpp: a pod spec (a Pod's, or a controller's template) into `ep`.
  bool pod_spec(const YAML::Node& spec, Endpoint& ep, bool& host_network);
  bool scheduling(const YAML::Node& spec, Scheduling& out);
  bool requirement(const YAML::Node& e, NodeRequirement& out);
  bool ports(const YAML::Node& spec, std::vector<NamedPort>& out);
  bool container_request(const YAML::Node& c, std::map<std::string, long long>& out);
  bool resources(const YAML::Node& spec, std::map<std::string, std::string>& out);

  // k8s_workloads.cpp, k8s_namespaces.cpp: one kind each.
  bool pod(const YAML::Node& obj, KubeObjects& out);
  bool controller(const YAML::Node& obj, const std::string& kind, KubeObjects& out);
  bool namespace_(const YAML::Node& obj, KubeObjects& out);
  bool node(const YAML::Node& obj, KubeNode& out);

private:
  struct Mistake {
    SourceRange range;
    std::string message;
  };
  FileId file_;
  uint32_t line_offset_;  // of the document being read
  Diagnostics& diags_;
  size_t max_visits_, visits_ = 0;
  std::optional<Mistake> mistake_;  // the first mistake of the object being read
};

/// One object of a policy path (parse_yaml.cpp hands over the kinds is_kube_object_kind
/// accepts), read into `out`.
void read_kube_object(const YAML::Node& obj, FileId file, uint32_t line_offset, size_t max_visits, KubeObjects& out,
                      Diagnostics& diags);

/// YAML::Node child lookup that never creates or throws on non-maps.
YAML::Node child(const YAML::Node& n, const char* key);

} // namespace moat::k8s
