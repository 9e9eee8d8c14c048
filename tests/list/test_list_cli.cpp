// `moat list` through the real binary on a small shop (tests/list/data/shop: web/frontend
// not isolated, db/postgres admitting the frontend on its named port and the monitor on
// ICMP echo and SCTP, ops/monitor reaching 10.0.0.0/8 except 10.1.0.0/16 on HTTPS, ops/idle
// reached by nothing): every format, the picture, the focus options, --explain,
// --exposure and bad input.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/run_moat.h"

using moat::testing::Run;
using moat::testing::run_moat;

namespace {

const std::string kShop = "list tests/list/data/shop ";

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

const char* kExpected =
    "0.0.0.0-255.255.255.255[External] => web/frontend[Deployment] : All Connections\n"
    "ops/monitor[Deployment] => 10.0.0.0-10.0.255.255[External] : TCP 443\n"
    "ops/monitor[Deployment] => 10.2.0.0-10.255.255.255[External] : TCP 443\n"
    "ops/monitor[Deployment] => db/postgres[Deployment] : ICMP 8,SCTP 9000-9010\n"
    "web/frontend[Deployment] => 0.0.0.0-9.255.255.255[External] : All Connections\n"
    "web/frontend[Deployment] => 10.0.0.0-10.0.255.255[External] : All Connections\n"
    "web/frontend[Deployment] => 10.1.0.0-10.1.255.255[External] : All Connections\n"
    "web/frontend[Deployment] => 10.2.0.0-10.255.255.255[External] : All Connections\n"
    "web/frontend[Deployment] => 11.0.0.0-255.255.255.255[External] : All Connections\n"
    "web/frontend[Deployment] => db/postgres[Deployment] : TCP 5432\n";

/// Well-formed XML, as far as a picture needs: every element closed in order, attributes
/// quoted, no stray '<' or '&' in text. Comments, the XML declaration and DOCTYPE skipped.
bool well_formed_xml(const std::string& x, std::string& why) {
  std::vector<std::string> open;
  size_t i = 0, roots = 0;
  while (i < x.size()) {
    if (x[i] == '&') {
      size_t semi = x.find(';', i);
      if (semi == std::string::npos || semi - i > 10)
        return why = "bare & at " + std::to_string(i), false;
      i = semi + 1;
      continue;
    }
    if (x[i] != '<') {
      ++i;
      continue;
    }
    if (x.compare(i, 4, "<!--") == 0) {
      size_t end = x.find("-->", i);
      if (end == std::string::npos) return why = "open comment", false;
      i = end + 3;
      continue;
    }
    if (x.compare(i, 2, "<?") == 0 || x.compare(i, 2, "<!") == 0) {
      size_t end = x.find('>', i);
      if (end == std::string::npos) return why = "open declaration", false;
      i = end + 1;
      continue;
    }
    size_t end = i + 1;
    char quote = 0;
    while (end < x.size() && (quote || x[end] != '>')) {
      if (quote && x[end] == quote)
        quote = 0;
      else if (!quote && (x[end] == '"' || x[end] == '\''))
        quote = x[end];
      else if (!quote && x[end] == '<')
        return why = "'<' inside a tag at " + std::to_string(end), false;
      ++end;
    }
    if (end >= x.size()) return why = "unterminated tag", false;
    std::string tag = x.substr(i + 1, end - i - 1);
    if (tag.empty()) return why = "empty tag", false;
    if (tag[0] == '/') {
      std::string name = tag.substr(1, tag.find_first_of(" \t\n") - 1);
      if (open.empty() || open.back() != name)
        return why = "</" + name + "> closes nothing open", false;
      open.pop_back();
    } else if (tag.back() != '/') {
      if (open.empty()) ++roots;
      open.push_back(tag.substr(0, tag.find_first_of(" \t\n")));
    } else if (open.empty()) {
      ++roots;
    }
    i = end + 1;
  }
  if (!open.empty()) return why = "<" + open.back() + "> never closed", false;
  if (roots != 1) return why = std::to_string(roots) + " root elements", false;
  return true;
}

/// The <title> of every <g class="KIND"> group of a Graphviz SVG, entities decoded.
std::vector<std::string> svg_titles(const std::string& svg, const std::string& kind) {
  std::vector<std::string> out;
  std::regex group("<g id=\"[^\"]*\" class=\"" + kind + "\">\\s*<title>([^<]*)</title>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), group); it != std::sregex_iterator();
       ++it) {
    std::string t = (*it)[1];
    for (auto [from, to] : {std::pair<std::string, std::string>{"&#45;", "-"},
                            {"&gt;", ">"},
                            {"&lt;", "<"},
                            {"&quot;", "\""},
                            {"&amp;", "&"}}) {
      for (size_t p; (p = t.find(from)) != std::string::npos;)
        t.replace(p, from.size(), to);
    }
    out.push_back(t);
  }
  return out;
}

} // namespace

