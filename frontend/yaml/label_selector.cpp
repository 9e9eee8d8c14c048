// Label maps and selectors: the metav1.LabelSelector schema shared by NetworkPolicy,
// Cilium policies and Karpenter, with the API server's key/value/operator checks.
#include "frontend/yaml/label_selector.h"

#include <algorithm>

#include "ir/validate.h"

namespace moat::yamlfe {

namespace {

/// Label sources Cilium understands as a `source:` key prefix (pkg/labels).
constexpr std::string_view kCiliumSources[] = {"k8s", "any", "reserved", "container", "unspec", "cidr", "fqdn",
                                               "cilium-generated", "cni", "kvstore", "etcd", "node", "cidrgroup"};

bool validate_key(Ctx& ctx, std::string_view key, LabelFlavor flavor, SourceRange at, std::string_view what) {
  std::string_view bare = key;
  std::string stripped;
  if (flavor == LabelFlavor::Cilium) {
    stripped = split_label_source(key).second;
    bare = stripped;
  }
  if (auto why = check_label_key(bare)) {
    ctx.diags.report(Code::E306, at, "invalid label key '" + std::string(key) + "' in " + std::string(what) + ": " + *why);
    return false;
  }
  return true;
}

bool validate_value(Ctx& ctx, std::string_view key, std::string_view value, SourceRange at, std::string_view what) {
  if (auto why = check_label_value(value)) {
    ctx.diags.report(Code::E306, at,
                     "invalid value '" + std::string(value) + "' for label '" + std::string(key) + "' in " +
                         std::string(what) + ": " + *why);
    return false;
  }
  return true;
}

/// A label value: a string; null reads as "" (as Go's JSON decoding does).
std::optional<std::string> label_value(Ctx& ctx, const doc::Node& v, std::string_view what, SourceRange fallback) {
  if (is_null(v)) return std::string();
  return strict_string(ctx, v, what, fallback);
}

} // namespace

std::pair<std::string, std::string> split_label_source(std::string_view key) {
  size_t colon = key.find(':');
  if (colon != std::string_view::npos) {
    std::string_view src = key.substr(0, colon);
    for (std::string_view s : kCiliumSources)
      if (src == s) return {std::string(src), std::string(key.substr(colon + 1))};
  }
  return {"", std::string(key)};
}

std::optional<std::vector<LabelEntry>> parse_label_map(Ctx& ctx, const doc::Node& node, std::string_view what,
                                                       LabelFlavor flavor, SourceRange fallback) {
  Map m(ctx, node, std::string(what), fallback);
  if (!m.valid()) return std::nullopt;
  std::vector<LabelEntry> out;
  bool ok = true;
  for (const Map::Entry& e : m.entries()) {
    SourceRange kr = range_of(ctx, e.key_node, m.range());
    std::string label_what = "label '" + e.key + "' in " + std::string(what);
    auto v = label_value(ctx, e.value, label_what, kr);
    if (!v) {
      ok = false;
      continue;
    }
    SourceRange vr = range_of(ctx, e.value, kr);
    bool good = validate_key(ctx, e.key, flavor, kr, what);
    good = validate_value(ctx, e.key, *v, vr, what) && good;
    ok = ok && good;
    out.push_back(LabelEntry{e.key, *v, kr});
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<LabelSelector> parse_label_selector(Ctx& ctx, const doc::Node& node, std::string_view what,
                                                  LabelFlavor flavor, SourceRange fallback) {
  Map m(ctx, node, std::string(what), fallback);
  if (!m.valid()) return std::nullopt;
  m.check({"matchLabels", "matchExpressions"});
  LabelSelector sel;
  sel.range = m.range();
  bool ok = true;

  if (auto labels = parse_label_map(ctx, m.get("matchLabels"), std::string(what) + " matchLabels", flavor,
                                    m.key_range("matchLabels"))) {
    for (LabelEntry& e : *labels)
      sel.reqs.push_back(LabelRequirement{std::move(e.key), LabelRequirement::Op::In, {std::move(e.value)}, e.range});
  } else {
    ok = false;
  }

  std::string expr_what = std::string(what) + " matchExpressions";
  for (const doc::Node& item : list_items(ctx, m.get("matchExpressions"), expr_what, m.key_range("matchExpressions"))) {
    Map x(ctx, item, "an entry of " + expr_what, m.key_range("matchExpressions"));
    if (!x.valid()) {
      ok = false;
      continue;
    }
    x.check({"key", "operator", "values"});
    bool good = x.require("key") & x.require("operator");
    if (!good) {
      ok = false;
      continue;
    }
    auto key = strict_string(ctx, x.get("key"), "key", x.key_range("key"));
    auto op_text = strict_string(ctx, x.get("operator"), "operator", x.key_range("operator"));
    if (!key || !op_text) {
      ok = false;
      continue;
    }
    LabelRequirement req;
    req.key = *key;
    req.range = x.range();
    SourceRange op_range = x.value_range("operator");
    if (*op_text == "In") req.op = LabelRequirement::Op::In;
    else if (*op_text == "NotIn") req.op = LabelRequirement::Op::NotIn;
    else if (*op_text == "Exists") req.op = LabelRequirement::Op::Exists;
    else if (*op_text == "DoesNotExist") req.op = LabelRequirement::Op::DoesNotExist;
    else {
      std::string hint;
      for (const char* known : {"In", "NotIn", "Exists", "DoesNotExist"})
        if (edit_distance(*op_text, known) == 0) hint = std::string("; operators are case-sensitive: did you mean '") + known + "'?";
      ctx.diags.report(Code::E310, op_range,
                       "unknown selector operator '" + *op_text + "' (expected In, NotIn, Exists or DoesNotExist)" + hint);
      ok = false;
      continue;
    }
    good = validate_key(ctx, req.key, flavor, x.value_range("key"), what);
    for (const doc::Node& v : list_items(ctx, x.get("values"), "values", x.key_range("values"))) {
      auto s = label_value(ctx, v, "a selector value", x.key_range("values"));
      if (!s) {
        good = false;
        continue;
      }
      good = validate_value(ctx, req.key, *s, range_of(ctx, v, x.key_range("values")), what) && good;
      req.values.push_back(*s);
    }
    bool needs_values = req.op == LabelRequirement::Op::In || req.op == LabelRequirement::Op::NotIn;
    if (needs_values && req.values.empty()) {
      ctx.diags.report(Code::E310, op_range, "operator " + *op_text + " needs a non-empty 'values' list");
      good = false;
    } else if (!needs_values && !req.values.empty()) {
      ctx.diags.report(Code::E310, x.key_range("values"), "operator " + *op_text + " must not have 'values'");
      good = false;
    }
    std::sort(req.values.begin(), req.values.end());
    req.values.erase(std::unique(req.values.begin(), req.values.end()), req.values.end());
    if (!good) {
      ok = false;
      continue;
    }
    sel.reqs.push_back(std::move(req));
  }
  if (!ok) return std::nullopt;
  return sel;
}

} // namespace moat::yamlfe
