// YAML text into the document tree (doc.h) in one pass over libfyaml's events: anchors are
// resolved to the node they name (aliases share it, as in yaml-cpp, so the tree is never
// larger than the text), nesting and duplicate keys are checked as collections close, and
// libfyaml's first error becomes one E201 at its line and column.
#include <libfyaml.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "frontend/utf8.h"
#include "frontend/yaml/doc_builder.h"

namespace moat::doc {

namespace {

/// libfyaml reports errors through a diagnostic object; this one only collects them.
struct FyParser {
  fy_diag* diag = nullptr;
  fy_parser* parser = nullptr;
  FyParser() {
    fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = nullptr;
    dcfg.output_fn = [](fy_diag*, void*, const char*, size_t) {};  // never print
    diag = fy_diag_create(&dcfg);
    if (diag) fy_diag_set_collect_errors(diag, true);
    fy_parse_cfg cfg{};
    // YAML 1.2 (plain `on`/`yes` are strings to libfyaml; the readers judge plain scalars
    // themselves). Depth: the builder's own limit applies, far below any stack concern,
    // since libfyaml's event parser does not recurse.
    cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_DISABLE_DEPTH_LIMIT |
                                                FYPCF_JSON_NONE);
    cfg.diag = diag;
    parser = diag ? fy_parser_create(&cfg) : nullptr;
  }
  ~FyParser() {
    if (parser) fy_parser_destroy(parser);
    if (diag) fy_diag_destroy(diag);
  }
  FyParser(const FyParser&) = delete;
  FyParser& operator=(const FyParser&) = delete;
};

std::string token_text(fy_token* t) {
  size_t len = 0;
  const char* s = t ? fy_token_get_text(t, &len) : nullptr;
  return s ? std::string(s, len) : std::string();
}

struct Position {
  uint32_t line = Arena::kNoLine, column = 0;
};

Position start_of(fy_event* e) {
  const fy_mark* m = fy_event_start_mark(e);
  if (!m || m->line < 0 || m->column < 0) return {};
  return Position{static_cast<uint32_t>(m->line), static_cast<uint32_t>(m->column)};
}

/// The first error libfyaml collected: "message" at its 1-based line and column.
void report_parse_error(FyParser& p, Builder& b) {
  void* it = nullptr;
  while (fy_diag_error* e = fy_diag_errors_iterate(p.diag, &it)) {
    if (e->type < FYET_ERROR) continue;
    std::string msg = e->msg ? e->msg : "unreadable";
    if (e->line >= 1 && e->column >= 1)
      return b.error(static_cast<uint32_t>(e->line - 1), static_cast<uint32_t>(e->column - 1), "invalid YAML: " + msg);
    return b.error(Arena::kNoLine, 0, "invalid YAML: " + msg);
  }
  b.error(Arena::kNoLine, 0, "invalid YAML");
}

/// A stretch of the text libfyaml reads, built as a chunk: its documents' marks are made
/// relative to the chunk's first line (`first_line` in libfyaml's count), their diagnostics
/// and Documents carry `line_offset` and `bytes`, as build_yaml gives for the chunk alone.
struct Span {
  size_t begin;          // byte offset in the text libfyaml reads
  uint32_t first_line;   // libfyaml's line number of the chunk's first line
  uint32_t line_offset;  // the chunk's 0-based line in the file
  size_t bytes;
};

/// Runs `p` over `text` into `tree`, one Builder per span (a document belongs to the span
/// its start falls in). False when anything failed (syntax, nesting, an alias naming no
/// anchor): then the failed span's problem is in `diags` and its documents are gone, as
/// Builder::finish does.
bool build_spans(FyParser& p, std::string_view text, const std::vector<Span>& spans, FileId file, Diagnostics& diags,
                 Tree& tree, Code code) {
  size_t span = 0;
  std::optional<Builder> b;
  b.emplace(tree, file, spans[0].line_offset, diags, code);
  size_t docs_at_span = tree.documents.size();
  bool ok = true;
  auto finish_span = [&] {
    if (!b->finish()) {
      tree.documents.resize(docs_at_span);
      ok = false;
    }
  };
  std::unordered_map<std::string, uint32_t> anchors;  // of the current document
  std::vector<std::string> open_anchors;              // of the open collections, innermost last
  auto anchor_done = [&](const std::string& name, uint32_t node) {
    if (!name.empty()) anchors[name] = node;  // a later anchor of the same name replaces it
  };
  while (!b->failed()) {
    fy_event* e = fy_parser_parse(p.parser);
    if (!e) break;
    Position at = start_of(e);
    if (at.line != Arena::kNoLine) at.line -= spans[span].first_line;
    switch (e->type) {
    case FYET_DOCUMENT_START: {
      const fy_mark* m = fy_event_start_mark(e);
      size_t pos = m && m->input_pos > 0 ? static_cast<size_t>(m->input_pos) : 0;
      if (span + 1 < spans.size() && spans[span + 1].begin <= pos) {
        finish_span();
        while (span + 1 < spans.size() && spans[span + 1].begin <= pos) ++span;
        b.emplace(tree, file, spans[span].line_offset, diags, code);
        docs_at_span = tree.documents.size();
      }
      anchors.clear();
      break;
    }
    case FYET_DOCUMENT_END:
      if (b->has_root())
        tree.documents.push_back(Document{Node(tree.arena.get(), b->take_root()), spans[span].line_offset,
                                          spans[span].bytes});
      break;
    case FYET_SCALAR: {
      // A tag (`!!str 80`) or quotes make a scalar a string whatever it spells.
      bool plain = fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN && !e->scalar.tag;
      size_t len = 0;
      const char* s = fy_token_get_text(e->scalar.value, &len);
      // libfyaml marks a quoted scalar after its opening quote; the readers' ranges (and
      // yaml-cpp's) start at the quote.
      fy_scalar_style style = fy_token_scalar_style(e->scalar.value);
      if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && at.column > 0) {
        const fy_mark* m = fy_event_start_mark(e);
        if (m && m->input_pos > 0 && m->input_pos <= text.size() && (text[m->input_pos - 1] == '"' || text[m->input_pos - 1] == '\''))
          --at.column;
      }
      uint32_t n = b->scalar(std::string_view(s ? s : "", s ? len : 0), plain, at.line, at.column);
      if (e->scalar.anchor) anchor_done(token_text(e->scalar.anchor), n);
      break;
    }
    case FYET_SEQUENCE_START:
    case FYET_MAPPING_START: {
      bool seq = e->type == FYET_SEQUENCE_START;
      if (!b->open(seq ? NodeType::Sequence : NodeType::Map, at.line, at.column)) break;
      fy_token* anchor = seq ? e->sequence_start.anchor : e->mapping_start.anchor;
      open_anchors.push_back(anchor ? token_text(anchor) : std::string());
      break;
    }
    case FYET_SEQUENCE_END:
    case FYET_MAPPING_END: {
      uint32_t n = b->close();
      anchor_done(open_anchors.back(), n);
      open_anchors.pop_back();
      break;
    }
    case FYET_ALIAS: {
      // Only anchors of finished nodes resolve: `&a [*a]` would be a cycle.
      std::string name = token_text(e->alias.anchor);
      auto it = anchors.find(name);
      if (it == anchors.end())
        b->error(at.line, at.column, "invalid YAML: alias '*" + name + "' names no anchor defined before it");
      else
        b->add(it->second);
      break;
    }
    default: break;
    }
    fy_parser_event_free(p.parser, e);
  }
  if (!b->failed() && fy_parser_get_stream_error(p.parser)) report_parse_error(p, *b);
  finish_span();
  return ok;
}

