// The symbolic flow and the formulas over it (docs/LANGUAGE.md, verifier/README.md). An endpoint is a kind,
// an identity (for "self"), a node, namespace and pod labels (a node keeps its Node labels
// in the pod-side keys; per key: presence bool +
// index into the key's finite domain), one IP address (family flag + 32/128-bit vectors),
// the set of DNS name classes it carries, and a named-port table. A flow adds protocol (8
// bits) and destination port (16 bits). Internal to verifier/: the only z3 user.
#pragma once
#include <functional>
#include <map>
#include <tuple>
#include <optional>
#include <string>
#include <vector>

#include <z3++.h>

#include "ir/ir.h"
#include "verifier/domain.h"

namespace moat::verify {

struct SymEndpoint {
  z3::expr kind, ident, node;  // kind: BV3 = EndpointKind; node 0 = "unset" (any node)
  std::vector<z3::expr> ns_has, ns_val, pod_has, pod_val;
  z3::expr has_ip, v6, ip4, ip6;
  std::vector<z3::expr> dns;  // one per name class
  std::vector<z3::expr> np_has, np_proto, np_port;  // one per named port
};

struct SymFlow {
  SymEndpoint src, dst;
  z3::expr proto, port;
};

/// Which rules and isolations a formula considers: those whose subject may select the
/// local end (the verifier narrows this syntactically to keep formulas small), minus an
/// optional rule left out (lints ask "what if this rule were gone").
struct RuleFilter {
  std::function<bool(Direction, const EndpointSelector&)> subject;
  /// Rules whose peer cannot match the remote end (e.g. a peer selector disjoint from the
  /// group the remote end is constrained to) contribute nothing either.
  std::function<bool(Direction, const Peer&)> peer;
  int64_t skip_rule = -1;
  /// When set, only these rules (ids) and isolations (indices) are considered at all: the
  /// caller found them through an index, so no formula scans the whole module.
  const std::vector<uint32_t>* rule_ids = nullptr;
  const std::vector<uint32_t>* isolation_ids = nullptr;
  /// With rule_ids (sorted, and holding every rule of each subject it holds at all): group
  /// them by subject and peer as the whole-module scan does, so the formula is the scan's,
  /// term for term (Z3's models, and so the diff's witnesses, follow the terms).
  bool group_ids = false;
  bool accepts(Direction d, const EndpointSelector& s) const { return !subject || subject(d, s); }
  bool accepts_peer(Direction d, const Peer& p) const { return !peer || peer(d, p); }
};

class Encoder {
public:
  Encoder(z3::context& ctx, const Domain& domain) : ctx_(ctx), d_(domain) {}
  z3::context& ctx() { return ctx_; }
  const Domain& domain() const { return d_; }

  SymEndpoint endpoint(const std::string& prefix);
  SymFlow flow(const std::string& prefix);

  /// The every-endpoint scope: any endpoint that can exist (labels symbolic), one address.
  z3::expr well_formed(const SymEndpoint& e);
  /// Both ends well formed, a real protocol and port, "self" only between equal ends, and
  /// two workloads in one namespace see the same namespace labels.
  z3::expr well_formed(const SymFlow& f);
  /// A real protocol (TCP, UDP, SCTP, ICMP, ICMPv6) and port (ICMP: type 0..255,
  /// transport: 1..65535).
  z3::expr valid_proto_port(const SymFlow& f);
  /// `e` is the concrete endpoint `c`, using address `ip` (nullptr: it has none).
  z3::expr pin(const SymEndpoint& e, const Endpoint& c, const IpAddr* ip, unsigned ident, unsigned node);
  z3::expr pin_proto_port(const SymFlow& f, Protocol proto, uint16_t port);

