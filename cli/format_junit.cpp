// JUnit XML writer (see format_junit.h), in the shape Jenkins, GitLab and the GitHub
// test-report actions accept: testsuites > testsuite > testcase with failure/error.
#include "cli/format_junit.h"

#include <fmt/format.h>

namespace moat::cli {

std::string xml_escape_text(const std::string& in) {
  std::string out;
  for (unsigned char c : in) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default:
      // XML 1.0 forbids most control characters, even escaped.
      if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') out += '?';
      else out += static_cast<char>(c);
    }
  }
  return out;
}

std::string junit_document(const std::string& suite, const std::vector<JunitCase>& cases) {
  size_t failures = 0, errors = 0;
  double total = 0;
  for (const JunitCase& c : cases) {
    failures += c.failed && !c.error;
    errors += c.error;
    total += c.seconds;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                     xml_escape_text(suite), cases.size(), failures, errors, total);
  out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                     xml_escape_text(suite), cases.size(), failures, errors, total);
  for (const JunitCase& c : cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml_escape_text(c.classname),
                       xml_escape_text(c.name), c.seconds);
    if (!c.failed && !c.error && c.output.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    if (c.failed || c.error) {
      const char* tag = c.error ? "error" : "failure";
      out += fmt::format("      <{} message=\"{}\">{}</{}>\n", tag, xml_escape_text(c.message), xml_escape_text(c.detail), tag);
    }
    if (!c.output.empty()) out += fmt::format("      <system-out>{}</system-out>\n", xml_escape_text(c.output));
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

} // namespace moat::cli
