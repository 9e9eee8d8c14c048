// Per-file parts of a policy load and their ordered merge (frontend/load_parts.h).
#include "frontend/load_parts.h"

#include <iterator>
#include <type_traits>

#include "frontend/utf8.h"
#include "frontend/yaml/yaml_kinds.h"

namespace moat {

// Merging moves every rule once more; that is only cheap if moving cannot throw (a vector
// would copy instead).
static_assert(std::is_nothrow_move_constructible_v<Rule> && std::is_nothrow_move_constructible_v<Isolation>);

namespace {

template <class T>
void append(std::vector<T>& into, std::vector<T>&& from) {
  // No reserve here: an exact fit per part would move everything merged so far once per
  // file (reserve_for_parts sizes the big vectors once).
  if (into.empty() && into.capacity() < from.size())
    into = std::move(from);
  else
    into.insert(into.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  from.clear();
}

/// Rules of one tier whose ids index their vector: renumbered after the `base` already there.
void renumber(std::vector<Rule>& rules, size_t base) {
  if (base == 0) return;
  for (Rule& r : rules) {
    r.id += static_cast<uint32_t>(base);
    if (r.twin >= 0) r.twin += static_cast<int32_t>(base);
  }
}

template <class Map>
bool shares_a_key(const Map& small, const Map& large) {
  for (const auto& entry : small)
    if (large.count(entry.first)) return true;
  return false;
}

} // namespace

void parse_yaml_part(FileId file, const SourceManager& sm, const LoadOptions& opts, FilePart& part) {
  if (!check_utf8(file, sm, part.diags)) return;
  parse_yaml(file, sm, part.module, part.diags, opts, &part.seen, &part.kube);
}

bool part_is_independent(const FilePart& part, const SeenObjects& seen, const Diagnostics& diags) {
  // The driver stops between documents once the errors reach the limit; below it, where the
  // count started makes no difference.
  if (diags.error_count() + part.diags.error_count() >= Diagnostics::kMaxErrors) return false;
  return !shares_a_key(part.seen.first, seen.first) && !shares_a_key(part.seen.anp_priorities, seen.anp_priorities);
}

void reserve_for_parts(const std::vector<const FilePart*>& parts, Module& out, KubeObjects& kube) {
  size_t rules = out.rules.size(), isolations = out.isolations.size(), pods = kube.pods.size(),
         controllers = kube.controllers.size();
  for (const FilePart* p : parts) {
    rules += p->module.rules.size();
    isolations += p->module.isolations.size();
    pods += p->kube.pods.size();
    controllers += p->kube.controllers.size();
  }
  out.rules.reserve(rules);
  out.isolations.reserve(isolations);
  kube.pods.reserve(pods);
  kube.controllers.reserve(controllers);
}

void append_part(FilePart&& part, Module& out, Diagnostics& diags, SeenObjects& seen, KubeObjects& kube) {
  Module& m = part.module;
  renumber(m.rules, out.rules.size());
  renumber(m.baseline_rules, out.baseline_rules.size());
  append(out.rules, std::move(m.rules));
  append(out.isolations, std::move(m.isolations));
  append(out.baseline_rules, std::move(m.baseline_rules));
  if (!m.admin_rules.empty()) {
    // As after each file of a serial load: stable by priority, so earlier files stay first
    // among equal priorities; ids are renumbered there.
    append(out.admin_rules, std::move(m.admin_rules));
    yamlfe::order_admin_rules(out);
  }
  append(out.pools, std::move(m.pools));
  append(out.workloads, std::move(m.workloads));
  append(out.peers, std::move(m.peers));
  append(out.proofs, std::move(m.proofs));
  append(out.expects, std::move(m.expects));
  append(out.cluster_workloads, std::move(m.cluster_workloads));
  for (auto& [name, labels] : m.namespaces) out.namespaces[name] = std::move(labels);

  diags.append(std::move(part.diags));
  seen.first.merge(part.seen.first);
  seen.anp_priorities.merge(part.seen.anp_priorities);

  append_kube_objects(std::move(part.kube), kube);
  part = FilePart();
}

} // namespace moat
