// Karpenter NodePool (karpenter.sh/v1, v1beta1) -> ir::NodePool: template labels, taints,
// startup taints, requirements, limits and the disruption settings (flattened).
#include <algorithm>

#include "frontend/yaml/label_selector.h"
#include "frontend/yaml/yaml_kinds.h"
#include "ir/validate.h"

namespace moat::yamlfe {

namespace {

std::optional<Taint> parse_taint(Ctx& ctx, const doc::Node& node, std::string_view what, SourceRange fallback) {
  Map m(ctx, node, std::string("a ") + std::string(what) + " entry", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"key", "value", "effect", "timeAdded"});
  bool ok = m.require("key") & m.require("effect");
  if (!ok) return std::nullopt;
  Taint t;
  t.range = m.range();
  auto key = strict_string(ctx, m.get("key"), "taint key", m.key_range("key"));
  auto effect = strict_string(ctx, m.get("effect"), "taint effect", m.key_range("effect"));
  if (!key || !effect) return std::nullopt;
  t.key = *key;
  t.effect = *effect;
  if (auto why = check_label_key(t.key)) {
    ctx.diags.report(Code::E306, m.value_range("key"), "invalid taint key '" + t.key + "': " + *why);
    ok = false;
  }
  if (m.has("value") && !is_null(m.get("value"))) {
    auto v = strict_string(ctx, m.get("value"), "taint value", m.key_range("value"));
    if (!v) return std::nullopt;
    t.value = *v;
    if (auto why = check_label_value(t.value)) {
      ctx.diags.report(Code::E306, m.value_range("value"), "invalid taint value '" + t.value + "': " + *why);
      ok = false;
    }
  }
  if (t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" && t.effect != "NoExecute") {
    ctx.diags.report(Code::E108, m.value_range("effect"),
                     "taint effect must be NoSchedule, PreferNoSchedule or NoExecute, not '" + t.effect + "'");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return t;
}

/// A NodeSelectorRequirement. Gt/Lt (numeric comparisons) have no IR operator: the node
/// must carry the key, so they are kept as Exists with a note.
std::optional<LabelRequirement> parse_requirement(Ctx& ctx, const doc::Node& node, SourceRange fallback) {
  Map m(ctx, node, "a requirements entry", fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"key", "operator", "values", "minValues"});
  if (!(m.require("key") & m.require("operator"))) return std::nullopt;
  auto key = strict_string(ctx, m.get("key"), "key", m.key_range("key"));
  auto op = strict_string(ctx, m.get("operator"), "operator", m.key_range("operator"));
  if (!key || !op) return std::nullopt;
  LabelRequirement r;
  r.key = *key;
  r.range = m.range();
  bool ok = true;
  if (auto why = check_label_key(r.key)) {
    ctx.diags.report(Code::E306, m.value_range("key"), "invalid requirement key '" + r.key + "': " + *why);
    ok = false;
  }
  for (const doc::Node& v : list_items(ctx, m.get("values"), "values", m.key_range("values"))) {
    auto s = strict_string(ctx, v, "a requirement value", m.key_range("values"));
    if (!s) {
      ok = false;
      continue;
    }
    if (auto why = check_label_value(*s)) {
      ctx.diags.report(Code::E306, range_of(ctx, v, m.key_range("values")), "invalid requirement value '" + *s + "': " + *why);
      ok = false;
    }
    r.values.push_back(*s);
  }
  if (m.has("minValues") && !is_null(m.get("minValues"))) {
    auto mv = scalar_int(ctx, m.get("minValues"), "minValues", m.key_range("minValues"));
    if (!mv) ok = false;
    else if (*mv < 1 || *mv > 50) {
      ctx.diags.report(Code::E310, m.value_range("minValues"), "minValues must be in 1-50");
      ok = false;
    }
  }
  SourceRange opr = m.value_range("operator");
  if (*op == "In" || *op == "NotIn") {
    r.op = *op == "In" ? LabelRequirement::Op::In : LabelRequirement::Op::NotIn;
    if (r.values.empty()) {
      ctx.diags.report(Code::E310, opr, "operator " + *op + " needs a non-empty 'values' list");
      ok = false;
    }
  } else if (*op == "Exists" || *op == "DoesNotExist") {
    r.op = *op == "Exists" ? LabelRequirement::Op::Exists : LabelRequirement::Op::DoesNotExist;
    if (!r.values.empty()) {
      ctx.diags.report(Code::E310, m.key_range("values"), "operator " + *op + " must not have 'values'");
      ok = false;
    }
  } else if (*op == "Gt" || *op == "Lt") {
    if (r.values.size() != 1 || !parse_decimal(r.values[0])) {
      ctx.diags.report(Code::E310, opr, "operator " + *op + " needs exactly one integer value");
      ok = false;
    } else {
      ctx.diags.report(Code::N209, opr,
                       "'" + r.key + " " + *op + " " + r.values[0] + "' is kept as '" + r.key +
                           " exists' (moat has no numeric label comparisons)");
      r.op = LabelRequirement::Op::Exists;
      r.values.clear();
    }
  } else {
    ctx.diags.report(Code::E310, opr,
                     "unknown requirement operator '" + *op + "' (expected In, NotIn, Exists, DoesNotExist, Gt or Lt)");
    ok = false;
  }
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  if (!ok) return std::nullopt;
  return r;
}

/// Flattens scalars of a small tree into "a.b[0].c" -> value.
void flatten(Ctx& ctx, const doc::Node& node, const std::string& prefix, std::map<std::string, std::string>& out,
             int depth) {
  if (depth > 8 || ctx.exhausted) return;
  if (node.IsScalar()) {
    out[prefix] = node.Scalar();
  } else if (node.IsSequence()) {
    if (!ctx.spend(node.size(), node)) return;
    for (size_t i = 0; i < node.size(); ++i) flatten(ctx, node[i], prefix + "[" + std::to_string(i) + "]", out, depth + 1);
  } else if (node.IsMap()) {
    if (!ctx.spend(node.size(), node)) return;
    for (const auto& kv : node)
      if (kv.first.IsScalar()) flatten(ctx, kv.second, prefix + (prefix.empty() ? "" : ".") + std::string(kv.first.Scalar()), out, depth + 1);
  }
}

void parse_disruption(Ctx& ctx, const Map& spec, NodePool& pool) {
  Map d(ctx, spec.get("disruption"), "NodePool disruption", spec.key_range("disruption"));
  if (!d.valid()) return;
  d.check({"consolidationPolicy", "consolidateAfter", "expireAfter", "budgets"});
  if (d.has("consolidationPolicy")) {
    auto p = strict_string(ctx, d.get("consolidationPolicy"), "consolidationPolicy", d.key_range("consolidationPolicy"));
    if (p && *p != "WhenEmpty" && *p != "WhenEmptyOrUnderutilized" && *p != "WhenUnderutilized")
      ctx.diags.report(Code::E202, d.value_range("consolidationPolicy"),
                       "consolidationPolicy must be WhenEmpty or WhenEmptyOrUnderutilized, not '" + *p + "'");
  }
  for (const doc::Node& b : list_items(ctx, d.get("budgets"), "budgets", d.key_range("budgets"))) {
    Map bm(ctx, b, "a disruption budget", d.key_range("budgets"));
    bm.check({"nodes", "schedule", "duration", "reasons"});
  }
  flatten(ctx, d.node(), "", pool.disruption, 0);
}

} // namespace

