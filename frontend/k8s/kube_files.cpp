// Reads Kubernetes object files (load_kube_objects, kube_objects.h) on the machine's cores
// with the serial result: every file is read into the SourceManager in path order first,
// then each file is parsed into its own KubeObjects and Diagnostics in parallel, and the
// results are merged in path order, so objects, their order and the diagnostics are the same
// for any MOAT_JOBS.
#include <algorithm>
#include <filesystem>
#include <iterator>
#include <string_view>

#include "frontend/k8s/kube_reader.h"
#include "frontend/kube_files.h"
#include "frontend/read_input.h"
#include "ir/parallel.h"

namespace moat {

/// One file's share of the work, kept until the merge.
struct KubeFiles::File {
  std::optional<FileId> file;  // nullopt: unreadable (read_diags says why)
  Diagnostics read_diags, parse_diags;
  KubeObjects objs;
  bool ok = false;
};

namespace {

using FileParse = KubeFiles::File;

/// The files `paths` name: a directory's *.yaml, *.yml and *.json files, recursively and
/// sorted; any other path as given (reading it reports what is wrong with it).
std::vector<std::string> object_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::string ext = it->path().extension().string();
      if (it->is_regular_file(ec) && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
        found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

/// Re-reports `from` into `to` in order, through `to`'s own switches (--disable), as if the
/// diagnostics had been reported there.
void replay(const Diagnostics& from, Diagnostics& to) {
  for (const Diagnostic& d : from.all()) to.report(d.severity, d.code, d.range, d.message).notes = d.notes;
}

/// Does `text` begin (after blank lines, comments, directives and `---`) with a top-level
/// kind, apiVersion or items key, in block YAML (`apiVersion: v1`) or JSON (`{"apiVersion"`)?
/// For text that does not parse: what it was meant to be, from its first bytes.
bool begins_with_object_key(std::string_view text) {
  size_t at = 0;
  auto skip_space = [&] {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\r' || text[at] == '\n')) ++at;
  };
  for (;;) {
    skip_space();
    if (text.substr(at, 3) == "---" || (at < text.size() && (text[at] == '#' || text[at] == '%'))) {
      size_t eol = text.find('\n', at);
      at = eol == std::string_view::npos ? text.size() : eol + 1;
      continue;
    }
    break;
  }
  if (at < text.size() && text[at] == '{') {
    ++at;
    skip_space();
  }
  bool quoted = at < text.size() && text[at] == '"';
  at += quoted;
  for (std::string_view key : {"apiVersion", "kind", "items"}) {
    if (text.substr(at, key.size()) != key) continue;
    size_t after = at + key.size() + quoted;
    if (quoted && text.substr(at + key.size(), 1) != "\"") continue;
    while (after < text.size() && (text[after] == ' ' || text[after] == '\t')) ++after;
    return after < text.size() && text[after] == ':';
  }
  return false;
}

} // namespace

std::optional<FileId> k8s::read_object_file(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  // The same bound as policy files: an inventory is input the agent does not control.
  return read_input_file(path, kDefaultMaxFileBytes, "inventory file", sm, diags);
}

KubeFiles::KubeFiles() = default;
KubeFiles::KubeFiles(KubeFiles&&) noexcept = default;
KubeFiles& KubeFiles::operator=(KubeFiles&&) noexcept = default;
KubeFiles::~KubeFiles() = default;

KubeFiles read_kube_files(const std::vector<std::string>& paths, SourceManager& sm) {
  std::vector<std::string> files = object_files(paths);
  KubeFiles read;
  read.files.resize(files.size());
  // The SourceManager is not safe to add to from several threads: FileIds in path order.
  for (size_t i = 0; i < files.size(); ++i)
    read.files[i].file = k8s::read_object_file(files[i], sm, read.files[i].read_diags);
  return read;
}

std::optional<KubeObjects> parse_kube_files(KubeFiles&& read, const SourceManager& sm, Diagnostics& diags) {
  std::vector<FileParse> parses = std::move(read.files);
  parallel_for(parses.size(), [&](size_t i) {
    FileParse& p = parses[i];
    if (p.file) p.ok = k8s::parse_checked_kube_objects(*p.file, sm, p.objs, p.parse_diags);
  });
  KubeObjects objs;
  size_t pods = 0, controllers = 0;
  for (const FileParse& p : parses) pods += p.objs.pods.size(), controllers += p.objs.controllers.size();
  objs.pods.reserve(pods);
  objs.controllers.reserve(controllers);
  bool ok = true;
  for (FileParse& p : parses) {
    replay(p.read_diags, diags);
    if (!p.file) {
      ok = false;
      continue;
    }
    if (diags.error_count() + p.parse_diags.error_count() >= Diagnostics::kMaxErrors) {
      // The tree builder stops at the error limit, which this file may reach only after the
      // earlier files' errors: parse it again against them, as the serial run does.
      ok = k8s::parse_checked_kube_objects(*p.file, sm, objs, diags) && ok;
    } else {
      replay(p.parse_diags, diags);
      append_kube_objects(std::move(p.objs), objs);
      ok = p.ok && ok;
    }
    p = FileParse{};  // its pods are moved out; the rest goes now rather than at the end
  }
  if (!ok) return std::nullopt;
  resolve_kube_objects(objs, diags);
  return objs;
}

std::optional<KubeObjects> load_kube_objects(const std::vector<std::string>& paths, SourceManager& sm,
                                             Diagnostics& diags) {
  return parse_kube_files(read_kube_files(paths, sm), sm, diags);
}

std::optional<KubeObjects> read_kube_file(FileId file, const SourceManager& sm, Diagnostics& diags, bool& is_objects) {
  Diagnostics tree_diags;  // reported only once the file is known to be objects
  bool ok = true;
  doc::Tree tree = doc::build_file(file, sm, tree_diags, ok);
  auto first = std::find_if(tree.documents.begin(), tree.documents.end(),
                            [](const doc::Document& d) { return !d.node.IsNull(); });
  is_objects = first != tree.documents.end() ? k8s::is_object_root(first->node)
                                             : !ok && begins_with_object_key(sm.text(file));
  if (!is_objects) return std::nullopt;
  replay(tree_diags, diags);
  KubeObjects objs;
  if (!ok || !k8s::read_kube_tree(file, sm, tree, objs, diags)) return std::nullopt;
  resolve_kube_objects(objs, diags);
  return objs;
}

} // namespace moat
