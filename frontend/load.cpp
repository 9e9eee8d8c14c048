// load_paths: walks files and directories, checks each file is sane text (size, UTF-8), and
// hands it to the front end its extension names. Order is deterministic (sorted paths).
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "frontend/frontend.h"
#include "frontend/utf8.h"

namespace moat {

namespace fs = std::filesystem;

namespace {

/// The name diagnostics give standard input.
constexpr const char* kStdinName = "<stdin>";

bool has_policy_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".moat" || ext == ".yaml" || ext == ".yml" || ext == ".json";
}

/// Does an --exclude glob match `rel` (relative to the walked root) or its basename?
bool excluded(const fs::path& rel, const LoadOptions& opts) {
  std::string path = rel.generic_string(), base = rel.filename().string();
  return std::any_of(opts.exclude.begin(), opts.exclude.end(), [&](const std::string& glob) {
    return fnmatch(glob.c_str(), path.c_str(), 0) == 0 || fnmatch(glob.c_str(), base.c_str(), 0) == 0;
  });
}

std::string too_large(const std::string& name, uint64_t size, const LoadOptions& opts, bool at_least) {
  return "'" + name + "' is " + (at_least ? "more than " : "") + std::to_string(size) +
         " bytes; input files are limited to " + std::to_string(opts.max_file_bytes) +
         " bytes (--max-file-size)";
}

/// Checks the text and hands it to its front end: .moat to the moat parser, the rest
/// (.yaml, .yml, .json, stdin) to the YAML driver; JSON is YAML 1.2.
void parse_text(const std::string& name, std::string text, bool moat_language, SourceManager& sm, Module& out,
                Diagnostics& diags, const LoadOptions& opts, SeenObjects& seen, KubeObjects& kube) {
  FileId f = sm.add(name, std::move(text));
  if (!check_utf8(f, sm, diags)) return;
  if (moat_language) parse_moat(f, sm, out, diags);
  else parse_yaml(f, sm, out, diags, opts, &seen, &kube);
}

void load_file(const fs::path& path, SourceManager& sm, Module& out, Diagnostics& diags, const LoadOptions& opts,
               SeenObjects& seen, KubeObjects& kube) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    FileId f = sm.add(path.string(), "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read '" + path.string() + "': " + ec.message());
    return;
  }
  if (size > opts.max_file_bytes) {
    FileId f = sm.add(path.string(), "");
    diags.report(Code::E003, SourceRange::at(f, 1, 1), too_large(path.string(), size, opts, false));
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
  parse_text(path.string(), buf.str(), path.extension() == ".moat", sm, out, diags, opts, seen, kube);
}

/// Standard input, read in blocks and stopped as soon as it passes the size limit (a pipe
/// has no size to ask for in advance).
void load_stdin(SourceManager& sm, Module& out, Diagnostics& diags, const LoadOptions& opts, SeenObjects& seen,
                KubeObjects& kube) {
  std::string text;
  char block[1 << 16];
  while (std::cin.read(block, sizeof block) || std::cin.gcount() > 0) {
    text.append(block, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > opts.max_file_bytes) {
      FileId f = sm.add(kStdinName, "");
      diags.report(Code::E003, SourceRange::at(f, 1, 1), too_large(kStdinName, opts.max_file_bytes, opts, true));
      return;
    }
  }
  if (std::cin.bad()) {
    FileId f = sm.add(kStdinName, "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read standard input");
    return;
  }
  parse_text(kStdinName, std::move(text), false, sm, out, diags, opts, seen, kube);
}

/// Every policy file under `root`, sorted, without the excluded ones (an excluded directory
/// is not entered).
std::vector<fs::path> walk(const fs::path& root, const LoadOptions& opts) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::path rel = it->path().lexically_relative(root);
    if (excluded(rel, opts)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && has_policy_extension(it->path())) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  uint64_t n = 0;
  for (size_t i = 0; i < digits; ++i) n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  std::string unit;
  for (char c : text.substr(digits)) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = -1;
  for (auto [name, s] : {std::pair{"", 0}, {"B", 0}, {"K", 10}, {"KB", 10}, {"KIB", 10}, {"M", 20}, {"MB", 20},
                         {"MIB", 20}, {"G", 30}, {"GB", 30}, {"GIB", 30}})
    if (unit == name) shift = s;
  if (shift < 0 || n == 0 || n > (uint64_t{1} << (62 - shift))) return std::nullopt;
  return n << shift;
}

void load_paths(const std::vector<std::string>& paths, SourceManager& sm, Module& out, Diagnostics& diags,
                const LoadOptions& opts) {
  for (Code c : opts.disabled) diags.disable(c);
  SeenObjects seen;
  // Workloads group across files (a Deployment here, its Namespace there): add them last.
  KubeObjects kube;
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::path path(p);
    if (p == "-") {
      load_stdin(sm, out, diags, opts, seen, kube);
    } else if (fs::is_directory(path, ec)) {
      for (const fs::path& f : walk(path, opts)) load_file(f, sm, out, diags, opts, seen, kube);
    } else if (fs::exists(path, ec)) {
      load_file(path, sm, out, diags, opts, seen, kube);
    } else {
      diags.report(Code::E004, {}, "no such file or directory: '" + p + "'");
    }
  }
  add_kube_objects(kube, out, diags);
}

} // namespace moat
