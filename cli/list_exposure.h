// `moat list --exposure`: which workloads endpoints that do not exist yet could reach, or
// be reached from — the every-possible-endpoint scope of docs/SCOPES.md, narrowed to one
// representative endpoint per peer selector of the rules about each workload (a pod with
// the labels the selector requires, in the namespace it pins or in a namespace that does
// not exist yet), plus "entire-cluster": a pod without labels in a new namespace. The
// interpreter decides each representative's connections, its own side included.
#pragma once
#include <vector>

#include "cli/list_model.h"

namespace moat::cli {

std::vector<ExposureEntry> exposure_entries(const Module& m,
                                            const std::vector<const Endpoint*>& workloads,
                                            bool egress, bool ingress);

} // namespace moat::cli
