// Shared state and helpers of the passes that lower a moat parse tree into the IR. The
// pass order lives in parse_moat.cpp: declarations (names, namespace labels) first, then
// every other statement in source order. Each pass reports its own diagnostics and skips
// what it cannot lower; nothing is lowered from a tree with syntax errors.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frontend/moat/syntax.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat::moatlang {

/// Where a statement sits. Names resolve in the namespace first, then at cluster scope.
struct Scope {
  enum class Kind : uint8_t { Cluster, Namespace, Nodepool };
  Kind kind = Kind::Cluster;
  std::string ns;  // Namespace: the block's namespace
  static Scope cluster() { return {}; }
  static Scope of_namespace(std::string ns) { return {Kind::Namespace, std::move(ns)}; }
  /// Rule::origin / Isolation::origin of statements in this scope.
  std::string origin() const { return kind == Kind::Namespace ? "moat " + ns : "moat cluster"; }
};

/// A peer expression after name resolution. Workloads: peer.kind == Endpoints and the
/// expression may be a rule subject. Dns: kube-dns, whose ports narrow a rule's ports.
struct ResolvedPeer {
  enum class Kind : uint8_t { Workloads, Dns, Other };
  Kind kind = Kind::Other;
  Peer peer;
  std::string home_ns;  // namespace a referenced declaration lives in ("" at cluster scope)
  std::string display;  // how the user wrote it, for endpoint names and messages
};

/// A `workload` or `peer` declaration, resolved on first use (declarations may appear in
/// any order inside a file; one may refer to another, cycles are reported).
struct Symbol {
  std::string ns, name;
  bool workload = false;
  MoatParser::PeerExprContext* expr = nullptr;  // null: declared by an earlier file
  SourceRange range;                            // the declaration statement
  enum class State : uint8_t { Pending, Resolving, Done, Failed } state = State::Pending;
  ResolvedPeer value;
};

struct LowerContext {
  LowerContext(const MoatSyntax& s, Module& m, Diagnostics& d) : syn(s), module(m), diags(d) {}
  const MoatSyntax& syn;
  Module& module;
  Diagnostics& diags;
  /// (namespace or "" for cluster scope, name) -> declaration; includes earlier files'.
  std::map<std::pair<std::string, std::string>, Symbol> symbols;
  /// Declarations of this file in source order (keys into `symbols`).
  std::vector<std::pair<std::string, std::string>> declared;

  SourceRange range(antlr4::ParserRuleContext* c) const { return syn.range(c); }
  SourceRange range(antlr4::tree::TerminalNode* n) const { return syn.range(n); }
  std::string text(antlr4::ParserRuleContext* c) const { return std::string(syn.source(c)); }
};

// ---- lower_selectors.cpp (selectors, peers) and lower_ports.cpp (ports) -----------
/// The `kubernetes.io/metadata.name In [ns]` requirement that scopes a selector.
LabelRequirement namespace_requirement(const std::string& ns, SourceRange range);
/// The contents of a string literal, escapes resolved.
std::string unquote(std::string_view literal);
std::optional<std::string> lower_label_key(LowerContext& cx, MoatParser::LabelKeyContext* key);
std::optional<std::string> lower_label_value(LowerContext& cx, MoatParser::LabelValueContext* value);
std::optional<LabelRequirement> lower_selector_term(LowerContext& cx, MoatParser::SelectorTermContext* term);
std::optional<LabelSelector> lower_selector(LowerContext& cx, MoatParser::SelectorContext* sel);
/// Is `ns` a valid namespace name (an RFC 1123 DNS label)?
bool is_namespace_name(std::string_view ns);
/// Validates a namespace name; reports E306.
bool check_namespace_name(LowerContext& cx, const std::string& ns, SourceRange range);
/// Lowers and resolves a peer expression in `scope`; nullopt after reporting.
std::optional<ResolvedPeer> lower_peer(LowerContext& cx, MoatParser::PeerExprContext* expr, const Scope& scope);
/// Lowers an `on ...` clause (null clause: every port); nullopt after reporting.
std::optional<std::vector<PortMatch>> lower_ports(LowerContext& cx, MoatParser::PortsClauseContext* clause);
/// One port item; `previous` carries the protocol of the item before it (`on tcp 80, 443`).
std::optional<PortMatch> lower_port_item(LowerContext& cx, MoatParser::PortItemContext* item,
                                         std::optional<Protocol>& previous);
/// kube-dns: `namespace kube-system`, pods `{k8s-app: kube-dns}`.
EndpointSelector kube_dns_selector(SourceRange range);
/// The ports a rule to `dns` gets: udp 53 and tcp 53, narrowed by explicit ports (E107 when
/// nothing is left).
std::optional<std::vector<PortMatch>> dns_ports(LowerContext& cx, const std::vector<PortMatch>& given,
                                                SourceRange range);

// ---- lower_declarations.cpp: names and namespace labels ----------------------------
/// Pass 1: records namespaces (with their labels) and every workload/peer declaration,
/// then resolves them all and appends them to Module::workloads / Module::peers.
void lower_declarations(LowerContext& cx);
/// Looks up `ns/name` or `name` (in `scope`); reports E102 with suggestions.
std::optional<ResolvedPeer> resolve_reference(LowerContext& cx, MoatParser::RefPeerContext* ref, const Scope& scope);

// ---- lower_connection_rules.cpp ----------------------------------------------------
void lower_default_deny(LowerContext& cx, MoatParser::DefaultDenyContext* stmt, const Scope& scope);
void lower_connection_rule(LowerContext& cx, MoatParser::ConnectionRuleContext* stmt, const Scope& scope);

// ---- lower_nodepools.cpp -----------------------------------------------------------
void lower_nodepool(LowerContext& cx, MoatParser::NodepoolBlockContext* block);

// ---- lower_proofs.cpp / lower_expects.cpp ------------------------------------------
void lower_prove(LowerContext& cx, MoatParser::ProveStmtContext* stmt, const Scope& scope);
void lower_expect(LowerContext& cx, MoatParser::ExpectStmtContext* stmt, const Scope& scope);

// ---- parse_moat.cpp ----------------------------------------------------------------
/// E105 with a hint of where the statement belongs.
void report_misplaced(LowerContext& cx, MoatParser::StatementContext* stmt, const char* where);

} // namespace moat::moatlang
