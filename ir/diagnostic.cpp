#include "ir/diagnostic.h"

namespace moat {

namespace {
struct Entry {
  Code code;
  std::string_view name;
  Severity sev;
  std::string_view summary;
};
constexpr Entry kCatalog[] = {
#define X(code, sev, summary) {Code::code, #code, Severity::sev, summary},
#include "ir/diagnostic_codes.def"
#undef X
};
} // namespace

std::string_view code_name(Code c) { return kCatalog[static_cast<size_t>(c)].name; }
std::string_view code_summary(Code c) { return kCatalog[static_cast<size_t>(c)].summary; }
Severity code_severity(Code c) { return kCatalog[static_cast<size_t>(c)].sev; }

std::vector<Code> all_codes() {
  std::vector<Code> out;
  for (const Entry& e : kCatalog) out.push_back(e.code);
  return out;
}

Diagnostic& Diagnostics::report(Code code, SourceRange range, std::string message) {
  return report(code_severity(code), code, range, std::move(message));
}

Diagnostic& Diagnostics::report(Severity sev, Code code, SourceRange range, std::string message) {
  if (sev == Severity::Error) ++errors_;
  diags_.push_back(Diagnostic{sev, code, std::move(message), range, {}});
  return diags_.back();
}

size_t Diagnostics::warning_count() const {
  size_t n = 0;
  for (const Diagnostic& d : diags_) n += d.severity == Severity::Warning;
  return n;
}

} // namespace moat
