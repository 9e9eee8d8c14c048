#include "ir/diagnostic.h"

#include <algorithm>
#include <iterator>

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

std::optional<Code> code_by_name(std::string_view name) {
  for (const Entry& e : kCatalog)
    if (e.name == name) return e.code;
  return std::nullopt;
}

bool Diagnostics::disable(Code code) {
  if (code_severity(code) == Severity::Error) return false;
  size_t i = static_cast<size_t>(code);
  if (disabled_.size() <= i) disabled_.resize(std::size(kCatalog), false);
  disabled_[i] = true;
  return true;
}

void Diagnostics::begin_object(FileId file, uint32_t line, std::vector<Code> codes) {
  // Only objects that switch something off are kept, but every start ends the previous
  // object's scope: a scope with no codes marks where the disabling object ended.
  auto it = objects_.find(file);
  if (codes.empty() && it == objects_.end()) return;
  std::vector<ObjectScope>& scopes = objects_[file];
  if (!scopes.empty() && scopes.back().line >= line) {
    // Out of order (should not happen: the front end reads a file top to bottom): keep the
    // list sorted so lookups stay correct.
    scopes.push_back(ObjectScope{line, std::move(codes)});
    std::stable_sort(scopes.begin(), scopes.end(), [](const ObjectScope& a, const ObjectScope& b) { return a.line < b.line; });
    return;
  }
  if (codes.empty() && !scopes.empty() && scopes.back().codes.empty()) return;  // already closed
  scopes.push_back(ObjectScope{line, std::move(codes)});
}

bool Diagnostics::is_disabled(Severity sev, Code code, const SourceRange& range) const {
  if (sev == Severity::Error) return false;
  size_t i = static_cast<size_t>(code);
  if (i < disabled_.size() && disabled_[i]) return true;
  if (!range.known() || objects_.empty()) return false;
  auto it = objects_.find(range.file);
  if (it == objects_.end()) return false;
  const std::vector<ObjectScope>& scopes = it->second;
  auto after = std::upper_bound(scopes.begin(), scopes.end(), range.line,
                                [](uint32_t line, const ObjectScope& s) { return line < s.line; });
  if (after == scopes.begin()) return false;
  const std::vector<Code>& codes = std::prev(after)->codes;
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

Diagnostic& Diagnostics::report(Code code, SourceRange range, std::string message) {
  return report(code_severity(code), code, range, std::move(message));
}

Diagnostic& Diagnostics::report(Severity sev, Code code, SourceRange range, std::string message) {
  if (is_disabled(sev, code, range)) {
    ++suppressed_;
    dropped_ = Diagnostic{sev, code, {}, range, {}};
    return dropped_;
  }
  if (sev == Severity::Error) ++errors_;
  diags_.push_back(Diagnostic{sev, code, std::move(message), range, {}});
  return diags_.back();
}

void Diagnostics::append(Diagnostics&& part) {
  if (diags_.empty()) diags_ = std::move(part.diags_);
  else diags_.insert(diags_.end(), std::make_move_iterator(part.diags_.begin()), std::make_move_iterator(part.diags_.end()));
  errors_ += part.errors_;
  suppressed_ += part.suppressed_;
  for (auto& [file, scopes] : part.objects_) {
    std::vector<ObjectScope>& into = objects_[file];
    into.insert(into.end(), std::make_move_iterator(scopes.begin()), std::make_move_iterator(scopes.end()));
  }
  part = Diagnostics();
}

Diagnostics Diagnostics::empty_like() const {
  Diagnostics part;
  part.disabled_ = disabled_;
  return part;
}

size_t Diagnostics::warning_count() const {
  size_t n = 0;
  for (const Diagnostic& d : diags_) n += d.severity == Severity::Warning;
  return n;
}

} // namespace moat
