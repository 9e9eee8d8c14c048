// Diagnostics: mistakes in a user's policy, each with a stable code and a source range.
// They are created where the problem is found and rendered only in cli/.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/source.h"

namespace moat {

enum class Severity { Note, Warning, Error };

/// Stable diagnostic codes; the catalog lives in diagnostic_codes.def.
enum class Code {
#define X(code, sev, summary) code,
#include "ir/diagnostic_codes.def"
#undef X
};

std::string_view code_name(Code c);      // "E301"
std::string_view code_summary(Code c);   // catalog one-liner
Severity code_severity(Code c);          // default severity of the code
std::vector<Code> all_codes();
/// The code named `name` ("W504"), if there is one.
std::optional<Code> code_by_name(std::string_view name);

struct DiagNote {
  SourceRange range;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  Code code = Code::E101;
  std::string message;
  SourceRange range;
  std::vector<DiagNote> notes;
};

/// Collects diagnostics from every stage; the CLI renders them.
class Diagnostics {
public:
  /// Report with the code's default severity.
  Diagnostic& report(Code code, SourceRange range, std::string message);
  Diagnostic& report(Severity sev, Code code, SourceRange range, std::string message);
  bool has_errors() const { return errors_ > 0; }
  size_t error_count() const { return errors_; }
  size_t warning_count() const;
  const std::vector<Diagnostic>& all() const { return diags_; }
  std::vector<Diagnostic>& all() { return diags_; }
  /// Stop collecting after this many errors (a garbage file must not produce millions).
  static constexpr size_t kMaxErrors = 200;
  bool saturated() const { return errors_ >= kMaxErrors; }

  /// Switches a warning or note code off everywhere (`--disable W504`). Errors cannot be
  /// switched off: false for them.
  bool disable(Code code);
  /// An object of `file` starts at `line` (1-based) and switches `codes` off within itself
  /// (the annotation `moat.dev/disable`). Objects of a file are registered in order; a
  /// diagnostic belongs to the last object that starts at or before its line.
  void begin_object(FileId file, uint32_t line, std::vector<Code> codes);
  /// Warnings and notes dropped because their code was switched off.
  size_t suppressed() const { return suppressed_; }
  /// Moves `part`'s diagnostics after this one's, with its counts and object scopes, as if
  /// they had been reported here (load_paths parses files in parallel, each into its own
  /// collector with the same disabled codes, and appends the parts in file order). `part`
  /// must have scopes only for files this one has none for.
  void append(Diagnostics&& part);
  /// An empty collector with this one's switched-off codes: where such a part is collected.
  Diagnostics empty_like() const;
  /// Nothing reported or suppressed and no object scope: what a part collects from a file
  /// with no mistake and no `moat.dev/disable` annotation.
  bool blank() const { return diags_.empty() && suppressed_ == 0 && objects_.empty(); }

private:
  bool is_disabled(Severity sev, Code code, const SourceRange& range) const;

  struct ObjectScope {
    uint32_t line;
    std::vector<Code> codes;
  };
  std::vector<Diagnostic> diags_;
  size_t errors_ = 0;
  size_t suppressed_ = 0;
  std::vector<bool> disabled_;  // by code, --disable
  std::unordered_map<FileId, std::vector<ObjectScope>> objects_;  // files with a disabling object only
  Diagnostic dropped_;  // what report() hands back for a suppressed diagnostic
};

} // namespace moat
