// `nodepool NAME { ... }` into ir::NodePool: node requirements, taints, startup taints,
// template labels, limits and the workloads the pool admits (Karpenter's NodePool, in
// moat's words).
#include <fmt/format.h>

#include "frontend/moat/lower.h"
#include "ir/validate.h"

namespace moat::moatlang {

namespace {

std::optional<Taint> lower_taint(LowerContext& cx, MoatParser::TaintSpecContext* spec) {
  Taint t;
  t.range = cx.range(spec);
  auto key = lower_label_key(cx, spec->labelKey());
  if (!key) return std::nullopt;
  t.key = *key;
  if (spec->labelValue()) {
    auto value = lower_label_value(cx, spec->labelValue());
    if (!value) return std::nullopt;
    t.value = *value;
  }
  t.effect = spec->word()->getText();
  if (t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" && t.effect != "NoExecute") {
    cx.diags.report(Code::E108, cx.range(spec->word()),
                    fmt::format("taint effect '{}' is not NoSchedule, PreferNoSchedule or NoExecute", t.effect));
    return std::nullopt;
  }
  return t;
}

template <typename Map>
bool set_once(LowerContext& cx, Map& map, const std::string& key, std::string value, SourceRange range,
              const char* what) {
  auto [it, inserted] = map.emplace(key, std::move(value));
  if (!inserted) cx.diags.report(Code::E103, range, fmt::format("{} '{}' is set twice in this nodepool", what, key));
  return inserted;
}

void lower_pool_statement(LowerContext& cx, NodePool& pool, MoatParser::StatementContext* st) {
  if (auto* req = st->requireStmt()) {
    if (auto r = lower_selector_term(cx, req->selectorTerm())) pool.requirements.push_back(std::move(*r));
  } else if (auto* taint = st->taintStmt()) {
    auto t = lower_taint(cx, taint->taintSpec());
    if (!t) return;
    (taint->kind->getType() == MoatParser::TAINT ? pool.taints : pool.startup_taints).push_back(std::move(*t));
  } else if (auto* label = st->labelStmt()) {
    auto key = lower_label_key(cx, label->labelKey());
    auto value = lower_label_value(cx, label->labelValue());
    if (key && value) set_once(cx, pool.labels, *key, *value, cx.range(label), "label");
  } else if (auto* limits = st->limitsStmt()) {
    for (auto* item : limits->limitItem()) {
      auto key = lower_label_key(cx, item->labelKey());
      if (!key) continue;
      std::string value = item->STRING() ? unquote(item->STRING()->getText()) : item->word()->getText();
      set_once(cx, pool.limits, *key, value, cx.range(item), "limit");
    }
  } else if (auto* admits = st->admitsStmt()) {
    for (auto* e : admits->peerList()->peerExpr()) {
      auto p = lower_peer(cx, e, Scope::cluster());
      if (!p) continue;
      if (p->kind != ResolvedPeer::Kind::Workloads) {
        cx.diags.report(Code::E106, cx.range(e),
                        fmt::format("a nodepool admits workloads; '{}' is not a workload selector", p->display));
        continue;
      }
      pool.admits.push_back(p->peer.endpoints);
    }
  } else {
    report_misplaced(cx, st, "inside a nodepool block (only require, taint, startup-taint, label, limits and admits)");
  }
}

} // namespace

void lower_nodepool(LowerContext& cx, MoatParser::NodepoolBlockContext* block) {
  NodePool pool;
  pool.name = block->word()->getText();
  pool.range = cx.range(block);
  if (auto why = check_label_value(pool.name); why || pool.name.empty()) {
    cx.diags.report(Code::E306, cx.range(block->word()),
                    fmt::format("nodepool name '{}' is not a valid name{}", pool.name, why ? ": " + *why : ""));
    return;
  }
  for (const NodePool& other : cx.module.pools) {
    if (other.name == pool.name) {
      Diagnostic& d = cx.diags.report(Code::E103, cx.range(block->word()),
                                      fmt::format("nodepool '{}' is already declared", pool.name));
      d.notes.push_back({other.range, "first declared here"});
      return;
    }
  }
  for (auto* st : block->statement()) lower_pool_statement(cx, pool, st);
  cx.module.pools.push_back(std::move(pool));
}

} // namespace moat::moatlang
