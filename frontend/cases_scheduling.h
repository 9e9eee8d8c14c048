// The scheduling fields of a cases-file workload (docs/CASES.md, docs/LANGUAGE.md): what it
// requests (`resources`) and what decides where it may run (`tolerations`, `nodeSelector`
// is read by the cases loader as labels), in the shapes Kubernetes uses in a pod spec.
// Internal to frontend/cases.cpp.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frontend/yaml/doc.h"

#include "ir/ir.h"

namespace moat::cases {

/// Reports one mistake at `at` (the cases loader's E205, with the node's range).
using ErrorAt = std::function<void(const doc::Node& at, std::string message)>;

/// `resources: {nvidia.com/gpu: 1, cpu: 500m}` — the workload's requests. Extended
/// resources (a domain-prefixed name, e.g. nvidia.com/gpu) are counted in whole units.
/// False after reporting a mistake.
bool read_resources(const doc::Node& n, std::map<std::string, std::string>& out, const ErrorAt& error);

/// `tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]` — as in a
/// pod spec, with Kubernetes' validation (operator Equal or Exists; Exists takes no value;
/// an empty key needs Exists). False after reporting a mistake.
bool read_tolerations(const doc::Node& n, std::vector<Toleration>& out, const ErrorAt& error);

} // namespace moat::cases
