// SARIF 2.1.0 and JUnit output: the fields GitHub code scanning and JUnit readers require,
// and fingerprints that survive renumbering.
#include <catch2/catch.hpp>

#include <set>

#include "cli/format_junit.h"
#include "cli/format_sarif.h"

using namespace moat;
using namespace moat::cli;

TEST_CASE("SARIF: one run, rules = the code catalog, results with physical locations") {
  SourceManager sm;
  FileId f = sm.add("policies/a.moat", "allow x -> y;\nallow y -> z;\n");
  Diagnostic d{Severity::Warning, Code::W501, "allow rule #3 is shadowed by deny rule #7", SourceRange::at(f, 2, 3, 5),
               {DiagNote{SourceRange::at(f, 1, 1), "shadowed by deny rule #7"}}};
  SarifResult proof;
  proof.code = Code::E601;
  proof.message = "prove isolated a, b: failed";
  proof.range = SourceRange{};  // unknown location: falls back to the first input
  nlohmann::json log = sarif_log({sarif_result(d), proof}, sm, {"policies"});
  CHECK(log["version"] == "2.1.0");
  CHECK(log["$schema"].get<std::string>().find("sarif-2.1.0") != std::string::npos);
  REQUIRE(log["runs"].size() == 1);
  const nlohmann::json& run = log["runs"][0];
  std::set<std::string> ids;
  for (const auto& r : run["tool"]["driver"]["rules"]) {
    CHECK(ids.insert(r["id"].get<std::string>()).second);
    CHECK(!r["shortDescription"]["text"].get<std::string>().empty());
  }
  CHECK(ids.count("W501"));
  CHECK(ids.count("E601"));
  REQUIRE(run["results"].size() == 2);
  for (const auto& res : run["results"]) {
    std::string id = res["ruleId"];
    CHECK(run["tool"]["driver"]["rules"][res["ruleIndex"].get<size_t>()]["id"] == id);
    CHECK(!res["message"]["text"].get<std::string>().empty());
    const auto& loc = res["locations"][0]["physicalLocation"];
    CHECK(!loc["artifactLocation"]["uri"].get<std::string>().empty());
    CHECK(loc["region"]["startLine"].get<int>() >= 1);
    CHECK(loc["region"]["startColumn"].get<int>() >= 1);
    CHECK(res["partialFingerprints"]["moatFingerprint/v1"].get<std::string>().size() == 16);
  }
  const auto& first = run["results"][0];
  CHECK(first["level"] == "warning");
  CHECK(first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policies/a.moat");
  CHECK(first["locations"][0]["physicalLocation"]["region"]["startLine"] == 2);
  CHECK(first["locations"][0]["physicalLocation"]["region"]["startColumn"] == 3);
  CHECK(first["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 1);
  CHECK(run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policies");
}

TEST_CASE("SARIF: fingerprints ignore rule numbers and positions, not the finding") {
  SarifResult a{Code::W502, Severity::Warning, "redundant allow: rule #3 at a.moat:4:2 covers it", {}, {}, ""};
  SarifResult b = a;
  b.message = "redundant allow: rule #12 at a.moat:40:9 covers it";
  SarifResult c = a;
  c.message = "redundant deny: rule #3 at a.moat:4:2 covers it";
  CHECK(sarif_fingerprint(a, "a.moat") == sarif_fingerprint(b, "a.moat"));
  CHECK(sarif_fingerprint(a, "a.moat") != sarif_fingerprint(c, "a.moat"));
  CHECK(sarif_fingerprint(a, "a.moat") != sarif_fingerprint(a, "b.moat"));
}

TEST_CASE("SARIF: URIs are relative and percent-encoded") {
  CHECK(sarif_uri("dir/a b.yaml") == "dir/a%20b.yaml");
  CHECK(sarif_uri("./x.moat") == "x.moat");
}

TEST_CASE("JUnit: failures and errors counted, text escaped") {
  std::vector<JunitCase> cases = {
      {"a.moat", "prove isolated a, b", 0.5, false, false, "", ""},
      {"a.moat", "prove x egress within {<dns>}", 0.25, true, false, "a & b", "detail \"quoted\""},
      {"a.moat", "prove y reachable from z", 1.0, false, true, "solver timeout", ""},
  };
  std::string doc = junit_document("moat check", cases);
  CHECK(doc.find("tests=\"3\" failures=\"1\" errors=\"1\"") != std::string::npos);
  CHECK(doc.find("name=\"prove x egress within {&lt;dns&gt;}\"") != std::string::npos);
  CHECK(doc.find("<failure message=\"a &amp; b\">detail &quot;quoted&quot;</failure>") != std::string::npos);
  CHECK(doc.find("<error message=\"solver timeout\">") != std::string::npos);
  CHECK(doc.find("name=\"prove isolated a, b\" time=\"0.500\"/>") != std::string::npos);
}
