// parse_syntax: checks the text is sane (size, UTF-8, bracket depth) before ANTLR sees it,
// then parses with SLL and falls back to full LL on the first error (the usual two-stage
// strategy: SLL is linear and almost always enough). Syntax errors become E101 diagnostics
// with exact ranges; after kMaxSyntaxErrors the parse is abandoned.
#include "frontend/moat/syntax.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace moat::moatlang {

void MoatSyntax::index_text() {
  const std::string& t = *text;
  line_starts_.assign(1, 0);
  bool ascii = true;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
    if (static_cast<unsigned char>(t[i]) >= 0x80) ascii = false;
  }
  cp_to_byte_.clear();
  if (ascii) return;
  cp_to_byte_.reserve(t.size() + 1);
  // ANTLRInputStream drops a leading UTF-8 byte order mark, so its code point 0 is byte 3.
  size_t start = t.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  for (size_t i = start; i < t.size(); ++i)
    if ((static_cast<unsigned char>(t[i]) & 0xC0) != 0x80) cp_to_byte_.push_back(static_cast<uint32_t>(i));
  cp_to_byte_.push_back(static_cast<uint32_t>(t.size()));
}

size_t MoatSyntax::byte_offset(size_t cp) const {
  size_t n = text->size();
  if (cp_to_byte_.empty()) return std::min(cp, n);
  return cp < cp_to_byte_.size() ? cp_to_byte_[cp] : n;
}

std::pair<uint32_t, uint32_t> MoatSyntax::line_col(size_t byte) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), static_cast<uint32_t>(byte));
  size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
  return {static_cast<uint32_t>(line), static_cast<uint32_t>(byte - line_starts_[line - 1] + 1)};
}

SourceRange MoatSyntax::range(const antlr4::Token* first, const antlr4::Token* last) const {
  if (!first) return {};
  if (!last) last = first;
  if (first->getStartIndex() == INVALID_INDEX) {
    // A token conjured by error recovery: only line and column are meaningful.
    return SourceRange::at(file, static_cast<uint32_t>(first->getLine()),
                           static_cast<uint32_t>(first->getCharPositionInLine() + 1));
  }
  size_t b = byte_offset(first->getStartIndex());
  size_t e = b;
  if (last->getType() != antlr4::Token::EOF && last->getStopIndex() != INVALID_INDEX &&
      last->getStopIndex() + 1 > first->getStartIndex())
    e = byte_offset(last->getStopIndex() + 1);
  auto [l1, c1] = line_col(b);
  if (e <= b) return SourceRange::at(file, l1, c1);
  auto [l2, c2] = line_col(e);
  return SourceRange{file, l1, c1, l2, c2};
}

SourceRange MoatSyntax::range(antlr4::ParserRuleContext* ctx) const {
  const antlr4::Token* stop = ctx->getStop();
  if (stop && stop->getTokenIndex() < ctx->getStart()->getTokenIndex()) stop = nullptr;
  return range(ctx->getStart(), stop);
}

std::string_view MoatSyntax::source(const antlr4::Token* first, const antlr4::Token* last) const {
  if (!first || first->getStartIndex() == INVALID_INDEX || first->getType() == antlr4::Token::EOF) return {};
  size_t b = byte_offset(first->getStartIndex());
  size_t e = b;
  if (last && last->getType() != antlr4::Token::EOF && last->getStopIndex() != INVALID_INDEX)
    e = std::max(b, byte_offset(last->getStopIndex() + 1));
  return std::string_view(*text).substr(b, e - b);
}

std::string_view MoatSyntax::source(antlr4::ParserRuleContext* ctx) const {
  const antlr4::Token* stop = ctx->getStop();
  if (stop && stop->getTokenIndex() < ctx->getStart()->getTokenIndex()) stop = ctx->getStart();
  return source(ctx->getStart(), stop);
}

