// The moat language's syntax layer: source text in, ANTLR parse tree out (or located E0xx /
// E10x diagnostics). Shared by the lowering passes and by the formatter; nothing outside
// frontend/ sees ANTLR types.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "MoatLexer.h"
#include "MoatParser.h"
#include "antlr4-runtime.h"
#include "frontend/utf8.h"
#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat::moatlang {

using moatgrammar::MoatLexer;
using moatgrammar::MoatParser;

/// Source files larger than this are refused (E003), whatever --max-file-size allows: moat
/// sources are written by hand, and the parse tree costs far more per byte than YAML.
inline constexpr size_t kMaxSourceBytes = 16u << 20;
/// Deepest bracket nesting accepted ({ and [ combined); checked before parsing so the
/// recursive-descent parser never recurses deeply.
inline constexpr size_t kMaxNesting = 256;
/// Syntax errors reported per file before the parser gives up.
inline constexpr size_t kMaxSyntaxErrors = 20;

/// A parsed file: owns the ANTLR objects (the tree points into them) and maps ANTLR's
/// code-point offsets back to the byte-based SourceRanges the rest of moat uses.
class MoatSyntax {
public:
  FileId file = kNoFile;
  const std::string* text = nullptr;
  std::unique_ptr<antlr4::ANTLRInputStream> input;
  std::unique_ptr<MoatLexer> lexer;
  std::unique_ptr<antlr4::CommonTokenStream> tokens;
  std::unique_ptr<MoatParser> parser;
  MoatParser::FileContext* tree = nullptr;

  /// Range from the start of `first` to the end of `last` (inclusive tokens).
  SourceRange range(const antlr4::Token* first, const antlr4::Token* last) const;
  SourceRange range(const antlr4::Token* t) const { return range(t, t); }
  SourceRange range(antlr4::ParserRuleContext* ctx) const;
  SourceRange range(antlr4::tree::TerminalNode* node) const { return range(node->getSymbol()); }
  /// The source bytes a token or rule covers, exactly as written.
  std::string_view source(const antlr4::Token* first, const antlr4::Token* last) const;
  std::string_view source(antlr4::ParserRuleContext* ctx) const;
  std::string_view source(const antlr4::Token* t) const { return source(t, t); }
  /// Byte offset of code point index `cp`; also used to compute line and column.
  size_t byte_offset(size_t cp) const;
  /// 1-based line and byte column of a byte offset.
  std::pair<uint32_t, uint32_t> line_col(size_t byte) const;

  void index_text();  // fills the offset tables from *text

private:
  std::vector<uint32_t> cp_to_byte_;   // empty when the text is ASCII
  std::vector<uint32_t> line_starts_;  // byte offsets of line starts
};

/// Lexes and parses one file. Returns null when the file cannot be parsed (invalid UTF-8,
/// too large, nesting too deep, syntax errors); every reason is reported in `diags`.
std::unique_ptr<MoatSyntax> parse_syntax(FileId file, const SourceManager& sm, Diagnostics& diags);

} // namespace moat::moatlang
