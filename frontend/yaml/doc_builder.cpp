// Appends nodes to a Tree's arena in document order (see doc_builder.h). Children are kept
// on a pending stack while their collection is open and copied next to each other when it
// closes, so every collection's items are one contiguous run of `kids`.
#include "frontend/yaml/doc_builder.h"

#include <algorithm>

namespace moat::doc {

namespace {

/// YAML 1.2 core schema: these plain scalars are null (yaml-cpp and the readers agree).
bool plain_null(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

} // namespace

Builder::Builder(Tree& tree, FileId file, uint32_t line_offset, Diagnostics& diags, Code code)
    : arena_(*tree.arena), file_(file), line_offset_(line_offset), code_(code), diags_(diags),
      slots_at_start_(arena_.slots.size()), kids_at_start_(arena_.kids.size()), chars_at_start_(arena_.chars.size()) {}

uint32_t Builder::push_slot(const Arena::Slot& s) {
  arena_.slots.push_back(s);
  return static_cast<uint32_t>(arena_.slots.size() - 1);
}

void Builder::child(uint32_t node) {
  if (open_.empty()) {
    root_ = node;
    return;
  }
  pending_.push_back(node);
}

uint32_t Builder::scalar(std::string_view text, bool plain, uint32_t line, uint32_t column) {
  Arena::Slot s{NodeType::Scalar, plain, line, column, 0, 0};
  if (plain && plain_null(text)) {
    s.type = NodeType::Null;
  } else {
    s.first = static_cast<uint32_t>(arena_.chars.size());
    s.count = static_cast<uint32_t>(text.size());
    arena_.chars.append(text);
  }
  uint32_t n = push_slot(s);
  child(n);
  return n;
}

bool Builder::open(NodeType type, uint32_t line, uint32_t column) {
  if (open_.size() >= kMaxNesting) {
    error(line, column, "nesting too deep: more than " + std::to_string(kMaxNesting) + " levels; not parsed");
    return false;
  }
  uint32_t n = push_slot(Arena::Slot{type, false, line, column, 0, 0});
  open_.push_back(Open{n, pending_.size()});
  return true;
}

uint32_t Builder::close() {
  Open o = open_.back();
  open_.pop_back();
  size_t n = pending_.size() - o.first_pending;
  Arena::Slot& s = arena_.slots[o.node];
  s.first = static_cast<uint32_t>(arena_.kids.size());
  if (s.type == NodeType::Map) {
    // A key without a value (the parser stopped) cannot happen: the parser pairs them.
    s.count = static_cast<uint32_t>(n / 2);
    check_duplicate_keys(pending_.data() + o.first_pending, s.count);
  } else {
    s.count = static_cast<uint32_t>(n);
  }
  arena_.kids.insert(arena_.kids.end(), pending_.begin() + static_cast<std::ptrdiff_t>(o.first_pending), pending_.end());
  pending_.resize(o.first_pending);
  child(o.node);
  return o.node;
}

void Builder::add(uint32_t node) { child(node); }

uint32_t Builder::take_root() {
  uint32_t r = root_;
  root_ = kNone;
  return r;
}

void Builder::check_duplicate_keys(const uint32_t* kv, size_t pairs) {
  if (pairs < 2) return;
  auto key = [&](size_t i) { return Node(&arena_, kv[2 * i]); };
  auto note = [&](size_t first, size_t dup) {
    Node k = key(dup);
    Mark f = key(first).Mark(), d = k.Mark();
    // Reported, not fatal: the tree stays whole and lookups find the first value.
    duplicates_.push_back(Problem{static_cast<uint32_t>(d.line), static_cast<uint32_t>(d.column),
          "duplicate key '" + std::string(k.Scalar()) + "' in this mapping" +
              (f.is_null() ? std::string() : " (first at line " + std::to_string(line_offset_ + f.line + 1) + ")")});
  };
  if (pairs <= 16) {
    for (size_t i = 1; i < pairs; ++i) {
      if (!key(i).IsScalar()) continue;
      for (size_t j = 0; j < i; ++j)
        if (key(j).IsScalar() && key(j).Scalar() == key(i).Scalar()) {
          note(j, i);
          break;
        }
    }
    return;
  }
  // Large maps (labels of a big inventory, a schema): sort positions by key, stable, so the
  // first of equal keys stays in front.
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < pairs; ++i)
    if (key(i).IsScalar()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return key(a).Scalar() < key(b).Scalar(); });
  size_t run = 0;  // the first of the current run of equal keys
  for (size_t i = 1; i < order.size(); ++i) {
    if (key(order[i]).Scalar() == key(order[run]).Scalar())
      note(order[run], order[i]);
    else
      run = i;
  }
}

bool Builder::finish(bool report_problems) {
  if (failed_) {
    if (report_problems) report(*failed_);
    arena_.slots.resize(slots_at_start_);
    arena_.kids.resize(kids_at_start_);
    arena_.chars.resize(chars_at_start_);
    open_.clear();
    pending_.clear();
    root_ = kNone;
    return false;
  }
  if (report_problems)
    for (const Problem& p : duplicates_) report(p);
  return true;
}

void Builder::error(uint32_t line, uint32_t column, std::string message) {
  if (!failed_) failed_ = Problem{line, column, std::move(message)};
}

void Builder::report(const Problem& p) {
  SourceRange at = p.line == Arena::kNoLine ? SourceRange::at(file_, line_offset_ + 1, 1)
                                            : SourceRange::at(file_, line_offset_ + p.line + 1, p.column + 1);
  diags_.report(code_, at, p.message);
}

} // namespace moat::doc
