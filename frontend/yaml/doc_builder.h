// The event sink both document builders feed (libfyaml events, a simdjson walk): appends
// nodes to a Tree's arena in one pass, checking nesting depth and duplicate keys as each
// collection closes. Internal to doc_build_*.cpp.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/yaml/doc.h"

namespace moat::doc {

class Builder {
public:
  /// Nodes go into `tree`'s arena; their marks are relative to the chunk, diagnostics add
  /// `line_offset` (0-based) to them.
  Builder(Tree& tree, FileId file, uint32_t line_offset, Diagnostics& diags, Code code = Code::E201);

  /// A scalar; `plain` when written without quotes or tag (then `~`, `null` and nothing are
  /// null, as YAML 1.2's core schema says). `line` kNoLine when it has no token.
  uint32_t scalar(std::string_view text, bool plain, uint32_t line, uint32_t column);
  /// Opens a sequence or map; false (with E201) past kMaxNesting.
  bool open(NodeType type, uint32_t line, uint32_t column);
  /// Closes the innermost collection and returns its node.
  uint32_t close();
  /// Adds an existing node (an alias's anchor) as the next child of the open collection.
  void add(uint32_t node);
  /// The root of the document just finished (the one value added at depth 0).
  bool has_root() const { return root_ != kNone; }
  uint32_t take_root();
  /// Records the first fatal problem (E201, or the code given) at a 0-based position of the chunk (line
  /// kNoLine: the chunk's first line); building stops there.
  void error(uint32_t line, uint32_t column, std::string message);
  bool failed() const { return failed_.has_value(); }
  /// Ends the chunk. Failed: reports the fatal problem and removes everything added since
  /// construction (a chunk that does not parse leaves nothing), returns false. Otherwise
  /// reports the duplicate keys and returns true. `report` false: reports nothing (the JSON
  /// builder retries through YAML, which says it again).
  bool finish(bool report = true);

private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Open {
    uint32_t node;
    size_t first_pending;  // where its children start in pending_
  };
  uint32_t push_slot(const Arena::Slot& s);
  void child(uint32_t node);
  void check_duplicate_keys(const uint32_t* kv, size_t pairs);
  struct Problem {
    uint32_t line, column;
    std::string message;
  };
  void report(const Problem& p);

  Arena& arena_;
  FileId file_;
  uint32_t line_offset_;
  Code code_;
  Diagnostics& diags_;
  size_t slots_at_start_, kids_at_start_, chars_at_start_;
  std::vector<Open> open_;
  std::vector<uint32_t> pending_;  // children of the open collections, innermost last
  uint32_t root_ = kNone;
  std::optional<Problem> failed_;
  std::vector<Problem> duplicates_;
};

} // namespace moat::doc
