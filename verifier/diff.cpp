// Semantic diff of two policy versions (DESIGN §4): both are encoded over one symbolic
// flow; "newly allowed" is allowed_new ∧ ¬allowed_old, "newly denied" the converse. Each
// is enumerated as cubes: find a witness, replay it through the interpreter on both
// versions, grow it into the largest rule-like cube still entirely inside the difference,
// block the cube, repeat (SecGuru / NCA). Unsat on both sides proves equivalence.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "verifier/cube.h"

namespace moat {

DiffReport semantic_diff(const Module& old_m, const Module& new_m, const VerifyOptions& opts) {
  DiffReport report;
  auto t0 = std::chrono::steady_clock::now();
  try {
    std::string error;
    auto s = verify::Session::make({&old_m, &new_m}, {}, opts.inventory, opts.timeout_ms, &error);
    if (!s) {
      report.internal_error = error;
      return report;
    }
    verify::SymFlow f = s->enc().flow("d");
    s->assume(s->scope().flow(f));
    std::vector<IpPrefix> prefixes;
    for (const Module* m : {&old_m, &new_m})
      for (const Rule& r : m->rules)
        if (r.peer.kind == Peer::Kind::Cidr) {
          prefixes.push_back(r.peer.cidr);
          prefixes.insert(prefixes.end(), r.peer.except.begin(), r.peer.except.end());
        }
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    z3::expr a_old = s->enc().allowed(old_m, f);
    z3::expr a_new = s->enc().allowed(new_m, f);
    bool unknown = false;
    for (bool newly_allowed : {true, false}) {
      z3::expr target = newly_allowed ? (a_new && !a_old) : (a_old && !a_new);
      z3::expr_vector blocked(s->ctx());
      size_t found = 0;
      while (true) {
        z3::expr q = target;
        for (unsigned i = 0; i < blocked.size(); ++i) q = q && !blocked[i];
        verify::CheckOutcome o = s->check_readable(q, f);
        if (o.result == z3::unsat) break;
        if (o.result == z3::unknown) {
          unknown = true;
          report.message = verify::unknown_reason(o);
          break;
        }
        if (found == opts.max_cubes) {
          report.truncated = true;
          break;
        }
        DiffCube cube;
        cube.newly_allowed = newly_allowed;
        auto w = verify::replay(new_m, s->scope(), *o.model, f, a_new, &report.internal_error);
        if (!w) return report;
        auto old_v = verify::replay_on(old_m, *w, *o.model, a_old, &report.internal_error);
        if (!old_v) return report;
        cube.witness = std::move(*w);
        cube.old_verdict = *old_v;
        verify::Cube c = verify::Cube::point(*s, f, *o.model);
        c.generalize(*s, f, target, prefixes);
        cube.src = c.end_text(s->domain(), 0);
        cube.dst = c.end_text(s->domain(), 1);
        cube.ports = c.ports_text();
        blocked.push_back(c.expr(*s, f));
        report.cubes.push_back(std::move(cube));
        ++found;
      }
    }
    if (!report.cubes.empty()) report.status = ProofStatus::Failed;
    else report.status = unknown ? ProofStatus::Unknown : ProofStatus::Proved;
  } catch (const z3::exception& e) {
    report.internal_error = std::string("Z3: ") + e.msg();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

} // namespace moat
