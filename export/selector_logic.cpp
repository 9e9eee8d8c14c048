// Syntactic selector facts for the exporters (see selector_logic.h).
#include "export/selector_logic.h"

#include <algorithm>

#include "ir/interp.h"

namespace moat::exporter {

namespace {

using Op = LabelRequirement::Op;

std::string req_text(const LabelRequirement& r) {
  static const char* ops[] = {"in", "notin", "exists", "!exists"};
  std::string out = r.key + " " + ops[static_cast<int>(r.op)];
  std::vector<std::string> values = r.values;
  std::sort(values.begin(), values.end());
  for (const std::string& v : values) out += " " + v;
  return out;
}

bool same_req(const LabelRequirement& a, const LabelRequirement& b) { return req_text(a) == req_text(b); }

/// Each requirement of `broad` appears in `narrow`.
bool implies(const LabelSelector& narrow, const LabelSelector& broad) {
  return std::all_of(broad.reqs.begin(), broad.reqs.end(), [&](const LabelRequirement& b) {
    return std::any_of(narrow.reqs.begin(), narrow.reqs.end(), [&](const LabelRequirement& n) { return same_req(n, b); });
  });
}

bool contradict(const LabelRequirement& a, const LabelRequirement& b) {
  if (a.key != b.key) return false;
  auto has = [](const LabelRequirement& r, const std::string& v) {
    return std::find(r.values.begin(), r.values.end(), v) != r.values.end();
  };
  auto requires_value = [](const LabelRequirement& r) { return r.op == Op::In || r.op == Op::Exists; };
  if (a.op == Op::DoesNotExist && requires_value(b)) return true;
  if (b.op == Op::DoesNotExist && requires_value(a)) return true;
  if (a.op == Op::In && b.op == Op::In)
    return std::none_of(a.values.begin(), a.values.end(), [&](const std::string& v) { return has(b, v); });
  if (a.op == Op::In && b.op == Op::NotIn)
    return std::all_of(a.values.begin(), a.values.end(), [&](const std::string& v) { return has(b, v); });
  if (a.op == Op::NotIn && b.op == Op::In) return contradict(b, a);
  return false;
}

bool disjoint(const LabelSelector& a, const LabelSelector& b) {
  for (const LabelRequirement& x : a.reqs)
    for (const LabelRequirement& y : b.reqs)
      if (contradict(x, y)) return true;
  return false;
}

} // namespace

std::string canonical(const LabelSelector& s) {
  std::vector<std::string> parts;
  for (const LabelRequirement& r : s.reqs) parts.push_back(req_text(r));
  std::sort(parts.begin(), parts.end());
  parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
  std::string out;
  for (const std::string& p : parts) out += p + ";";
  return out;
}

EndpointSelector normalized(const EndpointSelector& s) {
  EndpointSelector out = s;
  auto& reqs = out.namespaces.reqs;
  reqs.erase(std::remove_if(reqs.begin(), reqs.end(),
                            [](const LabelRequirement& r) { return r.key == kNamespaceNameLabel && r.op == Op::Exists; }),
             reqs.end());
  return out;
}

std::string canonical(const EndpointSelector& s) {
  EndpointSelector n = normalized(s);
  return "ns{" + canonical(n.namespaces) + "}pods{" + canonical(n.pods) + "}";
}

bool same_selector(const EndpointSelector& a, const EndpointSelector& b) { return canonical(a) == canonical(b); }

bool same_ports(const std::vector<PortMatch>& a, const std::vector<PortMatch>& b) {
  auto text = [](const std::vector<PortMatch>& ports) {
    std::vector<std::string> out;
    for (const PortMatch& p : ports)
      out.push_back(std::to_string(static_cast<int>(p.proto)) + "/" + std::to_string(p.lo) + "-" +
                    std::to_string(p.hi) + "/" + p.name);
    std::sort(out.begin(), out.end());
    return out;
  };
  return text(a) == text(b);
}

bool implies(const EndpointSelector& narrow, const EndpointSelector& broad) {
  EndpointSelector b = normalized(broad);
  return implies(narrow.namespaces, b.namespaces) && implies(narrow.pods, b.pods);
}

bool disjoint(const EndpointSelector& a, const EndpointSelector& b) {
  return disjoint(a.namespaces, b.namespaces) || disjoint(a.pods, b.pods);
}

std::optional<std::vector<std::string>> namespace_list(const LabelSelector& ns) {
  if (ns.reqs.size() != 1) return std::nullopt;
  const LabelRequirement& r = ns.reqs[0];
  if (r.key != kNamespaceNameLabel || r.op != Op::In || r.values.empty()) return std::nullopt;
  std::vector<std::string> names = r.values;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::optional<std::string> single_namespace(const LabelSelector& ns) {
  auto names = namespace_list(ns);
  if (!names || names->size() != 1) return std::nullopt;
  return names->front();
}

bool covered_by_isolation(const Module& m, const EndpointSelector& subject, Direction dir) {
  return std::any_of(m.isolations.begin(), m.isolations.end(),
                     [&](const Isolation& i) { return i.dir == dir && implies(subject, i.subject); });
}

namespace {

/// `a` names its namespaces (a requirement `kubernetes.io/metadata.name in [...]`), all of
/// them declared, and none of them has labels that `b`'s namespace requirements accept.
/// Declared namespaces have exactly their declared labels (the encoder's rule), so then no
/// endpoint is selected by both.
bool namespaces_exclude(const Module& m, const EndpointSelector& a, const EndpointSelector& b) {
  for (const LabelRequirement& r : a.namespaces.reqs) {
    if (r.key != kNamespaceNameLabel || r.op != Op::In) continue;
    bool all_excluded = std::all_of(r.values.begin(), r.values.end(), [&](const std::string& ns) {
      auto it = m.namespaces.find(ns);
      return it != m.namespaces.end() && !label_selector_matches(b.namespaces, it->second);
    });
    if (all_excluded) return true;
  }
  return false;
}

} // namespace

bool disjoint_in(const Module& m, const EndpointSelector& a, const EndpointSelector& b) {
  return disjoint(a, b) || namespaces_exclude(m, a, b) || namespaces_exclude(m, b, a);
}

bool outside_isolations(const Module& m, const EndpointSelector& subject, Direction dir) {
  return std::all_of(m.isolations.begin(), m.isolations.end(),
                     [&](const Isolation& i) { return i.dir != dir || disjoint_in(m, subject, i.subject); });
}

} // namespace moat::exporter
