// moat fmt: prints the canonical form of .moat files (frontend/moat/format_moat.h).
// --write rewrites changed files in place, atomically (temp file + rename); --check only
// lists the files that are not canonical. Exit 0 ok, 1 (--check) some file not canonical,
// 2 a file does not parse or cannot be read or written: that file is never written.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/render.h"
#include "cli/write_file.h"
#include "frontend/moat/format_moat.h"

namespace moat::cli {

namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxFmtBytes = 16u << 20;

struct FmtOptions {
  std::vector<std::string> paths;
  bool write = false;
  bool check = false;
};

/// Files named on the command line are formatted whatever their extension; directories
/// contribute their *.moat files, recursively, in sorted order.
std::vector<fs::path> expand(const std::vector<std::string>& paths, Diagnostics& diags) {
  std::vector<fs::path> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && it->path().extension() == ".moat") found.push_back(it->path());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.emplace_back(p);
    } else {
      diags.report(Code::E004, {}, "no such file or directory: '" + p + "'");
    }
  }
  return out;
}

std::optional<std::string> read_file(const fs::path& path, SourceManager& sm, Diagnostics& diags) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxFmtBytes) {
    diags.report(Code::E003, SourceRange::at(sm.add(path.string(), ""), 1, 1),
                 fmt::format("'{}' is {} bytes; moat sources are limited to {} bytes", path.string(), size,
                             kMaxFmtBytes));
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  if (in) buf << in.rdbuf();
  if (ec || !in) {
    diags.report(Code::E001, SourceRange::at(sm.add(path.string(), ""), 1, 1),
                 fmt::format("cannot read '{}'{}", path.string(), ec ? ": " + ec.message() : ""));
    return std::nullopt;
  }
  return buf.str();
}

int run_fmt(const FmtOptions& o) {
  SourceManager sm;
  Diagnostics diags;
  int code = 0;
  std::vector<fs::path> files = expand(o.paths, diags);
  if (diags.has_errors()) code = 2;
  for (const fs::path& path : files) {
    auto text = read_file(path, sm, diags);
    if (!text) {
      code = 2;
      continue;
    }
    FileId f = sm.add(path.string(), *text);
    auto formatted = format_moat(f, sm, diags);
    if (!formatted) {
      code = 2;
      continue;
    }
    bool changed = *formatted != sm.text(f);
    if (o.check) {
      if (changed) {
        std::printf("%s\n", path.string().c_str());
        code = std::max(code, 1);
      }
    } else if (o.write) {
      std::string error;
      if (changed && !write_atomically(path, *formatted, error)) {
        std::fprintf(stderr, "moat fmt: cannot write '%s': %s\n", path.string().c_str(), error.c_str());
        code = 2;
      }
    } else {
      std::fwrite(formatted->data(), 1, formatted->size(), stdout);
    }
  }
  print_diagnostics(diags, sm, stderr);
  return code;
}

} // namespace

void add_fmt_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<FmtOptions>();
  CLI::App* cmd = app.add_subcommand("fmt", "Print .moat files in canonical form");
  cmd->add_option("paths", opts->paths, "Files or directories (directories: *.moat, recursively)")->required();
  cmd->add_flag("-w,--write", opts->write, "Rewrite files in place instead of printing them");
  cmd->add_flag("--check", opts->check, "List files that are not in canonical form (exit 1 if any)");
  cmd->callback([opts, &exit_code] { exit_code = run_fmt(*opts); });
}

} // namespace moat::cli
