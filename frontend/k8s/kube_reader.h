// The reader behind frontend/kube_objects.h, shared by its files: typed field access over
// document-tree nodes (frontend/yaml/doc.h) that records the first mistake of the object being read, and one method
// per object kind (kube_reader.cpp: fields, lists and dispatch; k8s_pod_spec.cpp: pod specs;
// k8s_workloads.cpp: Pods and controllers; k8s_namespaces.cpp: Namespaces and Nodes;
// kube_files.cpp: reading inventory files).
// Internal to frontend/; parse_yaml.cpp uses read_kube_object for objects in policy paths.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "frontend/kube_objects.h"
#include "frontend/yaml/yaml_util.h"

namespace moat::k8s {

class Reader {
public:
  /// `line_offset`: marks count from the start of the document's `---` chunk (documents()
  /// moves it to each document's).
  Reader(FileId file, uint32_t line_offset, Diagnostics& diags, size_t max_visits)
      : file_(file), line_offset_(line_offset), diags_(diags), max_visits_(max_visits) {}

  /// Visits one object (recursing into List kinds). A malformed object is reported (W807,
  /// or E801 for a Node) and skipped; returns false only when it was. `default_kind`: the
  /// kind of an item of a typed List (PodList) that leaves its own out, as kubectl does.
  bool object(const doc::Node& obj, KubeObjects& out, int depth = 0, std::string_view default_kind = {});
  /// Every document of a file (doc::build_file); false when the file's work budget ran
  /// out (E801).
  bool documents(const std::vector<doc::Document>& docs, KubeObjects& out);
  /// The file's work budget is spent (aliases naming a huge tree): reading stops.
  bool exhausted() const { return visits_ > max_visits_; }

  // Field access: each returns false after recording the first mistake (error()).
  SourceRange at(const doc::Node& n) const;
  SourceRange at_mark(const doc::Mark& m) const;
  bool error(const doc::Node& n, std::string msg);
  bool spend(const doc::Node& at, size_t n = 1);
  bool scalar(const doc::Node& parent, const char* key, std::string& out);
  bool map_of_strings(const doc::Node& parent, const char* key, Labels& out);
  bool labels(const doc::Node& meta, Labels& out);
  bool sequence(const doc::Node& parent, const char* key, doc::Node& out);
  bool metadata(const doc::Node& obj, doc::Node& meta, std::string& name);
  bool owner(const doc::Node& meta, KubeOwner& out);
  bool ip(const doc::Node& n, std::vector<IpAddr>& out);

  // k8s_pod_spec.cpp: a pod spec (a Pod's, or a controller's template) into `ep`.
  bool pod_spec(const doc::Node& spec, Endpoint& ep, bool& host_network);
  bool scheduling(const doc::Node& spec, Scheduling& out);
  bool requirement(const doc::Node& e, NodeRequirement& out);
  bool ports(const doc::Node& spec, std::vector<NamedPort>& out);
  bool container_request(const doc::Node& c, std::map<std::string, long long>& out);
  bool resources(const doc::Node& spec, std::map<std::string, std::string>& out);

  // k8s_workloads.cpp, k8s_namespaces.cpp: one kind each.
  bool pod(const doc::Node& obj, KubeObjects& out);
  bool controller(const doc::Node& obj, const std::string& kind, KubeObjects& out);
  bool namespace_(const doc::Node& obj, KubeObjects& out);
  bool node(const doc::Node& obj, KubeNode& out);

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
void read_kube_object(const doc::Node& obj, FileId file, uint32_t line_offset, size_t max_visits, KubeObjects& out,
                      Diagnostics& diags);

/// Reads an inventory or Node file into `sm` behind the policy files' gates (readable, size
/// bound, UTF-8): the file's text is input the agent does not control.
std::optional<FileId> read_object_file(const std::string& path, SourceManager& sm, Diagnostics& diags);

/// parse_kube_objects for text read_object_file already checked for UTF-8. Thread-safe for
/// distinct `out` and `diags` (kube_files.cpp parses files in parallel).
bool parse_checked_kube_objects(FileId file, const SourceManager& sm, KubeObjects& out, Diagnostics& diags);
/// The objects of `file` from its document tree, built without errors.
bool read_kube_tree(FileId file, const SourceManager& sm, const doc::Tree& tree, KubeObjects& out,
                    Diagnostics& diags);

/// Does a document whose root is `root` hold Kubernetes objects: a map with a top-level
/// kind, apiVersion or items (a List, PodList, ... or one object)?
bool is_object_root(const doc::Node& root);

/// The value under `key` of a map; undefined for a missing key or a non-map.
doc::Node child(const doc::Node& n, const char* key);

} // namespace moat::k8s
