// Field access, List handling and kind dispatch of the Kubernetes object reader (see
// kube_reader.h).
#include "frontend/k8s/kube_reader.h"
#include "frontend/frontend.h"
#include "frontend/utf8.h"
#include "frontend/yaml/yaml_util.h"

#include <algorithm>

#include "ir/validate.h"

namespace moat::k8s {

namespace {

/// The workload controllers: objects with a pod template.
constexpr std::string_view kControllers[] = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                             "ReplicationController", "Job", "CronJob"};

bool is_controller(std::string_view kind) {
  return std::find(std::begin(kControllers), std::end(kControllers), kind) != std::end(kControllers);
}

/// "PodList" -> "Pod" for the lists of kinds this reader knows; "" otherwise.
std::string_view typed_list_item(std::string_view kind) {
  if (kind.size() <= 4 || kind.substr(kind.size() - 4) != "List") return {};
  std::string_view item = kind.substr(0, kind.size() - 4);
  return item == "Pod" || item == "Namespace" || item == "Node" || is_controller(item) ? item : std::string_view();
}

} // namespace

bool is_object_root(const doc::Node& root) { return root.IsMap() && (root["kind"] || root["apiVersion"] || root["items"]); }

doc::Node child(const doc::Node& n, const char* key) {
  return n[key];
}

SourceRange Reader::at(const doc::Node& n) const { return at_mark(n.Mark()); }

SourceRange Reader::at_mark(const doc::Mark& m) const {
  if (m.line < 0) return SourceRange::at(file_, line_offset_ + 1, 1);
  return SourceRange::at(file_, line_offset_ + static_cast<uint32_t>(m.line + 1), static_cast<uint32_t>(m.column + 1));
}

bool Reader::error(const doc::Node& n, std::string msg) {
  if (!mistake_) mistake_ = Mistake{at(n), std::move(msg)};
  return false;
}

bool Reader::spend(const doc::Node& where, size_t n) {
  // Aliases share nodes, so a small file can name a huge tree: bound the work per file.
  visits_ += n;
  return visits_ <= max_visits_ || error(where, "too many nodes to visit (aliases?)");
}

bool Reader::scalar(const doc::Node& parent, const char* key, std::string& out) {
  doc::Node n = parent[key];
  if (!n || n.IsNull()) return true;
  if (!n.IsScalar()) return error(n, std::string("'") + key + "' must be a string");
  out = n.Scalar();
  return true;
}

bool Reader::map_of_strings(const doc::Node& parent, const char* key, Labels& out) {
  doc::Node n = parent[key];
  if (!n || n.IsNull()) return true;
  if (!n.IsMap()) return error(n, std::string("'") + key + "' must be a map of strings");
  if (!spend(n, n.size())) return false;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull()))
      return error(kv.first, std::string("'") + key + "' entries must be strings");
    out[std::string(kv.first.Scalar())] = kv.second.IsNull() ? std::string() : std::string(kv.second.Scalar());
  }
  return true;
}

bool Reader::labels(const doc::Node& meta, Labels& out) {
  if (!map_of_strings(meta, "labels", out)) return false;
  for (const auto& [k, v] : out) {
    if (auto why = check_label_key(k)) return error(meta["labels"], "label key '" + k + "': " + *why);
    if (auto why = check_label_value(v)) return error(meta["labels"], "label '" + k + "': " + *why);
  }
  return true;
}

bool Reader::sequence(const doc::Node& parent, const char* key, doc::Node& out) {
  doc::Node n = parent[key];
  if (!n || n.IsNull()) {
    out = doc::Node();  // iterates as an empty list
    return true;
  }
  if (!n.IsSequence()) return error(n, std::string("'") + key + "' must be a list");
  if (!spend(n, n.size())) return false;
  out = n;
  return true;
}

bool Reader::metadata(const doc::Node& obj, doc::Node& meta, std::string& name) {
  doc::Node m = child(obj, "metadata");
  if (!m || !m.IsMap()) return error(obj, "object has no metadata");
  meta = m;
  if (!scalar(meta, "name", name)) return false;
  if (name.empty()) return error(meta, "metadata.name is missing");
  return true;
}

bool Reader::owner(const doc::Node& meta, KubeOwner& out) {
  doc::Node refs;
  if (!sequence(meta, "ownerReferences", refs)) return false;
  for (const auto& r : refs) {
    if (!r.IsMap()) return error(r, "ownerReferences entries must be maps");
    std::string kind, name, controller, uid;
    if (!scalar(r, "kind", kind) || !scalar(r, "name", name) || !scalar(r, "controller", controller) ||
        !scalar(r, "uid", uid))
      return false;
    // Only the managing controller groups a pod; other owners (garbage collection) do not.
    if (controller != "true") continue;
    if (kind.empty() || name.empty()) return error(r, "a controller owner reference needs kind and name");
    out = KubeOwner{kind, name, uid};
  }
  return true;
}