namespace {

/// How a token type reads in "expected ..." lists.
std::string describe_token_type(const antlr4::dfa::Vocabulary& vocab, size_t type) {
  switch (type) {
  case antlr4::Token::EOF: return "end of file";
  case MoatLexer::WORD: return "a name";
  case MoatLexer::NUMBER: return "a number";
  case MoatLexer::STRING: return "a string";
  case MoatLexer::IPV4: return "an IPv4 address";
  case MoatLexer::IPV6: return "an IPv6 address";
  default: return vocab.getDisplayName(type);
  }
}

std::string describe_token(const antlr4::Token* t, std::string_view text) {
  if (t->getType() == antlr4::Token::EOF) return "end of file";
  if (t->getType() == MoatLexer::ERROR_CHAR) {
    unsigned char c = text.empty() ? 0 : text[0];
    if (c >= 0x20 && c < 0x7f) return fmt::format("character '{}'", text);
    if (c < 0x80) return fmt::format("control character 0x{:02x}", c);
    return fmt::format("character '{}'", text);
  }
  if (t->getType() == MoatLexer::UNTERMINATED_STRING) return "unterminated string (strings end on their line)";
  std::string shown(text.substr(0, 40));
  if (text.size() > 40) shown += "...";
  return "'" + shown + "'";
}

bool is_no_viable_alternative(std::exception_ptr e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const antlr4::NoViableAltException&) {
    return true;
  } catch (...) {
    return false;
  }
}

/// Turns ANTLR's error callbacks into E101 diagnostics with our own wording.
class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  SyntaxErrorListener(const MoatSyntax& syn, Diagnostics& diags) : syn_(syn), diags_(diags) {}
  size_t errors() const { return errors_; }

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line, size_t col,
                   const std::string& msg, std::exception_ptr e) override {
    ++errors_;
    SourceRange r = offending ? syn_.range(offending)
                              : SourceRange::at(syn_.file, static_cast<uint32_t>(line),
                                                static_cast<uint32_t>(col + 1));
    std::string message;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (!offending) {
      message = msg;
    } else if (auto missing = missing_semicolon(parser, offending)) {
      // `allow a -> b` followed by the next statement on the next line: the mistake is at
      // the end of the line, not at the next statement's first word.
      r = *missing;
      message = "expected ';' at the end of the statement";
    } else {
      message = "unexpected " + describe_token(offending, syn_.source(offending));
      // After a failed prediction (no viable alternative) the parser's state is where the
      // decision began, so its "expected" set would mislead; bad tokens speak for themselves.
      bool bad_token = offending->getType() == MoatLexer::ERROR_CHAR ||
                       offending->getType() == MoatLexer::UNTERMINATED_STRING;
      if (parser && !bad_token && !is_no_viable_alternative(e)) message += expectation(*parser);
    }
    Diagnostic& d = diags_.report(Code::E101, r, message);
    if (errors_ >= kMaxSyntaxErrors || diags_.saturated()) {
      d.notes.push_back({{}, "too many syntax errors; the rest of the file was not checked"});
      throw antlr4::ParseCancellationException();
    }
  }

private:
  /// The position just after the previous token, when ';' would fit there and the
  /// offending token starts a later line.
  std::optional<SourceRange> missing_semicolon(antlr4::Parser* parser, antlr4::Token* offending) {
    if (!parser || offending->getTokenIndex() == 0 || offending->getTokenIndex() == INVALID_INDEX) return std::nullopt;
    bool semi = false;
    try {
      semi = parser->getExpectedTokens().contains(static_cast<size_t>(MoatLexer::SEMI));
    } catch (...) {
      return std::nullopt;
    }
    if (!semi) return std::nullopt;
    antlr4::Token* prev = nullptr;
    for (size_t i = offending->getTokenIndex(); i-- > 0;) {
      antlr4::Token* t = syn_.tokens->get(i);
      if (t->getChannel() == antlr4::Token::DEFAULT_CHANNEL) {
        prev = t;
        break;
      }
    }
    if (!prev || prev->getLine() >= offending->getLine()) return std::nullopt;
    SourceRange end = syn_.range(prev);
    return SourceRange::at(syn_.file, end.end_line, end.end_col);
  }

  std::string expectation(antlr4::Parser& parser) {
    antlr4::misc::IntervalSet expected;
    try {
      expected = parser.getExpectedTokens();
    } catch (...) {
      return "";
    }
    std::vector<ssize_t> types = expected.toList();
    if (types.empty()) return "";
    auto has = [&](size_t t) { return expected.contains(t); };
    // Keywords are words too (namespace names, label keys), so the sets where a name fits
    // contain every keyword: summarize them by what can start there instead of listing.
    bool any_word = has(MoatLexer::WORD) && has(MoatLexer::NAMESPACE) && has(MoatLexer::TCP);
    if (any_word && has(MoatLexer::STAR))
      return "; expected a peer (a name, ns/name, { selector }, *, namespace, cidr, fqdn, dns or an entity)";
    if (any_word && has(MoatLexer::BANG)) return "; expected a selector term (k: v, k in [..], k notin [..], k, !k)";
    if (any_word) return "; expected a name";
    if (has(MoatLexer::ALLOW) && has(MoatLexer::PROVE) && has(MoatLexer::NAMESPACE))
      return std::string("; expected a statement (namespace, nodepool, workload, peer, default, allow, "
                         "deny, prove, expect)") +
             (has(MoatLexer::RBRACE) ? " or '}'" : "");
    if (types.size() > 10) return "";
    std::vector<std::string> names;
    for (ssize_t t : types) names.push_back(describe_token_type(parser.getVocabulary(), static_cast<size_t>(t)));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string out = "; expected ";
    for (size_t i = 0; i < names.size(); ++i)
      out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
  }

  const MoatSyntax& syn_;
  Diagnostics& diags_;
  size_t errors_ = 0;
};

