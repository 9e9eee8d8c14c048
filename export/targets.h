// What the three exporters share: where each object goes (its source's stem), how it is
// named, how refusals are worded, and the grouping of rules by subject that both YAML
// targets start from. Internal to export/.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "export/export.h"

namespace moat::exporter {

struct ExportContext {
  const Module& m;
  const SourceManager& sm;
  Target target;
  Diagnostics& diags;
};

/// The stem of the file `r` points into, made a DNS label ("ML_platform.v2" ->
/// "ml-platform-v2"); "policy" when unknown.
std::string source_stem(const SourceManager& sm, SourceRange r);

/// Reports that the target cannot express something at `range`:
/// "WHAT cannot be expressed as TARGET: WHY".
void refuse(ExportContext& cx, Code code, SourceRange range, const std::string& what, const std::string& why);

/// Refuses (E912) the named ports of `r` that Kubernetes and Cilium YAML cannot carry as
/// they are (not an IANA service name: the YAML readers reject it, Cilium lower-cases it).
bool yaml_port_names_ok(ExportContext& cx, const Rule& r);

/// Policy-tier rules and isolations with one subject, read from one source file.
struct PolicyGroup {
  std::string stem;
  EndpointSelector subject;
  std::vector<const Rule*> rules;  // in the order read
  bool isolated[2] = {false, false};  // by Direction
  SourceRange range;                  // the first member
};
/// Groups in the order of their first member (isolations and rules interleaved as read:
/// isolations of a source come before its rules).
std::vector<PolicyGroup> group_by_subject(const ExportContext& cx);

/// Text per stem, in the order stems were first added.
class FileSet {
public:
  std::string& text(const std::string& stem);
  /// Next object name of `stem`: moat-STEM-1, moat-STEM-2, ...
  std::string next_name(const std::string& stem);
  std::vector<ExportedFile> take();

private:
  std::vector<ExportedFile> files_;
  std::map<std::string, size_t> index_;
  std::map<std::string, int> counters_;
};

/// A FileSet for a YAML target, starting with the Namespace objects of `m` (if any).
FileSet yaml_files(const Module& m);

/// The stem of the file that carries the Namespace objects (or namespace label blocks).
inline constexpr const char* kNamespacesStem = "namespaces";

std::vector<ExportedFile> export_kubernetes(ExportContext& cx);
std::vector<ExportedFile> export_cilium(ExportContext& cx);
std::vector<ExportedFile> export_moat(ExportContext& cx);

} // namespace moat::exporter
