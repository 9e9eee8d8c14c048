// load_paths: walks files and directories, checks each file is sane text (size, UTF-8), and
// hands it to the front end its extension names. Order is deterministic (sorted paths);
// YAML files are parsed in parallel and merged in that order (frontend/load_parts.h).
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <optional>
#include <unordered_map>

#include "frontend/frontend.h"
#include "frontend/load_parts.h"
#include "frontend/read_input.h"
#include "frontend/utf8.h"
#include "ir/background.h"
#include "ir/parallel.h"

namespace moat {

namespace fs = std::filesystem;

/// One file (or standard input) to load, in load order: its text registered in the
/// SourceManager, or what went wrong reading it (in `part.diags`, reported in its turn).
struct PolicyFiles::Input {
  FileId file = kNoFile;
  bool moat_language = false;  // .moat: the moat parser; otherwise the YAML driver
  bool readable = false;
  FilePart part;
};

namespace {

using Input = PolicyFiles::Input;

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

/// Registers the text; the front end runs later (parse phase), E002 included.
void add_text(Input& in, const std::string& name, std::string text, bool moat_language, SourceManager& sm) {
  in.file = sm.add(name, std::move(text));
  in.moat_language = moat_language;
  in.readable = true;
}

void read_file(const fs::path& path, SourceManager& sm, const LoadOptions& opts, Input& in) {
  Diagnostics& diags = in.part.diags;
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
  std::string text;
  if (!read_file_text(path.string(), size, text)) {
    FileId f = sm.add(path.string(), "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read '" + path.string() + "'");
    return;
  }
  add_text(in, path.string(), std::move(text), path.extension() == ".moat", sm);
}

/// Standard input, read in blocks and stopped as soon as it passes the size limit (a pipe
/// has no size to ask for in advance).
void read_stdin(SourceManager& sm, const LoadOptions& opts, Input& in) {
  Diagnostics& diags = in.part.diags;
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
  add_text(in, kStdinName, std::move(text), false, sm);
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

PolicyFiles::PolicyFiles() = default;
PolicyFiles::PolicyFiles(PolicyFiles&&) noexcept = default;
PolicyFiles& PolicyFiles::operator=(PolicyFiles&&) noexcept = default;
PolicyFiles::~PolicyFiles() = default;

PolicyFiles read_policy_paths(const std::vector<std::string>& paths, SourceManager& sm, const LoadOptions& opts) {
  Diagnostics like;  // what each file's part collects with: the switched-off codes
  for (Code c : opts.disabled) like.disable(c);
  // Every file is read first, in load order: FileIds are handed out in that order, and
  // the SourceManager is not touched again until the parts are merged.
  PolicyFiles read;
  std::vector<Input>& inputs = read.inputs;
  auto next = [&]() -> Input& {
    inputs.emplace_back();
    inputs.back().part.diags = like.empty_like();
    return inputs.back();
  };
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::path path(p);
    if (p == "-") {
      read_stdin(sm, opts, next());
    } else if (fs::is_directory(path, ec)) {
      for (const fs::path& f : walk(path, opts)) read_file(f, sm, opts, next());
    } else if (fs::exists(path, ec)) {
      read_file(path, sm, opts, next());
    } else {
      next().part.diags.report(Code::E004, {}, "no such file or directory: '" + p + "'");
    }
  }
  return read;
}

namespace {

/// A YAML input to parse into its part, with its version's options.
struct PartJob {
  Input* in;
  const LoadOptions* opts;
};

bool is_yaml(const Input& in) { return in.readable && !in.moat_language; }

void make_parts(const std::vector<PartJob>& jobs, const SourceManager& sm) {
  parallel_for(jobs.size(), [&](size_t k) { parse_yaml_part(jobs[k].in->file, sm, *jobs[k].opts, jobs[k].in->part); });
}

/// Merges the inputs in load order. With `have_parts`, every YAML input was parsed into its
/// part. A part that depends on the files before it (an object or AdminNetworkPolicy
/// priority they already declared: E210/W220; the error limit) is thrown away and its file
/// parsed again here against everything read so far, so the result is what a file-by-file
/// load gives, whatever the thread count. The moat parser (ANTLR) runs here, on this thread.
void merge_inputs(std::vector<Input>& inputs, bool have_parts, const SourceManager& sm, Module& out,
                  Diagnostics& diags, const LoadOptions& opts) {
  for (Code c : opts.disabled) diags.disable(c);
  SeenObjects seen;
  // Workloads group across files (a Deployment here, its Namespace there): add them last.
  KubeObjects kube;
  if (have_parts) {
    std::vector<const FilePart*> parts;
    for (const Input& in : inputs)
      if (is_yaml(in)) parts.push_back(&in.part);
    reserve_for_parts(parts, out, kube);
  }
  for (Input& in : inputs) {
    bool take_part = !in.readable || (have_parts && !in.moat_language && part_is_independent(in.part, seen, diags));
    if (take_part) {
      append_part(std::move(in.part), out, diags, seen, kube);
    } else if (check_utf8(in.file, sm, diags)) {
      if (in.moat_language) parse_moat(in.file, sm, out, diags);
      else parse_yaml(in.file, sm, out, diags, opts, &seen, &kube);
    }
    in.part = FilePart();
  }
  add_kube_objects(kube, out, diags);
}

/// The name of a file under the path its version was read from ("" for the path itself);
/// nullopt when it is not under it (standard input).
std::optional<std::string> name_under(const std::string& file, const std::string& root) {
  std::string rel = fs::path(file).lexically_relative(root).generic_string();
  if (rel.empty() || rel.rfind("..", 0) == 0) return std::nullopt;
  return rel == "." ? std::string() : rel;
}

} // namespace

void parse_policy_files(PolicyFiles&& read, const SourceManager& sm, Module& out, Diagnostics& diags,
                        const LoadOptions& opts) {
  std::vector<Input> inputs = std::move(read.inputs);
  // YAML files are parsed on the cores, each against nothing but itself (a part).
  std::vector<PartJob> jobs;
  for (Input& in : inputs)
    if (is_yaml(in)) jobs.push_back({&in, &opts});
  bool parallel = jobs.size() > 1 && worker_count() > 1;
  if (parallel) make_parts(jobs, sm);
  merge_inputs(inputs, parallel, sm, out, diags, opts);
}

void parse_policy_versions(PolicyVersion&& old_v, PolicyVersion&& new_v, const SourceManager& sm, Module& old_m,
                           Diagnostics& old_diags, Module& new_m, Diagnostics& new_diags) {
  std::vector<Input> olds = std::move(old_v.files.inputs), news = std::move(new_v.files.inputs);
  // twin[j]: the old input whose part new input j can copy (same name, bytes and options).
  constexpr size_t kNone = SIZE_MAX;
  std::vector<size_t> twin(news.size(), kNone);
  if (old_v.opts == new_v.opts) {
    std::unordered_map<std::string, size_t> by_name;
    for (size_t i = 0; i < olds.size(); ++i)
      if (is_yaml(olds[i]))
        if (auto name = name_under(sm.path(olds[i].file), old_v.root)) by_name.emplace(std::move(*name), i);
    for (size_t j = 0; j < news.size(); ++j) {
      if (!is_yaml(news[j])) continue;
      auto name = name_under(sm.path(news[j].file), new_v.root);
      auto it = name ? by_name.find(*name) : by_name.end();
      if (it != by_name.end() && sm.text(olds[it->second].file) == sm.text(news[j].file)) twin[j] = it->second;
    }
  }
  std::vector<PartJob> jobs;
  for (Input& in : olds)
    if (is_yaml(in)) jobs.push_back({&in, &old_v.opts});
  for (size_t j = 0; j < news.size(); ++j)
    if (is_yaml(news[j]) && twin[j] == kNone) jobs.push_back({&news[j], &new_v.opts});
  make_parts(jobs, sm);
  // A twin whose old part holds a diagnostic is parsed after all (its message may name the
  // file); the others are copies, made before the old version's merge empties the parts.
  jobs.clear();
  std::vector<size_t> copies;
  for (size_t j = 0; j < news.size(); ++j) {
    if (twin[j] == kNone) continue;
    if (olds[twin[j]].part.diags.blank()) copies.push_back(j);
    else jobs.push_back({&news[j], &new_v.opts});
  }
  parallel_for(copies.size() + jobs.size(), [&](size_t k) {
    if (k >= copies.size()) {
      const PartJob& job = jobs[k - copies.size()];
      parse_yaml_part(job.in->file, sm, *job.opts, job.in->part);
      return;
    }
    Input& in = news[copies[k]];
    const Input& from = olds[twin[copies[k]]];
    in.part = copy_part_to_file(from.part, from.file, in.file);
  });
  // Each merge runs on one thread; with a collector each, nothing ties the versions, so
  // they merge at the same time. Not with a .moat file: the ANTLR runtime's shared caches
  // are not known to be safe across threads.
  auto moat_file = [](const std::vector<Input>& in) {
    return std::any_of(in.begin(), in.end(), [](const Input& i) { return i.readable && i.moat_language; });
  };
  if (&old_diags != &new_diags && !moat_file(olds) && !moat_file(news)) {
    Background old_merge([&] { merge_inputs(olds, true, sm, old_m, old_diags, old_v.opts); });
    merge_inputs(news, true, sm, new_m, new_diags, new_v.opts);
    old_merge.join();
    return;
  }
  merge_inputs(olds, true, sm, old_m, old_diags, old_v.opts);
  merge_inputs(news, true, sm, new_m, new_diags, new_v.opts);
}

void load_paths(const std::vector<std::string>& paths, SourceManager& sm, Module& out, Diagnostics& diags,
                const LoadOptions& opts) {
  parse_policy_files(read_policy_paths(paths, sm, opts), sm, out, diags, opts);
}

} // namespace moat