TEST_CASE("list: the shop's connections as text, JSON, CSV and Markdown", "[list][cli]") {
  Run txt = run_moat(kShop);
  INFO(txt.out);
  CHECK(txt.exit_code == 0);
  CHECK(txt.out == kExpected);
  Run json = run_moat(kShop + "--format json");
  REQUIRE(json.exit_code == 0);
  nlohmann::json j = nlohmann::json::parse(json.out);
  REQUIRE(j.is_array());
  CHECK(j.size() == 10);
  CHECK(j[3] == nlohmann::json{{"src", "ops/monitor[Deployment]"},
                               {"dst", "db/postgres[Deployment]"},
                               {"conn", "ICMP 8,SCTP 9000-9010"}});
  Run csv = run_moat(kShop + "--format csv");
  CHECK(csv.exit_code == 0);
  CHECK(csv.out.rfind("src,dst,conn\n", 0) == 0);
  CHECK(
      has(csv.out, "ops/monitor[Deployment],db/postgres[Deployment],\"ICMP 8,SCTP 9000-9010\"\n"));
  Run md = run_moat(kShop + "--format md");
  CHECK(md.exit_code == 0);
  CHECK(md.out.rfind("| src | dst | conn |\n|-----|-----|------|\n", 0) == 0);
  CHECK(has(md.out, "| web/frontend[Deployment] | db/postgres[Deployment] | TCP 5432 |\n"));
}

TEST_CASE("list: DOT and SVG pictures, a node per workload and an edge per entry",
          "[list][cli][graph]") {
  Run dot = run_moat(kShop + "--format dot");
  INFO(dot.out);
  REQUIRE(dot.exit_code == 0);
  CHECK(dot.out.rfind("digraph {", 0) == 0);
  for (const char* ns : {"label=\"web\"", "label=\"db\"", "label=\"ops\""})
    CHECK(has(dot.out, ns));
  // The idle workload has no connection: drawn, dashed, and said so.
  CHECK(
      has(dot.out,
          "\"ops/idle[Deployment]\" [label=\"idle[Deployment]\\n(no connections)\" style=dashed"));
  CHECK(has(dot.out, "\"ops/monitor[Deployment]\" -> \"db/postgres[Deployment]\" [label=\"ICMP "
                     "8,SCTP 9000-9010\""));

  Run svg = run_moat(kShop + "--format svg", true);
  INFO(svg.out.substr(0, 2000));
  REQUIRE(svg.exit_code == 0);
  std::string why;
  CHECK(well_formed_xml(svg.out, why));
  INFO(why);
  CHECK(has(svg.out, "<svg"));
  std::vector<std::string> nodes = svg_titles(svg.out, "node"), edges = svg_titles(svg.out, "edge");
  std::set<std::string> node_set(nodes.begin(), nodes.end());
  for (const char* w : {"web/frontend[Deployment]", "db/postgres[Deployment]",
                        "ops/monitor[Deployment]", "ops/idle[Deployment]",
                        "0.0.0.0-255.255.255.255[External]", "10.0.0.0-10.0.255.255[External]"})
    CHECK(node_set.count(w) == 1);
  // One edge per entry of the text listing, with its ends.
  std::set<std::string> want_edges;
  std::regex line("([^ \n]+) => ([^ \n]+) : [^\n]*");
  std::string expected = kExpected;
  for (auto it = std::sregex_iterator(expected.begin(), expected.end(), line);
       it != std::sregex_iterator(); ++it)
    want_edges.insert((*it)[1].str() + "->" + (*it)[2].str());
  CHECK(edges.size() == want_edges.size());
  CHECK(std::set<std::string>(edges.begin(), edges.end()) == want_edges);
  // A malformed picture is caught by the checker itself.
  CHECK_FALSE(well_formed_xml("<svg><g></svg>", why));
  CHECK_FALSE(well_formed_xml("<svg><text>a & b</text></svg>", why));
}

