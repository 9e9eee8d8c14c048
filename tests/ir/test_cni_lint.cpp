// W420 reads the kind of object a rule came from (Rule::source), not its origin text.
#include <catch2/catch.hpp>

#include "ir/cni_lint.h"

using namespace moat;

namespace {
size_t w420(const Module& m, const std::vector<Endpoint>& eps) {
  Diagnostics d;
  lint_ip_blocks_over_workloads(m, eps, d);
  size_t n = 0;
  for (const Diagnostic& x : d.all()) n += x.code == Code::W420;
  return n;
}
} // namespace

TEST_CASE("W420: only rules that came from a NetworkPolicy, whatever their origin says", "[cni]") {
  Endpoint pod;
  pod.name = "x/a";
  pod.ns = "x";
  pod.ips = {*IpAddr::parse("10.244.0.1")};
  Rule r;
  r.dir = Direction::Egress;
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *IpPrefix::parse("10.0.0.0/8");
  Module np;
  r.source = RuleSource::NetworkPolicy;
  r.origin = "imported x/allow";  // an origin text that does not start with "NetworkPolicy "
  np.add_rule(r);
  CHECK(w420(np, {pod}) == 1);
  Module cnp;
  r.source = RuleSource::CiliumNetworkPolicy;
  r.origin = "NetworkPolicy lookalike";  // a Cilium rule: toCIDR means the same under every profile
  cnp.add_rule(r);
  CHECK(w420(cnp, {pod}) == 0);
}
