// load_paths: walks files and directories, checks each file is sane text, and hands it to
// the front end its extension names. Order is deterministic (sorted paths).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/frontend.h"
#include "frontend/utf8.h"

namespace moat {

namespace fs = std::filesystem;

namespace {

/// Policy files larger than this are refused (E003) rather than parsed for minutes.
constexpr uintmax_t kMaxFileBytes = 16u << 20;

bool has_policy_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".moat" || ext == ".yaml" || ext == ".yml";
}

void load_file(const fs::path& path, SourceManager& sm, Module& out, Diagnostics& diags, KubeObjects& kube) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    FileId f = sm.add(path.string(), "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read '" + path.string() + "': " + ec.message());
    return;
  }
  if (size > kMaxFileBytes) {
    FileId f = sm.add(path.string(), "");
    diags.report(Code::E003, SourceRange::at(f, 1, 1),
                 "'" + path.string() + "' is " + std::to_string(size) + " bytes; policy files are limited to " +
                     std::to_string(kMaxFileBytes) + " bytes");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  if (!in.good() && !in.eof()) {
    FileId f = sm.add(path.string(), "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read '" + path.string() + "'");
    return;
  }
  std::string text = buf.str();
  FileId f = sm.add(path.string(), std::move(text));
  if (!check_utf8(f, sm, diags)) return;
  if (path.extension() == ".moat")
    parse_moat(f, sm, out, diags);
  else
    parse_yaml(f, sm, out, diags, &kube);
}

} // namespace

void load_paths(const std::vector<std::string>& paths, SourceManager& sm, Module& out,
                Diagnostics& diags) {
  // Workloads group across files (a Deployment here, its Namespace there): add them last.
  KubeObjects kube;
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::path path(p);
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && has_policy_extension(it->path())) files.push_back(it->path());
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) load_file(f, sm, out, diags, kube);
    } else if (fs::exists(path, ec)) {
      load_file(path, sm, out, diags, kube);
    } else {
      diags.report(Code::E004, {}, "no such file or directory: '" + p + "'");
    }
  }
  add_kube_objects(kube, out, diags);
}

} // namespace moat
