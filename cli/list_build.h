// Builds what `moat list` shows (cli/list_model.h) from a module and its workloads: the
// external ranges of the module's CIDR peers, every pair's connections through
// ir/connectivity.h, entries sorted. Shared by `moat list` and by `moat diff`, which
// compares the listings of two versions (connections that appear or vanish because a
// workload or a policy did).
#pragma once
#include <set>
#include <vector>

#include "cli/list_model.h"
#include "frontend/cases.h"

namespace moat::cli {

struct ListScope {
  std::set<size_t> focused;           // indexes into the workloads; empty: every workload
  bool egress = true, ingress = true; // with a focus: entries leaving / reaching it
  bool explain = false;               // keep denied pairs and every pair's segments
  bool ipv6 = false;                  // list the IPv6 space without IPv6 blocks
};

/// Workloads of the inventory (if any), then of the module's sources (a name once), by name.
std::vector<const Endpoint*> listed_workloads(const Module& m, const CasesFile* inventory);

ConnList build_conn_list(const Module& m, const std::vector<const Endpoint*>& workloads,
                         const ListScope& scope);

/// One (source, destination) whose connections differ between two listings: `before` empty
/// when the entry appeared, `after` empty when it vanished.
struct ConnChange {
  std::string src, dst;
  ConnSet before, after;
  const char* kind() const {
    return before.empty() ? "appeared" : after.empty() ? "vanished" : "changed";
  }
};

/// The entries of `before` and `after` that differ, by source then destination name.
std::vector<ConnChange> conn_changes(const ConnList& before, const ConnList& after);

} // namespace moat::cli
