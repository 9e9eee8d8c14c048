// JUnit XML output (`--format junit` of check and diff): one <testcase> per proof (check)
// or per diff direction, a <failure> with the counterexample for the ones that fail, so CI
// systems that read JUnit show moat's findings as failed tests.
#pragma once
#include <string>
#include <vector>

namespace moat::cli {

struct JunitCase {
  std::string classname;  // the source file (or "moat")
  std::string name;       // the statement as written
  double seconds = 0;
  bool failed = false;
  bool error = false;       // could not be decided (solver timeout): <error>, not <failure>
  std::string message;      // one line
  std::string detail;       // the counterexample and deciding rules
  std::string output;       // <system-out>: findings that do not fail the run (warnings without --werror)
};

/// A complete document: <testsuites><testsuite name=...>cases</testsuite></testsuites>.
std::string junit_document(const std::string& suite, const std::vector<JunitCase>& cases);

std::string xml_escape_text(const std::string& in);

} // namespace moat::cli
