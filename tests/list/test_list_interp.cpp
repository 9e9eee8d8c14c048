// The connection sets of `moat list` (ir/connectivity.h) against the interpreter: for every
// listed pair — workloads and the external ranges the policies distinguish — at every edge
// of every rule's port range (and one port either side), every named port and the ends of
// each protocol's range, a port is in the set exactly when evaluate() allows it. Over the
// ML platform example (deny rules, ICMP, named ports, CIDR with except, FQDN peers) and
// the netpol-analyzer cases.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "frontend/frontend.h"
#include "ir/address_ranges.h"
#include "ir/connectivity.h"

using namespace moat;

namespace {

std::set<uint32_t> probe_ports(const Module& m, const std::vector<const Endpoint*>& ends) {
  std::set<uint32_t> ports = {0, 1, 2, 8, 53, 80, 132, 133, 137, 138, 255, 256, 443, 65534, 65535};
  for (const Rule& r : m.rules)
    for (const PortMatch& pm : r.ports)
      for (uint32_t p : {uint32_t{pm.lo}, uint32_t{pm.hi}})
        for (uint32_t q : {p - 1, p, p + 1})
          if (q <= 65535) ports.insert(q);
  for (const Endpoint* e : ends)
    for (const NamedPort& np : e->ports)
      ports.insert(np.port), ports.insert(np.port + 1u);
  return ports;
}

/// Checks every pair of `workloads` and the ranges of `m`; returns the number of flows checked.
size_t check_against_interpreter(const Module& m, const std::vector<Endpoint>& workloads) {
  std::vector<Endpoint> ranges;
  for (Direction d : {Direction::Ingress, Direction::Egress})
    for (const AddressRange& r : distinguished_ranges(m, d, true)) {
      Endpoint e;
      e.kind = EndpointKind::External;
      e.name = r.str();
      // The range's first and last address must agree: the last is probed through a twin.
      e.ips = {r.first};
      ranges.push_back(e);
      e.ips = {r.last};
      ranges.push_back(e);
    }
  std::vector<const Endpoint*> ends;
  for (const Endpoint& e : workloads)
    ends.push_back(&e);
  for (const Endpoint& e : ranges)
    ends.push_back(&e);
  Connectivity conn(m, ends);
  std::set<uint32_t> ports = probe_ports(m, ends);
  size_t checked = 0, wrong = 0;
  std::string first;
  for (size_t s = 0; s < ends.size(); ++s)
    for (size_t d = 0; d < ends.size(); ++d) {
      if (s == d ||
          (ends[s]->kind != EndpointKind::Workload && ends[d]->kind != EndpointKind::Workload))
        continue;
      PairConnectivity pc = conn.pair(s, d, true);
      for (Protocol p : kListedProtocols)
        for (uint32_t port : ports) {
          auto [lo, hi] = port_domain(p);
          if (port < lo || port > hi) continue;
          auto port16 = static_cast<uint16_t>(port);
          Verdict v = evaluate(m, Flow{ends[s], ends[d], p, port16});
          bool listed =
              is_neighbour_discovery(p, port16) ? v.allowed : pc.allowed.contains(p, port16);
          // The segments cover the port once, with the interpreter's verdict and reasons.
          size_t in_segments = 0;
          for (const ConnSegment& seg : pc.segments)
            if (seg.conns.contains(p, port16)) {
              ++in_segments;
              CHECK(seg.verdict.allowed == v.allowed);
              CHECK(seg.verdict.egress.rules == v.egress.rules);
              CHECK(seg.verdict.ingress.rules == v.ingress.rules);
            }
          CHECK(in_segments == (is_neighbour_discovery(p, port16) ? 0u : 1u));
          ++checked;
          if (listed == v.allowed) continue;
          if (++wrong <= 5)
            first += ends[s]->name + " => " + ends[d]->name + " " + protocol_name(p) + " " +
                     std::to_string(port) + ": interpreter " + (v.allowed ? "allows" : "denies") +
                     "\n";
        }
    }
  INFO(first);
  CHECK(wrong == 0);
  // A range's first and last address (twins, one after the other) are one range to every
  // rule: the same connections with every workload, both ways.
  size_t first_range = workloads.size();
  for (size_t r = first_range; r + 1 < ends.size(); r += 2)
    for (size_t w = 0; w < first_range; ++w) {
      INFO(ends[r]->name << " / " << ends[w]->name);
      CHECK(conn.pair(r, w, false).allowed == conn.pair(r + 1, w, false).allowed);
      CHECK(conn.pair(w, r, false).allowed == conn.pair(w, r + 1, false).allowed);
    }
  return checked;
}

} // namespace

TEST_CASE("list connection sets agree with the interpreter: the ML platform example",
          "[list][interp]") {
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths({std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.moat"}, sm, m, diags);
  REQUIRE(!diags.has_errors());
  auto objs = load_kube_objects({std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.pods.yaml"},
                                sm, diags);
  REQUIRE(objs);
  std::vector<Endpoint> workloads = workload_endpoints(*objs);
  REQUIRE(workloads.size() >= 3);
  CHECK(check_against_interpreter(m, workloads) > 10000);
}

TEST_CASE("list connection sets agree with the interpreter: the netpol-analyzer cases",
          "[list][interp][corpus]") {
  for (const char* name : {"ipblockstest_2", "netpol_named_port_test", "test_with_named_ports",
                           "acs-security-demos"}) {
    INFO(name);
    SourceManager sm;
    Module m;
    Diagnostics diags;
    std::vector<std::string> files;
    std::string dir = std::string(MOAT_CORPUS_DIR) + "/np-guard__netpol-analyzer/tests/" + name;
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
      std::string ext = f.path().extension().string();
      if (f.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json") &&
          f.path().filename().string().find("connlist_output") == std::string::npos)
        files.push_back(f.path().string());
    }
    std::sort(files.begin(), files.end());
    load_paths(files, sm, m, diags);
    REQUIRE(!diags.has_errors());
    CHECK(check_against_interpreter(m, m.cluster_workloads) > 0);
  }
}
