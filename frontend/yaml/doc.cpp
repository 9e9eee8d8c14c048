// Node access over the arena of doc.h: kind tests, scalar text, key lookup and iteration.
#include "frontend/yaml/doc.h"

namespace moat::doc {

Item Iterator::operator*() const {
  const Arena::Slot& p = arena_->slots[parent_];
  Item item;
  if (p.type == NodeType::Sequence) {
    static_cast<Node&>(item) = Node(arena_, arena_->kids[p.first + pos_]);
  } else {
    item.first = Node(arena_, arena_->kids[p.first + 2 * pos_]);
    item.second = Node(arena_, arena_->kids[p.first + 2 * pos_ + 1]);
  }
  return item;
}

std::string_view Node::Scalar() const {
  if (!IsScalar()) return {};
  const Arena::Slot& s = slot();
  return std::string_view(arena_->chars).substr(s.first, s.count);
}

Node Node::operator[](std::string_view key) const {
  if (!IsMap()) return Node();
  const Arena::Slot& s = slot();
  for (uint32_t i = 0; i < s.count; ++i) {
    Node k(arena_, arena_->kids[s.first + 2 * i]);
    if (k.IsScalar() && k.Scalar() == key) return Node(arena_, arena_->kids[s.first + 2 * i + 1]);
  }
  return Node();
}

Node Node::operator[](size_t i) const {
  if (!IsSequence() || i >= slot().count) return Node();
  return Node(arena_, arena_->kids[slot().first + i]);
}

Mark Node::Mark() const {
  if (!arena_ || slot().line == Arena::kNoLine) return {};
  return doc::Mark{static_cast<int>(slot().line), static_cast<int>(slot().column)};
}

} // namespace moat::doc
