// JSON text into the document tree (doc.h) through simdjson's On-Demand walk. simdjson
// gives no line numbers, but every value and key it hands out points into the input, and
// the walk moves forward only, so one cursor over the newlines turns each pointer into a
// line and column in linear time. Strings and keys are quoted scalars; numbers, true and
// false are plain scalars spelled as in the input; null is null — as yaml-cpp read JSON.
#include <simdjson.h>

#include <cstring>

#include "frontend/yaml/doc_builder.h"

namespace moat::doc {

namespace {

namespace od = simdjson::ondemand;

/// Byte offsets (non-decreasing) into 0-based line and column.
class LineCursor {
public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  void at(size_t offset, uint32_t& line, uint32_t& column) {
    offset = std::min(offset, text_.size());
    while (pos_ < offset) {
      const void* nl = std::memchr(text_.data() + pos_, '\n', offset - pos_);
      if (!nl) break;
      pos_ = static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) + 1;
      line_start_ = pos_;
      ++line_;
    }
    pos_ = std::max(pos_, offset);
    line = line_;
    column = static_cast<uint32_t>(offset - line_start_);
  }

private:
  std::string_view text_;
  size_t pos_ = 0, line_start_ = 0;
  uint32_t line_ = 0;
};

class Walk {
public:
  Walk(Builder& b, const char* base, std::string_view text) : b_(b), base_(base), lines_(text) {}

  simdjson::error_code value(od::value v) {
    std::string_view token = v.raw_json_token();
    uint32_t line = 0, column = 0;
    lines_.at(static_cast<size_t>(token.data() - base_), line, column);
    od::json_type type;
    if (auto err = v.type().get(type)) return err;
    switch (type) {
    case od::json_type::object: {
      od::object o;
      if (auto err = v.get_object().get(o)) return err;
      if (!b_.open(NodeType::Map, line, column)) return simdjson::DEPTH_ERROR;
      for (auto f : o) {
        od::field field;
        if (auto err = std::move(f).get(field)) return err;
        const char* key_at = field.key().raw() - 1;  // the opening quote
        lines_.at(static_cast<size_t>(key_at - base_), line, column);
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        b_.scalar(key, false, line, column);
        if (auto err = value(field.value())) return err;
      }
      b_.close();
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto err = v.get_array().get(a)) return err;
      if (!b_.open(NodeType::Sequence, line, column)) return simdjson::DEPTH_ERROR;
      for (auto item : a) {
        od::value iv;
        if (auto err = std::move(item).get(iv)) return err;
        if (auto err = value(iv)) return err;
      }
      b_.close();
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto err = v.get_string().get(s)) return err;
      b_.scalar(s, false, line, column);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      od::number n;
      if (auto err = v.get_number().get(n)) return err;  // validates the spelling
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                                token.back() == '\r'))
        token.remove_suffix(1);
      b_.scalar(token, true, line, column);
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool x = false;
      if (auto err = v.get_bool().get(x)) return err;
      b_.scalar(x ? "true" : "false", true, line, column);
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null)) return err;
      if (!is_null) return simdjson::INCORRECT_TYPE;
      b_.scalar("", true, line, column);
      return simdjson::SUCCESS;
    }
    }
    return simdjson::INCORRECT_TYPE;
  }

private:
  Builder& b_;
  const char* base_;
  LineCursor lines_;
};

/// The whole file through simdjson; false (nothing reported, nothing added) when simdjson
/// does not accept it.
bool walk_json(std::string_view text, FileId file, Diagnostics& diags, Tree& tree) {
  simdjson::padded_string padded(text);
  od::parser parser;
  od::document document;
  Builder b(tree, file, 0, diags);
  auto run = [&]() -> simdjson::error_code {
    if (auto err = parser.iterate(padded).get(document)) return err;
    od::json_type type;
    if (auto err = document.type().get(type)) return err;
    if (type != od::json_type::object && type != od::json_type::array) return simdjson::SCALAR_DOCUMENT_AS_VALUE;
    od::value root;
    if (auto err = document.get_value().get(root)) return err;
    Walk walk(b, padded.data(), text);
    if (auto err = walk.value(root)) return err;
    // Past the root, simdjson has no location left to give: anything else is trailing text.
    if (document.current_location().error() == simdjson::SUCCESS) return simdjson::TRAILING_CONTENT;
    return simdjson::SUCCESS;
  };
  if (run() != simdjson::SUCCESS) b.error(Arena::kNoLine, 0, "not JSON simdjson reads");
  if (!b.finish(!b.failed())) return false;
  tree.documents.push_back(Document{Node(tree.arena.get(), b.take_root()), 0, text.size()});
  return true;
}

} // namespace

bool build_json(std::string_view text, FileId file, Diagnostics& diags, Tree& tree) {
  if (walk_json(text, file, diags, tree)) return true;
  // simdjson's errors carry no position: YAML (a superset of JSON) says where, or reads
  // what simdjson would not (a top-level scalar).
  return build_yaml(text, 0, file, diags, tree);
}

} // namespace moat::doc
