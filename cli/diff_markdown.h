// `moat diff --format md`: the semantic difference as a Markdown comment for a pull request —
// a verdict line with counts, then one table row per cube (newly allowed first) with a
// concrete flow and the rules that decide it on each side, cut short (with what was left
// out counted) before the comment would outgrow what code review sites accept.
#pragma once
#include <string>

#include "cli/list_build.h"
#include "ir/source.h"
#include "verifier/verifier.h"

namespace moat::cli {

/// GitHub refuses comments over 65,536 characters; the rows stop well before.
inline constexpr size_t kMarkdownCommentBudget = 60000;

std::string diff_markdown(const Module& old_m, const Module& new_m, const SourceManager& sm,
                          const DiffReport& r, const std::string& old_path,
                          const std::string& new_path, const std::string& verdict,
                          size_t budget = kMarkdownCommentBudget);

/// The connections among workloads that changed (`moat diff` with workloads), as a table.
std::string connection_changes_markdown(const std::vector<ConnChange>& changes,
                                        size_t budget = kMarkdownCommentBudget);

} // namespace moat::cli