TEST_CASE("list: two focused workloads give every line of either, each once", "[list][cli]") {
  // The focus walks the focused rows and columns only (not every pair): a pair between two
  // focused workloads must still appear once, and nothing else may go missing.
  Run r = run_moat(kShop + "--focus-workload postgres --focus-workload web/frontend");
  CHECK(r.exit_code == 0);
  std::string want;
  for (size_t at = 0, nl; (nl = std::string(kExpected).find('\n', at)) != std::string::npos; at = nl + 1) {
    std::string line = std::string(kExpected).substr(at, nl + 1 - at);
    if (has(line, "postgres") || has(line, "frontend")) want += line;
  }
  CHECK(r.out == want);
  Run eg = run_moat(kShop + "--focus-workload postgres --focus-workload web/frontend --focus-direction egress");
  CHECK(eg.out.find("web/frontend[Deployment] => db/postgres[Deployment] : TCP 5432\n") != std::string::npos);
  CHECK(eg.out.find("ops/monitor") == std::string::npos);
}

TEST_CASE("list: --focus-workload and --focus-direction", "[list][cli]") {
  Run r = run_moat(kShop + "--focus-workload postgres");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "ops/monitor[Deployment] => db/postgres[Deployment] : ICMP 8,SCTP 9000-9010\n"
                 "web/frontend[Deployment] => db/postgres[Deployment] : TCP 5432\n");
  Run in = run_moat(kShop + "--focus-workload web/frontend --focus-direction ingress");
  CHECK(in.out ==
        "0.0.0.0-255.255.255.255[External] => web/frontend[Deployment] : All Connections\n");
  Run eg = run_moat(kShop + "--focus-workload 'ops/monitor[Deployment]' --focus-direction egress");
  CHECK(eg.out == "ops/monitor[Deployment] => 10.0.0.0-10.0.255.255[External] : TCP 443\n"
                  "ops/monitor[Deployment] => 10.2.0.0-10.255.255.255[External] : TCP 443\n"
                  "ops/monitor[Deployment] => db/postgres[Deployment] : ICMP 8,SCTP 9000-9010\n");
  Run unknown = run_moat(kShop + "--focus-workload nosuch", true);
  CHECK(unknown.exit_code == 2);
  CHECK(has(unknown.out, "error[E900]: --focus-workload 'nosuch' names no workload"));
  Run lone = run_moat(kShop + "--focus-direction ingress", true);
  CHECK(lone.exit_code == 2);
  CHECK(has(lone.out, "--focus-workload"));
}

TEST_CASE("list --explain: every pair's verdicts with the deciding rules at file:line",
          "[list][cli]") {
  Run r = run_moat(kShop + "--explain --focus-workload idle --focus-direction ingress");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  // Denied pairs are listed too, with the isolation that denies them.
  CHECK(has(r.out, "web/frontend[Deployment] => ops/idle[Deployment] : No Connections\n"));
  CHECK(has(r.out, "denied: isolated and no allow rule matched"));
  CHECK(has(r.out, "tests/list/data/shop/policy.moat:11:"));
  Run pg = run_moat(kShop + "--explain --focus-workload postgres --focus-direction ingress");
  INFO(pg.out);
  // The frontend's port is allowed by the db rule at line 7; the rest denied by isolation.
  CHECK(has(
      pg.out,
      "web/frontend[Deployment] => db/postgres[Deployment] : TCP 5432\n    TCP 5432: allowed\n"));
  CHECK(has(pg.out, "policy.moat:7:"));
  Run bad = run_moat(kShop + "--explain --format csv", true);
  CHECK(bad.exit_code == 2);
  CHECK(has(bad.out, "error[E901]"));
}

