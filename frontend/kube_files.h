// load_kube_objects (kube_objects.h) in two steps: read every file into the SourceManager
// (FileIds handed out in path order), then parse them on the cores. A command that reads
// several inputs reads them all first and parses them at the same time (moat check parses
// the inventory beside the policies); parsing only reads the SourceManager.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "frontend/kube_objects.h"
#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat {

/// Kubernetes object files read but not parsed yet.
struct KubeFiles {
  struct File;  // one file's text (or why it could not be read), then what it parsed to
  std::vector<File> files;
  KubeFiles();
  KubeFiles(KubeFiles&&) noexcept;
  KubeFiles& operator=(KubeFiles&&) noexcept;
  ~KubeFiles();
};

/// Reads each file in `paths` (a directory: its *.yaml, *.yml, *.json files, recursively,
/// sorted). What goes wrong is reported when they are parsed, in its turn.
KubeFiles read_kube_files(const std::vector<std::string>& paths, SourceManager& sm);

/// Parses and resolves what read_kube_files read; nullopt when a file is unreadable or not
/// YAML.
std::optional<KubeObjects> parse_kube_files(KubeFiles&& read, const SourceManager& sm, Diagnostics& diags);

} // namespace moat
