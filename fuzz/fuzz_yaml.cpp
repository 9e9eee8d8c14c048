// libFuzzer target for the YAML front ends (NetworkPolicy, Cilium(Clusterwide)NetworkPolicy,
// Karpenter NodePool, List): the bytes are a .yaml file loaded through the same path as
// `moat check` (load_paths: size and UTF-8 checks, hostile-input guards, per-kind
// parsers, shared validation), then linted and printed, with every diagnostic rendered.
#include <cstdint>
#include <exception>

#include "frontend/frontend.h"
#include "fuzz/fuzz_common.h"
#include "ir/lint.h"
#include "ir/printer.h"

using namespace moat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    fuzz::ScratchFile input(".yaml", data, size);
    const std::string& path = input.path();
    SourceManager sm;
    Module module;
    Diagnostics diags;
    load_paths({path}, sm, module, diags);
    if (!diags.has_errors()) {
      fuzz::check_module(module, sm);
      run_lints(module, diags);
      (void)print_module(module, sm);
    }
    fuzz::render_all(diags, sm);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("exception escaped the front end: ") + e.what());
  } catch (...) {
    fuzz::fail("non-std exception escaped the front end");
  }
  return 0;
}
