// np-guard/netpol-analyzer's connectivity cases, loaded with their workloads: policies,
// Namespaces, Pods and Deployments go through the policy path together (load_paths), and
// for every ordered pair of workloads the interpreter's verdict must match the golden
// connection list (`SRC => DST : CONNS`; a pair not listed is denied), probed at every port
// the golden names, every named container port and a few others, on TCP, UDP and SCTP. The
// workload names (`ns/name[Kind]`) must be the golden's. The AdminNetworkPolicy /
// BaselineAdminNetworkPolicy cases are in (the tiers, Pass, priorities); cases with ICMP are
// left out, and so are host-network pods (to moat they are the host; netpol-analyzer treats
// them as pods).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "frontend/frontend.h"
#include "ir/interp.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

/// Where the third-party netpol-analyzer files are read from: the one place to repoint
/// when they move into the repository (tests/corpus/third_party/).
std::string netpol_analyzer_path(const std::string& relative) {
  return std::string(MOAT_CORPUS_DIR) + "/np-guard__netpol-analyzer/" + relative;
}

struct PortRange {
  Protocol proto;
  uint16_t lo, hi;
};

/// What the golden allows from one workload to another: everything, or these ranges.
struct Conns {
  bool all = false;
  std::vector<PortRange> ranges;
  bool allows(Protocol p, uint16_t port) const {
    if (all) return true;
    for (const PortRange& r : ranges)
      if (r.proto == p && port >= r.lo && port <= r.hi) return true;
    return false;
  }
};

bool is_workload_name(const std::string& s) {
  return s.find('/') != std::string::npos && !s.empty() && s.back() == ']' && s.find("[External]") == std::string::npos;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

/// "TCP 10053,UDP 10053", "SCTP 8956,9090", "TCP 1-100", "All Connections".
Conns parse_conns(const std::string& text) {
  Conns c;
  if (text == "All Connections") return c.all = true, c;
  std::stringstream ss(text);
  std::string item;
  Protocol proto = Protocol::TCP;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    size_t space = item.find(' ');
    if (space != std::string::npos) {
      auto p = parse_protocol(item.substr(0, space));
      REQUIRE(p);
      proto = *p;
      item = item.substr(space + 1);
    }
    size_t dash = item.find('-');
    int lo = std::stoi(item.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
    c.ranges.push_back({proto, static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
  }
  return c;
}

std::map<std::pair<std::string, std::string>, Conns> read_golden(const std::string& path, std::set<std::string>& names) {
  std::ifstream in(path);
  REQUIRE(in);
  std::map<std::pair<std::string, std::string>, Conns> out;
  std::string line;
  while (std::getline(in, line)) {
    size_t arrow = line.find(" => "), colon = line.find(" : ");
    if (arrow == std::string::npos || colon == std::string::npos) continue;
    std::string src = line.substr(0, arrow), dst = line.substr(arrow + 4, colon - arrow - 4);
    for (const std::string& n : {src, dst})
      if (is_workload_name(n)) names.insert(n);
    if (is_workload_name(src) && is_workload_name(dst)) out[{src, dst}] = parse_conns(line.substr(colon + 3));
  }
  return out;
}

} // namespace

TEST_CASE("netpol-analyzer connectivity cases: interpreter verdicts for every workload pair match the goldens",
          "[workloads][corpus]") {
  const char* cases[] = {"acs-security-demos",  "minimal_test_in_ns",     "netpol_named_port_test",
                         "netpol_named_port_test_2", "onlineboutique", "test_with_named_ports",
                         "core_pods_without_host_ip", "ipblockstest",  "ipblockstest_2",
                         "ipblockstest_3",      "ipblockstest_4",         "netpol-analysis-example-minimal",
                         "anp_banp_blog_demo",  "anp_test_4",             "anp_test_ingress_egress_intersection"};
  for (const char* name : cases) {
    INFO(name);
    SourceManager sm;
    Module m;
    Diagnostics diags;
    // Every file of the case, named one by one: some are JSON (kubectl -o json).
    std::vector<std::string> files;
    for (const auto& f : fs::recursive_directory_iterator(netpol_analyzer_path(std::string("tests/") + name))) {
      std::string ext = f.path().extension().string();
      if (f.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json") &&
          f.path().filename().string().find("connlist_output") == std::string::npos)
        files.push_back(f.path().string());
    }
    std::sort(files.begin(), files.end());
    load_paths(files, sm, m, diags);
    std::string warnings;
    for (const Diagnostic& d : diags.all()) {
      if (d.severity == Severity::Error) FAIL_CHECK(sm.path(d.range.file) << ":" << d.range.line << ": " << d.message);
      if (d.code == Code::W807) warnings += sm.path(d.range.file) + ":" + std::to_string(d.range.line) + ": " + d.message + "\n";
    }
    INFO(warnings);
    std::set<std::string> golden_names;
    auto golden = read_golden(netpol_analyzer_path(std::string("test_outputs/connlist/") + name + "_connlist_output.txt"),
                              golden_names);
    std::map<std::string, const Endpoint*> eps;
    for (const Endpoint& e : m.cluster_workloads) eps[e.name] = &e;
    // Host-network pods are the host to moat (no identity of their own, docs/SCOPES.md);
    // netpol-analyzer lists them as workloads. Their pairs are left out of the comparison.
    std::set<std::string> host_network;
    SourceManager sm2;
    Diagnostics d2;
    auto objs = load_kube_objects(files, sm2, d2);
    REQUIRE(objs);
    for (const KubePod& p : objs->pods)
      if (p.host_network) host_network.insert(p.workload);
    for (const KubeController& c : objs->controllers)
      if (c.host_network) host_network.insert(c.ep.name);
    // Names: every other workload the golden mentions is one of ours, by the same name.
    for (const std::string& n : golden_names) {
      INFO(n);
      CHECK(eps.count(n) + host_network.count(n) == 1);
    }
    // Probe ports: every port the golden names, every named container port, and others.
    std::set<uint16_t> ports = {1, 22, 80, 443, 8080, 65535};
    for (const auto& [pair, c] : golden)
      for (const PortRange& r : c.ranges) {
        ports.insert(r.lo), ports.insert(r.hi);
        if (r.lo > 1) ports.insert(r.lo - 1);
        if (r.hi < 65535) ports.insert(r.hi + 1);
      }
    for (const auto& [n, e] : eps)
      for (const NamedPort& p : e->ports) ports.insert(p.port);
    size_t checked = 0, mismatches = 0;
    std::string first;
    for (const auto& [sn, src] : eps)
      for (const auto& [dn, dst] : eps) {
        if (src == dst) continue;  // netpol-analyzer lists no connections of a workload to itself
        auto g = golden.find({sn, dn});
        Conns expected = g == golden.end() ? Conns{} : g->second;
        for (Protocol proto : {Protocol::TCP, Protocol::UDP, Protocol::SCTP})
          for (uint16_t port : ports) {
            bool want = expected.allows(proto, port);
            bool got = evaluate(m, Flow{src, dst, proto, port}).allowed;
            ++checked;
            if (want == got) continue;
            if (++mismatches <= 5)
              first += sn + " => " + dn + " " + to_string(proto) + " " + std::to_string(port) + ": golden " +
                       (want ? "allow" : "deny") + ", moat " + (got ? "allow" : "deny") + "\n";
          }
      }
    INFO(first);
    CHECK(mismatches == 0);
    CHECK(eps.size() >= 2);
    CHECK(checked > 0);
  }
}