/// Bracket depth and unterminated comments, on the token stream (no recursion).
bool check_tokens(const MoatSyntax& syn, Diagnostics& diags) {
  size_t depth = 0;
  bool ok = true;
  for (antlr4::Token* t : syn.tokens->getTokens()) {
    switch (t->getType()) {
    case MoatLexer::LBRACE:
    case MoatLexer::LBRACK:
      if (++depth > kMaxNesting) {
        diags.report(Code::E104, syn.range(t),
                     fmt::format("brackets nested more than {} deep", kMaxNesting));
        return false;
      }
      break;
    case MoatLexer::RBRACE:
    case MoatLexer::RBRACK:
      if (depth > 0) --depth;
      break;
    case MoatLexer::BLOCK_COMMENT: {
      std::string_view s = syn.source(t);
      if (s.size() < 4 || s.substr(s.size() - 2) != "*/") {
        SourceRange r = syn.range(t);
        diags.report(Code::E101, SourceRange::at(syn.file, r.line, r.col, 2),
                     "unterminated comment: '/*' without a matching '*/'");
        ok = false;
      }
      break;
    }
    default: break;
    }
  }
  return ok;
}

} // namespace

std::unique_ptr<MoatSyntax> parse_syntax(FileId file, const SourceManager& sm, Diagnostics& diags) {
  auto syn = std::make_unique<MoatSyntax>();
  syn->file = file;
  syn->text = &sm.text(file);
  const std::string& text = *syn->text;
  if (text.size() > kMaxSourceBytes) {
    diags.report(Code::E003, SourceRange::at(file, 1, 1),
                 fmt::format("file is {} bytes; moat sources are limited to {} bytes", text.size(), kMaxSourceBytes));
    return nullptr;
  }
  if (size_t bad = first_invalid_utf8(text); bad != std::string::npos) {
    syn->index_text();  // ASCII up to `bad`, so byte and code point offsets agree there
    auto [line, col] = syn->line_col(bad);
    diags.report(Code::E002, SourceRange::at(file, line, col),
                 fmt::format("not UTF-8 text: invalid byte 0x{:02x} at offset {}",
                             static_cast<unsigned char>(text[bad]), bad));
    return nullptr;
  }
  syn->index_text();
  try {
    syn->input = std::make_unique<antlr4::ANTLRInputStream>(text);
  } catch (const std::exception& e) {
    diags.report(Code::E002, SourceRange::at(file, 1, 1), std::string("cannot decode the file: ") + e.what());
    return nullptr;
  }
  syn->lexer = std::make_unique<MoatLexer>(syn->input.get());
  syn->lexer->removeErrorListeners();
  SyntaxErrorListener listener(*syn, diags);
  syn->lexer->addErrorListener(&listener);
  syn->tokens = std::make_unique<antlr4::CommonTokenStream>(syn->lexer.get());
  syn->tokens->fill();
  syn->lexer->removeErrorListeners();
  if (!check_tokens(*syn, diags) || listener.errors() > 0) return nullptr;

  syn->parser = std::make_unique<MoatParser>(syn->tokens.get());
  MoatParser& parser = *syn->parser;
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  try {
    syn->tree = parser.file();
    return syn;
  } catch (const antlr4::ParseCancellationException&) {
    // SLL could not decide (or the input is wrong): redo it with full LL and real errors.
  }
  syn->tokens->seek(0);
  parser.reset();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
  parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
  parser.addErrorListener(&listener);
  try {
    syn->tree = parser.file();
  } catch (const antlr4::ParseCancellationException&) {
    syn->tree = nullptr;
  }
  parser.removeErrorListeners();
  if (listener.errors() > 0 || !syn->tree) return nullptr;
  return syn;
}

} // namespace moat::moatlang
