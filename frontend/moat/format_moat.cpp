// format_moat: prints the parse tree back with canonical spacing. Statements are printed
// token by token with spacing decided from the token kinds (and, for taints, the rule they
// sit in), so every construct of the grammar formats without a case of its own. Comments
// ride along: a comment before or inside a statement goes on its own line before it, a
// comment after a statement on the same line stays there, and runs of trailing comments
// on consecutive lines of one block are aligned (as gofmt does). Blank lines between
// statements are kept, at most one.
#include "frontend/moat/format_moat.h"

#include <algorithm>

#include "frontend/moat/syntax.h"

namespace moat {

namespace {

using moatlang::MoatLexer;
using moatlang::MoatParser;
using moatlang::MoatSyntax;

struct Terminal {
  antlr4::Token* token;
  bool glue = false;      // inside a taint spec: printed without spaces (key=value:Effect)
  bool protocol = false;  // a protocol keyword: printed in lower case
  bool skip = false;      // dropped: trailing commas, the optional ';' after limits { }
};

struct Line {
  std::string indent, code, comment;  // comment: a trailing comment (aligned in runs)
};

void collect_terminals(antlr4::tree::ParseTree* node, std::vector<Terminal>& out, bool glue) {
  if (auto* term = dynamic_cast<antlr4::tree::TerminalNode*>(node)) {
    antlr4::Token* t = term->getSymbol();
    if (t->getType() == antlr4::Token::EOF) return;
    Terminal x{t, glue};
    x.protocol = dynamic_cast<MoatParser::ProtocolContext*>(term->parent) != nullptr;
    x.skip = t->getType() == MoatLexer::SEMI && dynamic_cast<MoatParser::LimitsStmtContext*>(term->parent);
    out.push_back(x);
    return;
  }
  bool inner_glue = glue || dynamic_cast<MoatParser::TaintSpecContext*>(node) != nullptr;
  for (antlr4::tree::ParseTree* child : node->children) collect_terminals(child, out, inner_glue);
}

bool space_between(const Terminal& prev, const Terminal& cur) {
  if (prev.glue && cur.glue) return false;
  size_t p = prev.token->getType(), t = cur.token->getType();
  switch (t) {
  case MoatLexer::COMMA:
  case MoatLexer::SEMI:
  case MoatLexer::COLON:
  case MoatLexer::RBRACK:
  case MoatLexer::DOTDOT:
  case MoatLexer::SLASH: return false;
  default: break;
  }
  switch (p) {
  case MoatLexer::LBRACK:
  case MoatLexer::BANG:
  case MoatLexer::DOTDOT:
  case MoatLexer::SLASH: return false;
  default: break;
  }
  return !(p == MoatLexer::LBRACE && t == MoatLexer::RBRACE);
}

class Formatter {
public:
  explicit Formatter(const MoatSyntax& syn) : syn_(syn) {
    for (antlr4::Token* t : syn.tokens->getTokens())
      if (t->getType() == MoatLexer::LINE_COMMENT || t->getType() == MoatLexer::BLOCK_COMMENT) comments_.push_back(t);
  }

  std::string run() {
    for (auto* st : syn_.tree->statement()) statement(st, 0);
    flush_comments_before(SIZE_MAX, 0);
    return render();
  }

private:
  std::string tokens_text(std::vector<Terminal>& terms) {
    for (size_t i = 0; i + 1 < terms.size(); ++i) {
      size_t next = terms[i + 1].token->getType();
      if (terms[i].token->getType() == MoatLexer::COMMA && (next == MoatLexer::RBRACE || next == MoatLexer::RBRACK))
        terms[i].skip = true;
    }
    std::string out;
    const Terminal* prev = nullptr;
    for (const Terminal& t : terms) {
      if (t.skip) continue;
      if (prev && space_between(*prev, t)) out += ' ';
      std::string text(syn_.source(t.token));
      if (t.protocol) std::transform(text.begin(), text.end(), text.begin(), ::tolower);
      out += text;
      prev = &t;
    }
    return out;
  }

  static std::string indent_of(int level) { return std::string(2 * static_cast<size_t>(level), ' '); }

  /// Starts a new item that began on source line `line`: keeps one blank line if the
  /// source had any since the previous item of the same block.
  void item_start(size_t line) {
    if (prev_end_line_ && line > prev_end_line_ + 1) lines_.push_back({});
  }

  static size_t end_line(antlr4::Token* t, std::string_view text) {
    return t->getLine() + static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }

  std::string comment_text(antlr4::Token* c) {
    std::string s(syn_.source(c));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
    return s;
  }

