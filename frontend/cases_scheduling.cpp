// Scheduling fields of cases-file workloads (see cases_scheduling.h).
#include "frontend/cases_scheduling.h"

#include <charconv>

namespace moat::cases {

bool read_resources(const doc::Node& n, std::map<std::string, std::string>& out, const ErrorAt& error) {
  if (!n.IsMap()) {
    error(n, "'resources' must be a map of resource name to quantity, e.g. {nvidia.com/gpu: 1}");
    return false;
  }
  bool good = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const doc::Node key = it->first, value = it->second;
    if (!key.IsScalar() || key.Scalar().empty() || !value.IsScalar() || value.Scalar().empty()) {
      error(key.IsScalar() ? value : key, "'resources' entries are NAME: QUANTITY, e.g. nvidia.com/gpu: 1");
      good = false;
      continue;
    }
    const std::string name(key.Scalar());
    const std::string q(value.Scalar());
    if (name.find('/') != std::string::npos) {
      // Extended resources are whole units (Kubernetes rejects fractions of a device).
      unsigned long long v = 0;
      auto [p, ec] = std::from_chars(q.data(), q.data() + q.size(), v);
      if (ec != std::errc() || p != q.data() + q.size()) {
        error(value, "extended resource '" + name + "' is counted in whole units, not '" + q + "'");
        good = false;
        continue;
      }
    }
    out[name] = q;
  }
  return good;
}

namespace {

bool toleration(const doc::Node& n, Toleration& t, const ErrorAt& error) {
  if (!n.IsMap()) {
    error(n, "a toleration is a map such as {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}");
    return false;
  }
  std::string op;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const doc::Node key = it->first, value = it->second;
    std::string field = key.IsScalar() ? std::string(key.Scalar()) : std::string();
    if (field != "key" && field != "operator" && field != "value" && field != "effect" &&
        field != "tolerationSeconds") {
      error(key, "unknown toleration field '" + field + "' (key, operator, value, effect, tolerationSeconds)");
      return false;
    }
    if (!value.IsScalar() && !value.IsNull()) {
      error(value, "toleration '" + field + "' must be a single value");
      return false;
    }
    std::string v = value.IsNull() ? std::string() : std::string(value.Scalar());
    if (field == "key") t.key = v;
    else if (field == "value") t.value = v;
    else if (field == "effect") t.effect = v;
    else if (field == "operator") op = v;
    // tolerationSeconds only bounds how long a NoExecute toleration lasts: not modelled.
    if (field == "operator" && v != "Equal" && v != "Exists") {
      error(value, "toleration operator must be Equal or Exists, not '" + v + "'");
      return false;
    }
    if (field == "effect" && !v.empty() && v != "NoSchedule" && v != "PreferNoSchedule" && v != "NoExecute") {
      error(value, "toleration effect must be NoSchedule, PreferNoSchedule or NoExecute, not '" + v + "'");
      return false;
    }
  }
  t.exists = op == "Exists";
  if (t.exists && !t.value.empty()) {
    error(n, "a toleration with operator Exists takes no value");
    return false;
  }
  if (t.key.empty() && !t.exists) {
    error(n, "a toleration without a key must have operator Exists (it then tolerates every taint)");
    return false;
  }
  return true;
}

} // namespace

bool read_tolerations(const doc::Node& n, std::vector<Toleration>& out, const ErrorAt& error) {
  if (!n.IsSequence()) {
    error(n, "'tolerations' must be a list such as [{key: nvidia.com/gpu, operator: Exists}]");
    return false;
  }
  bool good = true;
  for (const doc::Node& item : n) {
    Toleration t;
    if (toleration(item, t, error)) out.push_back(std::move(t));
    else good = false;
  }
  return good;
}

} // namespace moat::cases
