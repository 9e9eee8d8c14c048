// The YAML driver: guards against hostile input (nesting, alias bombs, yaml-cpp
// exceptions), splits multi-document files, unwraps `kind: List`, and dispatches each
// object to the parser of its kind, after checking its metadata as the API server does.
// Policy-like kinds moat does not model get W212; other kinds are skipped quietly.
#include <algorithm>
#include <cctype>
#include <sstream>
#include <string_view>

#include <yaml-cpp/eventhandler.h>

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

/// yaml-cpp recurses once per nesting level; far below its own guard (2000) and any stack
/// limit, and far above what any real manifest needs (CRD schemas stay under 60).
constexpr size_t kMaxNesting = 256;
/// `kind: List` inside `kind: List` is legal; a chain this deep is not a real manifest.
constexpr int kMaxListDepth = 8;

struct DepthProblem {
  uint32_t line, col;
};

/// Estimates the nesting depth of YAML text without parsing it: block indentation levels,
/// compact `- - -` sequences and flow brackets, skipping comments, quoted scalars and
/// block scalars. Returns where the depth first exceeds kMaxNesting.
std::optional<DepthProblem> find_deep_nesting(std::string_view text) {
  std::vector<size_t> indents;  // block structure: indentation of enclosing lines
  size_t flow = 0;
  char quote = 0;
  bool in_block_scalar = false;
  size_t block_scalar_indent = 0;
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    ++line_no;
    pos = eol + 1;
    size_t indent = line.find_first_not_of(' ');
    bool blank = indent == std::string_view::npos || line[indent] == '\r';
    if (in_block_scalar) {
      if (blank || indent > block_scalar_indent) continue;
      in_block_scalar = false;
    }
    if (blank) {
      if (eol == text.size()) break;
      continue;
    }
    size_t block_depth = 0;
    size_t i = indent;
    if (flow == 0 && quote == 0) {
      if (line[indent] == '#') continue;
      if (indent == 0 && (line.substr(0, 3) == "---" || line.substr(0, 3) == "...")) {
        indents.clear();
        i = 3;
      } else {
        while (!indents.empty() && indents.back() >= indent) indents.pop_back();
        indents.push_back(indent);
        while (i + 1 < line.size() && line[i] == '-' && (line[i + 1] == ' ' || line[i + 1] == '\t')) {
          ++block_depth;
          i += 2;
          while (i < line.size() && line[i] == ' ') ++i;
        }
      }
      block_depth += indents.size();
      if (block_depth > kMaxNesting) return DepthProblem{line_no, static_cast<uint32_t>(indent + 1)};
    }
    char prev = ' ';
    size_t last_content = i;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quote) {
        if (quote == '"' && c == '\\') {
          ++i;
          continue;
        }
        if (c == quote) {
          if (quote == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
            ++i;
            continue;
          }
          quote = 0;
        }
        prev = c;
        continue;
      }
      if (c == '#' && (prev == ' ' || prev == '\t')) break;
      if ((c == '"' || c == '\'') && (prev == ' ' || prev == '\t' || prev == '[' || prev == '{' || prev == ',' ||
                                      prev == ':' || prev == '-' || prev == '?')) {
        // Only a quote at the start of a scalar opens a quoted scalar ("don't" does not).
        quote = c;
      } else if (c == '[' || c == '{') {
        if (++flow + block_depth > kMaxNesting) return DepthProblem{line_no, static_cast<uint32_t>(i + 1)};
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
      }
      if (c != ' ' && c != '\t' && c != '\r') last_content = i;
      prev = c;
    }
    // A block scalar header (`key: |`, `- >-`) makes the following deeper lines plain text.
    if (flow == 0 && quote == 0) {
      size_t j = last_content + 1;
      while (j > 0 && (std::isdigit(static_cast<unsigned char>(line[j - 1])) || line[j - 1] == '-' || line[j - 1] == '+'))
        --j;
      if (j > 0 && (line[j - 1] == '|' || line[j - 1] == '>') &&
          (j == 1 || line[j - 2] == ' ' || line[j - 2] == '\t')) {
        in_block_scalar = true;
        block_scalar_indent = indent;
      }
    }
    if (eol == text.size()) break;
  }
  return std::nullopt;
}

