// Pass 1 of the moat front end: namespaces and their labels, and the `workload` / `peer`
// declarations of every scope. Names are per namespace: `training` resolves in the current
// namespace and then at cluster scope (top level), `ns/name` in namespace ns. Declarations
// from files loaded earlier are visible; later files are not (load order is sorted paths).
#include <algorithm>

#include <fmt/format.h>

#include "frontend/moat/lower.h"

namespace moat::moatlang {

namespace {

std::string qualified(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

bool is_kube_dns(const EndpointSelector& s) {
  auto one = [](const LabelSelector& l, const char* key, const char* value) {
    return l.reqs.size() == 1 && l.reqs[0].key == key && l.reqs[0].op == LabelRequirement::Op::In &&
           l.reqs[0].values == std::vector<std::string>{value};
  };
  return one(s.namespaces, kNamespaceNameLabel, "kube-system") && one(s.pods, "k8s-app", "kube-dns");
}

/// Earlier files' declarations, already lowered: visible by name, never re-appended.
void preload_earlier_files(LowerContext& cx) {
  for (const NamedSelector& w : cx.module.workloads) {
    Symbol s{w.ns, w.name, true, nullptr, w.range, Symbol::State::Done, {}};
    s.value.kind = ResolvedPeer::Kind::Workloads;
    s.value.peer.kind = Peer::Kind::Endpoints;
    s.value.peer.endpoints = w.selector;
    s.value.peer.range = w.range;
    s.value.home_ns = w.ns;
    s.value.display = qualified(w.ns, w.name);
    cx.symbols.emplace(std::make_pair(w.ns, w.name), std::move(s));
  }
  for (const NamedPeer& p : cx.module.peers) {
    Symbol s{p.ns, p.name, false, nullptr, p.range, Symbol::State::Done, {}};
    s.value.peer = p.peer;
    s.value.home_ns = p.ns;
    s.value.display = qualified(p.ns, p.name);
    // A `peer x = dns` keeps its port narrowing across files: the IR has no flag for it,
    // but its selector is exactly kube-dns.
    if (p.peer.kind == Peer::Kind::Endpoints)
      s.value.kind = is_kube_dns(p.peer.endpoints) ? ResolvedPeer::Kind::Dns : ResolvedPeer::Kind::Workloads;
    cx.symbols.emplace(std::make_pair(p.ns, p.name), std::move(s));
  }
}

void declare(LowerContext& cx, const std::string& ns, bool workload, MoatParser::NameContext* name,
             MoatParser::PeerExprContext* expr, antlr4::ParserRuleContext* stmt) {
  auto key = std::make_pair(ns, name->getText());
  auto it = cx.symbols.find(key);
  if (it != cx.symbols.end()) {
    Diagnostic& d = cx.diags.report(Code::E103, cx.range(name),
                                    fmt::format("'{}' is already declared{}", qualified(ns, key.second),
                                                ns.empty() ? " at cluster scope" : " in namespace " + ns));
    d.notes.push_back({it->second.range, "first declared here"});
    return;
  }
  Symbol s;
  s.ns = ns;
  s.name = key.second;
  s.workload = workload;
  s.expr = expr;
  s.range = cx.range(stmt);
  cx.symbols.emplace(key, std::move(s));
  cx.declared.push_back(key);
}

void declare_statement(LowerContext& cx, const std::string& ns, MoatParser::StatementContext* st) {
  if (auto* w = st->workloadDecl()) declare(cx, ns, true, w->name(), w->peerExpr(), w);
  if (auto* p = st->peerDecl()) declare(cx, ns, false, p->name(), p->peerExpr(), p);
}

void namespace_label(LowerContext& cx, const std::string& ns, MoatParser::LabelStmtContext* stmt,
                     std::map<std::pair<std::string, std::string>, SourceRange>& seen) {
  auto key = lower_label_key(cx, stmt->labelKey());
  auto value = lower_label_value(cx, stmt->labelValue());
  if (!key || !value) return;
  if (*key == kNamespaceNameLabel) {
    cx.diags.report(Code::E306, cx.range(stmt->labelKey()),
                    fmt::format("'{}' is set by Kubernetes to the namespace name and cannot be declared",
                                kNamespaceNameLabel));
    return;
  }
  Labels& labels = cx.module.namespaces[ns];
  auto old = labels.find(*key);
  if (old != labels.end() && old->second != *value) {
    Diagnostic& d = cx.diags.report(Code::E103, cx.range(stmt),
                                    fmt::format("namespace {} already has label {}={}", ns, *key, old->second));
    auto first = seen.find({ns, *key});
    if (first != seen.end()) d.notes.push_back({first->second, "first set here"});
    return;
  }
  labels[*key] = *value;
  seen.emplace(std::make_pair(ns, *key), cx.range(stmt));
}

std::optional<ResolvedPeer> resolve_symbol(LowerContext& cx, Symbol& sym, SourceRange use) {
  switch (sym.state) {
  case Symbol::State::Done: return sym.value;
  case Symbol::State::Failed: return std::nullopt;
  case Symbol::State::Resolving:
    cx.diags.report(Code::E102, use,
                    fmt::format("'{}' is defined in terms of itself", qualified(sym.ns, sym.name)));
    sym.state = Symbol::State::Failed;
    return std::nullopt;
  case Symbol::State::Pending: break;
  }
  sym.state = Symbol::State::Resolving;
  Scope scope = sym.ns.empty() ? Scope::cluster() : Scope::of_namespace(sym.ns);
  auto v = lower_peer(cx, sym.expr, scope);
  if (sym.state == Symbol::State::Failed) return std::nullopt;  // a cycle was reported below us
  if (v && sym.workload && v->kind != ResolvedPeer::Kind::Workloads) {
    cx.diags.report(Code::E106, cx.range(sym.expr),
                    fmt::format("workload '{}' must select workloads (a selector, *, ns/{{...}}, namespace NAME "
                                "or another workload); declare cidr, fqdn, dns and entities with 'peer'",
                                sym.name));
    v.reset();
  }
  if (!v) {
    sym.state = Symbol::State::Failed;
    return std::nullopt;
  }
  if (v->home_ns.empty()) v->home_ns = sym.ns;
  v->display = qualified(sym.ns, sym.name);
  sym.value = std::move(*v);
  sym.state = Symbol::State::Done;
  return sym.value;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

/// E102 with the most useful hint: the same name in another namespace, or a near miss.
void report_unknown(LowerContext& cx, SourceRange range, const std::string& shown, const std::string& name,
                    const std::vector<std::string>& searched) {
  Diagnostic& d = cx.diags.report(Code::E102, range, fmt::format("unknown name '{}'", shown));
  std::vector<std::string> elsewhere;
  std::string best;
  size_t best_dist = std::max<size_t>(1, name.size() / 3) + 1;
  for (const auto& [key, sym] : cx.symbols) {
    bool visible = std::find(searched.begin(), searched.end(), key.first) != searched.end();
    if (key.second == name && !visible) elsewhere.push_back(qualified(key.first, name));
    if (visible) {
      size_t dist = edit_distance(key.second, name);
      if (dist < best_dist) best_dist = dist, best = key.second;
    }
  }
  if (!elsewhere.empty()) {
    d.notes.push_back({{}, fmt::format("'{}' is declared elsewhere; did you mean '{}'?", name, elsewhere[0])});
  } else if (!best.empty()) {
    d.notes.push_back({{}, fmt::format("did you mean '{}'?", best)});
  } else if (searched.size() == 1 && searched[0].empty()) {
    d.notes.push_back({{}, "outside a namespace block, refer to declarations as ns/name"});
  }
}

} // namespace

std::optional<ResolvedPeer> resolve_reference(LowerContext& cx, MoatParser::RefPeerContext* ref, const Scope& scope) {
  std::string name = ref->name()->getText();
  SourceRange range = cx.range(ref);
  std::vector<std::string> searched;
  if (ref->nsName())
    searched = {ref->nsName()->getText()};
  else if (scope.kind == Scope::Kind::Namespace)
    searched = {scope.ns, ""};
  else
    searched = {""};
  for (const std::string& ns : searched) {
    auto it = cx.symbols.find({ns, name});
    if (it == cx.symbols.end()) continue;
    auto v = resolve_symbol(cx, it->second, range);
    if (!v) return std::nullopt;
    v->peer.range = range;
    return v;
  }
  report_unknown(cx, range, cx.text(ref), name, searched);
  return std::nullopt;
}

void lower_declarations(LowerContext& cx) {
  preload_earlier_files(cx);
  std::map<std::pair<std::string, std::string>, SourceRange> label_seen;
  for (auto* st : cx.syn.tree->statement()) {
    if (auto* block = st->namespaceBlock()) {
      std::string ns = block->nsName()->getText();
      if (!check_namespace_name(cx, ns, cx.range(block->nsName()))) continue;
      cx.module.namespaces[ns][kNamespaceNameLabel] = ns;
      for (auto* inner : block->statement()) {
        declare_statement(cx, ns, inner);
        if (auto* label = inner->labelStmt()) namespace_label(cx, ns, label, label_seen);
      }
    } else {
      declare_statement(cx, "", st);
    }
  }
  for (const auto& key : cx.declared) {
    Symbol& sym = cx.symbols.at(key);
    auto v = resolve_symbol(cx, sym, sym.range);
    if (!v) continue;
    if (sym.workload)
      cx.module.workloads.push_back(NamedSelector{sym.ns, sym.name, v->peer.endpoints, sym.range});
    else
      cx.module.peers.push_back(NamedPeer{sym.ns, sym.name, v->peer, sym.range});
  }
}

} // namespace moat::moatlang
