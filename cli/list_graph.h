// `moat list` as a picture: Graphviz DOT (namespaces as clusters, external address ranges
// as nodes of their own, one edge per entry labelled with its connections, workloads with
// no connection at all drawn dashed and marked), and SVG laid out by Graphviz's `dot`.
#pragma once
#include <optional>
#include <string>

#include "cli/list_model.h"

namespace moat::cli {

std::string list_dot(const ConnList& l);

/// Runs `dot -Tsvg` on list_dot(l). nullopt with `error` set when dot cannot be run or
/// fails (an environment failure, not a policy mistake).
std::optional<std::string> list_svg(const ConnList& l, std::string& error);

} // namespace moat::cli