/// A document of a multi-document file: its text and the 0-based line it starts at.
struct Chunk {
  std::string_view text;
  uint32_t first_line;
};

/// Splits at `---` lines (column 0), so one broken document does not hide the others.
/// A document marker is only ever at column 0, and block scalars cannot contain one.
std::vector<Chunk> split_documents(std::string_view text) {
  std::vector<Chunk> out;
  size_t start = 0, pos = 0;
  uint32_t line = 0, start_line = 0;
  bool has_content = false;  // the current chunk has more than comments and directives
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view l = text.substr(pos, eol - pos);
    bool marker = l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    if (marker && has_content) {
      out.push_back(Chunk{text.substr(start, pos - start), start_line});
      start = pos, start_line = line;
      has_content = false;
    }
    if (marker) {
      has_content = l.find_first_not_of(" \t\r", 3) != std::string_view::npos;
    } else {
      size_t first = l.find_first_not_of(" \t\r");
      if (first != std::string_view::npos && l[first] != '#' && l[first] != '%') has_content = true;
    }
    pos = eol + 1;
    ++line;
  }
  if (start < text.size()) out.push_back(Chunk{text.substr(start), start_line});
  return out;
}

/// The group of an apiVersion: "networking.k8s.io/v1" -> "networking.k8s.io"; "v1" -> "".
std::string_view api_group(std::string_view api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

void handle_object(Ctx& ctx, const YAML::Node& doc, int list_depth, const std::string& default_kind,
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
  for (const YAML::Node& item : list_items(ctx, obj.get("items"), "items", obj.key_range("items")))
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
  const YAML::Node md = obj.get("metadata");
  if (!md.IsDefined() || !md.IsMap()) return ctx.diags.begin_object(ctx.file, obj.range().line, {});
  const YAML::Node annotations = md["annotations"];
  if (!annotations.IsDefined() || !annotations.IsMap()) return ctx.diags.begin_object(ctx.file, obj.range().line, {});
  const YAML::Node value = annotations["moat.dev/disable"];
  if (value.IsDefined() && value.IsScalar()) {
    const std::string text = value.Scalar();
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

void handle_object(Ctx& ctx, const YAML::Node& doc, int list_depth, const std::string& default_kind,
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

/// Counts documents without building nodes. yaml-cpp 0.7 never consumes a stray ','
/// at document level (`,a` or `a: b` + newline + `, c`) and would return empty documents
/// forever from LoadAll; a chunk holds one document per marker line plus one, so more
/// than that means the parser is stuck, and the mark says where.
class DocumentCounter : public YAML::EventHandler {
public:
  YAML::Mark last_start;
  void OnDocumentStart(const YAML::Mark& mark) override { last_start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// Returns false (with E201) when yaml-cpp would not terminate on this chunk.
bool parser_terminates(Ctx& ctx, const Chunk& chunk) {
  size_t markers = 0;
  for (size_t pos = 0; pos < chunk.text.size();) {
    std::string_view rest = chunk.text.substr(pos);
    if (rest.substr(0, 3) == "---" || rest.substr(0, 3) == "...") ++markers;
    size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) break;
    pos += eol + 1;
  }
  std::istringstream in{std::string(chunk.text)};
  YAML::Parser parser(in);
  DocumentCounter counter;
  size_t docs = 0;
  while (docs <= markers + 1 && parser.HandleNextDocument(counter)) ++docs;
  if (docs <= markers + 1) return true;
  SourceRange at = range_of_mark(ctx, counter.last_start);
  std::string_view line = ctx.sm.line_text(ctx.file, at.line);
  char c = at.col >= 1 && at.col <= line.size() ? line[at.col - 1] : '?';
  ctx.diags.report(Code::E201, at, std::string("invalid YAML: unexpected '") + c + "' here");
  return false;
}

/// Parses one chunk; nullopt (with E201) where yaml-cpp fails or would never finish.
std::optional<std::vector<YAML::Node>> load_chunk(Ctx& ctx, const Chunk& chunk) {
  try {
    if (!parser_terminates(ctx, chunk)) return std::nullopt;
    return YAML::LoadAll(std::string(chunk.text));
  } catch (const YAML::Exception& e) {
    ctx.diags.report(Code::E201, range_of_mark(ctx, e.mark), "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    ctx.diags.report(Code::E201, SourceRange::at(ctx.file, ctx.line_offset + 1, 1),
                     std::string("cannot read this document as YAML: ") + e.what());
  }
  return std::nullopt;
}

void parse_chunk(Ctx& ctx, const Chunk& chunk) {
  auto docs = load_chunk(ctx, chunk);
  if (!docs) return;
  for (const YAML::Node& doc : *docs) {
    if (ctx.exhausted || ctx.diags.saturated()) return;
    try {
      handle_object(ctx, doc, 0, "", "");
    } catch (const YAML::Exception& e) {
      ctx.diags.report(Code::E201, range_of_mark(ctx, e.mark), "invalid YAML: " + e.msg);
    } catch (const std::exception& e) {
      ctx.diags.report(Code::E201, SourceRange::at(ctx.file, ctx.line_offset + 1, 1),
                       std::string("cannot read this document: ") + e.what());
    }
  }
}

} // namespace

namespace yamlfe {

std::optional<std::vector<Document>> load_documents(FileId file, const SourceManager& sm, Diagnostics& diags) {
  const std::string& text = sm.text(file);
  if (auto deep = find_deep_nesting(text)) {
    diags.report(Code::E201, SourceRange::at(file, deep->line, deep->col),
                 "nesting too deep: more than " + std::to_string(kMaxNesting) + " levels; not parsed");
    return std::nullopt;
  }
  // A chunk at a time: yaml-cpp reads thousands of small documents faster than one file
  // of them (measured in docs/ARCHITECTURE.md, Loading).
  std::vector<Document> out;
  Module unused;
  for (const Chunk& chunk : split_documents(text)) {
    Ctx ctx{file, sm, unused, diags};
    ctx.line_offset = chunk.first_line;
    auto docs = load_chunk(ctx, chunk);
    if (!docs) return std::nullopt;
    for (YAML::Node& doc : *docs) out.push_back(Document{std::move(doc), chunk.first_line});
  }
  return out;
}

} // namespace yamlfe

void parse_yaml(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags, const LoadOptions& opts,
                SeenObjects* seen, KubeObjects* kube) {
  SeenObjects this_file;
  KubeObjects own;  // no caller-held objects: this file's are added to `out` at the end
  if (!kube) kube = &own;
  const std::string& text = sm.text(file);
  if (auto deep = find_deep_nesting(text)) {
    diags.report(Code::E201, SourceRange::at(file, deep->line, deep->col),
                 "nesting too deep: more than " + std::to_string(kMaxNesting) + " levels; not parsed");
    return;
  }
  size_t admin_before = out.admin_rules.size();
  for (const Chunk& chunk : split_documents(text)) {
    if (diags.saturated()) break;
    Ctx ctx{file, sm, out, diags};
    ctx.opts = &opts;
    ctx.seen = seen ? seen : &this_file;
    ctx.kube = kube;
    ctx.line_offset = chunk.first_line;
    ctx.max_visits = 100'000 + 2 * chunk.text.size();
    parse_chunk(ctx, chunk);
  }
  // Every file keeps the admin tier in evaluation order, so a module is ready to judge
  // whichever way it was loaded.
  if (out.admin_rules.size() != admin_before) yamlfe::order_admin_rules(out);
  if (diags.saturated()) return;
  if (kube == &own) add_kube_objects(own, out, diags);
}

} // namespace moat