/// Starts `p` on `text`: a parser that read earlier text of the same file cleanly is reset
/// and reused (making one costs more than parsing a small document).
bool start(std::unique_ptr<FyParser>& p, std::string_view text) {
  if (p && fy_parser_reset(p->parser) != 0) p.reset();
  if (!p) p = std::make_unique<FyParser>();
  if (!p->parser || fy_parser_set_string(p->parser, text.data(), text.size()) != 0) {
    p.reset();
    return false;
  }
  return true;
}

/// Builds one chunk with `p`; after any problem the parser is dropped, so errors it
/// collected never speak for a later chunk.
bool build_chunk(std::unique_ptr<FyParser>& p, std::string_view text, uint32_t line_offset, FileId file,
                 Diagnostics& diags, Tree& tree, Code code) {
  // libfyaml 0.7.12 never returns from a directive (`%` at a line start) followed by a byte
  // that is not UTF-8: such text goes no further. (The readers also check the whole file,
  // E002; this guard is for every caller.)
  if (size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    Builder b(tree, file, line_offset, diags, code);
    std::string_view before = text.substr(0, bad);
    size_t nl = before.rfind('\n');
    auto line = static_cast<uint32_t>(std::count(before.begin(), before.end(), '\n'));
    auto column = static_cast<uint32_t>(nl == std::string_view::npos ? bad : bad - nl - 1);
    b.error(line, column, "invalid YAML: not UTF-8 text (or a NUL byte) here");
    return b.finish();
  }
  if (!start(p, text)) {
    Builder b(tree, file, line_offset, diags, code);
    b.error(Arena::kNoLine, 0, "cannot start the YAML parser");
    return b.finish();
  }
  bool ok = build_spans(*p, text, {Span{0, 0, line_offset, text.size()}}, file, diags, tree, code);
  if (!ok) p.reset();
  return ok;
}

} // namespace