void parse_nodepool(Ctx& ctx, const Map& obj, const ObjectMeta& meta) {
  obj.check({"apiVersion", "kind", "metadata", "spec", "status"});
  if (!obj.require("spec")) return;
  Map spec(ctx, obj.get("spec"), "NodePool spec", obj.key_range("spec"));
  if (!spec.valid()) return;
  spec.check({"template", "disruption", "limits", "weight", "replicas"});
  NodePool pool;
  pool.name = meta.name;
  pool.range = meta.name_range;
  bool ok = true;

  Map tmpl(ctx, spec.get("template"), "NodePool template", spec.key_range("template"));
  if (!spec.require("template") || !tmpl.valid()) return;
  tmpl.check({"metadata", "spec"});
  Map tmeta(ctx, tmpl.get("metadata"), "template metadata", tmpl.key_range("metadata"));
  tmeta.check({"labels", "annotations"});
  if (auto labels = parse_label_map(ctx, tmeta.get("labels"), "template labels", LabelFlavor::Kubernetes,
                                    tmeta.key_range("labels"))) {
    for (LabelEntry& e : *labels) pool.labels[e.key] = e.value;
  } else {
    ok = false;
  }

  if (!tmpl.require("spec")) return;
  Map tspec(ctx, tmpl.get("spec"), "template spec", tmpl.key_range("spec"));
  if (!tspec.valid()) return;
  tspec.check({"nodeClassRef", "taints", "startupTaints", "requirements", "expireAfter", "terminationGracePeriod",
               "kubelet"});
  for (const doc::Node& r : list_items(ctx, tspec.get("requirements"), "requirements", tspec.key_range("requirements"))) {
    if (auto req = parse_requirement(ctx, r, tspec.key_range("requirements"))) pool.requirements.push_back(std::move(*req));
    else ok = false;
  }
  for (const doc::Node& t : list_items(ctx, tspec.get("taints"), "taints", tspec.key_range("taints"))) {
    if (auto taint = parse_taint(ctx, t, "taints", tspec.key_range("taints"))) pool.taints.push_back(std::move(*taint));
    else ok = false;
  }
  for (const doc::Node& t : list_items(ctx, tspec.get("startupTaints"), "startupTaints", tspec.key_range("startupTaints"))) {
    if (auto taint = parse_taint(ctx, t, "startupTaints", tspec.key_range("startupTaints")))
      pool.startup_taints.push_back(std::move(*taint));
    else ok = false;
  }

  Map limits(ctx, spec.get("limits"), "NodePool limits", spec.key_range("limits"));
  for (const Map::Entry& e : limits.entries()) {
    auto v = scalar_string(ctx, e.value, "limit '" + e.key + "'", range_of(ctx, e.key_node, limits.range()));
    if (v) pool.limits[e.key] = *v;
    else ok = false;
  }
  if (spec.has("weight")) {
    auto w = scalar_int(ctx, spec.get("weight"), "weight", spec.key_range("weight"));
    if (w && (*w < 1 || *w > 100)) {
      ctx.diags.report(Code::E202, spec.value_range("weight"), "weight must be in 1-100");
      ok = false;
    }
  }
  if (spec.has("replicas")) ok = scalar_int(ctx, spec.get("replicas"), "replicas", spec.key_range("replicas")) && ok;
  parse_disruption(ctx, spec, pool);
  if (!ok || ctx.exhausted) return;
  ctx.out.pools.push_back(std::move(pool));
}

} // namespace moat::yamlfe