TEST_CASE("list --explain --format json: every pair with each piece's decisions", "[list][cli]") {
  Run j = run_moat(kShop + "--explain --format json --focus-workload postgres --focus-direction ingress");
  INFO(j.out);
  REQUIRE(j.exit_code == 0);
  nlohmann::json doc = nlohmann::json::parse(j.out);
  REQUIRE(doc.is_array());
  bool saw_allowed = false, saw_denied_pair = false;
  for (const auto& e : doc) {
    REQUIRE(e.contains("explanation"));
    if (e["src"] == "web/frontend[Deployment]") {
      CHECK(e["conn"] == "TCP 5432");
      for (const auto& p : e["explanation"])
        if (p["conn"] == "TCP 5432") {
          saw_allowed = p["allowed"] == true;
          CHECK(p["ingress"]["why"] == "allowed");
          CHECK(p["ingress"]["rules"][0]["location"].get<std::string>().find("policy.moat:7:") !=
                std::string::npos);
        }
    }
    // A pair with no allowed connection is still listed, with the isolation that denies it.
    if (e["conn"] == "No Connections") {
      saw_denied_pair = true;
      CHECK(e["explanation"][0]["allowed"] == false);
      CHECK(!e["explanation"][0]["ingress"]["isolations"].empty());
    }
  }
  CHECK(saw_allowed);
  CHECK(saw_denied_pair);
}

TEST_CASE("list --exposure: what endpoints that do not exist yet may reach", "[list][cli]") {
  Run r = run_moat(kShop + "--exposure");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "Exposure Analysis Result:"));
  // The frontend is not isolated: any new pod anywhere reaches it, and it reaches them.
  CHECK(has(r.out, "web/frontend[Deployment] \t<= \tentire-cluster : All Connections\n"));
  CHECK(has(r.out, "web/frontend[Deployment] \t=> \tentire-cluster : All Connections\n"));
  // A new frontend pod in web would reach postgres on its port; a new pod elsewhere would not.
  CHECK(has(r.out, "db/postgres[Deployment] \t<= \tweb/[pod with {app: frontend}] : TCP 5432\n"));
  CHECK_FALSE(has(r.out, "db/postgres[Deployment] \t<= \tentire-cluster"));
  CHECK_FALSE(has(r.out, "ops/idle[Deployment] \t<="));
  Run j = run_moat(kShop + "--exposure --format json");
  REQUIRE(j.exit_code == 0);
  nlohmann::json doc = nlohmann::json::parse(j.out);
  CHECK(doc["connlist_results"].size() == 10);
  CHECK(doc["exposure_results"]["ingress_exposure"].size() >= 2);
}

TEST_CASE("list --exposure: an admin rule's peer is a representative too", "[list][cli][admin]") {
  // Before, only NetworkPolicy-tier peers made representatives, so an AdminNetworkPolicy
  // opening ops/idle to a namespace that does not exist yet went unreported.
  Run r = run_moat(kShop + "tests/list/data/shop-admin --exposure");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "ops/idle[Deployment] \t<= \taudit/[all pods] : TCP 8443\n"));
  CHECK_FALSE(has(r.out, "ops/idle[Deployment] \t<= \tentire-cluster"));
}

TEST_CASE("list: bad input and empty inputs", "[list][cli]") {
  Run fmt = run_moat(kShop + "--format xml", true);
  CHECK(fmt.exit_code == 2);
  Run missing = run_moat("list tests/list/data/nosuch", true);
  CHECK(missing.exit_code == 2);
  CHECK(has(missing.out, "E004"));
  Run none = run_moat("list tests/list/data/shop/policy.moat", true);
  CHECK(none.exit_code == 0);
  CHECK(has(none.out, "warning[W900]"));
}

TEST_CASE("list --inventory: the workloads kept apart from the policies are listed too",
          "[list][cli]") {
  Run r =
      run_moat("list tests/workloads/data/shop/v2 --inventory tests/workloads/data/shop/cluster");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "shop/cart[Deployment] => payments/payments[Deployment] : TCP 8443\n"));
  CHECK(has(r.out, "payments/payments[Deployment] => shop/cart[Deployment] : All Connections\n"));
  // Without the inventory the policies alone name no workload.
  Run alone = run_moat("list tests/workloads/data/shop/v2", true);
  CHECK(alone.exit_code == 0);
  CHECK(has(alone.out, "warning[W900]"));
  CHECK_FALSE(has(alone.out, "=>"));
}

TEST_CASE("list --ipv6: the IPv6 space as its own range", "[list][cli]") {
  Run r = run_moat(kShop + "--ipv6");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] => "
                   "web/frontend[Deployment] : All Connections\n"));
  CHECK(has(r.out, "web/frontend[Deployment] => "
                   "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections\n"));
  // The monitor may reach IPv4 blocks only.
  CHECK_FALSE(has(r.out, "ops/monitor[Deployment] => ::"));
}