  void flush_comments_before(size_t token_index, int level) {
    while (next_comment_ < comments_.size() && comments_[next_comment_]->getTokenIndex() < token_index) {
      antlr4::Token* c = comments_[next_comment_++];
      item_start(c->getLine());
      std::string text = comment_text(c);
      lines_.push_back({indent_of(level), text, ""});
      prev_end_line_ = end_line(c, text);
    }
  }

  /// A comment that starts on the line `last` ends on, before any further code, stays
  /// at the end of that line.
  void trailing_comment(antlr4::Token* last) {
    if (next_comment_ >= comments_.size() || lines_.empty()) return;
    antlr4::Token* c = comments_[next_comment_];
    size_t last_end = end_line(last, syn_.source(last));
    if (c->getLine() != last_end) return;
    for (size_t i = last->getTokenIndex() + 1; i < c->getTokenIndex(); ++i)
      if (syn_.tokens->get(i)->getChannel() == antlr4::Token::DEFAULT_CHANNEL) return;
    ++next_comment_;
    std::string text = comment_text(c);
    lines_.back().comment = text;
    prev_end_line_ = end_line(c, text);
  }

  void statement(MoatParser::StatementContext* st, int level) {
    antlr4::ParserRuleContext* block = st->namespaceBlock();
    if (!block) block = st->nodepoolBlock();
    if (block) return block_statement(block, level);
    flush_comments_before(st->getStop()->getTokenIndex(), level);
    item_start(st->getStart()->getLine());
    std::vector<Terminal> terms;
    collect_terminals(st, terms, false);
    lines_.push_back({indent_of(level), tokens_text(terms), ""});
    prev_end_line_ = end_line(st->getStop(), syn_.source(st->getStop()));
    trailing_comment(st->getStop());
  }

  void block_statement(antlr4::ParserRuleContext* block, int level) {
    std::vector<Terminal> header;
    antlr4::Token* lbrace = nullptr;
    antlr4::Token* rbrace = nullptr;
    std::vector<MoatParser::StatementContext*> body;
    for (antlr4::tree::ParseTree* child : block->children) {
      auto* term = dynamic_cast<antlr4::tree::TerminalNode*>(child);
      if (term && term->getSymbol()->getType() == MoatLexer::LBRACE && !lbrace) {
        lbrace = term->getSymbol();
      } else if (term && term->getSymbol()->getType() == MoatLexer::RBRACE) {
        rbrace = term->getSymbol();
      } else if (auto* st = dynamic_cast<MoatParser::StatementContext*>(child)) {
        body.push_back(st);
      } else if (!lbrace) {
        collect_terminals(child, header, false);
      }
    }
    flush_comments_before(lbrace->getTokenIndex(), level);
    item_start(block->getStart()->getLine());
    lines_.push_back({indent_of(level), tokens_text(header) + " {", ""});
    prev_end_line_ = lbrace->getLine();
    trailing_comment(lbrace);
    prev_end_line_ = 0;  // no blank line right after '{'
    for (auto* st : body) statement(st, level + 1);
    flush_comments_before(rbrace->getTokenIndex(), level + 1);
    lines_.push_back({indent_of(level), "}", ""});
    prev_end_line_ = rbrace->getLine();
    trailing_comment(rbrace);
  }

  std::string render() {
    // Drop blank lines at the end; align runs of consecutive trailing comments.
    while (!lines_.empty() && lines_.back().code.empty()) lines_.pop_back();
    std::string out;
    for (size_t i = 0; i < lines_.size();) {
      size_t j = i;
      size_t width = 0;
      while (j < lines_.size() && !lines_[j].comment.empty() && lines_[j].indent == lines_[i].indent) {
        width = std::max(width, lines_[j].indent.size() + lines_[j].code.size());
        ++j;
      }
      if (j == i) {
        const Line& l = lines_[i++];
        out += l.code.empty() ? "\n" : l.indent + l.code + "\n";
        continue;
      }
      for (; i < j; ++i) {
        const Line& l = lines_[i];
        std::string code = l.indent + l.code;
        out += code + std::string(width - code.size() + 1, ' ') + l.comment + "\n";
      }
    }
    return out;
  }

  const MoatSyntax& syn_;
  std::vector<antlr4::Token*> comments_;
  size_t next_comment_ = 0;
  std::vector<Line> lines_;
  size_t prev_end_line_ = 0;
};

} // namespace

std::optional<std::string> format_moat(FileId file, const SourceManager& sm, Diagnostics& diags) {
  auto syn = moatlang::parse_syntax(file, sm, diags);
  if (!syn) return std::nullopt;
  return Formatter(*syn).run();
}

} // namespace moat