  z3::expr is_kind(const SymEndpoint& e, EndpointKind k);
  /// A node endpoint (Host or RemoteNode): its pod-side label variables hold its Node's labels.
  z3::expr is_node(const SymEndpoint& e);
  z3::expr label_selector(const SymEndpoint& e, const LabelSelector& s, bool ns_side);
  z3::expr endpoint_selector(const SymEndpoint& e, const EndpointSelector& s);
  z3::expr peer(const SymEndpoint& remote, const Peer& p);
  z3::expr cidr(const SymEndpoint& e, const IpPrefix& p);
  /// `ports` against the flow's protocol and port; named ports resolve against f.dst.
  z3::expr ports(const std::vector<PortMatch>& ports, const SymFlow& f);
  z3::expr protocol_is(const SymFlow& f, Protocol p);

  z3::expr self(const SymFlow& f);
  /// IPv6 neighbour discovery (ICMPv6 133..137): link-layer plumbing, always allowed.
  z3::expr neighbour_discovery(const SymFlow& f);
  /// Traffic that is always allowed (ir/interp.cpp implicitly_allowed): self, the host to a
  /// workload on its node, and neighbour discovery.
  z3::expr implicit(const SymFlow& f);

  /// Local end of rule half `dir`: the source for egress, the destination for ingress.
  static const SymEndpoint& local(const SymFlow& f, Direction dir) { return dir == Direction::Egress ? f.src : f.dst; }
  static const SymEndpoint& remote(const SymFlow& f, Direction dir) { return dir == Direction::Egress ? f.dst : f.src; }

  z3::expr rule_match(const Rule& r, const SymFlow& f);
  /// OR of rule_match over rules of `m` with direction `dir`, action `a`, accepted by
  /// `filter`; rules are grouped by subject and peer so shared selectors are encoded once.
  z3::expr any_rule(const Module& m, Direction dir, Action a, const SymFlow& f, const RuleFilter& filter = {});
  z3::expr isolated(const Module& m, Direction dir, const SymEndpoint& local, const RuleFilter& filter = {});
  /// A first-match tier (admin, baseline): the verdict of the first of `rules` (direction
  /// `dir`, accepted by `filter`) that matches; Pass rules give `pass`, no match gives `none`.
  z3::expr first_match(const std::vector<Rule>& rules, Direction dir, const SymFlow& f, const RuleFilter& filter,
                       const z3::expr& pass, const z3::expr& none);
  /// The reference verdict (ir/interp.h) of one direction (true when the local end is not a workload).
  z3::expr direction_ok(const Module& m, Direction dir, const SymFlow& f, const RuleFilter& filter = {});
  /// The connection verdict: implicit, or egress ok at src and ingress ok at dst.
  z3::expr allowed(const Module& m, const SymFlow& f, const RuleFilter& filter = {});

  z3::expr bv(uint64_t v, unsigned bits) { return ctx_.bv_val(v, bits); }

private:
  /// Rules of one (direction, action), grouped by subject, then by peer (printed form).
  struct PeerGroup {
    const Peer* peer;
    std::vector<const Rule*> rules;
  };
  struct SubjectGroup {
    const EndpointSelector* subject;
    std::vector<PeerGroup> peers;
  };
  const std::vector<SubjectGroup>& groups(const Module& m, Direction dir, Action a);
  /// The rules of `m` among `ids` (all when null) with direction `dir` and action `a`,
  /// grouped; a subject `filter` rejects is left out.
  std::vector<SubjectGroup> group(const Module& m, const std::vector<uint32_t>* ids, Direction dir, Action a,
                                  const RuleFilter* filter);
  std::map<std::tuple<const Module*, int, int>, std::vector<SubjectGroup>> groups_;
  z3::expr label_req(const std::vector<z3::expr>& has, const std::vector<z3::expr>& val,
                     const std::vector<KeyDomain>& keys, std::optional<size_t> key, const LabelRequirement& r);
  z3::context& ctx_;
  const Domain& d_;
};

/// Unsigned value of a bit-vector numeral in `m` (model completion on).
uint64_t eval_u64(const z3::model& m, const z3::expr& e);
bool eval_bool(const z3::model& m, const z3::expr& e);

} // namespace moat::verify
