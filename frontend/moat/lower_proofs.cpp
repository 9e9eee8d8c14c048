// `prove` statements into ir::Prove: the verifier decides them; the front end only resolves
// the groups and peers they mention and keeps the statement's text for reports.
#include <fmt/format.h>

#include "frontend/moat/lower.h"

namespace moat::moatlang {

namespace {

/// One peer (with optional ports) of a reachability or confinement proof; dns carries its
/// own ports, narrowed by explicit ones.
std::optional<PeerPorts> lower_peer_ports(LowerContext& cx, MoatParser::PeerExprContext* expr,
                                          MoatParser::PortsClauseContext* clause, const Scope& scope,
                                          SourceRange range) {
  auto p = lower_peer(cx, expr, scope);
  auto ports = lower_ports(cx, clause);
  if (!p || !ports) return std::nullopt;
  if (p->kind == ResolvedPeer::Kind::Dns) {
    ports = dns_ports(cx, *ports, p->peer.range);
    if (!ports) return std::nullopt;
  }
  return PeerPorts{p->peer, std::move(*ports), range};
}

} // namespace

void lower_prove(LowerContext& cx, MoatParser::ProveStmtContext* stmt, const Scope& scope) {
  Prove pr;
  pr.range = cx.range(stmt);
  pr.text = cx.text(stmt);
  bool ok = true;
  auto add_subject = [&](MoatParser::PeerExprContext* e) {
    auto p = lower_peer(cx, e, scope);
    if (p)
      pr.subjects.push_back(p->peer);
    else
      ok = false;
  };
  if (auto* iso = dynamic_cast<MoatParser::ProveIsolatedContext*>(stmt)) {
    pr.kind = Prove::Kind::Isolated;
    auto groups = iso->peerList()->peerExpr();
    if (groups.size() < 2) {
      cx.diags.report(Code::E106, cx.range(iso->peerList()),
                      "'prove isolated' needs at least two groups that must not reach each other");
      return;
    }
    for (auto* e : groups) add_subject(e);
  } else if (auto* reach = dynamic_cast<MoatParser::ProveReachableContext*>(stmt)) {
    pr.kind = Prove::Kind::Reachable;
    add_subject(reach->subject);
    for (auto* e : reach->peerList()->peerExpr()) {
      auto pp = lower_peer_ports(cx, e, reach->portsClause(), scope, cx.range(e));
      if (pp)
        pr.peers.push_back(std::move(*pp));
      else
        ok = false;
    }
  } else if (auto* within = dynamic_cast<MoatParser::ProveWithinContext*>(stmt)) {
    pr.kind = within->dir->getType() == MoatParser::EGRESS ? Prove::Kind::EgressWithin : Prove::Kind::IngressWithin;
    add_subject(within->subject);
    for (auto* item : within->withinItem()) {
      auto pp = lower_peer_ports(cx, item->peerExpr(), item->portsClause(), scope, cx.range(item));
      if (pp)
        pr.peers.push_back(std::move(*pp));
      else
        ok = false;
    }
  } else if (auto* admits = dynamic_cast<MoatParser::ProvePoolAdmitsContext*>(stmt)) {
    pr.kind = Prove::Kind::PoolAdmits;
    pr.pool = admits->word()->getText();
    for (auto* e : admits->peerList()->peerExpr()) {
      auto p = lower_peer(cx, e, scope);
      if (p && p->kind != ResolvedPeer::Kind::Workloads) {
        cx.diags.report(Code::E106, cx.range(e),
                        fmt::format("a nodepool admits workloads; '{}' is not a workload selector", p->display));
        p.reset();
      }
      if (p)
        pr.subjects.push_back(p->peer);
      else
        ok = false;
    }
  }
  if (ok) cx.module.proofs.push_back(std::move(pr));
}

} // namespace moat::moatlang
