// parse_moat: the moat language front end's pipeline, in order:
//   1. parse_syntax       (syntax.cpp)              text -> parse tree, or E0xx/E10x
//   2. lower_declarations (lower_declarations.cpp)  namespaces, labels, workload/peer names
//   3. statements in source order: default deny and connection rules
//      (lower_connection_rules.cpp), nodepools (lower_nodepools.cpp), prove
//      (lower_proofs.cpp), expect (lower_expects.cpp)
// A file with syntax errors lowers nothing; later passes skip only what failed.
#include <fmt/format.h>

#include "frontend/frontend.h"
#include "frontend/moat/lower.h"

namespace moat {

namespace moatlang {

namespace {

/// The statement's first keyword, for messages ("'taint' is not allowed ...").
std::string statement_keyword(MoatParser::StatementContext* st) {
  return st->getStart() ? st->getStart()->getText() : "statement";
}

void lower_statement(LowerContext& cx, MoatParser::StatementContext* st, const Scope& scope) {
  bool top = scope.kind == Scope::Kind::Cluster;
  if (auto* ns = st->namespaceBlock()) {
    if (!top) return report_misplaced(cx, st, "at the top level (namespace blocks do not nest)");
    std::string name = ns->nsName()->getText();
    if (!is_namespace_name(name)) return;  // reported by lower_declarations
    for (auto* inner : ns->statement()) lower_statement(cx, inner, Scope::of_namespace(name));
  } else if (auto* pool = st->nodepoolBlock()) {
    if (!top) return report_misplaced(cx, st, "at the top level");
    lower_nodepool(cx, pool);
  } else if (auto* dd = st->defaultDeny()) {
    lower_default_deny(cx, dd, scope);
  } else if (auto* rule = st->connectionRule()) {
    lower_connection_rule(cx, rule, scope);
  } else if (st->workloadDecl() || st->peerDecl()) {
    // lowered by lower_declarations
  } else if (st->labelStmt()) {
    if (top) report_misplaced(cx, st, "inside a namespace block (a namespace label) or a nodepool block");
    // namespace labels: lowered by lower_declarations
  } else if (st->requireStmt() || st->taintStmt() || st->limitsStmt() || st->admitsStmt()) {
    report_misplaced(cx, st, "inside a nodepool block");
  } else if (auto* prove = st->proveStmt()) {
    lower_prove(cx, prove, scope);
  } else if (auto* expect = st->expectStmt()) {
    lower_expect(cx, expect, scope);
  }
}

} // namespace

void report_misplaced(LowerContext& cx, MoatParser::StatementContext* st, const char* where) {
  SourceRange r = cx.syn.range(st->getStart());
  cx.diags.report(Code::E105, r, fmt::format("'{}' is not allowed here; it belongs {}", statement_keyword(st), where));
}

} // namespace moatlang

void parse_moat(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags) {
  auto syn = moatlang::parse_syntax(file, sm, diags);
  if (!syn) return;
  moatlang::LowerContext cx(*syn, out, diags);
  moatlang::lower_declarations(cx);
  for (auto* st : syn->tree->statement()) {
    if (diags.saturated()) return;
    moatlang::lower_statement(cx, st, moatlang::Scope::cluster());
  }
}

} // namespace moat
