// The YAML/JSON driver: reads a file into the document tree (doc.h: syntax, nesting and
// duplicate keys checked there), bounds the work per document against alias bombs,
// unwraps `kind: List`, and dispatches each object to the parser of its kind, after
// checking its metadata as the API server does. Policy-like kinds moat does not model get
// W212; other kinds are skipped quietly.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "frontend/frontend.h"
#include "frontend/k8s/kube_reader.h"
#include "frontend/yaml/yaml_kinds.h"
#include "ir/validate.h"

namespace moat {

namespace yamlfe {

std::string origin_of(const ObjectMeta& meta, bool namespaced) {
  return meta.kind + " " + (namespaced ? meta.ns + "/" : std::string()) + meta.name;
}

LabelRequirement namespace_is(const std::string& ns, SourceRange range) {
  return LabelRequirement{kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, range};
}

} // namespace yamlfe

namespace {

using namespace yamlfe;

/// Room for `n` more items, growing at least geometrically (a load calls this once per
/// file: an exact fit each time would move everything read before).
template <class T>
void reserve_more(std::vector<T>& v, size_t n) {
  if (v.capacity() - v.size() < n) v.reserve(std::max(v.size() + n, 2 * v.capacity()));
}

/// `kind: List` inside `kind: List` is legal; a chain this deep is not a real manifest.
constexpr int kMaxListDepth = 8;

/// The group of an apiVersion: "networking.k8s.io/v1" -> "networking.k8s.io"; "v1" -> "".
std::string_view api_group(std::string_view api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

void handle_object(Ctx& ctx, const doc::Node& doc, int list_depth, const std::string& default_kind,
                   const std::string& default_api);

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// `kind: List` or a typed list (NetworkPolicyList, PodList, ...): each item is an object;
/// items of a typed list may leave out kind and apiVersion (as the API server returns them).
void handle_list(Ctx& ctx, const Map& obj, const std::string& kind, const std::string& api, int list_depth) {
  if (list_depth >= kMaxListDepth) {
    ctx.diags.report(Code::E201, obj.range(), "lists nested more than " + std::to_string(kMaxListDepth) + " deep");
    return;
  }
  obj.check({"apiVersion", "kind", "metadata", "items"});
  std::string item_kind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
  for (const doc::Node& item : list_items(ctx, obj.get("items"), "items", obj.key_range("items")))
    if (!ctx.exhausted) handle_object(ctx, item, list_depth + 1, item_kind, kind == "List" ? "" : api);
}

/// Kinds another reader handles (workloads and namespaces, for endpoints and scopes): not
/// policies, never warned about.
bool is_workload_kind(std::string_view kind) {
  static const std::string_view kKinds[] = {"Pod",     "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                            "ReplicationController", "Job", "CronJob", "Namespace"};
  return std::find(std::begin(kKinds), std::end(kKinds), kind) != std::end(kKinds);
}

/// Looks like a network policy that moat does not model, so verdicts that ignore it may be
/// wrong: the admin tiers under another apiVersion, Calico's policies, the known kinds under an apiVersion moat does
/// not read, and anything else named *Policy.
bool is_policy_like(std::string_view kind) {
  return kind == "AdminNetworkPolicy" || kind == "BaselineAdminNetworkPolicy" || kind == "GlobalNetworkPolicy" ||
         kind == "NodePool" || kind == "Policy" || ends_with(kind, "Policy");
}

/// A kind moat does not read: W212 when it looks like policy, E211 for any kind with
/// --strict, otherwise an N005 note with --verbose only.
void report_unread_kind(Ctx& ctx, const std::string& kind, const std::string& api, SourceRange at) {
  bool strict = ctx.opts && ctx.opts->strict, verbose = ctx.opts && ctx.opts->verbose;
  std::string what = "kind " + kind + " (apiVersion " + api + ")";
  if (is_policy_like(kind)) {
    ctx.diags.report(strict ? Code::E211 : Code::W212, at,
                     what + " is a policy moat does not model: every verdict, proof and build ignores it" +
                         (strict ? "" : " (--strict makes this an error)"));
  } else if (strict) {
    ctx.diags.report(Code::E211, at, what + " is not read by moat (--strict)");
  } else if (verbose) {
    ctx.diags.report(Code::N005, at, what + " has no policy meaning for moat; skipped");
  }
}

/// Reads and validates metadata (the fields of ObjectMeta; name and namespace as DNS-1123),
/// and reports a second object with the same identity (E210). False when the object must
/// not be read.
bool read_metadata(Ctx& ctx, const Map& obj, ObjectMeta& meta, bool cluster_scoped) {
  Map md(ctx, obj.get("metadata"), "metadata", obj.key_range("metadata"));
  if (!md.valid()) return false;
  if (!obj.has("metadata")) {
    ctx.diags.report(Code::E204, obj.range(), "missing required field 'metadata' (with a name) in " + meta.kind);
    return false;
  }
  md.check({"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
            "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName", "selfLink",
            "ownerReferences", "finalizers", "managedFields"});
  if (!md.require("name")) return false;
  auto name = strict_string(ctx, md.get("name"), "metadata.name", md.key_range("name"));
  if (!name) return false;
  meta.name = *name;
  meta.name_range = md.value_range("name");
  bool ok = true;
  if (auto why = check_dns1123(meta.name, true)) {
    ctx.diags.report(Code::E213, meta.name_range, "metadata.name '" + meta.name + "' " + *why + " (DNS-1123 subdomain)");
    ok = false;
  }
  meta.ns = "default";
  if (md.has("namespace") && !is_null(md.get("namespace"))) {
    auto ns = strict_string(ctx, md.get("namespace"), "metadata.namespace", md.key_range("namespace"));
    if (!ns) return false;
    meta.ns = *ns;
    meta.has_namespace = true;
    if (auto why = check_dns1123(meta.ns, false)) {
      ctx.diags.report(Code::E213, md.value_range("namespace"),
                       "metadata.namespace '" + meta.ns + "' " + *why + " (DNS-1123 label)");
      ok = false;
    }
  }
  if (!ok) return false;
  if (ctx.seen) {
    std::string group(api_group(meta.api_version));
    if (meta.kind == "NetworkPolicy") group = "networking.k8s.io";  // extensions/v1beta1 is the same resource
    std::string id = meta.kind + "." + group + " " + (cluster_scoped ? meta.name : meta.ns + "/" + meta.name);
    auto [it, fresh] = ctx.seen->first.emplace(id, meta.name_range);
    if (!fresh) {
      Diagnostic& d = ctx.diags.report(Code::E210, meta.name_range,
                                       "a second " + meta.kind + " named " +
                                           (cluster_scoped ? meta.name : meta.ns + "/" + meta.name) +
                                           ": the API server keeps one object per name, so both cannot be applied");
      d.notes.push_back({it->second, "the first one is here"});
      return false;
    }
  }
  return true;
}

/// Registers where an object starts and the warning codes it switches off for itself
/// (annotation `moat.dev/disable: "W504, W501"`), before anything about it is reported.
void begin_object_scope(Ctx& ctx, const Map& obj) {
  std::vector<Code> codes;
  // Lookups on const nodes only: they never add keys, and a missing one is an undefined node
  // (never assigned from: yaml-cpp throws on assigning an undefined node).
  const doc::Node md = obj.get("metadata");
  if (!md.IsDefined() || !md.IsMap()) return ctx.diags.begin_object(ctx.file, obj.range().line, {});
  const doc::Node annotations = md["annotations"];
  if (!annotations.IsDefined() || !annotations.IsMap()) return ctx.diags.begin_object(ctx.file, obj.range().line, {});
  const doc::Node value = annotations["moat.dev/disable"];
  if (value.IsDefined() && value.IsScalar()) {
    const std::string text(value.Scalar());
    SourceRange at = range_of(ctx, value, obj.range());
    size_t i = 0;
    while (i < text.size()) {
      size_t end = text.find_first_of(", \t", i);
      if (end == std::string::npos) end = text.size();
      std::string name = text.substr(i, end - i);
      i = end + 1;
      if (name.empty()) continue;
      std::optional<Code> code = code_by_name(name);
      if (code && code_severity(*code) != Severity::Error)
        codes.push_back(*code);
      else
        ctx.diags.report(Code::W808, at,
                         "moat.dev/disable: " + name +
                             (code ? " is an error; errors cannot be switched off" : " is not a moat diagnostic code"));
    }
  }
  ctx.diags.begin_object(ctx.file, obj.range().line, std::move(codes));
}

void handle_object(Ctx& ctx, const doc::Node& doc, int list_depth, const std::string& default_kind,
                   const std::string& default_api) {
  if (is_null(doc)) return;  // an empty document (a trailing `---`, a comment-only file)
  if (!doc.IsMap()) {
    ctx.diags.report(Code::E202, range_of(ctx, doc, SourceRange::at(ctx.file, ctx.line_offset + 1, 1)),
                     "a document must be a Kubernetes object (a mapping with apiVersion and kind), not " +
                         describe(doc) +
                         (doc.IsSequence() ? " (a bare list of Cilium rules is `cilium policy import` input: put "
                                             "them under `specs:` of a CiliumNetworkPolicy, or --exclude the file)"
                                           : ""));
    return;
  }
  Map obj(ctx, doc, "the object", SourceRange::at(ctx.file, ctx.line_offset + 1, 1));
  if (!obj.valid()) return;
  begin_object_scope(ctx, obj);
  if (!obj.has("kind") && !obj.has("apiVersion") && list_depth == 0 && (obj.has("expect") || obj.has("endpoints")) &&
      std::all_of(obj.entries().begin(), obj.entries().end(), [](const Map::Entry& e) {
        return e.key == "namespaces" || e.key == "endpoints" || e.key == "expect";
      })) {
    // A connectivity cases file (docs/CASES.md) often lives next to the policies it tests.
    if (ctx.opts && ctx.opts->verbose)
      ctx.diags.report(Code::N005, obj.range(), "moat cases file (for `moat test --cases`), not a policy; skipped");
    return;
  }
  std::string kind = default_kind, api = default_api;
  if (obj.has("kind") || default_kind.empty()) {
    if (!obj.require("kind")) return;
    auto k = strict_string(ctx, obj.get("kind"), "kind", obj.key_range("kind"));
    if (!k) return;
    kind = *k;
  }
  if (obj.has("apiVersion") || default_api.empty()) {
    if (!obj.require("apiVersion")) {
      obj.check({"apiVersion", "kind", "metadata", "spec", "specs", "status", "items"});
      return;
    }
    auto a = strict_string(ctx, obj.get("apiVersion"), "apiVersion", obj.key_range("apiVersion"));
    if (!a) return;
    api = *a;
  }
  SourceRange kind_range = obj.has("kind") ? obj.value_range("kind") : obj.range();
  std::string_view group = api_group(api);
  if (is_kube_object_kind(kind) && ctx.kube) {
    // Namespaces, Pods and workload controllers: the one Kubernetes object reader.
    k8s::read_kube_object(doc, ctx.file, ctx.line_offset, ctx.max_visits, *ctx.kube, ctx.diags);
    return;
  }

  if (kind == "List" || (ends_with(kind, "List") && obj.has("items"))) {
    handle_list(ctx, obj, kind, api, list_depth);
    return;
  }

  enum class Handler { None, NetworkPolicy, Cilium, CiliumClusterwide, Admin, Baseline, NodePool, Workload } handler =
      Handler::None;
  if (kind == "NetworkPolicy" && (api == "networking.k8s.io/v1" || api == "extensions/v1beta1"))
    handler = Handler::NetworkPolicy;
  else if (kind == "CiliumNetworkPolicy" && group == "cilium.io")
    handler = Handler::Cilium;
  else if (kind == "CiliumClusterwideNetworkPolicy" && group == "cilium.io")
    handler = Handler::CiliumClusterwide;
  else if (kind == "AdminNetworkPolicy" && api == "policy.networking.k8s.io/v1alpha1")
    handler = Handler::Admin;
  else if (kind == "BaselineAdminNetworkPolicy" && api == "policy.networking.k8s.io/v1alpha1")
    handler = Handler::Baseline;
  else if (kind == "NodePool" && (api == "karpenter.sh/v1" || api == "karpenter.sh/v1beta1"))
    handler = Handler::NodePool;
  else if (is_workload_kind(kind) && (group.empty() || group == "apps" || group == "batch"))
    handler = Handler::Workload;
  if (handler == Handler::None) {
    report_unread_kind(ctx, kind, api, kind_range);
    return;
  }
  if (handler == Handler::Workload) return;  // endpoints, not policy: read by the workload readers
  CniProfile cni = ctx.opts ? ctx.opts->cni : kDefaultCniProfile;
  if ((handler == Handler::Cilium || handler == Handler::CiliumClusterwide) && !reads_cilium_policies(cni)) {
    // Calico does not watch cilium.io resources, so on a Calico cluster such an object has
    // no effect on traffic; judging it anyway would prove something Calico does not enforce.
    ctx.diags.report(Code::W240, kind_range,
                     kind + " is not read by " + to_string(cni) + " (--cni " + to_string(cni) +
                         "): moat ignores it, as the cluster would; use --cni cilium to judge it");
    return;
  }

  ObjectMeta meta;
  meta.api_version = api;
  meta.kind = kind;
  meta.range = obj.range();
  meta.name_range = obj.range();
  bool cluster_scoped = handler == Handler::CiliumClusterwide || handler == Handler::NodePool ||
                        handler == Handler::Admin || handler == Handler::Baseline;
  if (!read_metadata(ctx, obj, meta, cluster_scoped)) return;

  switch (handler) {
  case Handler::NetworkPolicy: parse_network_policy(ctx, obj, meta); break;
  case Handler::Cilium: parse_cilium_policy(ctx, obj, meta, false); break;
  case Handler::CiliumClusterwide: parse_cilium_policy(ctx, obj, meta, true); break;
  case Handler::Admin: parse_admin_network_policy(ctx, obj, meta, false); break;
  case Handler::Baseline: parse_admin_network_policy(ctx, obj, meta, true); break;
  case Handler::NodePool: parse_nodepool(ctx, obj, meta); break;
  case Handler::Workload:
  case Handler::None: break;
  }
}

} // namespace

void parse_yaml(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags, const LoadOptions& opts,
                SeenObjects* seen, KubeObjects* kube) {
  SeenObjects this_file;
  KubeObjects own;  // no caller-held objects: this file's are added to `out` at the end
  if (!kube) kube = &own;
  bool ok = true;
  doc::Tree tree = doc::build_file(file, sm, diags, ok);
  // Most documents are policies with a rule or two and an isolation or two: room for that
  // up front instead of regrowing (moving every Rule) a dozen times on a large file.
  reserve_more(out.rules, 2 * tree.documents.size());
  reserve_more(out.isolations, 2 * tree.documents.size());
  size_t admin_before = out.admin_rules.size();
  for (const doc::Document& d : tree.documents) {
    if (diags.saturated()) break;
    Ctx ctx{file, sm, out, diags};
    ctx.opts = &opts;
    ctx.seen = seen ? seen : &this_file;
    ctx.kube = kube;
    ctx.line_offset = d.line_offset;
    // Without aliases a document visits no more nodes or makes no more rules than it has
    // bytes: the budget is a floor plus twice the size of its `---` chunk.
    ctx.max_visits = 100'000 + 2 * d.bytes;
    handle_object(ctx, d.node, 0, "", "");
  }
  // Every file keeps the admin tier in evaluation order, so a module is ready to judge
  // whichever way it was loaded.
  if (out.admin_rules.size() != admin_before) yamlfe::order_admin_rules(out);
  if (diags.saturated()) return;
  if (kube == &own) add_kube_objects(own, out, diags);
}

} // namespace moat
