// `moat list` as text (`SRC => DST : CONNS`), JSON (an array of {src, dst, conn}), CSV and a
// Markdown table: np-guard/netpol-analyzer's formats, so that its users' scripts carry over.
// With --exposure, each gains the exposure section netpol-analyzer prints.
#pragma once
#include <string>

#include "cli/list_model.h"
#include "ir/source.h"

namespace moat::cli {

/// `explain`: also the verdict of every pair's ports, with the deciding rules and
/// isolations at file:line (`m` and `sm` are then read).
std::string list_text(const ConnList& l, bool explain, const Module& m, const SourceManager& sm);
/// With `explain`, every pair (denied ones too) carries `explanation`: one object per
/// connection piece with its verdict and each direction's decision (decision_json).
std::string list_json(const ConnList& l, bool explain, const Module& m, const SourceManager& sm);
std::string list_csv(const ConnList& l);
std::string list_md(const ConnList& l);

} // namespace moat::cli
