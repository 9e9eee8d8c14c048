// np-guard/netpol-analyzer's connectivity cases through `moat list` itself: for each case
// directory, the text and the JSON output must list exactly the connections of the golden
// test_outputs/connlist/<case>_connlist_output.txt (and .json where the corpus has one).
// Set aside, as moat models them differently: ICMP (moat lists it, netpol-analyzer does not:
// it is dropped from moat's sets before comparing, and TCP, UDP and SCTP on every port then
// read "All Connections"), `{ingress-controller}` lines (moat reads no Ingress or Route
// objects) and host-network pods (to moat they are the host, docs/SCOPES.md).
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frontend/kube_objects.h"
#include "tests/run_moat.h"

using moat::testing::Run;
using moat::testing::run_moat;

namespace {

std::string corpus(const std::string& relative) {
  return std::string(MOAT_CORPUS_DIR) + "/np-guard__netpol-analyzer/" + relative;
}

using Line = std::tuple<std::string, std::string, std::string>;

/// moat's connection string without ICMP and ICMPv6, in netpol-analyzer's terms.
std::string without_icmp(const std::string& conn) {
  if (conn == "All Connections") return conn;
  std::vector<std::string> kept;
  std::stringstream ss(conn);
  std::string item;
  bool icmp = false;
  while (std::getline(ss, item, ',')) {
    // A protocol starts a new group; bare numbers continue the last one.
    if (!item.empty() && !std::isdigit(static_cast<unsigned char>(item[0])))
      icmp = item.rfind("ICMP", 0) == 0;
    if (!icmp) kept.push_back(item);
  }
  std::string out;
  for (const std::string& k : kept)
    out += (out.empty() ? "" : ",") + k;
  if (out == "SCTP 1-65535,TCP 1-65535,UDP 1-65535") return "All Connections";
  return out;
}

std::set<Line> parse_text(const std::string& text) {
  std::set<Line> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t arrow = line.find(" => "), colon = line.find(" : ");
    if (arrow == std::string::npos || colon == std::string::npos) continue;
    out.insert(
        {line.substr(0, arrow), line.substr(arrow + 4, colon - arrow - 4), line.substr(colon + 3)});
  }
  return out;
}

std::set<Line> parse_json(const std::string& text) {
  std::set<Line> out;
  nlohmann::json j = nlohmann::json::parse(text);
  REQUIRE(j.is_array());
  for (const auto& e : j)
    out.insert({e.at("src").get<std::string>(), e.at("dst").get<std::string>(),
                e.at("conn").get<std::string>()});
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Golden lines moat does not model (see the file comment).
std::set<Line> comparable_golden(std::set<Line> golden, const std::set<std::string>& host_network) {
  std::set<Line> out;
  for (const auto& [src, dst, conn] : golden) {
    if (src == "{ingress-controller}" || host_network.count(src) || host_network.count(dst))
      continue;
    out.insert({src, dst, conn});
  }
  return out;
}

std::set<Line> comparable_moat(const std::set<Line>& lines) {
  std::set<Line> out;
  for (const auto& [src, dst, conn] : lines) {
    std::string c = without_icmp(conn);
    if (!c.empty()) out.insert({src, dst, c});
  }
  return out;
}

std::string show(const std::set<Line>& a, const std::set<Line>& b) {
  std::string out;
  size_t n = 0;
  for (const Line& l : a)
    if (!b.count(l) && ++n <= 8)
      out += std::get<0>(l) + " => " + std::get<1>(l) + " : " + std::get<2>(l) + "\n";
  return out;
}

} // namespace

TEST_CASE("moat list gives the netpol-analyzer goldens' connections, as text and as JSON",
          "[list][corpus]") {
  const char* cases[] = {"acs-security-demos",
                         "minimal_test_in_ns",
                         "netpol_named_port_test",
                         "netpol_named_port_test_2",
                         "onlineboutique",
                         "test_with_named_ports",
                         "core_pods_without_host_ip",
                         "ipblockstest",
                         "ipblockstest_2",
                         "ipblockstest_3",
                         "ipblockstest_4",
                         "netpol-analysis-example-minimal",
                         // AdminNetworkPolicy and BaselineAdminNetworkPolicy tiers.
                         "anp_banp_blog_demo",
                         "anp_test_4",
                         "anp_test_ingress_egress_intersection"};
  for (const char* name : cases) {
    INFO(name);
    std::string dir = corpus(std::string("tests/") + name);
    // Host-network workloads, by the reader moat itself uses.
    moat::SourceManager sm;
    moat::Diagnostics diags;
    std::set<std::string> host_network;
    auto objs = moat::load_kube_objects({dir}, sm, diags);
    REQUIRE(objs);
    for (const moat::KubePod& p : objs->pods)
      if (p.host_network) host_network.insert(p.workload);
    for (const moat::KubeController& c : objs->controllers)
      if (c.host_network) host_network.insert(c.ep.name);
    std::string golden_path =
        corpus(std::string("test_outputs/connlist/") + name + "_connlist_output");
    std::set<Line> golden = comparable_golden(parse_text(read(golden_path + ".txt")), host_network);
    REQUIRE(golden.size() >= 1);
    std::string args = "list '" + dir + "' --exclude 'connlist_output*'";
    Run txt = run_moat(args, true);
    INFO(txt.out.substr(0, 3000));
    REQUIRE(txt.exit_code == 0);
    std::set<Line> listed = comparable_moat(parse_text(txt.out));
    INFO("golden, not listed:\n"
         << show(golden, listed) << "listed, not in the golden:\n"
         << show(listed, golden));
    CHECK(listed == golden);
    Run json = run_moat(args + " --format json");
    REQUIRE(json.exit_code == 0);
    CHECK(comparable_moat(parse_json(json.out)) == golden);
    std::ifstream golden_json(golden_path + ".json");
    if (golden_json)
      CHECK(comparable_golden(parse_json(read(golden_path + ".json")), host_network) == golden);
  }
}
