// What `moat list` shows, independent of the output format: the listed ends (workloads and
// external address ranges), one entry per (source, destination) pair with its allowed
// connections, and, with --exposure, the connections of each workload with endpoints that
// do not exist yet. Built by cli/cmd_list.cpp; printed by list_formats.cpp and
// list_graph.cpp.
#pragma once
#include <string>
#include <vector>

#include "ir/connectivity.h"

namespace moat::cli {

struct ListNode {
  std::string name;  // "ns/name[Kind]" or "10.0.0.0-10.255.255.255[External]"
  std::string ns;    // workloads; "" for external ranges
  std::string label; // the name without the namespace (pictures)
  bool external = false;
  bool connected = false; // some listed entry starts or ends here
};

struct ListEntry {
  size_t src = 0, dst = 0;           // indexes into ConnList::nodes
  ConnSet conns;                     // allowed (may be empty with --explain)
  std::vector<ConnSegment> segments; // --explain: every port's verdict and its reasons
};

/// One line of the exposure report: `workload` reaches (egress) or is reached from
/// (ingress) `peer`, a description of endpoints that need not exist yet.
struct ExposureEntry {
  std::string workload, peer;
  bool ingress = false;
  ConnSet conns;
};

struct ConnList {
  std::vector<ListNode> nodes;
  std::vector<ListEntry> entries; // sorted by source name, then destination name
  bool exposure = false;          // --exposure asked: print the exposure section
  std::vector<ExposureEntry> exposures;
};

} // namespace moat::cli