bool Reader::ip(const doc::Node& n, std::vector<IpAddr>& out) {
  if (!n.IsScalar()) return error(n, "an IP address must be a string");
  auto a = IpAddr::parse(n.Scalar());
  if (!a) return error(n, "invalid IP address '" + std::string(n.Scalar()) + "'");
  if (std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  return true;
}

bool Reader::object(const doc::Node& obj, KubeObjects& out, int depth, std::string_view default_kind) {
  mistake_.reset();
  std::string kind;
  bool ok = obj.IsMap() ? scalar(obj, "kind", kind) : error(obj, "expected a Kubernetes object (a map)");
  if (ok && kind.empty() && !obj["kind"]) kind = default_kind;
  std::string_view item = typed_list_item(kind);
  if (ok && (kind == "List" || !item.empty())) {
    if (depth > 2) {
      ok = error(obj, "Lists nested too deeply");
    } else {
      doc::Node items;
      if (!sequence(obj, "items", items)) {
        ok = false;
      } else {
        bool all = true;
        for (const doc::Node& element : items) {
          if (exhausted()) break;
          // Typed lists may omit each item's kind (kubectl omits it).
          all = object(element, out, depth + 1, item) && all;
        }
        return all;
      }
    }
  } else if (ok) {
    if (kind == "Namespace") ok = namespace_(obj, out);
    else if (kind == "Pod") ok = pod(obj, out);
    else if (is_controller(kind)) ok = controller(obj, kind, out);
    else if (kind == "Node") {
      KubeNode n;
      ok = node(obj, n);
      if (ok) out.nodes.push_back(std::move(n));
    } else if (kind.empty()) {
      ok = error(obj, "object has no kind");
    } else {
      diags_.report(Code::N005, at(obj), "kind '" + kind + "' is not a cluster object moat reads; skipped");
      return true;
    }
  }
  if (ok) return true;
  Mistake m = mistake_ ? *mistake_ : Mistake{at(obj), "malformed object"};
  if (kind == "Node")
    diags_.report(Code::E801, m.range, m.message);
  else
    diags_.report(Code::W807, m.range,
                  (kind.empty() ? std::string("object") : kind) + ": " + m.message + "; the object is skipped");
  mistake_.reset();
  return false;
}

bool Reader::documents(const std::vector<doc::Document>& docs, KubeObjects& out) {
  for (const doc::Document& d : docs) {
    if (exhausted()) break;
    if (d.node.IsNull()) continue;
    line_offset_ = d.line_offset;
    object(d.node, out);
  }
  if (exhausted()) {
    // Not one bad object but a hostile file: none of it is trusted.
    diags_.report(Code::E801, SourceRange::at(file_, 1, 1),
                  "the file names more objects than its size allows (aliases?); not read");
    return false;
  }
  return true;
}

void read_kube_object(const doc::Node& obj, FileId file, uint32_t line_offset, size_t max_visits, KubeObjects& out,
                      Diagnostics& diags) {
  Reader(file, line_offset, diags, max_visits).object(obj, out);
}

} // namespace moat::k8s

namespace moat {

bool is_kube_object_kind(std::string_view kind) {
  return kind == "Pod" || kind == "Namespace" || k8s::is_controller(kind) ||
         (!k8s::typed_list_item(kind).empty() && kind != "NodeList");
}

bool parse_kube_objects(FileId file, const SourceManager& sm, KubeObjects& out, Diagnostics& diags) {
  return check_utf8(file, sm, diags) && k8s::parse_checked_kube_objects(file, sm, out, diags);
}

bool k8s::parse_checked_kube_objects(FileId file, const SourceManager& sm, KubeObjects& out, Diagnostics& diags) {
  // Through the policy front end's gates: the tree builder's syntax, nesting and duplicate
  // key checks; any unreadable document rejects the whole file.
  bool ok = true;
  doc::Tree tree = doc::build_file(file, sm, diags, ok);
  return ok && k8s::read_kube_tree(file, sm, tree, out, diags);
}

bool k8s::read_kube_tree(FileId file, const SourceManager& sm, const doc::Tree& tree, KubeObjects& out,
                         Diagnostics& diags) {
  // Inventories are mostly one Pod per document: room for them at once rather than moving
  // every pod read so far at each doubling (a fresh `out` only: callers that add file after
  // file into one `out` keep the vector's own growth).
  if (out.pods.empty()) out.pods.reserve(tree.documents.size());
  return k8s::Reader(file, 0, diags, 100'000 + 2 * sm.text(file).size()).documents(tree.documents, out);
}

} // namespace moat