bool build_yaml(std::string_view text, uint32_t line_offset, FileId file, Diagnostics& diags, Tree& tree,
                Code code) {
  std::unique_ptr<FyParser> p;
  return build_chunk(p, text, line_offset, file, diags, tree, code);
}

namespace {

/// A document of a multi-document file: its text and the 0-based line it starts at.
struct Chunk {
  std::string_view text;
  uint32_t first_line;
};

/// Splits at `---` lines (column 0), so one broken document does not hide the others.
/// A document marker is only ever at column 0, and block scalars cannot contain one.
/// `directives`: whether some line starts with `%`.
std::vector<Chunk> split_documents(std::string_view text, bool& directives) {
  directives = false;
  std::vector<Chunk> out;
  size_t start = 0, pos = 0;
  uint32_t line = 0, start_line = 0;
  bool has_content = false;  // the current chunk has more than comments and directives
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view l = text.substr(pos, eol - pos);
    bool marker = l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    if (!l.empty() && l[0] == '%') directives = true;
    if (marker && has_content) {
      out.push_back(Chunk{text.substr(start, pos - start), start_line});
      start = pos, start_line = line;
      has_content = false;
    }
    if (marker) {
      has_content = l.find_first_not_of(" \t\r", 3) != std::string_view::npos;
    } else {
      size_t first = l.find_first_not_of(" \t\r");
      if (first != std::string_view::npos && l[first] != '#' && l[first] != '%') has_content = true;
    }
    pos = eol + 1;
    ++line;
  }
  if (start < text.size()) out.push_back(Chunk{text.substr(start), start_line});
  return out;
}

/// The whole file in one run of libfyaml, each chunk a span of its own: the same tree as
/// chunk by chunk, without a parser reset and a fresh input per document (about 15% of
/// libfyaml's work on a file of 5,000 small policies). Only for text that builds cleanly
/// (the caller keeps files with a directive, `%`, whose scope is a document, chunk by
/// chunk): anything with a diagnostic (a syntax error, a duplicate key) returns false
/// having added nothing, and the file is then built chunk by chunk, which reports it.
bool build_stream(std::unique_ptr<FyParser>& p, std::string_view text, const std::vector<Chunk>& chunks, FileId file,
                  Tree& tree) {
  if (first_invalid_utf8(text) != std::string_view::npos || !start(p, text)) return false;
  std::vector<Span> spans;
  spans.reserve(chunks.size());
  for (const Chunk& c : chunks)
    spans.push_back(Span{static_cast<size_t>(c.text.data() - text.data()), c.first_line, c.first_line, c.text.size()});
  Arena& a = *tree.arena;
  size_t slots = a.slots.size(), kids = a.kids.size(), chars = a.chars.size(), docs = tree.documents.size();
  Diagnostics quiet;
  if (build_spans(*p, text, spans, file, quiet, tree, Code::E201) && quiet.all().empty()) return true;
  a.slots.resize(slots);
  a.kids.resize(kids);
  a.chars.resize(chars);
  tree.documents.resize(docs);
  p.reset();
  return false;
}

bool is_json_path(std::string_view path) { return path.size() >= 5 && path.substr(path.size() - 5) == ".json"; }

} // namespace

Tree build_file(FileId file, const SourceManager& sm, Diagnostics& diags, bool& ok, Documents how) {
  Tree tree;
  std::string_view text = sm.text(file);
  if (is_json_path(sm.path(file))) {
    ok = build_json(text, file, diags, tree);
    return tree;
  }
  ok = true;
  // About one node per 7 bytes of a typical manifest, two thirds of it scalar text:
  // reserving up front saves regrowing (and copying) the arena a dozen times for a large
  // file; pages never touched cost nothing.
  tree.arena->slots.reserve(text.size() / 6);
  tree.arena->kids.reserve(text.size() / 6);
  tree.arena->chars.reserve(text.size());
  std::unique_ptr<FyParser> parser;  // one for the file's chunks
  bool directives = false;
  std::vector<Chunk> chunks = split_documents(text, directives);
  if (how == Documents::OneStreamFirst && chunks.size() > 1 && !directives && !diags.saturated() &&
      build_stream(parser, text, chunks, file, tree))
    return tree;
  for (const Chunk& chunk : chunks) {
    if (diags.saturated()) break;
    ok = build_chunk(parser, chunk.text, chunk.first_line, file, diags, tree, Code::E201) && ok;
  }
  return tree;
}

} // namespace moat::doc
