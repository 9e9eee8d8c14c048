// libFuzzer target for the YAML front ends (NetworkPolicy, Cilium(Clusterwide)NetworkPolicy,
// Karpenter NodePool, List): the bytes are a .yaml file (.json when they start with '{' or
// '[') loaded through the same path as
// `moat check` (load_paths: size and UTF-8 checks, hostile-input guards, per-kind
// parsers, shared validation), then linted and printed, with every diagnostic rendered.
#include <cstdint>

#include "fuzz/fuzz_common.h"

using namespace moat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded([&] {
    SourceManager sm;
    fuzz::load_policy(fuzz::yaml_or_json_suffix(data, size), data, size, sm);
  });
}
