// Ranges, typed access and field checking over document-tree nodes (see yaml_util.h).
#include "frontend/yaml/yaml_util.h"

#include <algorithm>
#include <cctype>

namespace moat::yamlfe {

namespace {

/// Length in bytes of the token that starts at `col` (0-based) of `line`.
uint32_t token_length(std::string_view line, size_t col, const doc::Node& node) {
  if (col >= line.size()) return 1;
  std::string_view rest = line.substr(col);
  char c = rest.front();
  if (c == '"' || c == '\'') {
    for (size_t i = 1; i < rest.size(); ++i) {
      if (c == '"' && rest[i] == '\\') {
        ++i;
        continue;
      }
      if (rest[i] == c) {
        if (c == '\'' && i + 1 < rest.size() && rest[i + 1] == '\'') {
          ++i;
          continue;
        }
        return static_cast<uint32_t>(i + 1);
      }
    }
    return static_cast<uint32_t>(rest.size());
  }
  if (node.IsDefined() && node.IsScalar()) {
    std::string_view s = node.Scalar();
    if (!s.empty() && rest.substr(0, s.size()) == s) return static_cast<uint32_t>(s.size());
  }
  if (c == '[' || c == '{' || c == '-' || c == '*' || c == '&' || c == '|' || c == '>') return 1;
  size_t n = 0;
  while (n < rest.size()) {
    char d = rest[n];
    if (d == ',' || d == ']' || d == '}') break;
    if ((d == ':' || d == '#') && (n + 1 >= rest.size() || rest[n + 1] == ' ' || d == '#')) break;
    ++n;
  }
  while (n > 1 && rest[n - 1] == ' ') --n;
  return static_cast<uint32_t>(std::max<size_t>(n, 1));
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> xs) {
  return std::find(xs.begin(), xs.end(), s) != xs.end();
}

bool all_chars(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

bool looks_like_number(std::string_view s) {
  if (s.empty()) return false;
  if (s[0] == '+' || s[0] == '-') s.remove_prefix(1);
  if (one_of(s, {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"})) return true;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o'))
    return all_chars(s.substr(2), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '_'; });
  bool digits = false, dot = false, exp = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '_' && digits && !exp) {
    } else if (c == '.' && !dot && !exp) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits && !exp) {
      exp = true;
      if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) ++i;
      if (i + 1 >= s.size()) return false;
    } else {
      return false;
    }
  }
  return digits;
}

} // namespace

bool Ctx::spend(size_t n, const doc::Node& at) {
  visits += n;
  if (visits > max_visits && !exhausted) {
    exhausted = true;
    diags.report(Code::E201, range_of(*this, at),
                 "document expands to more than " + std::to_string(max_visits) +
                     " nodes and rules (through YAML aliases?); stopped reading it");
  }
  return !exhausted;
}

SourceRange range_of(const Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  if (!node.IsDefined()) return fallback;
  doc::Mark m = node.Mark();
  if (m.is_null() || m.line < 0 || m.column < 0) return fallback;
  uint32_t line = ctx.line_offset + static_cast<uint32_t>(m.line) + 1;
  uint32_t len = token_length(ctx.sm.line_text(ctx.file, line), static_cast<size_t>(m.column), node);
  return SourceRange::at(ctx.file, line, static_cast<uint32_t>(m.column) + 1, len);
}

bool is_null(const doc::Node& node) { return !node.IsDefined() || node.IsNull(); }

bool is_plain(const doc::Node& node) { return node.IsPlain(); }

bool plain_is_non_string(const doc::Node& node) {
  if (!is_plain(node)) return false;
  std::string_view s = node.Scalar();
  if (one_of(s, {"", "~", "null", "Null", "NULL"})) return true;
  if (one_of(s, {"true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on",
                 "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"}))
    return true;
  return looks_like_number(s);
}

std::string describe(const doc::Node& node) {
  if (!node.IsDefined()) return "nothing";
  switch (node.Type()) {
  case doc::NodeType::Map: return "a mapping";
  case doc::NodeType::Sequence: return "a list";
  case doc::NodeType::Null: return "null";
  case doc::NodeType::Undefined: return "nothing";
  case doc::NodeType::Scalar: break;
  }
  std::string s(node.Scalar());
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  if (plain_is_non_string(node)) return "the value " + s;
  return "the string '" + s + "'";
}

Map::Map(Ctx& ctx, const doc::Node& node, std::string what, SourceRange fallback)
    : ctx_(&ctx), node_(node), what_(std::move(what)) {
  range_ = range_of(ctx, node, fallback);
  if (is_null(node)) return;
  if (!node.IsMap()) {
    valid_ = false;
    ctx.diags.report(Code::E202, range_, what_ + " must be a mapping, not " + describe(node));
    return;
  }
  if (!ctx.spend(node.size() + 1, node)) {
    valid_ = false;
    return;
  }
  for (const auto& kv : node) {
    doc::Node k = kv.first;  // copies: iterator proxies are temporaries
    if (!k.IsScalar()) {
      ctx.diags.report(Code::E202, range_of(ctx, k, range_), "keys of " + what_ + " must be strings, not " + describe(k));
      continue;
    }
    // The tree builder reported a repeated key (E201); the first one counts.
    if (find(k.Scalar())) continue;
    entries_.push_back(Entry{std::string(k.Scalar()), k, kv.second});
  }
}

