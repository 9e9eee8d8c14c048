// A read-only document tree, built once from YAML (libfyaml events, doc_build_yaml.cpp) or
// JSON (simdjson, doc_build_json.cpp): every node of a file in one arena (a node vector, a
// child-index vector and one character buffer), each node and map key with its line and
// column. Node offers the subset of yaml-cpp's doc::Node the readers use; lookups never
// insert, and a missing key or index is an undefined node.
#pragma once
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat::doc {

enum class NodeType : uint8_t { Undefined, Null, Scalar, Sequence, Map };

/// A position in the parsed text, 0-based; line < 0 when the node has none (an empty value
/// such as `key:` has no token of its own).
struct Mark {
  int line = -1, column = -1;
  bool is_null() const { return line < 0; }
};

/// The storage of every node of one file (internal to doc*.cpp; Nodes point into it, so it
/// lives as long as they are used and never moves: Tree holds it behind a unique_ptr).
struct Arena {
  struct Slot {
    NodeType type;
    bool plain;              // a scalar written without quotes or tag: YAML resolution applies
    uint32_t line, column;   // 0-based; kNoLine when the node has no token
    uint32_t first, count;   // scalar: bytes in `chars`; sequence: items in `kids`; map: pairs in `kids`
  };
  static constexpr uint32_t kNoLine = UINT32_MAX;
  std::vector<Slot> slots;
  std::vector<uint32_t> kids;  // sequence items; map keys and values alternating
  std::string chars;           // scalar text
};

class Node;

/// What iterating a Node yields: the item itself for a sequence; for a map, `first` (the key)
/// and `second` (the value), as yaml-cpp's iterator proxies have.
struct Item;

class Iterator {
public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Item;
  Iterator(const Arena* arena, uint32_t parent, uint32_t pos) : arena_(arena), parent_(parent), pos_(pos) {}
  Item operator*() const;
  /// `it->first`, as with yaml-cpp's iterators (the item lives in the returned proxy).
  struct Arrow;
  Arrow operator->() const;
  Iterator& operator++() {
    ++pos_;
    return *this;
  }
  bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

private:
  const Arena* arena_;
  uint32_t parent_, pos_;
};

class Node {
public:
  Node() = default;  // undefined
  Node(const Arena* arena, uint32_t index) : arena_(arena), index_(index) {}

  NodeType Type() const { return arena_ ? slot().type : NodeType::Undefined; }
  bool IsDefined() const { return arena_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  bool IsNull() const { return Type() == NodeType::Null; }
  bool IsScalar() const { return Type() == NodeType::Scalar; }
  bool IsSequence() const { return Type() == NodeType::Sequence; }
  bool IsMap() const { return Type() == NodeType::Map; }
  /// A scalar without quotes or an explicit tag (`80`, `true`: their meaning depends on the
  /// reader); false for anything else.
  bool IsPlain() const { return IsScalar() && slot().plain; }
  /// The text of a scalar; empty for every other kind of node.
  std::string_view Scalar() const;
  /// Items of a sequence, pairs of a map; 0 otherwise.
  size_t size() const { return IsSequence() || IsMap() ? slot().count : 0; }
  /// The value under `key` of a map (the first, if the key was repeated); undefined when
  /// absent or when this is not a map. Never inserts.
  Node operator[](std::string_view key) const;
  Node operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  /// Item `i` of a sequence; undefined past the end or when this is not a sequence.
  Node operator[](size_t i) const;
  Node operator[](int i) const { return i < 0 ? Node() : (*this)[static_cast<size_t>(i)]; }
  doc::Mark Mark() const;

  Iterator begin() const { return Iterator(arena_, index_, 0); }
  Iterator end() const { return Iterator(arena_, index_, static_cast<uint32_t>(size())); }

  /// The same node of the same tree (aliases name one node twice).
  bool is(const Node& o) const { return arena_ == o.arena_ && index_ == o.index_; }

private:
  const Arena::Slot& slot() const { return arena_->slots[index_]; }
  const Arena* arena_ = nullptr;
  uint32_t index_ = 0;
};

struct Item : Node {
  Node first, second;
};

struct Iterator::Arrow {
  Item item;
  const Item* operator->() const { return &item; }
};
inline Iterator::Arrow Iterator::operator->() const { return Arrow{**this}; }

/// One document of a file: its root, where its `---` chunk starts (0-based line: marks in
/// it count from there) and the chunk's size in bytes (the readers' work budget grows with it).
struct Document {
  Node node;
  uint32_t line_offset = 0;
  size_t bytes = 0;
};

/// Every document of a file and the arena they live in.
struct Tree {
  std::unique_ptr<Arena> arena = std::make_unique<Arena>();
  std::vector<Document> documents;
};

/// Deeper than this is no real manifest (CRD schemas stay under 60); the builders stop there.
constexpr size_t kMaxNesting = 256;

/// Builds the documents of YAML `text` (one `---` chunk of `file`, starting at 0-based line
/// `line_offset`) into `tree`. False, with one E201 at the first problem (syntax, nesting,
/// an alias naming no anchor) and nothing added, when any of it is not readable; duplicate
/// keys are reported (E201) but keep the tree (lookups find the first). `code`: the code
/// of those reports (the cases file reports its own, E205).
bool build_yaml(std::string_view text, uint32_t line_offset, FileId file, Diagnostics& diags, Tree& tree,
                Code code = Code::E201);

/// The same for a whole JSON file, through simdjson. Text simdjson rejects (or a scalar at
/// the top) goes through build_yaml instead (JSON is YAML 1.2), whose messages say where.
bool build_json(std::string_view text, FileId file, Diagnostics& diags, Tree& tree);

/// Every document of a file: `.json` files through build_json, others split at their `---`
/// lines (so one broken document does not hide the others) and each chunk through
/// build_yaml. Broken chunks are reported and left out; `ok` says whether there were any.
/// A file of several documents that builds cleanly is read in one libfyaml run
/// (OneStreamFirst), which gives the same tree; ChunkByChunk never tries that (tests).
enum class Documents : uint8_t { OneStreamFirst, ChunkByChunk };
Tree build_file(FileId file, const SourceManager& sm, Diagnostics& diags, bool& ok,
                Documents how = Documents::OneStreamFirst);

} // namespace moat::doc