const Map::Entry* Map::find(std::string_view key) const {
  for (const Entry& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

doc::Node Map::get(std::string_view key) const {
  const Entry* e = find(key);
  return e ? e->value : doc::Node();
}

SourceRange Map::key_range(std::string_view key) const {
  const Entry* e = find(key);
  return e ? range_of(*ctx_, e->key_node, range_) : range_;
}

SourceRange Map::value_range(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return range_;
  return range_of(*ctx_, e->value, range_of(*ctx_, e->key_node, range_));
}

void Map::check(std::initializer_list<std::string_view> known) const {
  for (const Entry& e : entries_) {
    if (one_of(e.key, known)) continue;
    std::string msg = "unknown field '" + e.key + "' in " + what_;
    std::string_view best;
    size_t best_d = SIZE_MAX;
    for (std::string_view k : known) {
      size_t d = edit_distance(e.key, k);
      if (d < best_d) best_d = d, best = k;
    }
    if (!best.empty() && best_d <= std::max<size_t>(2, best.size() / 4))
      msg += "; did you mean '" + std::string(best) + "'?";
    else if (known.size() > 0) {
      msg += " (expected one of:";
      for (std::string_view k : known) msg += " " + std::string(k);
      msg += ")";
    }
    if (e.key == "<<") msg += "; YAML merge keys are not supported";
    ctx_->diags.report(Code::E203, range_of(*ctx_, e.key_node, range_), msg);
  }
}

bool Map::unmodeled(std::string_view key, std::string_view consequence) const {
  const Entry* e = find(key);
  if (!e) return false;
  ctx_->diags.report(Code::W208, range_of(*ctx_, e->key_node, range_),
                     "'" + e->key + "' in " + what_ + " is not modeled by moat: " + std::string(consequence));
  return true;
}

bool Map::require(std::string_view key) const {
  const Entry* e = find(key);
  if (e && !is_null(e->value)) return true;
  ctx_->diags.report(Code::E204, e ? range_of(*ctx_, e->key_node, range_) : range_,
                     "missing required field '" + std::string(key) + "' in " + what_);
  return false;
}

std::vector<doc::Node> list_items(Ctx& ctx, const doc::Node& node, std::string_view what, SourceRange fallback) {
  std::vector<doc::Node> out;
  if (is_null(node)) return out;
  if (!node.IsSequence()) {
    ctx.diags.report(Code::E202, range_of(ctx, node, fallback),
                     std::string(what) + " must be a list, not " + describe(node));
    return out;
  }
  if (!ctx.spend(node.size() + 1, node)) return out;
  for (const doc::Node& item : node) out.push_back(item);
  return out;
}

std::optional<std::string> scalar_string(Ctx& ctx, const doc::Node& node, std::string_view what,
                                         SourceRange fallback) {
  if (node.IsDefined() && node.IsScalar()) return std::string(node.Scalar());
  ctx.diags.report(Code::E202, range_of(ctx, node, fallback), std::string(what) + " must be a string, not " + describe(node));
  return std::nullopt;
}

std::optional<std::string> strict_string(Ctx& ctx, const doc::Node& node, std::string_view what,
                                         SourceRange fallback) {
  if (plain_is_non_string(node) && !node.Scalar().empty()) {
    ctx.diags.report(Code::E202, range_of(ctx, node, fallback),
                     std::string(what) + " must be a string, not " + describe(node) + "; quote it: \"" + std::string(node.Scalar()) +
                         "\"");
    return std::nullopt;
  }
  if (is_plain(node) && node.Scalar().empty()) {
    ctx.diags.report(Code::E202, range_of(ctx, node, fallback), std::string(what) + " must be a string, not null");
    return std::nullopt;
  }
  return scalar_string(ctx, node, what, fallback);
}

std::optional<int64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<int64_t> scalar_int(Ctx& ctx, const doc::Node& node, std::string_view what, SourceRange fallback) {
  if (is_plain(node)) {
    std::string_view s = node.Scalar();
    bool neg = !s.empty() && s[0] == '-';
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
    if (auto v = parse_decimal(s)) return neg ? -*v : *v;
  }
  ctx.diags.report(Code::E202, range_of(ctx, node, fallback), std::string(what) + " must be an integer, not " + describe(node));
  return std::nullopt;
}

std::optional<bool> scalar_bool(Ctx& ctx, const doc::Node& node, std::string_view what, SourceRange fallback) {
  if (is_plain(node)) {
    std::string_view s = node.Scalar();
    if (one_of(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})) return true;
    if (one_of(s, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})) return false;
  }
  ctx.diags.report(Code::E202, range_of(ctx, node, fallback), std::string(what) + " must be true or false, not " + describe(node));
  return std::nullopt;
}

std::optional<std::string> check_port_name(std::string_view name) {
  if (name.empty()) return "port name must not be empty";
  if (name.size() > 15) return "port name '" + std::string(name) + "' is longer than 15 characters";
  bool letter = false;
  for (char c : name) {
    if (std::islower(static_cast<unsigned char>(c))) letter = true;
    else if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-')
      return "port name '" + std::string(name) + "' may contain only lower-case letters, digits and '-'";
  }
  if (!letter) return "port name '" + std::string(name) + "' must contain a letter";
  if (name.front() == '-' || name.back() == '-' || name.find("--") != std::string_view::npos)
    return "port name '" + std::string(name) + "' must not start or end with '-' or contain '--'";
  return std::nullopt;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) !=
                                  std::tolower(static_cast<unsigned char>(b[j - 1])));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

} // namespace moat::yamlfe
